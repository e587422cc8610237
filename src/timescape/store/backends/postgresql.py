"""PostgreSQL backend (psycopg 3).

Lock: a session-level advisory lock taken by polling ``pg_try_advisory_lock`` (a blocking waiter can
deadlock with ``CREATE INDEX CONCURRENTLY`` and outlives a client-side timeout). The key hashes the
database name and the state-table prefix, so two projects in one cluster never block each other.
A session lock cannot survive a transaction pooler (PgBouncer ``pool_mode = transaction``): lock and
unlock may land on different server sessions, and another client routed to the holder's session
would re-enter the lock. Poolers present their own cancel key, so a connection whose reported
backend pid differs from ``pg_backend_pid()`` goes through one, and locking on it is refused before
anything is taken; reading through a pooler is fine. While the lock is held, every transaction
also checks that it still runs on the locking session.

Timeouts: ``SET LOCAL statement_timeout`` bounds each schema transaction on the server, the watchdog
sends a libpq cancel at the deadline, and ``client_connection_check_interval`` lets the server
notice a dead client during a long statement (PG ≥ 14).

Parts: the framing of statements sent below psycopg's cursor (simple queries, pipelines, typed
text values) is :mod:`._libpq`; the LISTEN session of serving instances is :mod:`._pglisten`
(``PostgreSQLListener`` is still importable from here).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Collection, Sequence
from typing import Any, ClassVar, Final

from timescape._log import DEBUG, LazyLogger
from timescape.errors import ConnectionFailedError, StateError
from timescape.store.backends._libpq import (
    TUPLES_OK,
    Bound,
    bound_params,
    error_from,
    is_local,
    numbered,
    pipeline,
    pipeline_results,
    readable_waiter,
    several_statements,
    simple_query_results,
)
from timescape.store.backends._pglisten import PostgreSQLListener, listen
from timescape.store.base import Backend, ErrorKind, LockInfo, sql_log

__all__ = ["PostgreSQLBackend", "PostgreSQLListener"]

logger = LazyLogger("timescape")

_CANCELED = "57014"
_INVALID_TEXT = "22P02"  # invalid_text_representation: how the session guard fails
_GUARD_INDEX = 1  # BEGIN, then the bound with the guard
_SESSION_GUARD: Final = (
    ", CAST(CASE WHEN pg_backend_pid() = {pid} THEN '0' "
    "ELSE 'timescape session check: server pid ' || pg_backend_pid() END AS integer)"
)
"""A column that fails (22P02) on any other server session than the lock's, so the statements
after it never run there."""
_LOCK_NOT_AVAILABLE = "55P03"
_DISK_FULL = "53100"
_CONNECTION_CLASSES = ("08", "57P")
# Writes an event may ride in (PostgreSQL.defer); a WITH already carries one.
_CARRIERS: Final = ("INSERT INTO ", "UPDATE ", "DELETE FROM ")
_COPY_CHUNK = 1 << 20
_LIBPQ_PIPELINE = 140000
"""The libpq version with pipeline mode."""
_NUMBERED_MAX = 256
"""Timescape's own write statements, by text: a handful, and one per table prefix."""
_BOUND_SLACK_MS = 250
"""How far the server-side statement bound set by BEGIN may exceed a schema's remaining budget."""


