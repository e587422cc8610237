"""Writes to the state tables: schema and version rows, tags, and the generation counter.

Writes never commit on their own: the caller (the executor) owns the transaction, so on PostgreSQL
and SQLite a schema's DDL and its state row commit together. Each write that changes what a
snapshot holds records a patch with the cache (:mod:`timescape.store.state.cache`), replayed once
the transaction commits. ``write_schema`` and ``bump_generation`` run per schema applied: their
statements are deferred to ride in the transaction's next round trip (issue 14).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from timescape.errors import DefinitionError
from timescape.model.catalog import Catalog
from timescape.model.state import SchemaState, StateSnapshot, VersionState
from timescape.model.tsv import Version
from timescape.store.base import Backend
from timescape.store.state.cache import Patch, SnapshotCache, SnapshotDraft
from timescape.store.state.codec import (
    MAX_ERROR,
    as_stored,
    in_stored_form,
    iso,
    json_list,
    now,
    parse,
)
from timescape.store.state.tables import StateTables

__all__ = ["StateWriter"]

_NOT_RETIRING: dict[str, Any] = {"retiring_generation": None, "retiring_at": None}


class StateWriter:
    """Writes the state tables of one backend inside the caller's transaction."""

    def __init__(self, backend: Backend, tables: StateTables, cache: SnapshotCache) -> None:
        """Bind to the store's backend, tables and cache (which every write patches).

        Args:
            backend: The backend the store writes through.
            tables: The state tables.
            cache: The store's snapshot cache.
        """
        self._backend = backend
        self._tables = tables
        self._cache = cache

    def bump_generation(self) -> None:
        """Move the write counter; readers reload on their next refresh."""
        self._cache.bump()
        meta = self._tables.meta
        self._backend.defer(
            f"UPDATE {meta} SET value = CAST(CAST(value AS {self._int_cast()}) + 1 AS "
            f"{self._text_cast()}) WHERE key_name = ?",
            ("generation",),
        )
        notify = self._backend.NOTIFY_SQL
        if notify is not None:
            # In the same transaction: listeners hear of the change exactly when it commits.
            self._backend.defer(notify.format(meta=meta), (self.notification_channel,))

    @property
    def notification_channel(self) -> str:
        """The ``LISTEN`` channel every state change is announced on (PostgreSQL).

        Derived from the table prefix (a validated identifier), so two Timescape states in one
        database never hear each other. The payload is the new generation.
        """
        return f"{self._backend.table_prefix}changes"

    def _int_cast(self) -> str:
        return "SIGNED" if self._backend.dialect == "mysql" else "BIGINT"

    def _text_cast(self) -> str:
        return "CHAR" if self._backend.dialect == "mysql" else "TEXT"

    def write_schema(
        self, state: SchemaState, *, step_count: int, known: bool, at: datetime | None = None
    ) -> None:
        """Insert or update a schema row.

        Args:
            state: The full row to store.
            step_count: Number of steps in the current definition.
            known: Whether the row exists already (from the snapshot read under the lock).
            at: The time of the change (now when None), stored as ``updated_at``.
        """
        values = (
            json_list(state.parents),
            state.status.value,
            state.steps_done,
            step_count,
            json_list(state.checksums),
            json_list(state.rollback_checksums),
            iso(state.applied_at),
            iso(state.rolled_back_at),
            state.duration_ms,
            (state.error or "")[:MAX_ERROR] or None,
            state.step_in_flight,
            iso(state.attempt_started_at),
            int(state.contract_done),
            iso(at or now()),
        )
        stored = (
            state
            if in_stored_form(state)
            else SchemaState(
                name=state.name,
                status=state.status,
                steps_done=int(state.steps_done),
                checksums=tuple(state.checksums),
                rollback_checksums=tuple(state.rollback_checksums),
                parents=tuple(state.parents),
                applied_at=as_stored(state.applied_at),
                rolled_back_at=as_stored(state.rolled_back_at),
                duration_ms=state.duration_ms,
                error=values[9],
                step_in_flight=state.step_in_flight,
                attempt_started_at=as_stored(state.attempt_started_at),
                contract_done=bool(state.contract_done),
            )
        )

        # A two-slot object, not a closure: one per schema waits for the commit (a 1,000-schema
        # rollback is one transaction), and a closure with its three cells was six times the
        # size (issue 14).
        self._cache.record((_RowUpdate if known else _RowInsert)(state.name, stored))
        self._backend.defer(
            _schema_write_sql(self._tables.schemas, known=known), (*values, state.name)
        )

    def delete_schema_row(self, name: str) -> None:
        """Remove a schema row (used only by ``schema resolve`` for a never-applied schema)."""
        self._backend.execute(f"DELETE FROM {self._tables.schemas} WHERE name = ?", (name,))

        def patch(draft: SnapshotDraft) -> None:
            draft.schema_rows().pop(name, None)

        self._cache.record(patch)

    def set_version_active(self, tsv: str, *, active: bool) -> None:
        """Mark a version live or not, stamping the time; either way it is no longer retiring."""
        column = "activated_at" if active else "deactivated_at"
        stamp = iso(now())
        self._backend.execute(
            f"UPDATE {self._tables.versions} SET active = ?, {column} = ?, "
            "retiring_generation = NULL, retiring_at = NULL WHERE tsv = ?",
            (int(active), stamp, tsv),
        )

        def patch(draft: SnapshotDraft) -> None:
            rows = draft.version_rows()
            row = rows.get(tsv)
            if row is None:
                return  # the UPDATE matched no row
            moment = parse(stamp)
            rows[tsv] = (
                replace(row, active=True, activated_at=moment, **_NOT_RETIRING)
                if active
                else replace(row, active=False, deactivated_at=moment, **_NOT_RETIRING)
            )
            draft.touched_versions.add(tsv)

        self._cache.record(patch)

    def set_version_retiring(self, tsv: str, *, generation: int | None) -> None:
        """Mark a live version retiring at ``generation`` (None: live and routed again).

        Args:
            tsv: The version (a live one: the row is matched on ``active = 1``).
            generation: The generation the caller's transaction commits at, or None to clear.
        """
        stamp = None if generation is None else iso(now())
        self._backend.execute(
            f"UPDATE {self._tables.versions} SET retiring_generation = ?, retiring_at = ? "
            "WHERE tsv = ? AND active = 1",
            (generation, stamp, tsv),
        )

        def patch(draft: SnapshotDraft) -> None:
            rows = draft.version_rows()
            row = rows.get(tsv)
            if row is None or not row.active:
                return  # the UPDATE matched no row
            rows[tsv] = replace(row, retiring_generation=generation, retiring_at=parse(stamp))
            draft.touched_versions.add(tsv)

        self._cache.record(patch)

    def sync_versions(self, catalog: Catalog, snapshot: StateSnapshot) -> bool:
        """Insert rows for defined versions the database does not know yet, with their tags.

        A TSV encodes the version's position in its handler's timeline. If the definitions now
        give a known (handler, timestamp) another TSV, a version was inserted before existing
        ones; renumbering would silently change live ids, so it is refused.

        Args:
            catalog: The definitions.
            snapshot: The state read under the lock.

        Returns:
            True when rows were written.

        Raises:
            DefinitionError: When the definitions would renumber a stored version.
        """
        # Versions are only ever added: once the cached snapshot held every defined version, the
        # snapshots rolled forward from it do too, and the set difference below is skipped.
        current = self._cache.is_current(snapshot)
        if current and catalog is self._cache.synced:
            return False
        missing = self._missing_versions(catalog, snapshot)
        if not missing:
            if current:
                self._cache.synced = catalog
            return False
        # A stored row that would clash with a new TSV has the same handler and timestamp, so its
        # own TSV is no longer defined (each handler has one version per timestamp): only those
        # rows need looking at, however many versions are stored.
        defined = catalog.tsvs()
        # Every stored TSV is still defined when the counts say so (the stored ones are then
        # exactly the defined ones not missing): the second set difference is skipped.
        every_stored_defined = len(snapshot.versions) == len(defined) - len(missing)
        stale = () if every_stored_defined else snapshot.versions.keys() - defined
        by_moment = {(r.handler, r.timestamp): r.tsv for t in stale if (r := snapshot.versions[t])}
        wrote = False
        new = sorted((catalog.version(t) for t in missing), key=lambda v: (v.handler, v.timestamp))
        for version in new:
            stored = by_moment.get((version.handler, version.timestamp))
            if stored is not None and stored != version.tsv:
                raise DefinitionError(
                    f"the version of {version.handler} at {version.timestamp.isoformat()} is "
                    f"stored as {stored} but the definitions now number it {version.tsv}: a "
                    "version was inserted before existing ones. Give new versions later "
                    "timestamps",
                    key=version.tsv,
                )
            self._backend.execute(
                f"INSERT INTO {self._tables.versions} (tsv, handler, ts, schema_name, active, "
                "request_count) VALUES (?, ?, ?, ?, 0, 0)",
                (version.tsv, version.handler, version.timestamp.isoformat(), version.schema),
            )
            tags = [t for t in version.tags if (version.handler, t) not in snapshot.tags]
            for tag in tags:
                self._backend.execute(
                    f"INSERT INTO {self._tables.tags} (handler, tag, tsv, created_at) "
                    "VALUES (?, ?, ?, ?)",
                    (version.handler, tag, version.tsv, iso(now())),
                )
            self._cache.record(_inserted_version(version, tags))
            wrote = True
        if current:

            def patch(draft: SnapshotDraft) -> None:
                draft.synced = catalog

            self._cache.record(patch)
        return wrote

    def prime_sync(self, catalog: Catalog, snapshot: StateSnapshot) -> None:
        """Work out which defined versions the cached snapshot lacks, while loading it anyway.

        Finding them compares every defined TSV with every stored one (a millisecond at ten
        thousand). The caller loading a fresh snapshot into its view pays that once here, so
        the next :meth:`sync_versions` on the same catalog and snapshot (an activation in a warm
        instance) costs only the versions it writes. Pure bookkeeping: reads and writes nothing.

        Args:
            catalog: The definitions.
            snapshot: A snapshot returned by the store's ``read``.
        """
        cache = self._cache
        if not cache.is_cached(snapshot) or catalog is cache.synced:
            return
        unsynced = cache.unsynced
        if unsynced is None or unsynced[0] is not catalog or unsynced[1] is not snapshot:
            missing = frozenset(catalog.tsvs() - snapshot.versions.keys())
            cache.unsynced = (catalog, snapshot, missing)

    def _missing_versions(self, catalog: Catalog, snapshot: StateSnapshot) -> frozenset[str]:
        unsynced = self._cache.unsynced
        if unsynced is not None and unsynced[0] is catalog and unsynced[1] is snapshot:
            return unsynced[2]
        return frozenset(catalog.tsvs() - snapshot.versions.keys())

    def set_tag(self, handler: str, tag: str, tsv: str, *, exists: bool) -> None:
        """Point a tag at a TSV (moving it if it pointed elsewhere in the handler)."""
        if exists:
            self._backend.execute(
                f"UPDATE {self._tables.tags} SET tsv = ?, created_at = ? WHERE handler = ? AND "
                "tag = ?",
                (tsv, iso(now()), handler, tag),
            )
        else:
            self._backend.execute(
                f"INSERT INTO {self._tables.tags} (handler, tag, tsv, created_at) VALUES "
                "(?, ?, ?, ?)",
                (handler, tag, tsv, iso(now())),
            )

        def patch(draft: SnapshotDraft) -> None:
            rows = draft.tag_rows()
            if not exists or (handler, tag) in rows:
                rows[(handler, tag)] = tsv

        self._cache.record(patch)

    def delete_tag(self, handler: str, tag: str) -> None:
        """Remove a tag."""
        self._backend.execute(
            f"DELETE FROM {self._tables.tags} WHERE handler = ? AND tag = ?", (handler, tag)
        )

        def patch(draft: SnapshotDraft) -> None:
            draft.tag_rows().pop((handler, tag), None)

        self._cache.record(patch)

    def add_requests(self, counts: dict[str, tuple[int, datetime]]) -> None:
        """Add request counts and last-access times flushed by an app instance."""
        for tsv, (count, last) in counts.items():
            self._backend.execute(
                f"UPDATE {self._tables.versions} SET request_count = request_count + ?, "
                "last_accessed = ? WHERE tsv = ?",
                (count, iso(last), tsv),
            )


