"""The ``timescape_*`` tables: creation, format upgrades, reads into snapshots, and writes.

Writes never commit on their own: the caller (the executor) owns the transaction, so on PostgreSQL
and SQLite a schema's DDL and its state row commit together. A ``generation`` counter in the meta
table moves on every write; readers compare it to skip reloading unchanged state, which keeps the
hot path and the ten-thousandth activation as cheap as the first.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from timescape.errors import DefinitionError, InputError, StateError, StateFormatError
from timescape.model.catalog import Catalog
from timescape.model.state import SchemaState, SchemaStatus, StateSnapshot, VersionState
from timescape.store.base import Backend

__all__ = ["FORMAT_VERSION", "Event", "RunMarker", "StateStore", "now", "validate_prefix"]

FORMAT_VERSION = 1
_MAX_ERROR = 4000
_PREFIX_MAX = 40


def now() -> datetime:
    """The current UTC time, millisecond precision."""
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="milliseconds") if moment is not None else None


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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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


class StateStore:
    """Reads and writes the state tables through one backend."""

    def __init__(self, backend: Backend) -> None:
        """Bind to a backend; the tables are created on the first write.

        Args:
            backend: The connected (or lazily connecting) backend.
        """
        self.backend = backend
        p = validate_prefix(backend.table_prefix)
        self.meta = f"{p}meta"
        self.schemas_table = f"{p}schemas"
        self.versions_table = f"{p}versions"
        self.tags_table = f"{p}tags"
        self.events_table = f"{p}events"
        self._cache: StateSnapshot | None = None

    @property
    def table_names(self) -> tuple[str, ...]:
        """All state tables."""
        return (
            self.meta,
            self.schemas_table,
            self.versions_table,
            self.tags_table,
            self.events_table,
        )

    # -- creation and format ------------------------------------------------------------------

    def exists(self) -> bool:
        """True when the meta table exists (checked in the catalog, never by catching errors)."""
        return self.meta in self.backend.table_names()

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
                f"request_count {big} NOT NULL DEFAULT 0, last_accessed {name}){opts}"
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
        idempotent. Committed on its own (MySQL DDL commits implicitly anyway).

        Raises:
            StateFormatError: If a newer Timescape wrote the tables.
        """
        if self.exists():
            self._check_existing()
            return
        txn = self.backend.transactional_ddl
        if txn:
            self.backend.begin()
        try:
            for statement in self._ddl():
                self.backend.execute(statement, None)
            self.backend.execute(
                f"INSERT INTO {self.meta} (key_name, value) VALUES (?, ?)",
                ("format_version", str(FORMAT_VERSION)),
            )
            self.backend.execute(
                f"INSERT INTO {self.meta} (key_name, value) VALUES (?, ?)", ("generation", "0")
            )
            if txn:
                self.backend.commit()
        except BaseException:
            if txn:
                self.backend.rollback()
            raise

    def _check_existing(self) -> None:
        found = self.format_version()
        if found is None:
            raise StateFormatError(
                found=None,
                supported=FORMAT_VERSION,
                detail=f"{self.meta} has no format_version row: the state tables are damaged",
            )
        if found > FORMAT_VERSION:
            raise StateFormatError(found=found, supported=FORMAT_VERSION)
        if found < FORMAT_VERSION:  # pragma: no cover - no upgrade exists yet
            self._upgrade(found)
        missing = set(self.table_names) - self.backend.table_names()
        if missing:
            raise StateError(
                f"state table(s) {', '.join(sorted(missing))} are missing although "
                f"{self.meta} exists; restore them from a backup (Timescape will not guess)"
            )

    def _upgrade(self, found: int) -> None:  # pragma: no cover - placeholder for format 2
        """Run numbered upgrades from ``found`` to :data:`FORMAT_VERSION`."""
        del found

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
        """Raise if the tables were written by a newer, incompatible Timescape.

        Raises:
            StateFormatError: When the stored format is newer.
        """
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

    def read(self, *, use_cache: bool = True) -> StateSnapshot:
        """Read the whole state into a snapshot, reusing the last one if nothing was written.

        Args:
            use_cache: Reuse the cached snapshot when the generation is unchanged.

        Returns:
            The snapshot (empty when the tables do not exist yet).
        """
        if not self.exists():
            self._cache = None
            return StateSnapshot()
        generation = self.generation()
        if use_cache and self._cache is not None and self._cache.generation == generation:
            return self._cache
        schemas = {}
        for row in self.backend.query(
            f"SELECT name, parents, status, steps_done, checksums, rollback_checksums, "
            f"applied_at, rolled_back_at, duration_ms, error, step_in_flight, "
            f"attempt_started_at, contract_done FROM {self.schemas_table}"
        ):
            schemas[row[0]] = self._schema_row(row)
        versions = {}
        for row in self.backend.query(
            f"SELECT tsv, handler, ts, schema_name, active, activated_at, deactivated_at, "
            f"request_count, last_accessed FROM {self.versions_table}"
        ):
            versions[row[0]] = VersionState(
                tsv=row[0],
                handler=row[1],
                timestamp=datetime.fromisoformat(row[2]),
                schema=row[3],
                active=bool(row[4]),
                activated_at=_parse(row[5]),
                deactivated_at=_parse(row[6]),
                request_count=int(row[7] or 0),
                last_accessed=_parse(row[8]),
            )
        tags = {
            (r[0], r[1]): r[2]
            for r in self.backend.query(f"SELECT handler, tag, tsv FROM {self.tags_table}")
        }
        snapshot = StateSnapshot(
            schemas=schemas,
            versions=versions,
            tags=tags,
            generation=generation,
            format_version=self.format_version() or 0,
        )
        self._cache = snapshot
        return snapshot

    def _schema_row(self, row: Sequence[Any]) -> SchemaState:
        raw_status = row[2]
        try:
            status = SchemaStatus(raw_status)
        except ValueError:
            raise StateError(
                f"schema {row[0]!r} has unknown status {raw_status!r} in {self.schemas_table}; "
                "the state tables were edited by hand. Fix the row (Timescape will not guess)"
            ) from None
        return SchemaState(
            name=row[0],
            status=status,
            steps_done=int(row[3] or 0),
            checksums=tuple(json.loads(row[4] or "[]")),
            rollback_checksums=tuple(json.loads(row[5] or "[]")),
            parents=tuple(json.loads(row[1] or "[]")),
            applied_at=_parse(row[6]),
            rolled_back_at=_parse(row[7]),
            duration_ms=row[8],
            error=row[9],
            step_in_flight=row[10],
            attempt_started_at=_parse(row[11]),
            contract_done=bool(row[12]),
        )

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
        """
        if not self.exists():
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

    def bump_generation(self) -> None:
        """Move the write counter; readers reload on their next refresh."""
        self.backend.execute(
            f"UPDATE {self.meta} SET value = CAST(CAST(value AS {self._int_cast()}) + 1 AS "
            f"{self._text_cast()}) WHERE key_name = ?",
            ("generation",),
        )

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
        exists = self.backend.query(f"SELECT 1 FROM {self.meta} WHERE key_name = ?", (key,))
        if exists:
            self.backend.execute(
                f"UPDATE {self.meta} SET value = ? WHERE key_name = ?", (value, key)
            )
        else:
            self.backend.execute(
                f"INSERT INTO {self.meta} (key_name, value) VALUES (?, ?)", (key, value)
            )

    def write_schema(self, state: SchemaState, *, step_count: int, known: bool) -> None:
        """Insert or update a schema row.

        Args:
            state: The full row to store.
            step_count: Number of steps in the current definition.
            known: Whether the row exists already (from the snapshot read under the lock).
        """
        values = (
            json.dumps(list(state.parents)),
            state.status.value,
            state.steps_done,
            step_count,
            json.dumps(list(state.checksums)),
            json.dumps(list(state.rollback_checksums)),
            _iso(state.applied_at),
            _iso(state.rolled_back_at),
            state.duration_ms,
            (state.error or "")[:_MAX_ERROR] or None,
            state.step_in_flight,
            _iso(state.attempt_started_at),
            int(state.contract_done),
            _iso(now()),
        )
        if known:
            self.backend.execute(
                f"UPDATE {self.schemas_table} SET parents = ?, status = ?, steps_done = ?, "
                "step_count = ?, checksums = ?, rollback_checksums = ?, applied_at = ?, "
                "rolled_back_at = ?, duration_ms = ?, error = ?, step_in_flight = ?, "
                "attempt_started_at = ?, contract_done = ?, updated_at = ? WHERE name = ?",
                (*values, state.name),
            )
        else:
            self.backend.execute(
                f"INSERT INTO {self.schemas_table} (parents, status, steps_done, step_count, "
                "checksums, rollback_checksums, applied_at, rolled_back_at, duration_ms, error, "
                "step_in_flight, attempt_started_at, contract_done, updated_at, name) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, state.name),
            )

    def delete_schema_row(self, name: str) -> None:
        """Remove a schema row (used only by ``schema resolve`` for a never-applied schema)."""
        self.backend.execute(f"DELETE FROM {self.schemas_table} WHERE name = ?", (name,))

    def set_version_active(self, tsv: str, *, active: bool) -> None:
        """Mark a version live or not, stamping the time."""
        column = "activated_at" if active else "deactivated_at"
        self.backend.execute(
            f"UPDATE {self.versions_table} SET active = ?, {column} = ? WHERE tsv = ?",
            (int(active), _iso(now()), tsv),
        )

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
        by_moment = {(v.handler, v.timestamp): v.tsv for v in snapshot.versions.values()}
        wrote = False
        for version in catalog.versions:
            if version.tsv in snapshot.versions:
                continue
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
            for tag in version.tags:
                if (version.handler, tag) not in snapshot.tags:
                    self.backend.execute(
                        f"INSERT INTO {self.tags_table} (handler, tag, tsv, created_at) "
                        "VALUES (?, ?, ?, ?)",
                        (version.handler, tag, version.tsv, _iso(now())),
                    )
            wrote = True
        return wrote

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

    def delete_tag(self, handler: str, tag: str) -> None:
        """Remove a tag."""
        self.backend.execute(
            f"DELETE FROM {self.tags_table} WHERE handler = ? AND tag = ?", (handler, tag)
        )

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
    ) -> None:
        """Append an event (never updated or deleted)."""
        self.backend.execute(
            f"INSERT INTO {self.events_table} (at, kind, subject, actor, duration_ms, detail) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (_iso(now()), kind, subject, actor, duration_ms, json.dumps(detail or {})),
        )
