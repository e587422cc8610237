"""SQLite backend (stdlib ``sqlite3``).

Transactions are explicit (``isolation_level=None`` and our own ``BEGIN IMMEDIATE``), never
``executescript()``, which commits behind the caller's back (bpo-30593).

The cross-process lock is an ``fcntl.flock`` on a file beside the database, not the write
transaction DESIGN.md first sketched: a write transaction cannot outlive the per-schema commits,
so it could not serialise a multi-schema activation nor let a crash leave evidence. The kernel
drops a flock when its process dies, so a crashed holder never leaves it stuck. There is one lock
per database file, whatever the table prefix (unlike PostgreSQL and MariaDB, whose lock is per
database and prefix): the file takes one writer at a time anyway.

Foreign keys are switched off on the migrating connection (``PRAGMA foreign_keys`` cannot change
inside a transaction) so a table rebuild cannot cascade-delete child rows; ``PRAGMA
foreign_key_check`` runs before every commit instead, and any violation aborts the schema.
"""

from __future__ import annotations

import contextlib
import fcntl  # POSIX only: Timescape's SQLite lock is an flock (documented)
import functools
import json
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Collection, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, cast

from timescape._log import DEBUG
from timescape.errors import ConnectionFailedError
from timescape.store.base import Backend, ErrorKind, LockInfo, actor, sql_log

__all__ = ["SQLiteBackend"]

# Connection-level PRAGMAs a migration may set, captured at connect (all integers) and restored.
_PRAGMAS = (
    "foreign_keys",
    "busy_timeout",
    "recursive_triggers",
    "query_only",
    "ignore_check_constraints",
    "legacy_alter_table",
    "reverse_unordered_selects",
    "trusted_schema",
    "automatic_index",
    "defer_foreign_keys",
    "cell_size_check",
    "temp_store",
    "synchronous",
    "cache_size",
    "secure_delete",
)

_CACHE_KIB = 16 * 1024
"""The most page cache Timescape's connection may grow to, in KiB (SQLite's default is 2,000)."""


