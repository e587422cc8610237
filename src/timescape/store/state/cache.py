"""The last snapshot read, rolled forward by the store's own committed writes.

Each write that changes what a snapshot holds also records how it changes it (a *patch*); when
the transaction commits, the cache is rolled forward by those patches and the generation bumps it
made, so the next read under the lock costs one query instead of reloading every row (the
ten-thousandth activation as cheap as the hundredth). A rolled-back transaction drops its
patches. The cache is only trusted while the generation in the database equals its own: another
writer always moves it further, so it is never mistaken for ours.
"""

from __future__ import annotations

from collections.abc import Callable

from timescape.model._overlay import Draft
from timescape.model.catalog import Catalog
from timescape.model.state import SchemaState, StateSnapshot, VersionState
from timescape.store.base import Backend

__all__ = ["Patch", "SnapshotCache", "SnapshotDraft"]


class SnapshotDraft:
    """A working copy of the cached snapshot, for replaying committed writes.

    Each mapping is a :class:`~timescape.model._overlay.Draft` over the snapshot's own, made at
    its first write: the new snapshot shares every unchanged row with the old one (issue 14).
    """

    __slots__ = (
        "base",
        "schemas",
        "synced",
        "tags",
        "touched_versions",
        "versions",
    )

    def __init__(self, base: StateSnapshot, synced: Catalog | None) -> None:
        """Start from ``base`` (and the catalog it was known to hold every version of)."""
        self.base = base
        self.synced = synced
        self.schemas: Draft[str, SchemaState] | None = None
        self.versions: Draft[str, VersionState] | None = None
        self.tags: Draft[tuple[str, str], str] | None = None
        self.touched_versions: set[str] = set()

    def schema_rows(self) -> Draft[str, SchemaState]:
        """The schema rows, copied on first use."""
        if self.schemas is None:
            self.schemas = Draft(self.base.schemas)
        return self.schemas

    def version_rows(self) -> Draft[str, VersionState]:
        """The version rows, copied on first use."""
        if self.versions is None:
            self.versions = Draft(self.base.versions)
        return self.versions

    def tag_rows(self) -> Draft[tuple[str, str], str]:
        """The tags, copied on first use."""
        if self.tags is None:
            self.tags = Draft(self.base.tags)
        return self.tags

    def snapshot(self, generation: int) -> StateSnapshot:
        """The new snapshot at ``generation``, sharing every unchanged mapping with the base."""
        base = self.base
        result = StateSnapshot(
            schemas=base.schemas if self.schemas is None else self.schemas.freeze(),
            versions=base.versions if self.versions is None else self.versions.freeze(),
            tags=base.tags if self.tags is None else self.tags.freeze(),
            generation=generation,
            format_version=base.format_version,
        )
        # Carry the live set over (a few TSVs), adjusted for the rows this transaction touched,
        # so the next reader does not rescan every version. The applied set is left to be
        # computed on demand: copying ten thousand names per commit costs more than its users.
        live = set(base.live())
        for tsv in self.touched_versions:
            row = result.versions.get(tsv)
            (live.add if row is not None and row.active else live.discard)(tsv)
        object.__setattr__(result, "_live", frozenset(live))
        return result


Patch = Callable[[SnapshotDraft], None]
"""How one write changes a snapshot, replayed on the cached one once its transaction commits."""


class SnapshotCache:
    """The cached snapshot of one store, with the patches of its writes not replayed yet.

    Any new writer must call :meth:`record` (or :meth:`invalidate`) for the snapshot columns it
    changes.
    """

    def __init__(self, backend: Backend) -> None:
        """Bind to a backend; the store passes :meth:`transaction_ended` its transactions' ends.

        Args:
            backend: The backend the store writes through.
        """
        self._backend = backend
        self._snapshot: StateSnapshot | None = None
        self._pending: list[Patch] = []
        self._pending_bumps = 0
        self._committed: list[Patch] = []
        self._committed_bumps = 0
        self.synced: Catalog | None = None
        """The catalog whose every version the cached snapshot holds rows for (None: unknown)."""
        self.unsynced: tuple[Catalog, StateSnapshot, frozenset[str]] | None = None
        """(catalog, snapshot, defined TSVs the snapshot lacks), worked out by ``prime_sync``."""

    def is_current(self, snapshot: StateSnapshot) -> bool:
        """Tell whether ``snapshot`` is the cached one with no committed write left to replay."""
        return snapshot is self._snapshot and not (self._committed or self._committed_bumps)

    def is_cached(self, snapshot: StateSnapshot) -> bool:
        """Tell whether ``snapshot`` is the cached one (as rolled forward last)."""
        return snapshot is self._snapshot

    def keep(self, snapshot: StateSnapshot) -> None:
        """Cache ``snapshot``, just read in full (after :meth:`invalidate`)."""
        self._snapshot = snapshot

    def record(self, patch: Patch) -> None:
        """Remember how a write inside the open transaction changes the cached snapshot."""
        if self._backend.in_transaction:
            self._pending.append(patch)
        else:  # autocommitted at once: nothing to replay at a commit, so reload next time
            self.invalidate()

    def bump(self) -> None:
        """Account for a generation bump written in the open transaction (or drop the cache)."""
        if self._backend.in_transaction:
            self._pending_bumps += 1
        else:
            self.invalidate()

    def invalidate(self) -> None:
        """Forget the cached snapshot: the next read loads every row."""
        self._snapshot = None
        self.synced = None
        self.unsynced = None
        self._committed, self._committed_bumps = [], 0

    def transaction_ended(self, committed: bool) -> None:  # noqa: FBT001 - listener signature
        """Keep the transaction's patches for the next read if it committed, else drop them."""
        pending, bumps = self._pending, self._pending_bumps
        self._pending, self._pending_bumps = [], 0
        if not committed or self._snapshot is None or not (pending or bumps):
            return
        # Replayed at the next read, all at once: a chain of a thousand schemas commits a
        # thousand times and reads once, so rolling forward must not copy the rows per commit.
        self._committed.extend(pending)
        self._committed_bumps += bumps

    def rolled_forward(self) -> StateSnapshot | None:
        """The cached snapshot with every committed write of this store replayed on it."""
        cache = self._snapshot
        if cache is not None and (self._committed or self._committed_bumps):
            draft = SnapshotDraft(cache, self.synced)
            for patch in self._committed:
                patch(draft)
            cache = draft.snapshot(cache.generation + self._committed_bumps)
            self._snapshot, self.synced = cache, draft.synced
            self._committed, self._committed_bumps = [], 0
        return cache