class PostgreSQLBackend(Backend):
    """PostgreSQL: transactional DDL, advisory lock, server-side statement cancel."""

    dialect = "postgresql"
    DRIVER_MODULE = "psycopg"
    DRIVER_EXTRA = "postgresql"
    transactional_ddl = True
    placeholder = "%s"
    TYPE_EVENT_ID: ClassVar[str] = "BIGSERIAL PRIMARY KEY"
    _commit_via_driver: ClassVar[bool] = True
    defers_writes: ClassVar[bool] = True
    READ_SNAPSHOT_SQL: ClassVar[str] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"

    NOW_MS_SQL: ClassVar[str] = "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)"
    # pg_notify rather than NOTIFY: the payload is a value, not a literal. Delivered at COMMIT,
    # never for a rolled-back transaction (https://www.postgresql.org/docs/current/sql-notify.html).
    NOTIFY_SQL: ClassVar[str | None] = (
        "SELECT pg_notify(?, (SELECT value FROM {meta} WHERE key_name = 'generation'))"
    )
    LOCK_SQL: ClassVar[str] = "SELECT pg_try_advisory_lock(?)"
    UNLOCK_SQL: ClassVar[str] = "SELECT pg_advisory_unlock(?)"
    HOLDER_SQL: ClassVar[str] = (
        "SELECT a.pid, a.application_name, a.client_addr, a.backend_start, a.state "
        "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = ? AND l.objid = ? "
        "AND l.objsubid = 1 AND l.database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    TABLES_SQL: ClassVar[str] = (
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = COALESCE(?, current_schema()) AND table_type = 'BASE TABLE'"
    )

    _lock_pid: int | None = None
    _database: str = ""
    """The connected database's name, read at connect."""
    _local_timeout_ms: int | None = None
    _pooler_pids: tuple[int, int] | None = None
    """``(pid the connection was told, real server pid)`` when a pooler sits in between."""
    _libpq_pipeline = False
    """Whether libpq has pipeline mode (≥ 14): queued writes and their COMMIT then go as one."""
    pipelined: bool = False
    """Whether queued writes that need psycopg's adaptation go in psycopg's pipeline (a remote
    server); plain ones go in libpq's whatever the server (see :meth:`_send_batch`).

    Psycopg's pipeline saves round trips but costs CPU (entering and leaving pipeline mode, a
    sync, twice the socket calls): on a loopback or Unix-socket connection, where a round trip
    costs microseconds, two plain statements are cheaper (issue 14). Decided at connect.
    """

    @property
    def lock_key(self) -> int:
        """The advisory lock key: 64 bits of SHA-256 over database name and table prefix.

        A URL that names its database only through a ``service`` takes the name the server
        reports (``current_database()``, which connects), so it takes the same lock as a URL
        naming that database in its path.
        """
        database = self.url.database
        if not database:
            self.connect()
            database = self._database
        digest = hashlib.sha256(f"timescape:{database}:{self.table_prefix}".encode())
        return int.from_bytes(digest.digest()[:8], "big", signed=True)

    def _open(self) -> Any:
        import psycopg  # noqa: PLC0415 - drivers load on first connect, never at import

        # parse_url left only libpq keywords in params, none of them set here: each reaches
        # libpq. Host and database are left out when a service names them (libpq would let
        # an explicit value win over the service file's).
        kwargs: dict[str, Any] = {
            **self.url.params,
            "connect_timeout": max(1, round(self.url.connect_timeout)),
            "application_name": self.application_name,
            "autocommit": True,
        }
        if self.url.host:
            kwargs["host"] = self.url.host
        if self.url.database:
            kwargs["dbname"] = self.url.database
        if self.url.port:
            kwargs["port"] = self.url.port
        if self.url.user:
            kwargs["user"] = self.url.user
        if self.url.password is not None:
            kwargs["password"] = self.url.password
        try:
            return psycopg.connect(**kwargs)
        except psycopg.Error as exc:
            raise ConnectionFailedError(self.url.redacted, self.describe_error(exc)) from None

    def _session_settings(self) -> list[str]:
        """Timescape's own session settings, set at connect and again by every restore."""
        ms = int(self.migration_timeout * 1000)
        lock_ms = int(self.ddl_lock_timeout * 1000)
        settings = [
            f"SET statement_timeout = {ms}",
            f"SET lock_timeout = {lock_ms}",
            "SET idle_in_transaction_session_timeout = 0",
        ]
        if self._server_version_num() >= 140000:
            settings.append("SET client_connection_check_interval = 2000")
        return settings

    def _prepare_session(self) -> None:
        self.execute("; ".join(self._session_settings()))  # one round trip
        told = int(self._conn.info.backend_pid)
        server, schema, self._database = self.query(
            "SELECT pg_backend_pid(), current_schema(), current_database()"
        )[0]
        self._pooler_pids = None if told == int(server) else (told, int(server))
        self.pipelined = not is_local(self._conn.info)
        self._libpq_pipeline = _libpq_version() >= _LIBPQ_PIPELINE
        # The state tables live in the first existing schema of the search_path at connect
        # (normally public), whatever a migration later does to the search_path.
        self._capture_namespace(schema)

    # RESET returns each setting to its value at connect (server, database, role and startup
    # options), so a dump's search_path, client_encoding, check_function_bodies, role or time
    # zone are undone without DISCARD ALL, which would also drop the advisory lock.
    # The migration's statement_timeout still applies to the first of these: each one is a
    # trivial command, and Timescape's own timeouts come first among the settings set after.
    RESTORE_SQL: ClassVar[tuple[str, ...]] = (
        "RESET statement_timeout",
        "RESET SESSION AUTHORIZATION",
        "RESET ROLE",
        "RESET ALL",
    )

    def _restore_session(self, *, failed: bool) -> None:
        if self._conn is None or self._conn.closed:
            return
        if self._in_transaction:
            if failed:
                return  # the transaction rolls back, and every SET in it with it
            # Sent with the next round trip: the state writes and COMMIT, or the next step.
            self._deferred.extend((sql, ()) for sql in self._restore_statements())
            return
        self.execute("; ".join(self._restore_statements()))

    def _restore_statements(self) -> list[str]:
        return [*self.RESTORE_SQL, *self._session_settings()]

    def execute_statement(self, sql: str, data: str | None = None) -> int:
        """Run one migration statement as text; return its row count (psycopg's rule: -1 if none).

        Through :meth:`_simple_query`, not a cursor: a statement that runs once needs neither
        adaptation nor psycopg's prepared-statement cache (which would keep the encoded text of
        a 20 MB dump in memory twice more). A COPY goes through the cursor's copy protocol.
        """
        if data is not None:
            return self.copy_from_stdin(sql, data)
        if sql[:4].upper() == "COPY":  # no data: psycopg's cursor gives the error it always gave
            return self._cursor_execute_once(sql)
        if self._begin_sql is None or self._deferred or not self._libpq_pipeline:
            first = self._simple_query(sql)[0]
        else:
            first = self._ride_begin(sql)
        if first.status == TUPLES_OK:
            return int(first.ntuples)
        rows = first.command_tuples
        return -1 if rows is None else int(rows)

    def _cursor_execute_once(self, sql: str) -> int:
        """Run a statement on the cursor, kept out of psycopg's prepared-statement cache."""
        cur = self._cursor_for(sql)
        conn = self._conn
        threshold = conn.prepare_threshold
        conn.prepare_threshold = None
        try:
            cur.execute(sql)
        finally:
            conn.prepare_threshold = threshold
        return int(cur.rowcount)

    def copy_from_stdin(self, sql: str, data: str) -> int:
        """Run ``COPY ... FROM STDIN`` through psycopg's copy protocol, ``data`` as its input.

        The watchdog's cancel stops a COPY like any statement. The data goes in slices, so
        its encoded form never exists whole beside the text.
        """
        cur = self._cursor_for(sql)
        with cur.copy(sql) as copy:
            for start in range(0, len(data), _COPY_CHUNK):
                copy.write(data[start : start + _COPY_CHUNK])
        return int(cur.rowcount)

    _cursor: Any = None
    _cursor_conn: Any = None

    def _cursor_for(self, sql: str) -> Any:
        """The connection's one statement cursor, reused, once the queued writes are sent.

        Creating and closing a psycopg cursor per statement costs more CPU than a local round
        trip; every result is fetched before the next statement, so one cursor is enough.
        """
        self.connect()
        if self._begin_sql is not None:
            self._send_begin()
        if self._deferred:
            self.flush_writes()
        if sql_log.isEnabledFor(DEBUG):
            sql_log.debug("%s", sql)
        return self._statement_cursor()

    def _statement_cursor(self) -> Any:
        if self._cursor_conn is not self._conn or self._cursor is None or self._cursor.closed:
            self._cursor = self._conn.cursor()
            self._cursor_conn = self._conn
        return self._cursor

    def execute(self, sql: str, params: Sequence[object] | None = None) -> int:
        """Run one statement; return the affected row count (see :meth:`Backend.execute`)."""
        cur = self._cursor_for(sql)
        if params is None:
            cur.execute(sql)
        else:
            cur.execute(self._translate(sql), tuple(params))
        return int(cur.rowcount)

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Run a query with ``?`` parameters and return all rows."""
        cur = self._cursor_for(sql)
        cur.execute(self._translate(sql), tuple(params))
        return [tuple(row) for row in cur.fetchall()]

    def _server_version_num(self) -> int:
        return int(self._conn.info.server_version)

    _begin_sql: tuple[str, ...] | None = None
    """The open transaction's BEGIN statements while they are not sent yet (see :meth:`begin`)."""

    def begin(self) -> None:
        """Start a transaction (psycopg in autocommit mode: an explicit BEGIN), sent lazily.

        The BEGIN, the transaction's server-side bound (the first arm_timeout of the transaction
        then has nothing to send) and, under the lock, the session check go with the first
        migration statement, in one libpq pipeline: one round trip (issue 14). Anything else
        sends them first, on their own. The check runs on the server: on another server session
        than the one that took the lock it fails, and the server skips what follows it in the
        pipeline, so no statement ever runs there.

        Raises:
            StateError: While holding the lock, if the transaction runs on another server session
                than the one that took it (see :meth:`check_session`); raised by the call that
                sends the BEGIN.
        """
        self.connect()
        ms = self._budget_ms(self.migration_timeout)
        self._set_begin(ms)
        self._in_transaction = True
        self._local_timeout_ms = ms

    _begins: tuple[int, int | None, tuple[str, ...], list[Bound]] | None = None
    """The last BEGIN built: ``(ms, lock pid, its statements, the same encoded)``."""

    def _set_begin(self, ms: int) -> None:
        pid = self._lock_pid if self._lock_held else None
        made = self._begins
        if made is None or made[0] != ms or made[1] != pid:
            # set_config(..., true) is SET LOCAL as a value: it shares the guard's statement.
            bound = f"SELECT set_config('statement_timeout', '{ms}', true)"
            statements = ("BEGIN", bound if pid is None else bound + _SESSION_GUARD.format(pid=pid))
            made = self._begins = (ms, pid, statements, [(t.encode(), [], []) for t in statements])
        self._begin_sql = made[2]

    def _send_begin(self) -> None:
        """Send the pending BEGIN on its own (before a statement that cannot carry it)."""
        begin, self._begin_sql = self._begin_sql, None
        if begin is not None:
            self._opened(begin, *self._simple_results("; ".join(begin)))

    def _ride_begin(self, sql: str) -> Any:
        """Run ``sql`` after the pending BEGIN, in one pipeline; return its result.

        In the extended protocol a text of several statements is refused (42601) before any of
        it runs: that one is run again the usual way, after a BEGIN of its own.
        """
        begin = self._begin_sql
        assert begin is not None  # noqa: S101 - the caller checked
        self._begin_sql = None
        conn = self._conn
        self._check_encoding()
        if sql_log.isEnabledFor(DEBUG):  # one statement each, as the server logs them
            for text in (*begin, sql):
                sql_log.debug("%s", text)
        made = self._begins
        encoded = made[3] if made is not None and made[2] is begin else _encoded(begin)
        statements = [*encoded, (sql.encode(self._encoding), [], [])]
        results, failed = pipeline_results(conn, self._readable(), statements)
        self._opened(begin, results, failed)
        if failed is None:
            return results[-1]
        result = results[failed]
        if not several_statements(result):
            raise error_from(result, conn)
        self._simple_results("ROLLBACK")  # nothing of it ran: start over, as before (issue 14)
        self._begin_sql = begin
        return self._simple_query(sql)[0]

    def _opened(self, begin: tuple[str, ...], results: list[Any], failed: int | None) -> None:
        """Raise what the BEGIN part of an answer says went wrong (its results come first).

        Raises:
            StateError: The session check failed (the transaction is rolled back).
            psycopg.Error: The BEGIN or its bound failed.
        """
        if failed is None or failed >= len(begin):
            return
        error = error_from(results[failed], self._conn)
        if failed == _GUARD_INDEX and getattr(error, "sqlstate", None) == _INVALID_TEXT:
            self.rollback()
            raise StateError(self._pooler_message(_guard_pid(error)))
        raise error

    def _check_encoding(self) -> None:
        """Follow the client encoding, which a migration may have changed."""
        conn = self._conn
        key = conn.pgconn.parameter_status(b"client_encoding")
        if key != self._encoding_key:
            self._encoding, self._encoding_key = conn.info.encoding, key

    def _simple_results(self, sql: str) -> tuple[list[Any], int | None]:
        """Send ``sql`` as a simple query; its results and the first in error (no raise)."""
        self._check_encoding()
        if sql_log.isEnabledFor(DEBUG):
            sql_log.debug("%s", sql)
        return simple_query_results(self._conn, self._readable(), sql.encode(self._encoding))

    def _transaction_ended(self, *, committed: bool) -> None:
        self._begin_sql = None
        super()._transaction_ended(committed=committed)

    @property
    def raw_connection(self) -> Any:
        """The driver connection, the open transaction's BEGIN sent (a Python step uses it)."""
        self.connect()
        self._send_begin()
        return self._conn

    @staticmethod
    def _budget_ms(seconds: float) -> int:
        return max(1, int(seconds * 1000))

    _encoding_key: bytes | None = None
    _encoding = "utf-8"
    _waiter: tuple[Any, Callable[[], object]] | None = None
    """``(libpq connection, a call waiting until its socket is readable)``."""

    def _simple_query(self, sql: str) -> list[Any]:
        """Run a parameterless text (one or more statements); return its results, in order.

        Straight through libpq's simple query protocol (:func:`._libpq.simple_query`), not a
        cursor: a BEGIN or a migration statement sent as text needs none of what the cursor
        spends on it (issue 14). The first result in error is raised as the psycopg error the
        cursor raises.
        """
        self.connect()
        if self._begin_sql is not None:
            self._send_begin()
        if self._deferred:
            self.flush_writes()
        results, failed = self._simple_results(sql)
        if failed is not None:
            raise error_from(results[failed], self._conn)
        return results

    def _readable(self) -> Callable[[], object]:
        """The wait until the connection's socket is readable (kept while the connection is)."""
        pgconn = self._conn.pgconn
        waiter = self._waiter
        if waiter is None or waiter[0] is not pgconn:
            waiter = self._waiter = (pgconn, readable_waiter(pgconn.socket))
        return waiter[1]

    _tail_rides = False  # the last queued write is one that rode (or could ride) in another

    def defer(self, sql: str, params: Sequence[object], *, rides: bool = False) -> None:
        """Queue a state write; an event row rides in the write queued before it (issue 14).

        ``WITH w AS (<write> RETURNING 1) INSERT INTO events ...``: one statement of the
        pipeline instead of two, its parameters still bound on the server. PostgreSQL runs a
        data-modifying ``WITH`` exactly once whether or not its rows are read; both writes
        succeed or fail together, inside the transaction, as the two statements did. Only a
        write of another table carries it (an event never rides on an event: the order of two
        inserts in one statement is not defined), and only a plain ``INSERT``/``UPDATE``/
        ``DELETE``, never one that reads what a write before it in the statement changes.
        """
        deferred = self._deferred
        if rides and self._in_transaction and deferred and not self._tail_rides:
            before, before_params = deferred[-1]
            if before.startswith(_CARRIERS):
                deferred[-1] = (
                    f"WITH written AS ({before} RETURNING 1) {sql}",
                    (*before_params, *params),
                )
                self._tail_rides = True
                return
        super().defer(sql, params)
        self._tail_rides = rides

    def commit(self) -> None:
        """Commit after the queued writes (with them in one round trip when :attr:`pipelined`)."""
        if self._begin_sql is not None and not self._deferred:
            pass  # nothing was sent: no transaction was opened on the server
        elif self._deferred:
            writes, self._deferred = self._deferred, []
            self._send_begin()
            self._send_batch(writes, commit=True)
        else:
            self._simple_query("COMMIT")
        self._in_transaction = False
        self._transaction_ended(committed=True)

    def flush_writes(self) -> None:
        """Send the queued writes in one round trip."""
        writes, self._deferred = self._deferred, []
        if writes:
            self._send_begin()
            self._send_batch(writes, commit=False)

    def _send_batch(self, writes: list[tuple[str, tuple[object, ...]]], *, commit: bool) -> None:
        """Send the queued writes, then the COMMIT if ``commit``.

        In one round trip when libpq pipelines (≥ 14) and every value is plain (ASCII text, an
        int, None; see :func:`._libpq.bound_params`): each statement keeps its server-side
        parameters, the server runs them in order and after the first error skips the rest up
        to the sync, so a COMMIT at the tail commits only if every write before it landed (the
        transaction is then aborted, and the error is raised here). Below psycopg's cursor, a
        schema's state write costs half the CPU (issue 14). Otherwise through the cursor: in
        psycopg's pipeline when :attr:`pipelined`, else one by one, the COMMIT only once every
        write returned.
        """
        if sql_log.isEnabledFor(DEBUG):
            for sql, _ in writes:
                sql_log.debug("%s", sql)
            if commit:
                sql_log.debug("COMMIT")
        if self._libpq_pipeline:
            bound = self._bound(writes)
            if bound is not None:
                pipeline(self._conn, self._readable(), bound, commit=commit)
                return
        self._send_through_cursor(writes, commit=commit)

    def _send_through_cursor(
        self, writes: list[tuple[str, tuple[object, ...]]], *, commit: bool
    ) -> None:
        """:meth:`_send_batch` for values that need psycopg's adaptation."""
        import psycopg  # noqa: PLC0415 - loaded already by the connection

        cur = self._statement_cursor()
        if not self.pipelined or not psycopg.Pipeline.is_supported():
            for sql, params in writes:
                cur.execute(self._translate(sql), params)
            if commit:
                self._simple_query("COMMIT")
            return
        with self._conn.pipeline():
            for sql, params in writes:
                cur.execute(self._translate(sql), params)
            if commit:
                cur.execute("COMMIT")

    _numbered: dict[str, bytes] | None = None

    def _bound(self, writes: list[tuple[str, tuple[object, ...]]]) -> list[Bound] | None:
        """The writes ready for libpq, or None if one needs psycopg's adaptation."""
        texts = self._numbered
        if texts is None:
            texts = self._numbered = {}
        bound: list[Bound] = []
        for sql, params in writes:
            text = texts.get(sql)
            if text is None:
                if not sql.isascii():  # encoded before a queued RESET ALL: ASCII only
                    return None
                text = numbered(sql).encode()
                if len(texts) < _NUMBERED_MAX:
                    texts[sql] = text
            values = bound_params(params)
            if values is None:
                return None
            bound.append((text, *values))
        return bound

    def rollback(self) -> None:
        """Roll back; a broken connection is dropped."""
        self._deferred.clear()
        if self._begin_sql is not None:  # nothing was sent: nothing to roll back on the server
            self._in_transaction = False
            self._transaction_ended(committed=False)
            return
        try:
            if self._conn is not None and not self._conn.closed:
                self.execute("ROLLBACK")
            else:
                self._drop_broken()
        except Exception:
            self._drop_broken()
        self._in_transaction = False
        self._transaction_ended(committed=False)

    def _on_arm(self, seconds: float) -> None:
        if not self._in_transaction:
            return
        ms = self._budget_ms(seconds)
        bound = self._local_timeout_ms
        self._local_timeout_ms = None
        if bound is not None and 0 <= bound - ms <= _BOUND_SLACK_MS:
            # BEGIN set this bound a moment ago (the budget has since lost a few milliseconds)
            # and only Timescape's own statements ran since. The server's bound is a backstop
            # for the watchdog, which cancels at the exact deadline; a round trip per schema
            # to shave those milliseconds off it is not worth it. Later arms in the same
            # transaction set it again (a step may have changed it).
            return
        if self._begin_sql is not None:  # not sent yet: it carries the new bound instead
            self._set_begin(ms)
            return
        self.execute(f"SET LOCAL statement_timeout = {ms}")

    def is_driver_error(self, exc: BaseException) -> bool:
        """True for psycopg errors."""
        import psycopg  # noqa: PLC0415 - loaded already by the connection

        return isinstance(exc, psycopg.Error)

    def classify_error(self, exc: BaseException) -> str:
        """Classify by SQLSTATE."""
        state = getattr(exc, "sqlstate", None)
        if state == _CANCELED:
            return ErrorKind.TIMEOUT
        if state == _LOCK_NOT_AVAILABLE:
            return ErrorKind.LOCK_NOT_AVAILABLE
        if state == _DISK_FULL:
            return ErrorKind.DISK_FULL
        if state is not None and state.startswith(_CONNECTION_CLASSES):
            return ErrorKind.CONNECTION_LOST
        conn = self._conn
        if state is None and (conn is None or conn.closed):
            return ErrorKind.CONNECTION_LOST
        return ErrorKind.OTHER

    def quote(self, identifier: str) -> str:
        """Quote with double quotes."""
        return '"' + identifier.replace('"', '""') + '"'

    # -- lock ---------------------------------------------------------------------------------

    def _try_lock(self) -> bool:
        if self._pooler_pids is not None:
            told, server = self._pooler_pids
            msg = (
                "the connection to PostgreSQL goes through a connection pooler (it presents "
                f"backend pid {told}, the server session is pid {server}): Timescape's lock is "
                "a session-level advisory lock, which a transaction pooler (PgBouncer "
                "pool_mode = transaction) cannot keep. Connect the migrating process directly "
                "to PostgreSQL; reading through the pooler is fine"
            )
            raise StateError(msg)
        rows = self.query("SELECT pg_try_advisory_lock(?), pg_backend_pid()", (self.lock_key,))
        got, pid = bool(rows[0][0]), int(rows[0][1])
        if got:
            self._lock_pid = pid
        return got

    def _unlock(self) -> None:
        released = self.query(self.UNLOCK_SQL, (self.lock_key,))[0][0]
        if not released:
            msg = (
                "the Timescape advisory lock was not held by this session when releasing it: "
                "a transaction pooler (PgBouncer transaction mode) sits between Timescape and "
                "PostgreSQL. Connect the migrating process directly or through session pooling"
            )
            raise StateError(msg)

    def check_session(self) -> None:
        """Fail loudly if the lock was taken on another server session (a transaction pooler).

        Raises:
            StateError: When the backend pid changed since the lock was taken.
        """
        if self._lock_held and self._lock_pid is not None:
            pid = int(self.query("SELECT pg_backend_pid()")[0][0])
            if pid != self._lock_pid:
                raise StateError(self._pooler_message(pid))

    def _pooler_message(self, pid: int | None) -> str:
        return (
            f"the server session changed from pid {self._lock_pid} to {pid} while "
            "holding the Timescape lock: a transaction pooler is in the way. Connect "
            "directly or through session pooling"
        )

    def lock_holder(self) -> LockInfo | None:
        """Name the holding backend from ``pg_locks`` and ``pg_stat_activity``."""
        key = self.lock_key & 0xFFFFFFFFFFFFFFFF
        rows = self.query(self.HOLDER_SQL, (str(key >> 32), str(key & 0xFFFFFFFF)))
        if not rows:
            return None
        pid, app, addr, started, state = rows[0]
        since = started.isoformat(timespec="seconds") if started else "?"
        return LockInfo(
            f"pid {pid} ({app or 'unknown application'}, from {addr or 'local socket'}, "
            f"session since {since}, {state})"
        )

    # -- cancellation -------------------------------------------------------------------------

    def _cancel_running(self) -> None:
        conn = self._conn
        if conn is not None and not conn.closed:
            cancel = getattr(conn, "cancel_safe", None)
            if cancel is not None:
                cancel(timeout=5.0)
            else:  # pragma: no cover - psycopg < 3.2
                conn.cancel()

    # -- introspection ------------------------------------------------------------------------

    def table_names(self, only: Collection[str] | None = None) -> set[str]:
        """Tables in the state tables' schema (``only``: those of these names, by index lookups)."""
        self.connect()
        schema = self.state_namespace
        if only is None:
            return {r[0] for r in self.query(self.TABLES_SQL, (schema,))}
        return {
            r[0]
            for r in self.query(self.TABLES_SQL + " AND table_name = ANY(?)", (schema, list(only)))
        }

    def server_version(self) -> str:
        """The server version, e.g. ``15.20``."""
        return str(self.query("SHOW server_version")[0][0])

    def connection_id(self) -> int | None:
        """The backend pid."""
        return int(self.query("SELECT pg_backend_pid()")[0][0])

    # -- notifications ------------------------------------------------------------------------

    def open_listener(self, channel: str) -> PostgreSQLListener | None:
        """Open a dedicated autocommit connection that has run ``LISTEN channel``.

        Args:
            channel: The notification channel (a validated identifier).

        Returns:
            The listener (the caller closes it), or None through a connection pooler, whose
            sessions cannot hold a LISTEN.

        Raises:
            ConnectionFailedError: If the server cannot be reached or refuses the LISTEN.

        Added in 0.2.
        """
        return listen(
            self._open(), f"LISTEN {self.quote(channel)}", self.url.redacted, self.describe_error
        )


def _encoded(statements: tuple[str, ...]) -> list[Bound]:
    return [(text.encode(), [], []) for text in statements]


def _libpq_version() -> int:
    import psycopg  # noqa: PLC0415 - loaded already by the connection

    return int(psycopg.pq.version())


def _guard_pid(error: Exception) -> int | None:
    """The server pid a failed session guard names in its message (None if it cannot be read)."""
    found = re.search(r"server pid (\d+)", str(error))
    return int(found.group(1)) if found else None


_is_local = is_local  # the old private name (tests/integration/test_pg_simple_query.py)
