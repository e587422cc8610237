"""The state tables themselves: their names, creation, presence checks and format upgrades.

The tables carry a format version in the meta table, moved forward by numbered upgrades under the
Timescape lock (yoyo's internal migrations); a Timescape never reads or writes tables of a newer
format. Every statement names the tables qualified with the schema (PostgreSQL) or database
(MySQL) captured when the connection opened, or ``main`` (SQLite): a migration that moves the
search_path or runs ``USE other_db`` cannot redirect Timescape's bookkeeping (issue 11).
"""

from __future__ import annotations

from collections.abc import Callable

from timescape.errors import InputError, StateError, StateFormatError
from timescape.store.base import Backend
from timescape.store.instances import InstanceTable

__all__ = ["FORMAT_VERSION", "StateTables", "validate_prefix"]

FORMAT_VERSION = 2
"""Format 2 (issue 10): versions may be *retiring*; the ``instances`` table of serving processes."""
_PREFIX_MAX = 40


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


class StateTables:
    """Names, creates, checks and upgrades the state tables of one backend's prefix."""

    def __init__(self, backend: Backend, *, on_upgrade: Callable[[], None]) -> None:
        """Name the tables after the backend's prefix; nothing is read or created yet.

        Args:
            backend: The connected (or lazily connecting) backend.
            on_upgrade: Called once an upgrade ran (rows read before it lack its columns).
        """
        self.backend = backend
        self._on_upgrade = on_upgrade
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

    @property
    def names(self) -> tuple[str, ...]:
        """All state tables, unqualified."""
        return (
            self.meta_name,
            self.schemas_name,
            self.versions_name,
            self.tags_name,
            self.events_name,
        )

    @property
    def meta(self) -> str:
        """The meta table, qualified."""
        return self.backend.qualify(self.meta_name)

    @property
    def schemas(self) -> str:
        """The schemas table, qualified."""
        return self.backend.qualify(self.schemas_name)

    @property
    def versions(self) -> str:
        """The versions table, qualified."""
        return self.backend.qualify(self.versions_name)

    @property
    def tags(self) -> str:
        """The tags table, qualified."""
        return self.backend.qualify(self.tags_name)

    @property
    def events(self) -> str:
        """The event log, qualified."""
        return self.backend.qualify(self.events_name)

    # -- presence -----------------------------------------------------------------------------

    def exists(self) -> bool:
        """True when the meta table exists (checked in the catalog, never by catching errors)."""
        return self.meta_name in self.backend.table_names(self.names)

    def missing(self) -> list[str]:
        """State tables dropped by hand: absent although others exist (none on a fresh database).

        The meta table is created last, atomically with its rows (see :meth:`ensure`): without
        it, tables that are all empty are a bootstrap in progress on MySQL/MariaDB (or one that
        died), not damage.
        """
        names = self.backend.table_names(self.names)
        if not any(t in names for t in self.names):
            return []
        if self.meta_name not in names:
            if not self._orphans_hold_rows(names):
                return []
            # Rows, but no meta table: dropped by hand, or a bootstrap (MySQL/MariaDB) put the
            # meta table in place and a run wrote rows since the catalog was read. The meta
            # table only ever appears last and is never dropped by Timescape: look again.
            names = self.backend.table_names(self.names)
        return [t for t in self.names if t not in names]

    def _orphans_hold_rows(self, names: set[str]) -> list[str]:
        """State tables present without the meta table that hold rows (so were really used)."""
        return [
            t
            for t in self.names
            if t != self.meta_name
            and t in names
            and self.backend.query(f"SELECT 1 FROM {self.backend.qualify(t)} LIMIT 1")
        ]

    def present(self) -> bool:
        """Tell whether the state tables exist, refusing a partial set (one catalog query).

        Returns:
            True when all exist, False when none does.

        Raises:
            StateError: When some exist and others are missing (dropped by hand), naming them.
        """
        names = self.backend.table_names(self.names)
        present = [t for t in self.names if t in names]
        if not present or self.meta_name not in names:
            # The meta table appears last, with its rows (see ensure): until then the state does
            # not exist yet, though MySQL/MariaDB may show the other tables of a bootstrap in
            # progress to a reader that holds no lock.
            return False
        missing = [t for t in self.names if t not in names]
        if missing:
            raise StateError(
                f"state table(s) {', '.join(missing)} are missing although "
                f"{', '.join(present)} exist; restore them from a backup (Timescape will not "
                "guess)"
            )
        return True

    # -- creation and format ------------------------------------------------------------------

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
                f"CREATE TABLE IF NOT EXISTS {self.schemas} (name {name} PRIMARY KEY, "
                f"parents {text}, status {name} NOT NULL, steps_done {i} NOT NULL DEFAULT 0, "
                f"step_count {i} NOT NULL DEFAULT 0, checksums {text}, "
                f"rollback_checksums {text}, applied_at {name}, rolled_back_at {name}, "
                f"duration_ms {big}, error {text}, step_in_flight {i}, "
                f"attempt_started_at {name}, contract_done {i} NOT NULL DEFAULT 0, "
                f"updated_at {name}){opts}"
            ),
            (
                f"CREATE TABLE IF NOT EXISTS {self.versions} (tsv {name} PRIMARY KEY, "
                f"handler {key} NOT NULL, ts {name} NOT NULL, schema_name {name} NOT NULL, "
                f"active {i} NOT NULL DEFAULT 0, activated_at {name}, deactivated_at {name}, "
                f"request_count {big} NOT NULL DEFAULT 0, last_accessed {name}, "
                f"retiring_generation {big}, retiring_at {name}){opts}"
            ),
            (
                f"CREATE TABLE IF NOT EXISTS {self.tags} (handler {key} NOT NULL, "
                f"tag {name} NOT NULL, tsv {name} NOT NULL, created_at {name}, "
                f"PRIMARY KEY (handler, tag)){opts}"
            ),
            (
                f"CREATE TABLE IF NOT EXISTS {self.events} (id {b.TYPE_EVENT_ID}, "
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
        if self.present():
            self._check_existing()
            return
        used = self._orphans_hold_rows(self.backend.table_names(self.names))
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
            return  # present() has just seen every table
        self._upgrade(found)
        missing = set(self.names) - self.backend.table_names(self.names)
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
        self._on_upgrade()

    def _upgrade_to_2(self) -> None:
        """Format 2: ``retiring_generation``/``retiring_at`` on versions, the instances table."""
        b = self.backend
        columns = (("retiring_generation", b.TYPE_BIGINT), ("retiring_at", b.TYPE_NAME))
        statements = [
            f"ALTER TABLE {self.versions} ADD COLUMN {column} {kind}"
            for column, kind in columns
            if b.transactional_ddl or not self._has_column(self.versions, column)
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

    def is_current_format(self) -> bool:
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
        missing = self.missing()
        if missing:
            raise StateError(
                f"state table(s) {', '.join(missing)} are missing; restore them from a backup "
                "(Timescape will not guess)"
            )
        if self.exists():
            found = self.format_version()
            if found is not None and found > FORMAT_VERSION:
                raise StateFormatError(found=found, supported=FORMAT_VERSION)
