"""MySQL / MariaDB backend (PyMySQL).

DDL commits implicitly here, so schemas are applied step by step with progress recorded after each
step and a step marked *started* before it runs; a step whose outcome is unknown becomes
``uncertain`` and waits for an operator (``timescape schema resolve``).

Lock: ``GET_LOCK`` polled with a zero wait (a session lock: it dies with the connection); the name
hashes database and prefix, keeping it under MySQL's 64-character limit for any database name.

State writes on MariaDB: a transaction's writes are queued and sent with its ``COMMIT`` as one
anonymous compound statement (``BEGIN NOT ATOMIC ... END``), one round trip instead of one per
statement plus two (issue 14). MySQL proper has no such statement outside stored programs and
keeps one round trip per statement.

Timeouts: ``KILL QUERY`` from a second connection at the deadline (driver read timeouts only stop
waiting, PyMySQL#1048); MariaDB's ``max_statement_time`` is the server-side backstop when the client
dies, and ``lock_wait_timeout`` keeps DDL from queueing behind app transactions for a day.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Collection, Sequence
from typing import Any, ClassVar

from timescape._log import DEBUG
from timescape.errors import ConnectionFailedError, StateError
from timescape.store.base import Backend, ErrorKind, LockInfo, sql_log
from timescape.store.mysql_params import mysql_params, pymysql_arguments

__all__ = ["MySQLBackend"]

_QUERY_INTERRUPTED = 1317
_STATEMENT_TIMEOUT = (1969, 3024)  # MariaDB max_statement_time, MySQL max_execution_time
_LOCK_WAIT = (1205,)
_TABLE_DEF_CHANGED = 1412  # a table newer than the consistent snapshot reading it
_DISK_FULL = (1021, 1114)
_CONNECTION_LOST = (2006, 2013, 2003, 2055, 1927, 1053)
# Session settings a dump or migration commonly changes (mysqldump: NAMES, TIME_ZONE, UNIQUE_CHECKS,
# FOREIGN_KEY_CHECKS, SQL_MODE, SQL_NOTES), captured at connect and put back after such a step.
_SESSION_VARIABLES = (
    "sql_mode",
    "time_zone",
    "character_set_client",
    "character_set_connection",
    "character_set_results",
    "collation_connection",
    "foreign_key_checks",
    "unique_checks",
    "sql_notes",
    "autocommit",
    "sql_safe_updates",
    "sql_auto_is_null",
)
# A compound statement's first words: an error inside rolls its transaction back and is raised
# again as it was (same error number), so a failed block never leaves a transaction open.
_BLOCK_START = (
    "BEGIN NOT ATOMIC DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END; "
)
_KIND_BY_CODE: dict[int, str] = {
    _QUERY_INTERRUPTED: ErrorKind.TIMEOUT,
    **dict.fromkeys(_STATEMENT_TIMEOUT, ErrorKind.TIMEOUT),
    **dict.fromkeys(_LOCK_WAIT, ErrorKind.LOCK_NOT_AVAILABLE),
    _TABLE_DEF_CHANGED: ErrorKind.SNAPSHOT_STALE,
    **dict.fromkeys(_DISK_FULL, ErrorKind.DISK_FULL),
}


class MySQLBackend(Backend):
    """MySQL/MariaDB: per-step progress, ``GET_LOCK``, ``KILL QUERY`` to cancel."""

    dialect = "mysql"
    DRIVER_MODULE = "pymysql"
    DRIVER_EXTRA = "mysql"
    transactional_ddl = False
    statements_may_be_partial = True
    placeholder = "%s"
    TYPE_NAME: ClassVar[str] = "VARCHAR(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
    TYPE_KEY: ClassVar[str] = "VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
    TYPE_TEXT: ClassVar[str] = "MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
    TYPE_INT: ClassVar[str] = "INT"
    TYPE_EVENT_ID: ClassVar[str] = "BIGINT AUTO_INCREMENT PRIMARY KEY"
    TABLE_OPTIONS: ClassVar[str] = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
    NOW_MS_SQL: ClassVar[str] = "CAST(UNIX_TIMESTAMP(CURRENT_TIMESTAMP(3)) * 1000 AS SIGNED)"
    UPSERT_SQL: ClassVar[str] = " ON DUPLICATE KEY UPDATE {sets}"
    UPSERT_SET_SQL: ClassVar[str] = "{column} = VALUES({column})"
    BEGIN_SQL: ClassVar[str] = "START TRANSACTION"
    READ_SNAPSHOT_SQL: ClassVar[str] = "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"

    TABLES_SQL: ClassVar[str] = (
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = COALESCE(?, DATABASE()) AND table_type = 'BASE TABLE'"
    )
    ENGINE_SQL: ClassVar[str] = (
        "SELECT e.transactions, "
        "(SELECT COUNT(*) FROM information_schema.triggers g WHERE "
        "g.event_object_schema = t.table_schema AND g.event_object_table = t.table_name) "
        "FROM information_schema.tables t "
        "LEFT JOIN information_schema.engines e ON e.engine = t.engine "
        "WHERE t.table_schema = COALESCE(?, DATABASE()) AND t.table_name = ?"
    )
    HOLDER_SQL: ClassVar[str] = (
        "SELECT id, user, host, time, command FROM information_schema.processlist WHERE id = ?"
    )

    _is_mariadb: bool = False
    _conn_id: int | None = None
    _database: str | None = None
    _session_values: tuple[object, ...] = ()

    @property
    def lock_name(self) -> str:
        """The ``GET_LOCK`` name: bounded to 64 characters for any database name."""
        digest = hashlib.sha256(f"{self.url.database}:{self.table_prefix}".encode()).hexdigest()
        return f"timescape.{digest[:40]}"

    def _connect_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "host": self.url.host,
            "database": self.url.database,
            "connect_timeout": self.url.connect_timeout,
            "read_timeout": self.url.connect_timeout,
            "write_timeout": self.url.connect_timeout,
            "autocommit": True,
            "charset": "utf8mb4",
            "program_name": self.application_name,
        }
        if self.url.port:
            kwargs["port"] = self.url.port
        if self.url.user:
            kwargs["user"] = self.url.user
        if self.url.password is not None:
            kwargs["password"] = self.url.password
        # Socket and TLS from the URL's parameters; an unknown one is refused, never dropped.
        resolved = mysql_params(self.url.params, self.url.redacted, self.url.host)
        kwargs.update(pymysql_arguments(resolved, self.url.redacted))
        return kwargs

    def _open(self) -> Any:
        import pymysql  # noqa: PLC0415 - drivers load on first connect, never at import

        try:
            conn = pymysql.connect(**self._connect_kwargs())
        except pymysql.Error as exc:
            raise ConnectionFailedError(self.url.redacted, self.describe_error(exc)) from None
        # The read timeout bounded the handshake (a listener that never answers); migrations are
        # bounded on the server instead, so the client must not give up on a long step.
        conn._read_timeout = None  # noqa: SLF001 - PyMySQL has no public setter
        sock = getattr(conn, "_sock", None)
        if sock is not None:
            sock.settimeout(None)
        return conn

    def _prepare_session(self) -> None:
        columns = ", ".join(f"@@SESSION.{name}" for name in _SESSION_VARIABLES)
        version, conn_id, database, *values = self.query(
            f"SELECT VERSION(), CONNECTION_ID(), DATABASE(), {columns}"
        )[0]
        self._is_mariadb = "mariadb" in str(version).lower()
        self._blocks = self._is_mariadb and self.COMPOUND_WRITES
        self._conn_id = int(conn_id)
        # The state tables live in the database connected to, whatever a migration USEs later.
        self._capture_namespace(database)
        self._database = database
        self._session_values = tuple(values)
        self.execute(self._own_settings())

    def _own_settings(self) -> str:
        """Timescape's own session settings, set at connect and again by every restore."""
        wait = max(1, round(self.ddl_lock_timeout))
        sql = f"SET SESSION lock_wait_timeout = {wait}, innodb_lock_wait_timeout = {wait}"
        if self._is_mariadb:
            sql += f", max_statement_time = {self.migration_timeout:g}"
        return sql

    def _restore_session(self, *, failed: bool) -> None:
        """Release table locks, return to the configured database, reset the captured settings.

        A step ending under ``LOCK TABLES`` would make every state write fail (the state tables
        are not locked), so ``UNLOCK TABLES`` comes first. Three round trips, only after a step
        that may have changed the session.
        """
        del failed  # nothing rolls a session back on MySQL: restore after failures too
        if self._conn is None or not self._conn.open:
            return
        self.execute("UNLOCK TABLES")
        if self._database is not None:
            self._conn.select_db(self._database)
        assignments = ", ".join(f"{name} = ?" for name in _SESSION_VARIABLES)
        self.execute(f"SET SESSION {assignments}", self._session_values)
        self.execute(self._own_settings())

    # -- transactions: one round trip per state commit on MariaDB ----------------------------

    COMPOUND_WRITES: ClassVar[bool] = True
    """Send a transaction's state writes with its ``COMMIT`` as one compound statement where the
    server has one (MariaDB). False keeps MySQL's path, one round trip per statement."""

    _blocks: bool = False
    """Set at connect: MariaDB, and :attr:`COMPOUND_WRITES`."""
    _begin_pending: bool = False
    """:meth:`begin` was called and no ``START TRANSACTION`` has reached the server yet."""

    def begin(self) -> None:
        """Start a transaction for state writes (DDL would commit it implicitly).

        On MariaDB nothing is sent yet: ``START TRANSACTION`` goes with the transaction's first
        read, or with its writes at the ``COMMIT``.
        """
        self.connect()
        if self._blocks:
            self._begin_pending = True
        else:
            self.execute(self.BEGIN_SQL)
        self._in_transaction = True

    def defer(self, sql: str, params: Sequence[object], *, rides: bool = False) -> None:
        """Queue a state write inside a MariaDB transaction; elsewhere run it now.

        The queue is sent by the ``COMMIT`` (one compound statement), or before any other
        statement or query of the transaction, so reads see the writes and their order is kept.
        """
        del rides  # every queued write is its own statement of the block
        if self._blocks and self._in_transaction:
            self._deferred.append((sql, tuple(params)))
        else:
            self.execute(sql, params)

    def execute(self, sql: str, params: Sequence[object] | None = None) -> int:
        """Run one statement (see :meth:`Backend.execute`) after the transaction's queued writes."""
        if self._begin_pending or self._deferred:
            self.flush_writes()
        return super().execute(sql, params)

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Run a query (see :meth:`Backend.query`), after the transaction's queued writes."""
        if self._begin_pending or self._deferred:
            self.flush_writes()
        return super().query(sql, params)

    def flush_writes(self) -> None:
        """Send ``START TRANSACTION`` if still pending and the queued writes: one round trip."""
        writes, self._deferred = self._deferred, []
        if self._begin_pending:
            self._begin_pending = False
            writes.insert(0, (self.BEGIN_SQL, ()))
        self._send_writes(writes, commit=False)

    def commit(self) -> None:
        """Commit; on MariaDB the queued writes and the ``COMMIT`` go in one round trip.

        A lone write of a transaction not yet started runs on its own in autocommit (Timescape's
        session setting, put back after every step that may change it): one statement, as
        atomic as the transaction.
        """
        if self._begin_pending or self._deferred:
            writes, self._deferred = self._deferred, []
            if not self._begin_pending:
                self._send_writes(writes, commit=True)
            elif len(writes) > 1:
                self._begin_pending = False
                self._send_writes([(self.BEGIN_SQL, ()), *writes], commit=True)
            else:  # nothing to send, or one statement: autocommitted on its own
                self._begin_pending = False
                self._send_writes(writes, commit=False)
        else:
            self.execute("COMMIT")
        self._in_transaction = False
        self._transaction_ended(committed=True)

    def _send_writes(self, writes: list[tuple[str, tuple[object, ...]]], *, commit: bool) -> None:
        """Send statements in one round trip: one alone, several as one compound statement.

        Each statement keeps its parameters, escaped by the driver as when sent alone. The
        block's exit handler rolls the transaction back on any error and re-raises it with its
        own error number, so a failed block leaves nothing half-written and no open
        transaction; the caller's ``ROLLBACK`` then finds none.
        """
        if not writes:
            return
        if len(writes) == 1 and not commit:
            super().execute(*writes[0])
            return
        parts = [self._translate(sql) for sql, _ in writes]
        if commit:
            parts.append("COMMIT")
        sql = _BLOCK_START + "; ".join(parts) + "; END"
        self.connect()
        params = tuple(value for _, values in writes for value in values)
        if sql_log.isEnabledFor(DEBUG):
            sql_log.debug("%s", sql)
        cur = self._conn.cursor()
        try:
            cur.execute(sql, params)
        finally:
            cur.close()

    def rollback(self) -> None:
        """Roll back; a broken connection is dropped. Nothing is sent for an unstarted one."""
        self._deferred.clear()
        started = not self._begin_pending
        self._begin_pending = False
        try:
            if self._conn is not None and self._conn.open:
                if started:
                    self.execute("ROLLBACK")
            else:
                self._drop_broken()
        except Exception:
            self._drop_broken()
        self._in_transaction = False
        self._transaction_ended(committed=False)

    def _transaction_ended(self, *, committed: bool) -> None:
        # A close, reconnect or dropped connection ends a transaction not yet sent as well.
        self._begin_pending = False
        super()._transaction_ended(committed=committed)

    def quote(self, identifier: str) -> str:
        """Quote with backticks."""
        return "`" + identifier.replace("`", "``") + "`"

    def is_driver_error(self, exc: BaseException) -> bool:
        """True for PyMySQL errors."""
        import pymysql  # noqa: PLC0415 - loaded already by the connection

        return isinstance(exc, pymysql.Error)

    def classify_error(self, exc: BaseException) -> str:
        """Classify by MySQL error number."""
        args = getattr(exc, "args", ())
        code = args[0] if args and isinstance(args[0], int) else None
        kind = _KIND_BY_CODE.get(code) if code is not None else None
        if kind is not None:
            return kind
        if code in _CONNECTION_LOST or (self._conn is not None and not self._conn.open):
            return ErrorKind.CONNECTION_LOST
        import pymysql  # noqa: PLC0415

        if isinstance(exc, pymysql.err.InterfaceError | pymysql.err.OperationalError) and (
            code is None or code >= 2000
        ):
            return ErrorKind.CONNECTION_LOST
        return ErrorKind.OTHER

    # -- lock ---------------------------------------------------------------------------------

    def _try_lock(self) -> bool:
        got = self.query("SELECT GET_LOCK(?, 0)", (self.lock_name,))[0][0]
        return bool(got == 1)

    def _unlock(self) -> None:
        released = self.query("SELECT RELEASE_LOCK(?)", (self.lock_name,))[0][0]
        if released != 1:
            msg = "the Timescape lock was not held by this connection when releasing it"
            raise StateError(msg)

    def lock_holder(self) -> LockInfo | None:
        """Name the holding connection from ``IS_USED_LOCK`` and the process list."""
        owner = self.query("SELECT IS_USED_LOCK(?)", (self.lock_name,))[0][0]
        if owner is None:
            return None
        rows = self.query(self.HOLDER_SQL, (int(owner),))
        if not rows:
            return LockInfo(f"connection {owner}")
        cid, user, host, seconds, command = rows[0]
        return LockInfo(f"connection {cid} ({user}@{host}, {command}, connected {seconds} s ago)")

    # -- cancellation -------------------------------------------------------------------------

    def _cancel_running(self) -> None:
        if self._conn_id is None:
            return
        import pymysql  # noqa: PLC0415

        killer = pymysql.connect(**self._connect_kwargs())
        try:
            with killer.cursor() as cur, contextlib.suppress(pymysql.Error):
                cur.execute(f"KILL QUERY {int(self._conn_id)}")
        finally:
            killer.close()

    # -- introspection ------------------------------------------------------------------------

    def table_names(self, only: Collection[str] | None = None) -> set[str]:
        """Tables in the configured database (``only``: those of these names, without a scan)."""
        self.connect()
        database = self._database
        if only is None:
            return {r[0] for r in self.query(self.TABLES_SQL, (database,))}
        # One equality lookup per name: MariaDB answers ``table_name = 'x'`` from the data
        # dictionary, but an IN list makes it open every table of the database (about 20 ms
        # per call at 10,000 tables). The lookups go in one statement (UNION ALL), so one
        # round trip, not one per name.
        names = list(only)
        if not names:
            return set()
        lookup = f"({self.TABLES_SQL} AND table_name = ?)"
        sql = " UNION ALL ".join([lookup] * len(names))
        params = tuple(value for name in names for value in (database, name))
        return {r[0] for r in self.query(sql, params)}

    def non_transactional(self, tables: Sequence[str], *, unknown: bool = True) -> set[str]:
        """Tables on an engine without transactions (MyISAM, Aria, MEMORY), or with triggers.

        A view counts as one, and so, with ``unknown``, does a temporary table or a name the
        server does not know: nothing proves a statement on it was rolled back.
        """
        found = set()
        for name in tables:
            database, _, table = name.rpartition(".")
            rows = self.query(self.ENGINE_SQL, (database or None, table))
            if not rows:
                if unknown:
                    found.add(name)
            elif rows[0][0] != "YES" or int(rows[0][1] or 0) > 0:
                found.add(name)
        return found

    def server_version(self) -> str:
        """The server version string."""
        return str(self.query("SELECT VERSION()")[0][0])

    def connection_id(self) -> int | None:
        """This session's connection id."""
        return self._conn_id

    @property
    def is_mariadb(self) -> bool:
        """True on MariaDB."""
        return self._is_mariadb