class SQLiteBackend(Backend):
    """SQLite: transactional DDL, file lock beside the database, ``interrupt()`` to cancel."""

    dialect = "sqlite"
    transactional_ddl = True
    BEGIN_SQL: ClassVar[str] = "BEGIN IMMEDIATE"
    FOREIGN_KEY_CHECK: ClassVar[str] = "PRAGMA foreign_key_check"

    _lock_fd: int | None = None
    _memory_lock: threading.Lock | None = None
    _pragmas: tuple[tuple[str, int], ...] = ()
    # Whether no table declares a foreign key (None: not known), and ``PRAGMA data_version``
    # when that was found: see before_commit_check.
    _fk_free: bool | None = None
    _fk_data_version: int | None = None
    # The cursor execute() reuses; it belongs to the connection it was made on.
    _cursor: sqlite3.Cursor | None = None

    @property
    def lock_path(self) -> Path | None:
        """The lock file (None for an in-memory database)."""
        if self.url.is_memory:
            return None
        return Path(self.url.database + "-timescape.lock")

    def may_open_ahead(self) -> bool:
        """Only an existing file.

        Opening creates a missing file, and each ``:memory:`` connection is a database of its own.
        """
        return not self.url.is_memory and Path(self.url.database).is_file()

    def _open(self) -> Any:
        target = self.url.database
        if not self.url.is_memory:
            parent = Path(target).parent
            if not parent.is_dir():
                raise ConnectionFailedError(self.url.redacted, f"folder {parent} does not exist")
        try:
            conn = sqlite3.connect(
                target,
                timeout=self.lock_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            raise ConnectionFailedError(self.url.redacted, self.describe_error(exc)) from exc
        return conn

    def _prepare_session(self) -> None:
        self._fk_free = None
        busy_ms = int(self.ddl_lock_timeout * 1000)
        self._conn.execute(f"PRAGMA busy_timeout = {busy_ms}")
        self._conn.execute("PRAGMA foreign_keys = OFF")
        self._widen_page_cache()
        self._capture_namespace("main")
        self._pragmas = tuple(
            (name, int(self._conn.execute(f"PRAGMA {name}").fetchone()[0])) for name in _PRAGMAS
        )

    def _widen_page_cache(self) -> None:
        """Let the page cache hold the state tables and the schema table together, in a big file.

        This connection reads the state tables whole when a snapshot is loaded, and runs the
        DDL. Every CREATE TABLE scans the schema table to load its new entry, so with SQLite's
        default 2,000 KiB cache, which a state read at ten thousand schemas fills, the next
        activation read about 290 pages of the schema table from the file again (issue 14).
        The budget follows the file the connection opens: as large as the file, up to
        16 MiB, and never below the current one. A file smaller than the default cache keeps
        it, so a process applying a long chain to a new database holds no more pages than
        before (peak RSS, issue 14). A negative ``cache_size`` is a budget in KiB and pages
        are allocated only as they are read
        (https://www.sqlite.org/pragma.html#pragma_cache_size). A migration that changes the
        budget is set back to this one.
        """
        conn = self._conn
        page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
        current = int(conn.execute("PRAGMA cache_size").fetchone()[0])
        current_kib = current * page_size // 1024 if current > 0 else -current  # pages or -KiB
        file_kib = int(conn.execute("PRAGMA page_count").fetchone()[0]) * page_size // 1024
        budget = min(file_kib, _CACHE_KIB)
        if budget > current_kib:
            conn.execute(f"PRAGMA cache_size = -{budget}")

    def _restore_session(self, *, failed: bool) -> None:
        """Set back every connection PRAGMA a step changed; detach what it attached.

        Only the PRAGMAs whose value differs are set (some, like ``synchronous``, cannot
        change inside a transaction, where an unchanged one must not fail). ``case_sensitive_like``
        cannot be read, so it is set back to SQLite's default.
        """
        conn = self._conn
        if conn is None:
            return
        if failed:  # a cancel may have landed: let these reads start with no statement open
            self._end_unread_statement()
        # PRAGMAs are not transactional: a rollback keeps them, so they are set back either way.
        for name, value in self._pragmas:
            if conn.execute(f"PRAGMA {name}").fetchone()[0] != value:
                conn.execute(f"PRAGMA {name} = {value}")
        conn.execute("PRAGMA case_sensitive_like = OFF")
        if not conn.in_transaction:
            for _, name, _ in conn.execute("PRAGMA database_list").fetchall():
                if name not in {"main", "temp"}:
                    conn.execute("DETACH DATABASE ?", (name,))

    def execute(self, sql: str, params: Any = None) -> int:
        """Run one statement (sqlite3 cursors need no closing; skip the generic cursor dance)."""
        cur = self._cursor
        if cur is None or cur.connection is not self._conn:  # several statements per schema
            cur = self._statement_cursor()
        if sql_log.isEnabledFor(DEBUG):
            sql_log.debug("%s", sql)
        if params is None:
            cur.execute(sql)
        else:
            cur.execute(sql, params)
        return int(cur.rowcount)

    def statement_sender(self) -> Callable[[str], object]:
        """The cursor's own ``execute`` while no SQL is logged: no Python call per statement."""
        if sql_log.isEnabledFor(DEBUG):
            return self.execute_statement
        cur = self._cursor
        if cur is None or cur.connection is not self._conn:
            cur = self._statement_cursor()
        return cast("Callable[[str], object]", cur.execute)

    def _statement_cursor(self) -> sqlite3.Cursor:
        """The cursor :meth:`execute` reuses on the current connection (connecting if need be).

        One cursor for every statement whose rows nobody reads, as the raw driver loop does: a
        cursor made per statement was eight objects per schema applied (issue 14).
        """
        self.connect()
        self._cursor = cur = cast("sqlite3.Cursor", self._conn.cursor())
        return cur

    def query(self, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        """Run a query and return all rows."""
        self.connect()
        if sql_log.isEnabledFor(DEBUG):
            sql_log.debug("%s", sql)
        return list(self._conn.execute(sql, params).fetchall())

    def _end_unread_statement(self) -> None:
        """Close the statements' cursor, ending a statement whose rows nobody read.

        A migration's ``SELECT`` stays open on that cursor, its rows unread, until the next
        statement runs on it (COMMIT does: :meth:`commit`). While any statement is open, a
        cancel (``sqlite3_interrupt``) stays in force for every statement the connection
        starts, not only the one it was aimed at (https://sqlite.org/c3ref/interrupt.html).
        So a timeout landing just after such a SELECT returned made the ROLLBACK after it fail
        with "interrupted": the connection was dropped as broken, and closing it while the
        SELECT was open left SQLite holding its write lock until the cursor was garbage
        collected. Another process then found the database locked after the timeout had been
        reported (reliability test T23, once under CI load). Ending the statement first lets
        the ROLLBACK, and the PRAGMA reads that restore the session, start with none open.
        """
        cur = self._cursor
        if cur is not None:
            self._cursor = None
            with contextlib.suppress(sqlite3.Error):
                cur.close()

    def _close_driver_connection(self) -> None:
        """End our statement before closing: SQLite keeps an open one's write lock (see above)."""
        self._end_unread_statement()
        super()._close_driver_connection()

    def _data_version(self) -> int:
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def commit(self) -> None:
        """Commit with an explicit ``COMMIT`` (autocommit mode: the driver does nothing itself).

        Through the statements' cursor, which also ends the last statement it ran.
        """
        cur = self._cursor
        if cur is not None and cur.connection is self._conn:
            cur.execute("COMMIT")
        else:
            self._conn.execute("COMMIT")
        self._in_transaction = False
        self._transaction_ended(committed=True)

    def rollback(self) -> None:
        """Roll back if a transaction is open (with no statement of ours left open)."""
        self._fk_free = None  # what was found inside the transaction may have been undone
        self._end_unread_statement()
        try:
            if self._conn is not None and self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
        except sqlite3.Error:
            self._drop_broken()
        self._in_transaction = False
        self._transaction_ended(committed=False)

    def is_driver_error(self, exc: BaseException) -> bool:
        """True for ``sqlite3`` errors."""
        return isinstance(exc, sqlite3.Error)

    def classify_error(self, exc: BaseException) -> str:
        """Classify by SQLite's primary result code."""
        code = getattr(exc, "sqlite_errorcode", None)
        if code is None:
            return ErrorKind.OTHER
        primary = code & 0xFF
        if primary == sqlite3.SQLITE_INTERRUPT:
            return ErrorKind.TIMEOUT
        if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            return ErrorKind.LOCK_NOT_AVAILABLE
        if primary == sqlite3.SQLITE_FULL:
            return ErrorKind.DISK_FULL
        return ErrorKind.OTHER

    # -- lock ---------------------------------------------------------------------------------

    def _try_lock(self) -> bool:
        path = self.lock_path
        if path is None:
            # An in-memory database lives in this one connection: a thread lock is enough.
            if self._memory_lock is None:
                self._memory_lock = threading.Lock()
            return self._memory_lock.acquire(blocking=False)
        if self._lock_fd is None:
            try:
                self._lock_fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise ConnectionFailedError(
                    self.url.redacted, f"cannot open lock file {path}: {exc.strerror}"
                ) from exc
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            # Close it again: a caller that only peeks (reports take the lock when it is free)
            # must not keep a file open; a waiting caller reopens it on its next try.
            os.close(self._lock_fd)
            self._lock_fd = None
            return False
        info = {
            "holder": actor(),
            "application": self.application_name,
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        with contextlib.suppress(OSError):
            os.ftruncate(self._lock_fd, 0)
            os.pwrite(self._lock_fd, json.dumps(info).encode(), 0)
        return True

    def _unlock(self) -> None:
        if self._memory_lock is not None:
            self._memory_lock.release()
            return
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._lock_fd, 0)
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def lock_holder(self) -> LockInfo | None:
        """Read the holder's description from the lock file."""
        path = self.lock_path
        if path is None:
            return LockInfo("another thread of this process")
        try:
            info = json.loads(path.read_text() or "{}")
        except (OSError, ValueError):
            return None
        if not info:
            return None
        return LockInfo(
            f"{info.get('holder', '?')} ({info.get('application', '?')}, "
            f"since {info.get('since', '?')})"
        )

    def close(self) -> None:
        """Close the connection and the lock file."""
        super().close()
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._lock_fd)
            self._lock_fd = None

    # -- cancellation -------------------------------------------------------------------------

    def _cancel_running(self) -> None:
        # sqlite3_interrupt on an idle connection is a no-op (sqlite.org/c3ref/interrupt.html),
        # so the watchdog's repeated calls cannot hit a statement started after disarm.
        conn = self._conn
        if conn is not None:
            conn.interrupt()

    def before_commit_check(self, statements: Iterable[str] | None = None) -> str | None:
        """Refuse to commit a schema that leaves foreign-key violations.

        ``PRAGMA foreign_key_check`` visits every table (a millisecond at ten thousand, so a
        chain of schemas was quadratic). It is skipped when every statement only creates tables,
        indexes, views or triggers: with foreign keys off, only writing rows or dropping,
        renaming or altering a table can leave a row pointing nowhere, and a new table holds no
        row a constraint could refuse. It is also skipped when no table declares a foreign key
        (then no row can violate one): found once by reading the schema, and still known while
        no statement of ours could declare one (none spells ``REFERENCES``, and none is a
        Python step) and no other connection has written.
        """
        # Only a standing claim needs every statement read for REFERENCES (a 50 MB dump's
        # half a million INSERTs are not searched when nothing is claimed).
        watch = bool(self._fk_free)
        only_creates, may_declare = True, statements is None
        for text in statements or ():
            only_creates = only_creates and _only_creates(text)
            may_declare = may_declare or (watch and _may_declare_foreign_key(text))
            if not only_creates and (may_declare or not watch):
                break
        if may_declare:
            self._fk_free = None
        if only_creates and statements is not None:
            return None
        if self._fk_free:
            # Another connection may have written since (``data_version`` moves only for the
            # commits of others); none can now, this one holds the write lock until its commit.
            if self._data_version() == self._fk_data_version:
                return None
            self._fk_free = None
        rows = self._conn.execute(self.FOREIGN_KEY_CHECK).fetchmany(5)
        if rows:
            where = ", ".join(f"{r[0]} rowid {r[1]} → {r[2]}" for r in rows)
            return f"foreign key violations after the migration: {where}"
        if self._fk_free is None and statements is not None:
            self._fk_free = not self._declares_foreign_keys()
            self._fk_data_version = self._data_version()
        return None

    def _declares_foreign_keys(self) -> bool:
        """Whether any table's definition spells ``REFERENCES`` (every foreign key does)."""
        return any(
            self._conn.execute(
                f"SELECT 1 FROM {master} WHERE type = 'table' "
                "AND instr(lower(sql), 'references') > 0 LIMIT 1"
            ).fetchone()
            for master in ("sqlite_master", "sqlite_temp_master")
        )

    # -- introspection ------------------------------------------------------------------------

    def table_names(self, only: Collection[str] | None = None) -> set[str]:
        """Tables in the main database (``only``: those of these names, from the parsed schema).

        Scanning ``sqlite_master`` costs milliseconds once it holds thousands of tables, while
        ``pragma_table_info`` looks one name up in the in-memory schema (a view of that name
        counts too, which no Timescape table name can collide with in practice).
        """
        if only is None:
            rows = self.query("SELECT name FROM sqlite_master WHERE type = 'table'")
            return {r[0] for r in rows}
        names = list(only)
        if not names:
            return set()
        # One statement, so one read snapshot: a lookup per name could straddle another
        # process's commit and see half of a bootstrap (some state tables, not the others).
        values = ", ".join("(?)" for _ in names)
        rows = self.query(
            f"WITH v(n) AS (VALUES {values}) SELECT DISTINCT v.n FROM v, "
            "pragma_table_info(v.n, 'main')",
            names,
        )
        return {r[0] for r in rows}

    def server_version(self) -> str:
        """The SQLite library version."""
        return sqlite3.sqlite_version

    def change_token(self) -> int | None:
        """``PRAGMA data_version``: moves when another connection commits to the file.

        Reading it touches no table and takes no lock
        (https://www.sqlite.org/pragma.html#pragma_data_version); this connection's own commits
        do not move it, so the caller also watches its own transactions.
        """
        self.connect()
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])


