"""The hot path: which TSV a request gets and whether a schema is live, answered from memory.

The facade keeps an immutable :class:`View` of the state (index of refs, applied schemas, live
versions) and swaps it whole when the state's generation counter moves, so a request costs a dict
lookup and never a query. Request counts are gathered in memory too and written in one
transaction by :meth:`HotPath.flush_usage`.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import field
from datetime import UTC, datetime

from timescape.engine.connection import Connection
from timescape.engine.definitions import Definitions
from timescape.errors import StateError
from timescape.model._record import record
from timescape.model.catalog import Catalog
from timescape.model.plan import usage
from timescape.model.state import SchemaStatus, StateSnapshot
from timescape.model.tsv import Version, VersionIndex

__all__ = ["HotPath", "View"]

_APPLIED = SchemaStatus.APPLIED  # a module constant: the enum attribute lookup costs 0.2 µs


@record
class View:
    """What the hot path reads; replaced whole, never mutated."""

    index: VersionIndex
    active: frozenset[str]
    """The routed versions: live and not retiring."""
    latest_live: dict[str, str]
    generation: int
    catalog: Catalog
    snapshot: StateSnapshot
    _used_by: dict[str, tuple[str, ...]] | None = field(default=None, init=False)

    @property
    def used_by(self) -> dict[str, tuple[str, ...]]:
        """Live TSVs per schema, computed on first use (most views are never asked)."""
        cached = self._used_by
        if cached is None:
            cached = {k: tuple(v) for k, v in usage(self.catalog, self.snapshot).items()}
            object.__setattr__(self, "_used_by", cached)
        return cached


class HotPath:
    """The in-memory view and request counters behind :class:`~timescape.Timescape`'s queries."""

    def __init__(
        self, connection: Connection, definitions: Definitions, *, mutex: threading.RLock
    ) -> None:
        """Start with no view (built on first use) and no counted requests.

        Args:
            connection: The backend and state store the view is read from.
            definitions: The definitions the view indexes.
            mutex: The facade's in-process mutex.
        """
        self._connection = connection
        self._definitions = definitions
        self._mutex = mutex
        self._view: View | None = None
        self._index_cache: tuple[Catalog, dict[tuple[str, str], str], VersionIndex] | None = None
        self._requests: Counter[str] = Counter()
        self._last_request: dict[str, datetime] = {}

    def invalidate(self) -> None:
        """Drop the view (the catalog changed); the next question rebuilds it."""
        self._view = None

    @property
    def has_requests(self) -> bool:
        """Whether requests were counted since the last flush."""
        return bool(self._requests)

    def tags_for(self, snapshot: StateSnapshot) -> dict[tuple[str, str], str]:
        """``(handler, tag) → TSV`` of the defined versions: the tags ``snapshot`` holds for them.

        Tags of versions already in the database live there (they may have been moved or
        removed); declared tags of versions not synced yet still count.
        """
        catalog = self._definitions.catalog
        tags = {k: v for k, v in catalog.declared_tags().items() if v not in snapshot.versions}
        tags.update({k: v for k, v in snapshot.tags.items() if catalog.has_version(v)})
        return tags

    def index_for(self, snapshot: StateSnapshot) -> VersionIndex:
        """The index of refs for the definitions and the tags in ``snapshot`` (cached)."""
        catalog = self._definitions.catalog
        tags = self.tags_for(snapshot)
        # The index depends on nothing else: reuse it while the catalog and the tags stay the
        # same (activations and rollbacks move neither), instead of re-indexing every version.
        cached = self._index_cache
        if cached is not None and cached[0] is catalog and cached[1] == tags:
            return cached[2]
        index = VersionIndex(catalog.versions, tags)
        self._index_cache = (catalog, tags, index)
        return index

    def rebuild_view(self, catalog: Catalog, snapshot: StateSnapshot | None = None) -> View:
        """Build the view from ``snapshot`` (read now when None) and swap it in."""
        snap = snapshot if snapshot is not None else self._read_quietly()
        self._connection.store.prime_sync(catalog, snap)
        # Routed only: a retiring version keeps its schemas but gets no new request.
        active = snap.routed()
        latest: dict[str, Version] = {}
        for tsv in active:
            if catalog.has_version(tsv):
                version = catalog.version(tsv)
                best = latest.get(version.handler)
                if best is None or best.timestamp < version.timestamp:
                    latest[version.handler] = version
        view = View(
            index=self.index_for(snap),
            active=active,
            latest_live={h: v.tsv for h, v in sorted(latest.items())},
            generation=snap.generation,
            catalog=catalog,
            snapshot=snap,
        )
        self._view = view
        return view

    def _read_quietly(self) -> StateSnapshot:
        try:
            return self._connection.store.read()
        except StateError:
            return StateSnapshot()

    def _current_view(self) -> View:
        # The hot methods read ``self._view or self._current_view()``: one call frame fewer
        # per request while a view is loaded (the facade's delegation costs one).
        view = self._view
        if view is None:
            with self._mutex:
                view = self._view or self.rebuild_view(self._definitions.catalog)
        return view

    def refresh(self) -> bool:
        """Reload the in-memory view if another process changed the state (one cheap query)."""
        with self._mutex:
            catalog = self._definitions.catalog
            generation = self._connection.store.generation()
            view = self._view
            if view is not None and view.generation == generation:
                return False
            self.rebuild_view(catalog)
            return True

    def resolve_locked(
        self,
        ref: str | None,
        handler: str | None,
        guess: str,
        snapshot: StateSnapshot,
        *,
        index: VersionIndex | None = None,
    ) -> str:
        """Resolve ``ref`` again against the state read under the lock.

        The first resolution (before the lock) refuses a bad ref early; but a tag may have been
        moved by the run this one waited for, and the version to act on is decided under the
        lock like everything else. An unchanged generation means the first answer still holds.

        Args:
            ref: The ref as given.
            handler: The handler, if given.
            guess: The TSV resolved before the lock.
            snapshot: The state read under the lock.
            index: An index already built from ``snapshot``, if any.

        Returns:
            The TSV to act on.
        """
        view = self._view
        if (ref is not None and ref.startswith("tsv:")) or (
            view is not None and view.generation == snapshot.generation
        ):
            return guess
        return (index or self.index_for(snapshot)).resolve(ref, handler)

    def resolve_fresh(self, ref: str | None, handler: str | None) -> str:
        """Resolve ``ref`` against the state as it is now (refusing a bad ref before the lock)."""
        with self._mutex, self._connection.boundary():
            self._connection.backend.connect()
            catalog = self._definitions.catalog
            view = self._view
            # Tags live in the state tables: resolve against the state as it is now. Every
            # change to it moves the generation, so an unchanged one means the view is current.
            if (
                view is None
                or view.catalog is not catalog
                or (view.generation != self._connection.store.generation())
            ):
                view = self.rebuild_view(catalog)
            return view.index.resolve(ref, handler)

    def resolve(self, ref: str | None = None, handler: str | None = None) -> str:
        """Resolve a ref to a TSV from memory (no I/O; call :meth:`refresh` to see others' tags)."""
        return (self._view or self._current_view()).index.resolve(ref, handler)

    def is_schema_active(self, name: str) -> bool:
        """True when the schema is applied (from memory)."""
        # A row lookup, not a set of applied names: that set would be rebuilt (ten thousand
        # names) after every activation, for a question asked about a few schemas.
        row = (self._view or self._current_view()).snapshot.schemas.get(name)
        return row is not None and row.status is _APPLIED

    def is_version_active(self, tsv: str) -> bool:
        """True when the version is live and routed (from memory; False while retiring)."""
        return tsv in (self._view or self._current_view()).active

    def view(self) -> View:
        """The immutable in-memory view (read from the database only if none is loaded yet)."""
        return self._current_view()

    def version_state(self, tsv: str) -> str:
        """``"live"``, ``"retiring"`` or ``"inactive"``, from memory: what the router needs."""
        view = self._current_view()
        if tsv in view.active:
            return "live"
        row = view.snapshot.versions.get(tsv)
        return "retiring" if row is not None and row.is_retiring else "inactive"

    def live_alternatives(self, handler: str) -> list[str]:
        """The handler's routed versions, newest first, from memory (for a 410 body)."""
        view = self._current_view()
        return [
            v.tsv
            for v in reversed(self._definitions.catalog.versions)
            if v.handler == handler and v.tsv in view.active
        ]

    def view_generation(self) -> int:
        """The state generation the in-memory view was built from (changes after a refresh)."""
        return self._current_view().generation

    def latest_live(self, handler: str) -> str | None:
        """The newest live version of a handler (from memory), or None."""
        return self._current_view().latest_live.get(handler)

    def handlers(self) -> list[str]:
        """Every handler path with at least one defined version."""
        return self._current_view().index.handlers

    def schema_usage(self, name: str) -> list[str]:
        """Live TSVs that need the schema (from memory)."""
        return list(self._current_view().used_by.get(name, ()))

    def active_schemas(self) -> list[str]:
        """Names of the applied schemas, in definition order (from memory, no I/O)."""
        rows = self._current_view().snapshot.schemas
        applied = {name for name, row in rows.items() if row.status is _APPLIED}
        ordered = [s.name for s in self._definitions.catalog.schemas if s.name in applied]
        return ordered + sorted(applied.difference(ordered))

    def version_tags(self, tsv: str) -> list[str]:
        """The tags pointing at a version now, declared and runtime ones (from memory), sorted."""
        return self._current_view().index.tags_of(tsv)

    def active_versions(self, handler: str | None = None) -> list[Version]:
        """Live versions (from memory), oldest first per handler."""
        view = self._current_view()
        return [
            v
            for v in self._definitions.catalog.versions
            if v.tsv in view.active and (handler is None or v.handler == handler)
        ]

    def record_request(self, tsv: str) -> None:
        """Count one request for a version, in memory (flushed by :meth:`flush_usage`)."""
        self._requests[tsv] += 1
        self._last_request[tsv] = datetime.now(UTC)

    def flush_usage(self) -> int:
        """Write the request counters gathered since the last flush; return how many versions."""
        with self._mutex:
            counts = {t: (n, self._last_request[t]) for t, n in self._requests.items()}
            self._requests.clear()
            if not counts or not self._connection.store.exists():
                return 0
            backend = self._connection.backend
            backend.begin()
            try:
                self._connection.store.add_requests(counts)
                backend.commit()
            except BaseException:
                backend.rollback()
                raise
            return len(counts)
