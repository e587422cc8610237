"""The backend seam: one class per dialect, overriding only what differs.

Every statement Timescape sends passes through :meth:`Backend.execute` (tracing, redaction and
error translation live there only), and the transaction it belongs to, with the state writes
deferred to its COMMIT, is kept here too: these are the per-statement paths, so they stay on the
class, one attribute away. What the backend only uses lives in modules of its own, which it owns
or calls: the :class:`~timescape.store.watchdog.Watchdog` that cancels a statement past its
deadline (imported by the first :meth:`Backend.arm_timeout`), the wait for the lock
(:mod:`timescape.store.locking`), who is acting (:mod:`timescape.store.identity`) and the
notification listener's contract (:mod:`timescape.store.listener`). Their names are still
importable from here.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from timescape._log import DEBUG, LazyLogger
from timescape._moved import lazy_getattr
from timescape.errors import DriverMissingError, InputError
from timescape.store import ahead
from timescape.store.identity import actor, host_name
from timescape.store.locking import LockInfo, wait_for_lock
from timescape.store.session import may_change_session
from timescape.store.urls import DatabaseURL

if TYPE_CHECKING:  # listener, watchdog: moved out; still reachable here (module __getattr__ below)
    from timescape.store.listener import Listener
    from timescape.store.split import Dialect, Statement
    from timescape.store.watchdog import Watchdog

__all__ = [
    "Backend",
    "ErrorKind",
    "Listener",
    "LockInfo",
    "Watchdog",
    "actor",
    "host_name",
]

sql_log = LazyLogger("timescape.sql")

# Moved out, and needed by no read-only command: imported on first use under their old names.
_MOVED = {
    "Listener": "timescape.store.listener",
    "Watchdog": "timescape.store.watchdog",
}

if not TYPE_CHECKING:  # type checkers read the imports above; this keeps unknown names errors
    __getattr__ = lazy_getattr(__name__, _MOVED)


class _TextTools(Protocol):
    split_statements: Callable[[str, Dialect], list[Statement]]
    transaction_breaker: Callable[[str, Dialect], str | None]


@functools.cache
def _text_tools() -> _TextTools:
    """The splitter and the breaker check, imported on first use (reads never split).

    Resolved once: a function-level ``from ... import`` costs ~1.5 µs per call, and a plan
    splits and checks every statement of every schema (issue 14).
    """
    from timescape.store import breakers, split  # noqa: PLC0415 - see the docstring

    return SimpleNamespace(
        split_statements=split.split_statements,
        transaction_breaker=breakers.transaction_breaker,
    )


class ErrorKind:
    """How a driver error is classified at the store boundary (plain strings, compared by value)."""

    TIMEOUT = "timeout"
    CONNECTION_LOST = "connection_lost"
    LOCK_NOT_AVAILABLE = "lock_not_available"
    DISK_FULL = "disk_full"
    SNAPSHOT_STALE = "snapshot_stale"
    """A table was created or renamed after the reader's snapshot began (MySQL error 1412)."""
    OTHER = "other"


