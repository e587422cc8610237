"""The ``timescape_*`` tables: creation, format upgrades, reads into snapshots, and writes.

Writes never commit on their own: the caller (the executor) owns the transaction, so on PostgreSQL
and SQLite a schema's DDL and its state row commit together. A ``generation`` counter in the meta
table moves on every write; readers compare it to skip reloading unchanged state, which keeps the
hot path and the ten-thousandth activation as cheap as the first.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from timescape.errors import DefinitionError, InputError, StateError, StateFormatError
from timescape.model._overlay import Draft, frozen
from timescape.model._record import maker, record
from timescape.model.catalog import Catalog
from timescape.model.schema import CHECKSUM_ALGORITHM
from timescape.model.state import (
    SchemaState,
    SchemaStatus,
    StateSnapshot,
    StoredSchema,
    VersionState,
)
from timescape.model.status import is_settled
from timescape.model.tsv import Version
from timescape.store.base import Backend, ErrorKind
from timescape.store.instances import InstanceTable

__all__ = ["FORMAT_VERSION", "Event", "RunMarker", "StateStore", "now", "validate_prefix"]

FORMAT_VERSION = 2
"""Format 2 (issue 10): versions may be *retiring*; the ``instances`` table of serving processes."""
_SNAPSHOT_ATTEMPTS = 5
_T = TypeVar("_T")
_MAX_ERROR = 4000
_STATUSES = {s.value: s for s in SchemaStatus}
_PREFIX_MAX = 40


def now() -> datetime:
    """The current UTC time, millisecond precision."""
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _json_list(items: Sequence[str | None]) -> str:
    """``json.dumps(list(items))``, byte for byte, without the encoder for plain values.

    Every schema row written stores three such lists (parents, checksums, rollback checksums),
    whose items are printable ASCII names and hex digests: those are written as they are, and
    anything else goes through :func:`json.dumps`.
    """
    parts = []
    for item in items:
        if item is None:
            parts.append("null")
        elif item.isascii() and item.isprintable() and '"' not in item and "\\" not in item:
            parts.append(f'"{item}"')
        else:
            return json.dumps(list(items))
    return "[" + ", ".join(parts) + "]"


_ISO_LAST: tuple[datetime | None, str | None] = (None, None)


def _iso(moment: datetime | None) -> str | None:
    """The stored text of ``moment``; the last one is remembered (held, so ``is`` is safe).

    A schema's row and its event carry the same moment three times, and ``isoformat`` with a
    ``timespec`` costs more than the rest of the row's values together (issue 14).
    """
    global _ISO_LAST  # noqa: PLW0603 - a one-entry memo, swapped as one tuple (thread-safe)
    if moment is None:
        return None
    last, text = _ISO_LAST
    if moment is last:
        return text
    text = moment.isoformat(timespec="milliseconds")
    _ISO_LAST = (moment, text)
    return text


def _stored(moment: datetime | None) -> datetime | None:
    """The value :func:`_parse` reads back after :func:`_iso` wrote ``moment``."""
    if moment is None or moment.microsecond % 1000 == 0:
        return moment
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _in_stored_form(state: SchemaState) -> bool:
    """Tell whether ``state`` is already what reading its row back gives (the executor's rows).

    Then the cache keeps it as it is, instead of a copy built field by field per schema.
    """
    error = state.error
    return (
        type(state.steps_done) is int
        and type(state.checksums) is tuple
        and type(state.rollback_checksums) is tuple
        and type(state.parents) is tuple
        and type(state.contract_done) is bool
        and (error is None or 0 < len(error) <= _MAX_ERROR)
        and _stored(state.applied_at) is state.applied_at
        and _stored(state.rolled_back_at) is state.rolled_back_at
        and _stored(state.attempt_started_at) is state.attempt_started_at
    )


def _parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def validate_prefix(prefix: str) -> str:
    """Check a state-table prefix: lower-case letters, digits and ``_``, starting with a letter.

    Args:
        prefix: The candidate, e.g. ``timescape_``.

    Returns:
        The prefix.

    Raises:
        InputError: If it breaks the rule (it is spliced into SQL, so nothing else may pass).
    """
    ok = (
        0 < len(prefix) <= _PREFIX_MAX
        and prefix[0].isascii()
        and prefix[0].islower()
        and all(c.isascii() and (c.islower() or c.isdigit() or c == "_") for c in prefix)
    )
    if not ok:
        raise InputError(
            f"invalid table_prefix {prefix!r}: use lower-case letters, digits and '_', starting "
            f"with a letter (at most {_PREFIX_MAX} characters)"
        )
    return prefix


@record
class Event:
    """One row of the append-only event log.

    Attributes:
        id: Increasing id.
        at: When.
        kind: What happened (``schema_applied``, ``version_activated``, ...).
        subject: The schema name or TSV it is about.
        actor: Who (``user@host pid N``).
        duration_ms: How long it took, where meaningful.
        detail: Structured detail.
    """

    id: int
    at: datetime
    kind: str
    subject: str
    actor: str
    duration_ms: int | None
    detail: dict[str, Any]


@record
class RunMarker:
    """Evidence of a run in progress, committed before its first change.

    Attributes:
        operation: ``activate``, ``deactivate``, ``migrate`` or ``rollback``.
        target: The TSV or schema.
        schemas: The schemas the run was going to touch.
        started_at: When it started.
        actor: Who ran it.
    """

    operation: str
    target: str
    schemas: tuple[str, ...]
    started_at: datetime
    actor: str


class _Draft:
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
        self.base = base
        self.synced = synced
        self.schemas: Draft[str, SchemaState] | None = None
        self.versions: Draft[str, VersionState] | None = None
        self.tags: Draft[tuple[str, str], str] | None = None
        self.touched_versions: set[str] = set()

    def schema_rows(self) -> Draft[str, SchemaState]:
        if self.schemas is None:
            self.schemas = Draft(self.base.schemas)
        return self.schemas

    def version_rows(self) -> Draft[str, VersionState]:
        if self.versions is None:
            self.versions = Draft(self.base.versions)
        return self.versions

    def tag_rows(self) -> Draft[tuple[str, str], str]:
        if self.tags is None:
            self.tags = Draft(self.base.tags)
        return self.tags

    def snapshot(self, generation: int) -> StateSnapshot:
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


_Patch = Callable[[_Draft], None]
_NOT_RETIRING: dict[str, Any] = {"retiring_generation": None, "retiring_at": None}


class StateStore:
    """Reads and writes the state tables through one backend.

    The last snapshot read is cached with its generation. Each write that changes what a snapshot
    holds also records how it changes it; when the transaction commits, the cache is rolled
    forward by those changes and the generation bumps it made, so the next read under the lock
    costs one query instead of reloading every row (the ten-thousandth activation as cheap as
    the hundredth). A rolled-back transaction drops its changes. The cache is only trusted while
    the generation in the database equals its own: another writer always moves it further, so it
    is never mistaken for ours. Any new writer method must call :meth:`_record` (or invalidate
    the cache) for the snapshot columns it changes.
    """

    def __init__(self, backend: Backend) -> None:
        """Bind to a backend; the tables are created on the first write.

        Args:
            backend: The connected (or lazily connecting) backend.
        """
        self.backend = backend
        p = validate_prefix(backend.table_prefix)
        # Bare names: for catalog lookups and messages. SQL uses the qualified properties below.
        self.meta_name = f"{p}meta"
        self.schemas_name = f"{p}schemas"
        self.versions_name = f"{p}versions"
        self.tags_name = f"{p}tags"
        self.events_name = f"{p}events"
        self.instances = InstanceTable(backend)
        self._format_current = False
        """True once the tables were seen at :data:`FORMAT_VERSION` (upgrades never go back)."""
        self._cache: StateSnapshot | None = None
        self._pending: list[_Patch] = []
        self._pending_bumps = 0
        self._committed: list[_Patch] = []
        self._committed_bumps = 0
        self.reloads = 0
        """How many times every row was read from the database (diagnostics and tests)."""
        self._synced: Catalog | None = None
        # (catalog, snapshot, defined TSVs the snapshot lacks), worked out by prime_sync.
        self._unsynced: tuple[Catalog, StateSnapshot, frozenset[str]] | None = None
        self.outdated_checksums: frozenset[str] = frozenset()
        """Schemas whose rows, at the last full read, held checksums of an older algorithm."""
        backend.on_transaction_end(self._transaction_ended)

    @property
    def table_names(self) -> tuple[str, ...]:
        """All state tables, unqualified."""
        return (
            self.meta_name,
            self.schemas_name,
            self.versions_name,
            self.tags_name,
            self.events_name,
        )

    # Every state statement names its tables qualified with the schema (PostgreSQL) or database
    # (MySQL) captured when the connection opened, or ``main`` (SQLite): a migration that moves
    # the search_path or runs ``USE other_db`` cannot redirect Timescape's bookkeeping (issue 11).

    @property
    def meta(self) -> str:
        """The meta table, qualified."""
        return self.backend.qualify(self.meta_name)

    @property
    def schemas_table(self) -> str:
        """The schemas table, qualified."""
        return self.backend.qualify(self.schemas_name)

    @property
    def versions_table(self) -> str:
        """The versions table, qualified."""
        return self.backend.qualify(self.versions_name)

    @property
    def tags_table(self) -> str:
        """The tags table, qualified."""
        return self.backend.qualify(self.tags_name)

    @property
    def events_table(self) -> str:
        """The event log, qualified."""
        return self.backend.qualify(self.events_name)

    # -- creation and format ------------------------------------------------------------------

    def exists(self) -> bool:
        """True when the meta table exists (checked in the catalog, never by catching errors)."""
        return self.meta_name in self.backend.table_names(self.table_names)

    def missing_tables(self) -> list[str]:
        """State tables dropped by hand: absent although others exist (none on a fresh database).

        The meta table is created last, atomically with its rows (see :meth:`ensure`): without
        it, tables that are all empty are a bootstrap in progress on MySQL/MariaDB (or one that
        died), not damage.
        """
        names = self.backend.table_names(self.table_names)
        if not any(t in names for t in self.table_names):
            return []
        if self.meta_name not in names:
            if not self._orphans_hold_rows(names):
                return []
            # Rows, but no meta table: dropped by hand, or a bootstrap (MySQL/MariaDB) put the
            # meta table in place and a run wrote rows since the catalog was read. The meta
            # table only ever appears last and is never dropped by Timescape: look again.
            names = self.backend.table_names(self.table_names)
        return [t for t in self.table_names if t not in names]

    def _orphans_hold_rows(self, names: set[str]) -> list[str]:
        """State tables present without the meta table that hold rows (so were really used)."""
        return [
            t
            for t in self.table_names
            if t != self.meta_name
            and t in names
            and self.backend.query(f"SELECT 1 FROM {self.backend.qualify(t)} LIMIT 1")
        ]

    def _present(self) -> bool:
        """Tell whether the state tables exist, refusing a partial set (one catalog query).

        Returns:
            True when all exist, False when none does.

        Raises:
            StateError: When some exist and others are missing (dropped by hand), naming them.
        """
        names = self.backend.table_names(self.table_names)
        present = [t for t in self.table_names if t in names]
        if not present or self.meta_name not in names:
            # The meta table appears last, with its rows (see ensure): until then the state does
            # not exist yet, though MySQL/MariaDB may show the other tables of a bootstrap in
            # progress to a reader that holds no lock.
            return False
        missing = [t for t in self.table_names if t not in names]
        if missing:
            raise StateError(
                f"state table(s) {', '.join(missing)} are missing although "
                f"{', '.join(present)} exist; restore them from a backup (Timescape will not "
                "guess)"
            )
        return True

    def _ddl(self) -> list[str]:
        b = self.backend
        name, key, text = b.TYPE_NAME, b.TYPE_KEY, b.TYPE_TEXT
        i, big, opts = b.TYPE_INT, b.TYPE_BIGINT, b.TABLE_OPTIONS
        return [
            (
                f"CREATE TABLE IF NOT EXISTS {self.meta} (key_name {name} PRIMARY KEY, "
                f"value {text}){opts}"
            ),
            (
                f"CREATE TABLE IF NOT EXISTS {self.schemas_table} (name {name} PRIMARY KEY, "
                f"parents {text}, status {name} NOT NULL, steps_done {i} NOT NULL DEFAULT 0, "
                f"step_count {i} NOT NULL DEFAULT 0, checksums {text}, "
                f"rollback_checksums {text}, applied_at {name}, rolled_back_at {name}, "
                f"duration_ms {big}, error {text}, step_in_flight {i}, "
                f"attempt_started_at {name}, contract_done {i} NOT NULL DEFAULT 0, "
                f"updated_at {name}){opts}"
            ),
            (
                f"CREATE TABLE IF NOT EXISTS {self.versions_table} (tsv {name} PRIMARY KEY, "
                f"handler {key} NOT NULL, ts {name} NOT NULL, schema_name {name} NOT NULL, "
                f"active {i} NOT NULL DEFAULT 0, activated_at {name}, deactivated_at {name}, "
                f"request_count {big} NOT NULL DEFAULT 0, last_accessed {name}, "
                f"retiring_generation {big}, retiring_at {name}){opts}"
            ),
            (
                f"CREATE TABLE IF NOT EXISTS {self.tags_table} (handler {key} NOT NULL, "
                f"tag {name} NOT NULL, tsv {name} NOT NULL, created_at {name}, "
                f"PRIMARY KEY (handler, tag)){opts}"
            ),
            (
                f"CREATE TABLE IF NOT EXISTS {self.events_table} (id {b.TYPE_EVENT_ID}, "
                f"at {name} NOT NULL, kind {name} NOT NULL, subject {key} NOT NULL, "
                f"actor {text}, duration_ms {big}, detail {text}){opts}"
            ),
        ]

    def ensure(self) -> None:
        """Create or upgrade the state tables. Call only while holding the Timescape lock.

        The lock makes creation race-free across processes; ``IF NOT EXISTS`` keeps it
        idempotent. Committed on its own. The meta table comes last and appears together with
        its rows: in the same transaction on PostgreSQL/SQLite, and on MySQL/MariaDB (where
        each ``CREATE`` commits) by filling a staging table and renaming it into place, which is
        atomic. So a reader without the lock sees either no state or all of it, and a bootstrap
        that died half-way is simply completed by the next one.

        Raises:
            StateFormatError: If a newer Timescape wrote the tables.
            StateError: If the meta table is missing although other state tables hold rows.
        """
        if self._present():
            self._check_existing()
            return
        used = self._orphans_hold_rows(self.backend.table_names(self.table_names))
        if used:
            raise StateError(
                f"state table {self.meta_name} is missing although {', '.join(used)} hold rows; "
                "restore it from a backup (Timescape will not guess)"
            )
        meta_ddl, *others = self._ddl()
        others.append(self.instances.ddl())
        rows = (("format_version", str(FORMAT_VERSION)), ("generation", "0"))
        if not self.backend.transactional_ddl:
            staging = self.backend.qualify(f"{self.meta_name}_boot")
            for statement in others:
                self.backend.execute(statement, None)
            self.backend.execute(f"DROP TABLE IF EXISTS {staging}", None)
            self.backend.execute(meta_ddl.replace(self.meta, staging, 1), None)
            for key, value in rows:
                self.backend.execute(
                    f"INSERT INTO {staging} (key_name, value) VALUES (?, ?)", (key, value)
                )
            self.backend.execute(f"RENAME TABLE {staging} TO {self.meta}", None)
            return
        self.backend.begin()
        try:
            for statement in (*others, meta_ddl):
                self.backend.execute(statement, None)
            for key, value in rows:
                self.backend.execute(
                    f"INSERT INTO {self.meta} (key_name, value) VALUES (?, ?)", (key, value)
                )
            self.backend.commit()
        except BaseException:
            self.backend.rollback()
            raise

    def _check_existing(self) -> None:
        found = self.format_version()
        if found is None:
            raise StateFormatError(
                found=None,
                supported=FORMAT_VERSION,
                detail=f"{self.meta_name} has no format_version row: the state tables are damaged",
            )
        if found > FORMAT_VERSION:
            raise StateFormatError(found=found, supported=FORMAT_VERSION)
        if found >= FORMAT_VERSION:
            return  # _present() has just seen every table
        self._upgrade(found)
        missing = set(self.table_names) - self.backend.table_names(self.table_names)
        if missing:
            raise StateError(
                f"state table(s) {', '.join(sorted(missing))} are missing although "
                f"{self.meta_name} exists; restore them from a backup (Timescape will not guess)"
            )

    def _upgrade(self, found: int) -> None:
        """Run the numbered upgrades from ``found`` to :data:`FORMAT_VERSION`, under the lock.

        Each upgrade and its new format number commit together on PostgreSQL and SQLite. On
        MySQL/MariaDB each ``ALTER`` commits on its own, so every upgrade step checks whether it
        already ran: an upgrade that died half-way is completed by the next run.
        """
        if found < 2:
            self._upgrade_to_2()
        self._invalidate()

    def _upgrade_to_2(self) -> None:
        """Format 2: ``retiring_generation``/``retiring_at`` on versions, the instances table."""
        b = self.backend
        columns = (("retiring_generation", b.TYPE_BIGINT), ("retiring_at", b.TYPE_NAME))
        statements = [
            f"ALTER TABLE {self.versions_table} ADD COLUMN {column} {kind}"
            for column, kind in columns
            if b.transactional_ddl or not self._has_column(self.versions_table, column)
        ]
        statements.append(self.instances.ddl())
        if b.transactional_ddl:
            b.begin()
        try:
            for statement in statements:
                b.execute(statement, None)
            b.execute(
                f"UPDATE {self.meta} SET value = ? WHERE key_name = ?", ("2", "format_version")
            )
            if b.transactional_ddl:
                b.commit()
        except BaseException:
            if b.in_transaction:
                b.rollback()
            raise

    def _has_column(self, table: str, column: str) -> bool:
        """Whether ``table`` has ``column`` (MySQL/MariaDB upgrades only: outside a transaction)."""
        try:
            self.backend.query(f"SELECT {column} FROM {table} WHERE 1 = 0")
        except Exception as exc:
            if not self.backend.is_driver_error(exc):
                raise
            return False
        return True

    def _is_current_format(self) -> bool:
        """Whether the tables have format 2's columns (older ones are read without them)."""
        if not self._format_current:
            found = self.format_version()
            self._format_current = found is not None and found >= FORMAT_VERSION
        return self._format_current

    def format_version(self) -> int | None:
        """The stored format version, or None when the row is missing."""
        rows = self.backend.query(
            f"SELECT value FROM {self.meta} WHERE key_name = ?", ("format_version",)
        )
        if not rows:
            return None
        try:
            return int(rows[0][0])
        except (TypeError, ValueError):
            return None

    def check_readable(self) -> None:
        """Raise if the tables were written by a newer, incompatible Timescape, or are damaged.

        Raises:
            StateFormatError: When the stored format is newer.
            StateError: When state tables were dropped (a read would show a false, empty state).
        """
        missing = self.missing_tables()
        if missing:
            raise StateError(
                f"state table(s) {', '.join(missing)} are missing; restore them from a backup "
                "(Timescape will not guess)"
            )
        if self.exists():
            found = self.format_version()
            if found is not None and found > FORMAT_VERSION:
                raise StateFormatError(found=found, supported=FORMAT_VERSION)

    # -- reads --------------------------------------------------------------------------------

    def generation(self) -> int:
        """The write counter (0 when the tables do not exist)."""
        try:
            rows = self.backend.query(
                f"SELECT value FROM {self.meta} WHERE key_name = ?", ("generation",)
            )
        except Exception:
            if self.exists():
                raise
            return 0
        return int(rows[0][0]) if rows else 0

    def read(self, *, use_cache: bool = True, ensured: bool = False) -> StateSnapshot:
        """Read the whole state into a snapshot, reusing the last one if nothing was written.

        Without the Timescape lock another process may commit between two SELECTs, so the
        tables are then read inside one read-only snapshot transaction: a reader never pairs
        the schemas from before a commit with the versions from after it. Under the lock (or
        inside the caller's transaction) no writer can interleave and no extra round trip is
        spent.

        Args:
            use_cache: Reuse the cached snapshot when the generation is unchanged.
            ensured: The caller holds the lock and :meth:`ensure` returned under it, so every
                table is known to exist: the catalog lookup that refuses a partial set is
                skipped.

        Returns:
            The snapshot (empty when the tables do not exist yet).
        """
        backend = self.backend
        if backend.lock_held or backend.in_transaction:
            return self._read(use_cache=use_cache, ensured=ensured and backend.lock_held)
        return self._in_snapshot(lambda: self._read(use_cache=use_cache))

    def _in_snapshot(self, read: Callable[[], _T]) -> _T:
        """Run ``read`` in one read-only snapshot transaction, again if the snapshot went stale.

        MySQL/MariaDB refuse to read a table created or renamed after a consistent snapshot
        began (error 1412, "Table definition has changed, please retry transaction"): a reader
        racing another process's bootstrap, which renames the meta table into place, meets it
        once. The read writes nothing, so repeating it is safe; a few attempts bound the loop.
        """
        backend = self.backend
        for attempt in range(1, _SNAPSHOT_ATTEMPTS + 1):
            try:
                with backend.read_snapshot():
                    return read()
            except Exception as exc:
                stale = (
                    backend.is_driver_error(exc)
                    and backend.classify_error(exc) == ErrorKind.SNAPSHOT_STALE
                )
                if not stale or attempt == _SNAPSHOT_ATTEMPTS:
                    raise
                time.sleep(0.01 * attempt)
        raise AssertionError  # pragma: no cover - the loop returns or raises

    def _read(self, *, use_cache: bool, ensured: bool = False) -> StateSnapshot:
        if not ensured and not self._present():
            self._invalidate()
            return StateSnapshot()
        generation = self.generation()
        cache = self._rolled_forward()
        if use_cache and cache is not None and cache.generation == generation:
            return cache
        self._invalidate()
        self.reloads += 1
        schemas, self.outdated_checksums = self._schema_rows()
        versions, tags = self._version_rows()
        snapshot = StateSnapshot(
            schemas=schemas,
            versions=versions,
            tags=tags,
            generation=generation,
            format_version=self.format_version() or 0,
        )
        self._cache = snapshot
        return snapshot

    def read_for_reports(self) -> StateSnapshot:
        """The state for schema reports and statistics: every schema, the live versions only.

        The cached snapshot when it is current; otherwise the schema rows and only the live
        versions' rows, without tags: ``schema list`` and ``stats`` at ten thousand versions
        need a hundred of them, and decoding the rest cost a third of the command. Such a
        partial snapshot is never cached and never used to plan.

        Returns:
            A snapshot whose ``versions`` holds at least every live version, and whose ``tags``
            may be empty.

        Added in 0.1.
        """

        def read() -> StateSnapshot:
            if not self._present():
                return StateSnapshot()
            generation = self.generation()
            cache = self._rolled_forward()
            if cache is not None and cache.generation == generation:
                return cache
            schemas, _ = self._schema_rows()
            versions, _ = self._version_rows(live_only=True)
            return StateSnapshot(
                schemas=schemas,
                versions=versions,
                generation=generation,
                format_version=self.format_version() or 0,
            )

        if self.backend.lock_held or self.backend.in_transaction:
            return read()
        return self._in_snapshot(read)

    def read_status_rows(
        self,
    ) -> tuple[StateSnapshot, list[tuple[str, SchemaStatus, int | None, datetime | None]]] | None:
        """For statistics: each schema's stored status, last duration and run time; live versions.

        Four columns per schema as tuples, not whole rows: ``timescape stats`` at ten thousand
        schemas spent most of its time decoding checksums it never shows (issue 14). The stored
        status is the effective one only when no run marker is left and every row is settled
        (:func:`timescape.model.status.is_settled`); otherwise this returns None, and the caller
        derives the statuses from whole rows as every other report does.

        Returns:
            A snapshot holding the live versions only (no schemas, no tags) and one
            ``(name, status, duration_ms, applied_at or rolled_back_at)`` per stored schema; or
            None when whole rows are the better source: a status may need deriving, or a
            current snapshot is cached already.
        """

        def build(
            rows: Sequence[Sequence[Any]], statuses: list[SchemaStatus]
        ) -> list[tuple[str, SchemaStatus, int | None, datetime | None]]:
            return [
                (row[0], status, row[2], _parse(row[3] or row[4]))
                for row, status in zip(rows, statuses, strict=True)
            ]

        return self._settled_rows("duration_ms, applied_at, rolled_back_at", build)

    def read_listing_rows(self) -> tuple[StateSnapshot, dict[str, StoredSchema]] | None:
        """For ``schema list``: every schema's listed columns (``StoredSchema``); live versions.

        The columns a listing shows, as tuples instead of whole rows: building a
        :class:`SchemaState` per row (and decoding rollback checksums nobody shows) was a
        twentieth of ``schema list`` at 10,000 schemas (issue 14). Returned only when every stored
        status is the effective one, as :meth:`read_status_rows`.

        Returns:
            A snapshot holding the live versions only and every stored schema's columns by name;
            or None when whole rows are the better source (see :meth:`read_status_rows`).
        """

        def build(
            rows: Sequence[Sequence[Any]], statuses: list[SchemaStatus]
        ) -> dict[str, StoredSchema]:
            sums, parents = (_json_lists([r[i] for r in rows]) for i in (3, 9))
            return {
                row[0]: (
                    status,
                    int(row[2] or 0),
                    tuple(sums[i]),
                    _parse(row[4]) if row[4] else None,
                    _parse(row[5]) if row[5] else None,
                    row[6],
                    row[7],
                    bool(row[8]),
                    tuple(parents[i]),
                )
                for i, (row, status) in enumerate(zip(rows, statuses, strict=True))
            }

        return self._settled_rows(
            "steps_done, checksums, applied_at, rolled_back_at, duration_ms, error, "
            "contract_done, parents",
            build,
        )

    def _settled_rows(
        self, columns: str, build: Callable[[Sequence[Sequence[Any]], list[SchemaStatus]], _T]
    ) -> tuple[StateSnapshot, _T] | None:
        """``name, status, <columns>, step_in_flight`` of every schema row, handed to ``build``.

        ``build`` gets the rows and their statuses. None when the cached snapshot is current
        (whole rows at hand), or when a row is not settled or a run marker is left (a status
        needs deriving from whole rows); otherwise the live versions and what ``build`` made.
        """

        def read() -> tuple[StateSnapshot, _T] | None:
            if not self._present():
                return StateSnapshot(), build([], [])
            cache = self._rolled_forward()
            if cache is not None and cache.generation == self.generation():
                return None  # whole rows at hand: no query needed beyond the marker's
            rows = self.backend.query(
                f"SELECT name, status, {columns}, step_in_flight FROM {self.schemas_table}"
            )
            statuses = []
            for row in rows:
                status = _STATUSES.get(row[1]) or self._status(row[0], row[1])
                if not is_settled(status, row[-1]):
                    return None
                statuses.append(status)
            if self.run_marker() is not None:
                return None
            versions, _ = self._version_rows(live_only=True)
            return StateSnapshot(versions=versions), build(rows, statuses)

        if self.backend.lock_held or self.backend.in_transaction:
            return read()
        return self._in_snapshot(read)

    def _status(self, name: str, raw: str) -> SchemaStatus:
        status = _STATUSES.get(raw)
        if status is None:
            raise StateError(
                f"schema {name!r} has unknown status {raw!r} in {self.schemas_name}; "
                "the state tables were edited by hand. Fix the row (Timescape will not guess)"
            )
        return status

    def _schema_rows(self) -> tuple[Mapping[str, SchemaState], frozenset[str]]:
        """Every schema row, and the names of those holding checksums of an older algorithm."""
        rows = self.backend.query(
            f"SELECT name, parents, status, steps_done, checksums, rollback_checksums, "
            f"applied_at, rolled_back_at, duration_ms, error, step_in_flight, "
            f"attempt_started_at, contract_done FROM {self.schemas_table}"
        )
        # Three JSON arrays per row: decode each column in one call, not one call per value.
        parents, sums, undo = (_json_lists([r[i] for r in rows]) for i in (1, 4, 5))
        make = maker(SchemaState, len(rows))  # positional, a fifth of __init__'s cost
        statuses = _STATUSES
        schemas = frozen(
            {
                row[0]: make(
                    row[0],
                    statuses.get(row[2]) or self._status(row[0], row[2]),
                    int(row[3] or 0),
                    tuple(sums[i]),
                    tuple(undo[i]),
                    tuple(parents[i]),
                    _parse(row[6]) if row[6] else None,
                    _parse(row[7]) if row[7] else None,
                    row[8],
                    row[9],
                    row[10],
                    _parse(row[11]) if row[11] else None,
                    bool(row[12]),
                )
                for i, row in enumerate(rows)
            }
        )
        # Checksums are hex digits after the algorithm: a row is current when every quoted
        # value in its JSON starts with the current algorithm (no decoding needed to tell).
        current = f'"{CHECKSUM_ALGORITHM}:'
        column = "".join(raw for row in rows for raw in (row[4], row[5]) if raw)
        if column.count('"') == 2 * column.count(current):
            return schemas, frozenset()  # every value current: no row to look at
        outdated = frozenset(
            row[0]
            for row in rows
            if any(raw and raw.count('"') != 2 * raw.count(current) for raw in (row[4], row[5]))
        )
        return schemas, outdated

    def read_versions(self) -> StateSnapshot:
        """The versions and tags only, in one consistent read; its ``schemas`` are empty.

        For reports about versions alone: decoding ten thousand schema rows costs more than the
        rest of ``timescape version list``. Never cached, never used to plan.

        Returns:
            A snapshot whose ``schemas`` mapping is empty (not the state of the schemas).
        """

        def read() -> StateSnapshot:
            if not self._present():
                return StateSnapshot()
            versions, tags = self._version_rows()
            return StateSnapshot(versions=versions, tags=tags, generation=self.generation())

        if self.backend.lock_held or self.backend.in_transaction:
            return read()
        return self._in_snapshot(read)

    def _version_rows(
        self, *, live_only: bool = False
    ) -> tuple[Mapping[str, VersionState], Mapping[tuple[str, str], str]]:
        """Version rows (only the live ones with ``live_only``) and tags (none then), read-only."""
        versions = {}
        where = " WHERE active = 1" if live_only else ""
        # Tables of format 1 (not upgraded yet: nothing wrote since) have no retiring columns.
        retiring = "retiring_generation, retiring_at" if self._is_current_format() else "NULL, NULL"
        rows = self.backend.query(
            f"SELECT tsv, handler, ts, schema_name, active, activated_at, deactivated_at, "
            f"request_count, last_accessed, {retiring} FROM {self.versions_table}{where}"
        )
        make = maker(VersionState, len(rows))  # positional, a fifth of __init__'s cost
        for row in rows:
            versions[row[0]] = make(
                row[0],
                row[1],
                datetime.fromisoformat(row[2]),
                row[3],
                bool(row[4]),
                _parse(row[5]) if row[5] else None,
                _parse(row[6]) if row[6] else None,
                int(row[7] or 0),
                _parse(row[8]) if row[8] else None,
                None if row[9] is None else int(row[9]),
                _parse(row[10]) if row[10] else None,
            )
        if live_only:
            return frozen(versions), frozen({})
        tags = {
            (r[0], r[1]): r[2]
            for r in self.backend.query(f"SELECT handler, tag, tsv FROM {self.tags_table}")
        }
        return frozen(versions), frozen(tags)

    def run_marker(self) -> RunMarker | None:
        """The marker of a run that started and has not finished (or died)."""
        rows = self.backend.query(f"SELECT value FROM {self.meta} WHERE key_name = ?", ("run",))
        if not rows or not rows[0][0]:
            return None
        data = json.loads(rows[0][0])
        return RunMarker(
            operation=data["operation"],
            target=data["target"],
            schemas=tuple(data["schemas"]),
            started_at=datetime.fromisoformat(data["started_at"]),
            actor=data["actor"],
        )

    def events(self, *, limit: int = 50, kinds: Iterable[str] = ()) -> list[Event]:
        """The newest events first.

        Args:
            limit: At most this many.
            kinds: Only these kinds (all when empty).

        Returns:
            The events.

        Raises:
            StateError: When some state tables are missing.
        """
        if not self._present():
            return []
        kinds = list(kinds)
        where = f" WHERE kind IN ({', '.join('?' for _ in kinds)})" if kinds else ""
        rows = self.backend.query(
            f"SELECT id, at, kind, subject, actor, duration_ms, detail FROM {self.events_table}"
            f"{where} ORDER BY id DESC LIMIT {int(limit)}",
            kinds,
        )
        return [
            Event(
                id=int(r[0]),
                at=datetime.fromisoformat(r[1]),
                kind=r[2],
                subject=r[3],
                actor=r[4] or "",
                duration_ms=r[5],
                detail=json.loads(r[6] or "{}"),
            )
            for r in rows
        ]

    def event_ids(self) -> list[int]:
        """Every event id in insertion order (for append-only checks)."""
        return [int(r[0]) for r in self.backend.query(f"SELECT id FROM {self.events_table}")]

    # -- writes (the caller owns the transaction) ---------------------------------------------

    # -- the cache, rolled forward by this store's own committed writes ------------------------

    def _record(self, patch: _Patch) -> None:
        """Remember how a write inside the open transaction changes the cached snapshot."""
        if self.backend.in_transaction:
            self._pending.append(patch)
        else:  # autocommitted at once: nothing to replay at a commit, so reload next time
            self._invalidate()

    def discard_cache(self) -> None:
        """Forget the cached snapshot: the next read loads every row.

        For readers that know the generation alone cannot be trusted: a run that died between
        its first and last commits left rows the generation does not account for.
        """
        self._invalidate()

    def _invalidate(self) -> None:
        self._cache = None
        self._synced = None
        self._unsynced = None
        self._committed, self._committed_bumps = [], 0

    def _transaction_ended(self, committed: bool) -> None:  # noqa: FBT001 - listener signature
        pending, bumps = self._pending, self._pending_bumps
        self._pending, self._pending_bumps = [], 0
        if not committed or self._cache is None or not (pending or bumps):
            return
        # Replayed at the next read, all at once: a chain of a thousand schemas commits a
        # thousand times and reads once, so rolling forward must not copy the rows per commit.
        self._committed.extend(pending)
        self._committed_bumps += bumps

    def _rolled_forward(self) -> StateSnapshot | None:
        """The cached snapshot with every committed write of this store replayed on it."""
        cache = self._cache
        if cache is not None and (self._committed or self._committed_bumps):
            draft = _Draft(cache, self._synced)
            for patch in self._committed:
                patch(draft)
            cache = draft.snapshot(cache.generation + self._committed_bumps)
            self._cache, self._synced = cache, draft.synced
            self._committed, self._committed_bumps = [], 0
        return cache

    def bump_generation(self) -> None:
        """Move the write counter; readers reload on their next refresh."""
        if self.backend.in_transaction:
            self._pending_bumps += 1
        else:
            self._invalidate()
        self.backend.defer(
            f"UPDATE {self.meta} SET value = CAST(CAST(value AS {self._int_cast()}) + 1 AS "
            f"{self._text_cast()}) WHERE key_name = ?",
            ("generation",),
        )
        notify = self.backend.NOTIFY_SQL
        if notify is not None:
            # In the same transaction: listeners hear of the change exactly when it commits.
            self.backend.defer(notify.format(meta=self.meta), (self.notification_channel,))

    @property
    def notification_channel(self) -> str:
        """The ``LISTEN`` channel every state change is announced on (PostgreSQL).

        Derived from the table prefix (a validated identifier), so two Timescape states in one
        database never hear each other. The payload is the new generation.
        """
        return f"{self.backend.table_prefix}changes"

    def _int_cast(self) -> str:
        return "SIGNED" if self.backend.dialect == "mysql" else "BIGINT"

    def _text_cast(self) -> str:
        return "CHAR" if self.backend.dialect == "mysql" else "TEXT"

    def set_run_marker(self, marker: RunMarker | None) -> None:
        """Write or clear the run marker."""
        value = (
            None
            if marker is None
            else json.dumps(
                {
                    "operation": marker.operation,
                    "target": marker.target,
                    "schemas": list(marker.schemas),
                    "started_at": _iso(marker.started_at),
                    "actor": marker.actor,
                }
            )
        )
        self._upsert_meta("run", value)

    def _upsert_meta(self, key: str, value: str | None) -> None:
        """Insert or update one meta row in one statement, sent with the transaction's next batch.

        An upsert rather than a SELECT and then an UPDATE or INSERT: no answer is needed, so on
        PostgreSQL the write rides in the COMMIT's round trip like the other state writes.
        """
        backend = self.backend
        sets = backend.UPSERT_SET_SQL.format(column="value")
        backend.defer(
            f"INSERT INTO {self.meta} (key_name, value) VALUES (?, ?)"
            + backend.UPSERT_SQL.format(key="key_name", sets=sets),
            (key, value),
        )

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
            _json_list(state.parents),
            state.status.value,
            state.steps_done,
            step_count,
            _json_list(state.checksums),
            _json_list(state.rollback_checksums),
            _iso(state.applied_at),
            _iso(state.rolled_back_at),
            state.duration_ms,
            (state.error or "")[:_MAX_ERROR] or None,
            state.step_in_flight,
            _iso(state.attempt_started_at),
            int(state.contract_done),
            _iso(at or now()),
        )
        stored = (
            state
            if _in_stored_form(state)
            else SchemaState(
                name=state.name,
                status=state.status,
                steps_done=int(state.steps_done),
                checksums=tuple(state.checksums),
                rollback_checksums=tuple(state.rollback_checksums),
                parents=tuple(state.parents),
                applied_at=_stored(state.applied_at),
                rolled_back_at=_stored(state.rolled_back_at),
                duration_ms=state.duration_ms,
                error=values[9],
                step_in_flight=state.step_in_flight,
                attempt_started_at=_stored(state.attempt_started_at),
                contract_done=bool(state.contract_done),
            )
        )

        def patch(draft: _Draft) -> None:
            rows = draft.schema_rows()
            if known and state.name not in rows:
                return  # the UPDATE matched no row
            rows[state.name] = stored

        self._record(patch)
        if known:
            self.backend.defer(
                f"UPDATE {self.schemas_table} SET parents = ?, status = ?, steps_done = ?, "
                "step_count = ?, checksums = ?, rollback_checksums = ?, applied_at = ?, "
                "rolled_back_at = ?, duration_ms = ?, error = ?, step_in_flight = ?, "
                "attempt_started_at = ?, contract_done = ?, updated_at = ? WHERE name = ?",
                (*values, state.name),
            )
        else:
            self.backend.defer(
                f"INSERT INTO {self.schemas_table} (parents, status, steps_done, step_count, "
                "checksums, rollback_checksums, applied_at, rolled_back_at, duration_ms, error, "
                "step_in_flight, attempt_started_at, contract_done, updated_at, name) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, state.name),
            )

    def delete_schema_row(self, name: str) -> None:
        """Remove a schema row (used only by ``schema resolve`` for a never-applied schema)."""
        self.backend.execute(f"DELETE FROM {self.schemas_table} WHERE name = ?", (name,))

        def patch(draft: _Draft) -> None:
            draft.schema_rows().pop(name, None)

        self._record(patch)

    def set_version_active(self, tsv: str, *, active: bool) -> None:
        """Mark a version live or not, stamping the time; either way it is no longer retiring."""
        column = "activated_at" if active else "deactivated_at"
        stamp = _iso(now())
        self.backend.execute(
            f"UPDATE {self.versions_table} SET active = ?, {column} = ?, "
            "retiring_generation = NULL, retiring_at = NULL WHERE tsv = ?",
            (int(active), stamp, tsv),
        )

        def patch(draft: _Draft) -> None:
            rows = draft.version_rows()
            row = rows.get(tsv)
            if row is None:
                return  # the UPDATE matched no row
            moment = _parse(stamp)
            rows[tsv] = (
                replace(row, active=True, activated_at=moment, **_NOT_RETIRING)
                if active
                else replace(row, active=False, deactivated_at=moment, **_NOT_RETIRING)
            )
            draft.touched_versions.add(tsv)

        self._record(patch)

    def retiring_marks(self, tsvs: Sequence[str]) -> dict[str, int]:
        """The retiring generation of each of ``tsvs`` still marked retiring (one query)."""
        if not tsvs:
            return {}
        rows = self.backend.query(
            f"SELECT tsv, retiring_generation FROM {self.versions_table} WHERE active = 1 AND "
            f"retiring_generation IS NOT NULL AND tsv IN ({', '.join('?' for _ in tsvs)})",
            list(tsvs),
        )
        return {r[0]: int(r[1]) for r in rows}

    def set_version_retiring(self, tsv: str, *, generation: int | None) -> None:
        """Mark a live version retiring at ``generation`` (None: live and routed again).

        Args:
            tsv: The version (a live one: the row is matched on ``active = 1``).
            generation: The generation the caller's transaction commits at, or None to clear.
        """
        stamp = None if generation is None else _iso(now())
        self.backend.execute(
            f"UPDATE {self.versions_table} SET retiring_generation = ?, retiring_at = ? "
            "WHERE tsv = ? AND active = 1",
            (generation, stamp, tsv),
        )

        def patch(draft: _Draft) -> None:
            rows = draft.version_rows()
            row = rows.get(tsv)
            if row is None or not row.active:
                return  # the UPDATE matched no row
            rows[tsv] = replace(row, retiring_generation=generation, retiring_at=_parse(stamp))
            draft.touched_versions.add(tsv)

        self._record(patch)

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
        current = snapshot is self._cache and not (self._committed or self._committed_bumps)
        if current and catalog is self._synced:
            return False
        missing = self._missing_versions(catalog, snapshot)
        if not missing:
            if current:
                self._synced = catalog
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
            self.backend.execute(
                f"INSERT INTO {self.versions_table} (tsv, handler, ts, schema_name, active, "
                "request_count) VALUES (?, ?, ?, ?, 0, 0)",
                (version.tsv, version.handler, version.timestamp.isoformat(), version.schema),
            )
            tags = [t for t in version.tags if (version.handler, t) not in snapshot.tags]
            for tag in tags:
                self.backend.execute(
                    f"INSERT INTO {self.tags_table} (handler, tag, tsv, created_at) "
                    "VALUES (?, ?, ?, ?)",
                    (version.handler, tag, version.tsv, _iso(now())),
                )
            self._record(_inserted_version(version, tags))
            wrote = True
        if current:

            def patch(draft: _Draft) -> None:
                draft.synced = catalog

            self._record(patch)
        return wrote

    def prime_sync(self, catalog: Catalog, snapshot: StateSnapshot) -> None:
        """Work out which defined versions the cached snapshot lacks, while loading it anyway.

        Finding them compares every defined TSV with every stored one (a millisecond at ten
        thousand). The caller loading a fresh snapshot into its view pays that once here, so
        the next :meth:`sync_versions` on the same catalog and snapshot (an activation in a warm
        instance) costs only the versions it writes. Pure bookkeeping: reads and writes nothing.

        Args:
            catalog: The definitions.
            snapshot: A snapshot returned by :meth:`read`.
        """
        if snapshot is not self._cache or catalog is self._synced:
            return
        unsynced = self._unsynced
        if unsynced is None or unsynced[0] is not catalog or unsynced[1] is not snapshot:
            missing = frozenset(catalog.tsvs() - snapshot.versions.keys())
            self._unsynced = (catalog, snapshot, missing)

    def _missing_versions(self, catalog: Catalog, snapshot: StateSnapshot) -> frozenset[str]:
        unsynced = self._unsynced
        if unsynced is not None and unsynced[0] is catalog and unsynced[1] is snapshot:
            return unsynced[2]
        return frozenset(catalog.tsvs() - snapshot.versions.keys())

    def set_tag(self, handler: str, tag: str, tsv: str, *, exists: bool) -> None:
        """Point a tag at a TSV (moving it if it pointed elsewhere in the handler)."""
        if exists:
            self.backend.execute(
                f"UPDATE {self.tags_table} SET tsv = ?, created_at = ? WHERE handler = ? AND "
                "tag = ?",
                (tsv, _iso(now()), handler, tag),
            )
        else:
            self.backend.execute(
                f"INSERT INTO {self.tags_table} (handler, tag, tsv, created_at) VALUES "
                "(?, ?, ?, ?)",
                (handler, tag, tsv, _iso(now())),
            )

        def patch(draft: _Draft) -> None:
            rows = draft.tag_rows()
            if not exists or (handler, tag) in rows:
                rows[(handler, tag)] = tsv

        self._record(patch)

    def delete_tag(self, handler: str, tag: str) -> None:
        """Remove a tag."""
        self.backend.execute(
            f"DELETE FROM {self.tags_table} WHERE handler = ? AND tag = ?", (handler, tag)
        )

        def patch(draft: _Draft) -> None:
            draft.tag_rows().pop((handler, tag), None)

        self._record(patch)

    def add_requests(self, counts: dict[str, tuple[int, datetime]]) -> None:
        """Add request counts and last-access times flushed by an app instance."""
        for tsv, (count, last) in counts.items():
            self.backend.execute(
                f"UPDATE {self.versions_table} SET request_count = request_count + ?, "
                "last_accessed = ? WHERE tsv = ?",
                (count, _iso(last), tsv),
            )

    def record_event(
        self,
        kind: str,
        subject: str,
        *,
        actor: str,
        duration_ms: int | None = None,
        detail: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> None:
        """Append an event (never updated or deleted); ``at`` defaults to now."""
        self.backend.defer(
            f"INSERT INTO {self.events_table} (at, kind, subject, actor, duration_ms, detail) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (_iso(at or now()), kind, subject, actor, duration_ms, json.dumps(detail or {})),
            rides=True,
        )


def _inserted_version(version: Version, tags: Sequence[str]) -> _Patch:
    row = VersionState(
        tsv=version.tsv,
        handler=version.handler,
        timestamp=datetime.fromisoformat(version.timestamp.isoformat()),
        schema=version.schema,
    )

    def patch(draft: _Draft) -> None:
        draft.version_rows()[version.tsv] = row
        draft.touched_versions.add(version.tsv)
        if tags:
            rows = draft.tag_rows()
            for tag in tags:
                rows[(version.handler, tag)] = version.tsv

    return patch


def _json_lists(values: Sequence[str | None]) -> list[list[Any]]:
    """Decode JSON arrays (an empty value is ``[]``) with one parse for the whole column.

    Falls back to one parse per value, raising as that would, unless the joined text decodes to
    exactly one list per value.
    """
    try:
        decoded = json.loads("[" + ",".join(v or "[]" for v in values) + "]")
    except ValueError:
        decoded = None
    if (
        isinstance(decoded, list)
        and len(decoded) == len(values)
        and all(type(v) is list for v in decoded)
    ):
        return decoded
    return [json.loads(v or "[]") for v in values]