# CREATE [TEMP|TEMPORARY|UNIQUE] TABLE|INDEX|VIEW|TRIGGER, after any leading comments. A comment
# between the words fails to match, which only costs the check. Compiled on first use: a read-only
# command never needs it, and compiling costs ~0.5 ms of its start (issue 14).
_LEADING_COMMENTS = r"(?:\s+|--[^\n]*+(?:\n|\Z)|/\*.*?\*/)*+"
_CREATES = r"CREATE\s+(?:(?:TEMP|TEMPORARY|UNIQUE)\s+)?(?:TABLE|INDEX|VIEW|TRIGGER)\b"
_FK_SCAN_MAX = 1 << 16


@functools.cache
def _only_creates_pattern() -> re.Pattern[str]:
    """The compiled pattern (``re.match`` with a string looks its cache up at every call).

    Not ``re.IGNORECASE``: matching a literal without regard to case lowers every character
    of the statement in Python's engine, a third of the check's cost per statement (issue 14).
    Each keyword letter is a class of its two ASCII cases instead, as SQLite reads keywords
    (a non-ASCII look-alike such as ``İ`` no longer matches: the check then runs, which is the
    safe side).
    """
    return re.compile(_LEADING_COMMENTS + _ascii_caseless(_CREATES), re.DOTALL)


def _ascii_caseless(pattern: str) -> str:
    """Make each upper-case ASCII letter of ``pattern`` a class of both cases (``[Cc]``)."""
    return re.sub("[A-Z]", lambda m: f"[{m[0]}{m[0].lower()}]", pattern)


def _may_declare_foreign_key(statement: str) -> bool:
    """False only for a statement that cannot declare a foreign key (no ``REFERENCES`` in it).

    A long statement (a dump's bulk insert) counts as possible rather than being searched
    without regard to case; SQLite runs no SQL it builds itself, so a key declared anywhere is
    spelt in a statement. SQLite's keywords are ASCII, matched without regard to ASCII case:
    every spelling it reads as ``REFERENCES`` lowers to ``references``, and a substring search
    of the lowered text is several times cheaper than a case-insensitive regular expression.
    """
    return len(statement) > _FK_SCAN_MAX or "references" in statement.lower()


def _only_creates(statement: str) -> bool:
    """True for ``CREATE [TEMP|UNIQUE] TABLE|INDEX|VIEW|TRIGGER`` (no row can be orphaned)."""
    return _only_creates_pattern().match(statement) is not None