class Backend:
    """Base class of the dialect backends: connection, transactions, lock and cancellation.

    Subclasses set the class constants and override the ``_``-prefixed hooks. The manager and the
    state store call only the public methods here and never build dialect-specific SQL.
    """

    dialect: ClassVar[Dialect]
    transactional_ddl: ClassVar[bool] = True
    """Whether DDL can run inside a transaction (False on MySQL/MariaDB: implicit commits)."""
    DRIVER_MODULE: ClassVar[str] = ""
    """The driver's import name (``psycopg``, ``pymysql``)."""
    DRIVER_EXTRA: ClassVar[str | None] = None
    """The ``timescape-db`` extra installing the driver; None for a stdlib driver."""
    statements_may_be_partial: ClassVar[bool] = False
    """Whether a statement that ended in an error may keep part of its work (MySQL/MariaDB:
    non-transactional engines, DDL); False where every statement is atomic."""
    placeholder: ClassVar[str] = "?"

    # Column types for the state tables.
    TYPE_NAME: ClassVar[str] = "TEXT"
    TYPE_KEY: ClassVar[str] = "TEXT"
    TYPE_TEXT: ClassVar[str] = "TEXT"
    TYPE_INT: ClassVar[str] = "INTEGER"
    TYPE_BIGINT: ClassVar[str] = "BIGINT"
    # SQLite: a rowid alias. Events are never deleted, so ids keep growing without AUTOINCREMENT,
    # which would add a write to sqlite_sequence to every schema's commit.
    TYPE_EVENT_ID: ClassVar[str] = "INTEGER PRIMARY KEY"
    TABLE_OPTIONS: ClassVar[str] = ""

    # Serving instances (issue 10). Heartbeats are stamped and judged by the database clock, so
    # instances on hosts whose clocks disagree are never taken for dead (or alive) by mistake.
    NOW_MS_SQL: ClassVar[str] = "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)"
    """The database's current time in Unix milliseconds."""
    UPSERT_SQL: ClassVar[str] = " ON CONFLICT ({key}) DO UPDATE SET {sets}"
    """Appended to an INSERT to update the row instead when its key exists."""
    UPSERT_SET_SQL: ClassVar[str] = "{column} = excluded.{column}"
    NOTIFY_SQL: ClassVar[str | None] = None
    """Sends the new generation to listeners inside the state transaction (PostgreSQL only)."""

    def __init__(
        self,
        url: DatabaseURL,
        *,
        lock_timeout: float = 30.0,
        ddl_lock_timeout: float = 5.0,
        migration_timeout: float = 30.0,
        table_prefix: str = "timescape_",
        application_name: str = "timescape",
    ) -> None:
        """Configure a backend; nothing connects until :meth:`connect`.

        Args:
            url: The parsed database URL.
            lock_timeout: Seconds to wait for the Timescape lock.
            ddl_lock_timeout: Seconds a DDL statement may wait for a table lock.
            migration_timeout: Default per-schema budget; also the server-side backstop.
            table_prefix: Prefix of the state tables (validated identifier).
            application_name: Shown to the server, so operators see who runs what.
        """
        self.url = url
        self.lock_timeout = lock_timeout
        self.ddl_lock_timeout = ddl_lock_timeout
        self.migration_timeout = migration_timeout
        self.table_prefix = table_prefix
        self.application_name = application_name
        self._conn: Any = None
        self._lock_held = False
        self._watchdog: Watchdog | None = None
        self._in_transaction = False
        self._sql_cache: dict[str, str] = {}
        self._end_listeners: list[Callable[[bool], None]] = []
        self._deferred: list[tuple[str, tuple[object, ...]]] = []
        self.state_namespace: str | None = None
        """Where the state tables live: the schema (PostgreSQL) or database (MySQL) the first
        connection found itself in, or ``main`` (SQLite); None until connected, or when the
        session named none (the tables are then left unqualified)."""
        self._qualified: dict[str, str] = {}

    # -- connection ---------------------------------------------------------------------------

    @property
    def is_connected(self) -> bool:
        """True while a connection is open."""
        return self._conn is not None

    @property
    def raw_connection(self) -> Any:
        """The driver connection (for Python steps that need the driver itself)."""
        self.connect()
        return self._conn

    def connect(self) -> None:
        """Open the connection if needed and prepare the session (timeouts, names).

        Raises:
            ConnectionFailedError: If the server cannot be reached; the URL is redacted.
        """
        if self._conn is None:
            try:
                opened = ahead.claim(self)  # opened on a helper thread, if the CLI asked
                self._conn = self._open() if opened is None else opened()
            except ImportError as exc:
                if self.DRIVER_EXTRA is None:
                    raise
                # A driver is an extra; say which one to install, not "this is a bug".
                plain = isinstance(exc, ModuleNotFoundError) and exc.name == self.DRIVER_MODULE
                raise DriverMissingError(
                    dialect=self.dialect,
                    module=self.DRIVER_MODULE,
                    extra=self.DRIVER_EXTRA,
                    reason=None if plain else str(exc),
                ) from exc
            self._prepare_session()

    def close(self) -> None:
        """Release the lock if held, stop the watchdog and close the connection."""
        self._stop_watchdog()
        if self._conn is not None and self._lock_held:
            with contextlib.suppress(Exception):
                self.release_lock()
        self._forget_connection()

    def reconnect(self) -> None:
        """Drop a broken connection and open a new one (the lock, if any, died with the old)."""
        self._stop_watchdog()
        self._forget_connection()
        self.connect()

    def _forget_connection(self) -> None:
        """Close the connection, if any, and reset what lived and died with it."""
        self._close_driver_connection()
        self._lock_held = False
        self._in_transaction = False
        self._deferred.clear()
        self._transaction_ended(committed=False)

    def _open(self) -> Any:
        raise NotImplementedError

    def ahead_key(self) -> tuple[object, ...]:
        """Every setting :meth:`_open` may read.

        A connection opened ahead for a backend with the same key is the one this backend would
        have opened (see :mod:`timescape.store.ahead`).
        """
        url = self.url
        return (
            type(self),
            url.dialect,
            url.host,
            url.port,
            url.user,
            url.password,
            url.database,
            sorted(url.params.items()),
            url.connect_timeout,
            self.lock_timeout,
            self.ddl_lock_timeout,
            self.migration_timeout,
            self.table_prefix,
            self.application_name,
        )

    def may_open_ahead(self) -> bool:
        """Whether the connection may be opened before the command knows it will connect.

        Opening a server connection creates nothing, so the base says yes; a backend whose
        opening can create something (a SQLite file) says when it cannot.
        """
        return True

    def discard_connection(self, conn: Any) -> None:
        """Close a driver connection, ignoring its errors.

        The connection may be broken, or one opened ahead that no backend claimed.
        """
        with contextlib.suppress(Exception):
            conn.close()

    def qualify(self, table: str) -> str:
        """Return ``table`` qualified with :attr:`state_namespace`, quoted (``"public".t``).

        Captured once, when the first connection opens, so no migration's ``search_path``,
        ``USE`` or attached database can move where Timescape reads and writes its own state.

        Args:
            table: A validated, unquoted state-table name.

        Returns:
            The qualified name, or ``table`` itself when the session named no schema.
        """
        found = self._qualified.get(table)
        if found is None:
            self.connect()
            namespace = self.state_namespace
            found = table if namespace is None else f"{self.quote(namespace)}.{table}"
            self._qualified[table] = found
        return found

    def _capture_namespace(self, namespace: str | None) -> None:
        """Record where the state tables live, once (a reconnect keeps the first answer)."""
        if self.state_namespace is None and namespace:
            self.state_namespace = namespace
            self._qualified.clear()

    def _prepare_session(self) -> None:
        """Set session options after connecting (override per dialect)."""

    def open_listener(self, channel: str) -> Listener | None:
        """Open a dedicated connection that waits for notifications on ``channel``.

        Serving instances use it to learn about state changes the moment they commit, instead of
        polling. The connection is separate from this backend's own (a listener blocks in a wait
        that would stall every state read on a shared one) and is owned by the caller.

        Args:
            channel: The notification channel (a validated identifier).

        Returns:
            The listener, or None where the database has no notifications (then poll).

        Raises:
            ConnectionFailedError: If the server cannot be reached.

        Added in 0.2.
        """
        del channel
        return None

    # -- the migration's session --------------------------------------------------------------

    def restore_session(self, statements: Iterable[str] | None, *, failed: bool = False) -> None:
        """Undo what a step's statements may have changed in the session, if anything.

        Run after each step, before the state writes and the next step or schema: a migration
        that moved the ``search_path``, ran ``USE other_db``, ``SET ROLE``, a ``PRAGMA`` or
        changed a timeout must not change how Timescape writes its state, nor leak into the
        next schema (issue 11). Skipped when every statement is led by a keyword that cannot
        change the session (:func:`~timescape.store.session.may_change_session`).

        Args:
            statements: The step's statements, or None for a Python step (anything may change).
            failed: The step failed; the dialect may rely on its transaction's rollback.
        """
        if statements is not None and not may_change_session(statements, self.dialect):
            return
        self._restore_session(failed=failed)

    def _restore_session(self, *, failed: bool) -> None:
        """Dialect hook: put the session back as it was when the connection opened."""

    def execute_statement(self, sql: str, data: str | None = None) -> int:
        """Run one migration statement verbatim; with ``data``, as ``COPY ... FROM STDIN``.

        Args:
            sql: The statement, as split.
            data: The data lines of a ``COPY ... FROM stdin`` (PostgreSQL), or None.

        Returns:
            The row count.
        """
        if data is None:
            return self.execute(sql, None)
        return self.copy_from_stdin(sql, data)

    def statement_sender(self) -> Callable[[str], object]:
        """What sends one step's statements that carry no ``COPY`` data, one text per call.

        Asked once per step, so a dialect may hand out its driver's own ``execute`` (no
        Python frame per statement) while nothing logs each statement.

        Returns:
            A callable taking one statement's text.
        """
        return self.execute_statement

    def copy_from_stdin(self, sql: str, data: str) -> int:
        """Run ``COPY ... FROM STDIN`` with ``data`` (PostgreSQL only).

        Args:
            sql: The COPY statement.
            data: Its data lines, as ``pg_dump`` wrote them.

        Returns:
            The row count.

        Raises:
            InputError: On a dialect without a copy protocol.
        """
        del data
        msg = f"COPY ... FROM stdin is PostgreSQL's; the {self.dialect} backend cannot run: {sql}"
        raise InputError(msg)

    # -- the execute() choke point ------------------------------------------------------------

    def _translate(self, sql: str) -> str:
        if self.placeholder == "?":
            return sql
        cached = self._sql_cache.get(sql)
        if cached is None:
            cached = sql.replace("?", self.placeholder)
            self._sql_cache[sql] = cached
        return cached

    def execute(self, sql: str, params: Sequence[object] | None = None) -> int:
        """Run one statement and return the affected row count.

        Args:
            sql: One statement. With ``params``, ``?`` marks each parameter (translated to the
                driver's style); without, the text is sent as is (``%`` and ``?`` stay literal).
            params: Parameters, or None for migration SQL sent verbatim.

        Returns:
            The driver's row count (-1 when unknown).
        """
        self.connect()
        if self._deferred:
            self.flush_writes()
        if sql_log.isEnabledFor(DEBUG):
            sql_log.debug("%s", sql)
        cur = self._conn.cursor()
        try:
            if params is None:
                cur.execute(sql)
            else:
                cur.execute(self._translate(sql), tuple(params))
            return int(cur.rowcount)
        finally:
            cur.close()

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Run a query with ``?`` parameters and return all rows.

        Args:
            sql: The query.
            params: Parameters.

        Returns:
            The rows as tuples.
        """
        self.connect()
        if self._deferred:
            self.flush_writes()
        if sql_log.isEnabledFor(DEBUG):
            sql_log.debug("%s", sql)
        cur = self._conn.cursor()
        try:
            cur.execute(self._translate(sql), tuple(params))
            return [tuple(row) for row in cur.fetchall()]
        finally:
            cur.close()

    # -- deferred writes ----------------------------------------------------------------------

    defers_writes: ClassVar[bool] = False
    """Whether :meth:`defer` queues writes (a networked database saves a round trip each)."""

    def defer(self, sql: str, params: Sequence[object], *, rides: bool = False) -> None:
        """Run a state write whose only answer is success, as late as safely possible.

        Inside a transaction, on a dialect that :attr:`defers_writes`, the write is queued and
        sent with the next statement's round trip: the COMMIT, usually, so a schema's state row,
        its event and the generation bump cost one round trip instead of four. Any other
        statement or query sends the queue first, so reads still see the writes and their order
        is kept; a rollback discards it with the transaction. Elsewhere the write runs now: on
        SQLite a round trip costs nothing, and on MySQL a DDL statement would commit the
        transaction between queueing and sending.

        Args:
            sql: One statement with ``?`` parameters.
            params: Its parameters.
            rides: ``sql`` is an ``INSERT`` that reads no table and appends a row no other write
                of the transaction touches (an event): a dialect may send it inside the write
                queued before it, as one statement.
        """
        del rides  # one statement per write here; PostgreSQL lets an event ride (issue 14)
        if self.defers_writes and self._in_transaction:
            self._deferred.append((sql, tuple(params)))
        else:
            self.execute(sql, params)

    def flush_writes(self) -> None:
        """Send the queued writes now (one round trip); their errors are raised here."""
        if not self._deferred:  # asked before each schema of a run, where none usually waits
            return
        writes, self._deferred = self._deferred, []
        for sql, params in writes:
            self.execute(sql, params)

    # -- transactions -------------------------------------------------------------------------

    BEGIN_SQL: ClassVar[str] = "BEGIN"

    def begin(self) -> None:
        """Start a transaction."""
        self.execute(self.BEGIN_SQL)
        self._in_transaction = True

    def commit(self) -> None:
        """Commit the current transaction."""
        self._conn.commit() if self._commit_via_driver else self.execute("COMMIT")
        self._in_transaction = False
        self._transaction_ended(committed=True)

    def rollback(self) -> None:
        """Roll back the current transaction; a broken connection is dropped instead."""
        self._deferred.clear()
        try:
            if self._conn is not None:
                self._conn.rollback() if self._commit_via_driver else self.execute("ROLLBACK")
        except Exception:
            self._drop_broken()
        self._in_transaction = False
        self._transaction_ended(committed=False)

    _commit_via_driver: ClassVar[bool] = False

    def drop_broken(self) -> None:
        """Forget a connection known to be broken (the lock died with it on the server)."""
        self._drop_broken()

    def _drop_broken(self) -> None:
        self._deferred.clear()
        self._close_driver_connection()
        self._lock_held = False
        self._transaction_ended(committed=False)

    def _close_driver_connection(self) -> None:
        """Close the driver connection, if any, ignoring its errors (it may be broken)."""
        if self._conn is not None:
            self.discard_connection(self._conn)
        self._conn = None

    def on_transaction_end(self, listener: Callable[[bool], None]) -> None:
        """Call ``listener(committed)`` each time a transaction ends.

        ``committed`` is True only after a COMMIT returned normally; a rollback, a dropped or
        closed connection, or a failed COMMIT (its transaction is rolled back next) report False.
        The state store keeps its cached snapshot current from its own committed writes this way.

        Args:
            listener: The callable.
        """
        self._end_listeners.append(listener)

    def _transaction_ended(self, *, committed: bool) -> None:
        for listener in self._end_listeners:
            listener(committed)

    def change_token(self) -> int | None:
        """A counter that moves when another connection commits, if the database has one.

        Lets a change probe skip the generation read when nothing was committed at all
        (SQLite's ``PRAGMA data_version``). None where no such counter exists.

        Returns:
            The counter, or None.
        """
        return None

    READ_SNAPSHOT_SQL: ClassVar[str] = "BEGIN"
    """Starts a read-only transaction whose SELECTs all see one snapshot."""

    @contextlib.contextmanager
    def read_snapshot(self) -> Iterator[None]:
        """Run the enclosed reads in one consistent, read-only snapshot transaction."""
        self.connect()
        self.execute(self.READ_SNAPSHOT_SQL)
        self._in_transaction = True
        try:
            yield
        finally:
            self.rollback()

    @property
    def in_transaction(self) -> bool:
        """True between :meth:`begin` and :meth:`commit`/:meth:`rollback`."""
        return self._in_transaction

    # -- SQL text -----------------------------------------------------------------------------

    def split(self, script: str) -> list[Statement]:
        """Split a script into statements with this dialect's rules."""
        return _text_tools().split_statements(script, self.dialect)

    def transaction_breaker(self, statement: str) -> str | None:
        """Return why ``statement`` cannot run inside a migration transaction, or None."""
        return _text_tools().transaction_breaker(statement, self.dialect)

    def quote(self, identifier: str) -> str:
        """Quote an identifier that has already passed validation."""
        return '"' + identifier.replace('"', '""') + '"'

    # -- errors -------------------------------------------------------------------------------

    def classify_error(self, exc: BaseException) -> str:
        """Classify a driver error by its code (never by message text).

        Args:
            exc: The exception raised by the driver.

        Returns:
            One of the :class:`ErrorKind` values.
        """
        del exc
        return ErrorKind.OTHER

    def is_driver_error(self, exc: BaseException) -> bool:
        """Tell whether ``exc`` was raised by the database driver (not by Timescape's own code).

        The facade and the executor translate these into Timescape errors at the store boundary.

        Args:
            exc: Any exception.

        Returns:
            True for the driver's error classes.
        """
        del exc
        return False

    def describe_error(self, exc: BaseException) -> str:
        """Return the server's message for ``exc`` as one line, with the URL's secrets masked."""
        text = " ".join(str(exc).split()) or type(exc).__name__
        if self.url.password:
            text = text.replace(self.url.password, "***")
        return text

    # -- lock ---------------------------------------------------------------------------------

    def acquire_lock(self, timeout: float | None = None) -> None:
        """Take the Timescape lock, polling a try-lock with backoff until ``timeout``.

        No blocking waiter is ever left on the server: each attempt returns at once, so when
        this gives up there is nothing to cancel.

        Args:
            timeout: Seconds to wait (default: ``lock_timeout``).

        Raises:
            LockTimeoutError: Naming the holder.
        """
        budget = self.lock_timeout if timeout is None else timeout
        wait_for_lock(self._try_lock, budget=budget, holder=self.lock_holder)
        self._lock_held = True

    def release_lock(self) -> None:
        """Release the Timescape lock (idempotent)."""
        if self._lock_held:
            self._lock_held = False
            self._unlock()

    @property
    def lock_held(self) -> bool:
        """True while this backend holds the lock."""
        return self._lock_held

    def try_lock(self) -> bool:
        """Take the lock if nobody holds it, without waiting (release it with release_lock).

        Readers use it to look at the state while no run can change it.

        Returns:
            True when this call took the lock; False when someone (or this backend) holds it.
        """
        if self._lock_held or not self._try_lock():
            return False
        self._lock_held = True
        return True

    def lock_is_free(self) -> bool:
        """Tell whether nobody holds the lock right now (takes and drops it if free)."""
        if self._lock_held:
            return False
        if self._try_lock():
            self._unlock()
            return True
        return False

    def lock_holder(self) -> LockInfo | None:
        """Describe the lock's holder, if the server can tell."""
        return None

    def _try_lock(self) -> bool:
        raise NotImplementedError

    def _unlock(self) -> None:
        raise NotImplementedError

    # -- cancellation -------------------------------------------------------------------------

    def arm_timeout(self, seconds: float) -> float:
        """Start the server-side cancel timer for one schema.

        Args:
            seconds: The schema's budget.

        Returns:
            The deadline on the ``time.monotonic()`` clock.
        """
        deadline = time.monotonic() + seconds
        if self._watchdog is None:
            from timescape.store.watchdog import Watchdog  # noqa: PLC0415 - migrations only

            self._watchdog = Watchdog(self._cancel_running)
        self._watchdog.arm(deadline)
        self._on_arm(seconds)
        return deadline

    def disarm_timeout(self) -> bool:
        """Stop the timer; True when it fired (the work must be treated as timed out)."""
        return self._watchdog.disarm() if self._watchdog is not None else False

    def interrupt_statement(self) -> None:
        """Cancel the running migration statement on the server now (Ctrl-C), from any thread.

        Uses the timeout's mechanism, so it reaches only statements run under
        :meth:`arm_timeout`; :meth:`disarm_timeout` then reports it as fired.
        """
        watchdog = self._watchdog
        if watchdog is not None:
            watchdog.fire_now()

    def _stop_watchdog(self) -> None:
        if self._watchdog is not None:
            self._watchdog.close()
            self._watchdog = None

    def _on_arm(self, seconds: float) -> None:
        """Dialect hook: also bound the transaction on the server (e.g. SET LOCAL)."""

    def _cancel_running(self) -> None:
        raise NotImplementedError

    # -- introspection (for verify and the tests' invariant checker) ---------------------------

    def table_names(self, only: Collection[str] | None = None) -> set[str]:
        """Names of the tables in the current database/schema.

        Args:
            only: Look up just these names (one cheap catalog lookup each, however many tables
                the database holds); None lists every table.

        Returns:
            The names found.
        """
        raise NotImplementedError

    def non_transactional(
        self,
        tables: Sequence[str],  # noqa: ARG002 - per dialect
        *,
        unknown: bool = True,  # noqa: ARG002
    ) -> set[str]:
        """Which of ``tables`` cannot roll a statement back (non-transactional engine, a trigger).

        Asked after a statement failed, to tell ``failed`` from ``uncertain``. Every table is
        transactional here.

        Args:
            tables: Names as a statement gives them (``name`` or ``database.name``).
            unknown: Whether a table the catalog does not list (a temporary table, or one that
                does not exist) is in the answer: no proof either way.

        Returns:
            The names that may keep part of a failed statement's work.
        """
        return set()

    def server_version(self) -> str:
        """The server's version string."""
        raise NotImplementedError

    def connection_id(self) -> int | None:
        """The server-side id of this session (PG backend pid, MySQL connection id)."""
        return None

    def before_commit_check(
        self,
        statements: Iterable[str] | None = None,  # noqa: ARG002 - for dialects that use it
    ) -> str | None:
        """Dialect check run inside the schema transaction just before commit.

        Args:
            statements: The migration statements the transaction ran, or None when unknown
                (a Python step ran): a dialect may skip a check those statements cannot fail.

        Returns:
            A reason to abort (e.g. SQLite foreign-key violations), or None.
        """
        return None