def _inserted_version(version: Version, tags: Sequence[str]) -> Patch:
    row = VersionState(
        tsv=version.tsv,
        handler=version.handler,
        timestamp=datetime.fromisoformat(version.timestamp.isoformat()),
        schema=version.schema,
    )

    def patch(draft: SnapshotDraft) -> None:
        draft.version_rows()[version.tsv] = row
        draft.touched_versions.add(version.tsv)
        if tags:
            rows = draft.tag_rows()
            for tag in tags:
                rows[(version.handler, tag)] = version.tsv

    return patch


@functools.cache
def _schema_write_sql(table: str, *, known: bool) -> str:
    """The UPDATE (``known``) or INSERT of a schema row into ``table`` (qualified).

    One string per table, not one built per schema written: the driver looks its prepared
    statement up by the text, and a string made afresh has its hash computed again (issue 14).
    """
    if known:
        return (
            f"UPDATE {table} SET parents = ?, status = ?, steps_done = ?, "
            "step_count = ?, checksums = ?, rollback_checksums = ?, applied_at = ?, "
            "rolled_back_at = ?, duration_ms = ?, error = ?, step_in_flight = ?, "
            "attempt_started_at = ?, contract_done = ?, updated_at = ? WHERE name = ?"
        )
    return (
        f"INSERT INTO {table} (parents, status, steps_done, step_count, "
        "checksums, rollback_checksums, applied_at, rolled_back_at, duration_ms, error, "
        "step_in_flight, attempt_started_at, contract_done, updated_at, name) VALUES "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )


class _RowInsert:
    """Replays a schema row's INSERT on a snapshot draft (a :data:`Patch`)."""

    __slots__ = ("name", "stored")

    def __init__(self, name: str, stored: SchemaState) -> None:
        self.name = name
        self.stored = stored

    def __call__(self, draft: SnapshotDraft) -> None:
        draft.schema_rows()[self.name] = self.stored


class _RowUpdate(_RowInsert):
    """Replays a schema row's UPDATE: nothing when it matched no row."""

    __slots__ = ()

    def __call__(self, draft: SnapshotDraft) -> None:
        rows = draft.schema_rows()
        if self.name in rows:
            rows[self.name] = self.stored
