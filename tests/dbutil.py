"""Real-database helpers for the tests: create/drop a uniquely named database, inspect its catalog.

Everything here talks to the servers through the raw drivers, never through Timescape, so the tests
assert what is really in the database rather than what Timescape believes.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PG_ADMIN_URL = os.environ.get("TIMESCAPE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MYSQL_ADMIN_URL = os.environ.get("TIMESCAPE_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")
ALL_DIALECTS = ("sqlite", "postgresql", "mysql")


def server_reachable(dialect: str) -> tuple[bool, str]:
    """Tell whether the test server for ``dialect`` accepts connections (with the reason)."""
    if dialect == "sqlite":
        return True, ""
    url = PG_ADMIN_URL if dialect == "postgresql" else MYSQL_ADMIN_URL
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), timeout=3):
            pass
    except OSError as exc:
        return False, f"{dialect} not reachable at {parts.hostname}:{parts.port}: {exc}"
    try:
        with admin_connection(dialect) as conn:
            cur = conn.cursor()
            cur.execute("SELECT 1")
            cur.fetchall()
    except Exception as exc:
        return False, f"{dialect} at {parts.hostname}:{parts.port} refused: {exc}"
    return True, ""


@contextlib.contextmanager
def admin_connection(dialect: str, database: str | None = None) -> Iterator[Any]:
    """A raw autocommit connection to the test server (optionally to ``database``)."""
    if dialect == "postgresql":
        import psycopg  # noqa: PLC0415 - drivers load only for the dialects under test

        parts = urlsplit(PG_ADMIN_URL)
        conn = psycopg.connect(
            host=parts.hostname,
            port=parts.port or 5432,
            user=parts.username or "postgres",
            password=parts.password,
            dbname=database or parts.path.lstrip("/") or "postgres",
            autocommit=True,
            connect_timeout=5,
        )
    else:
        import pymysql  # noqa: PLC0415 - drivers load only for the dialects under test

        parts = urlsplit(MYSQL_ADMIN_URL)
        conn = pymysql.connect(
            host=parts.hostname,
            port=parts.port or 3306,
            user=parts.username or "root",
            password=parts.password or "",
            database=database or parts.path.lstrip("/") or None,
            autocommit=True,
            connect_timeout=5,
        )
    try:
        yield conn
    finally:
        conn.close()


@dataclass
class TestDB:
    """One freshly created database on a real server (or a SQLite file).

    Attributes:
        dialect: ``sqlite``, ``postgresql`` or ``mysql``.
        url: A Timescape URL for it.
        name: The database name (the file path on SQLite).
    """

    __test__ = False  # not a test class, despite the name

    dialect: str
    url: str
    name: str
    path: Path | None = None
    _conn: Any = field(default=None, repr=False)

    # -- raw access ---------------------------------------------------------------------------

    def connect(self) -> Any:
        """A raw driver connection (autocommit), cached."""
        if self._conn is None:
            if self.dialect == "sqlite":
                self._conn = sqlite3.connect(self.name, isolation_level=None, timeout=30)
            else:
                self._cm = admin_connection(self.dialect, self.name)
                self._conn = self._cm.__enter__()
        return self._conn

    def close(self) -> None:
        """Close the cached connection."""
        if self._conn is not None:
            if self.dialect == "sqlite":
                self._conn.close()
            else:
                self._cm.__exit__(None, None, None)
            self._conn = None

    def _param(self, sql: str) -> str:
        return sql if self.dialect == "sqlite" else sql.replace("?", "%s")

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run a query with ``?`` placeholders through the raw driver."""
        conn = self.connect()
        cur = conn.cursor()
        try:
            cur.execute(self._param(sql), params) if params else cur.execute(sql)
            return [tuple(r) for r in cur.fetchall()]
        finally:
            cur.close()

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        """Run a statement with ``?`` placeholders through the raw driver (autocommit)."""
        conn = self.connect()
        cur = conn.cursor()
        try:
            cur.execute(self._param(sql), params) if params else cur.execute(sql)
        finally:
            cur.close()

    # -- catalog introspection ----------------------------------------------------------------

    def tables(self) -> set[str]:
        """Base tables in the database."""
        if self.dialect == "sqlite":
            rows = self.query("SELECT name FROM sqlite_master WHERE type = 'table'")
        elif self.dialect == "postgresql":
            rows = self.query(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = "
                "current_schema() AND table_type = 'BASE TABLE'"
            )
        else:
            rows = self.query(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = "
                "DATABASE() AND table_type = 'BASE TABLE'"
            )
        return {r[0] for r in rows}

    def user_tables(self) -> set[str]:
        """Tables that are not Timescape's own nor SQLite's internal ones."""
        return {
            t for t in self.tables()
            if not t.startswith("timescape_") and not t.startswith("sqlite_")
        }

    def columns(self, table: str) -> list[str]:
        """Column names of ``table`` in order."""
        if self.dialect == "sqlite":
            return [r[1] for r in self.query(f"PRAGMA table_info({table})")]
        schema_expr = "current_schema()" if self.dialect == "postgresql" else "DATABASE()"
        rows = self.query(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = "
            f"{schema_expr} AND table_name = ? ORDER BY ordinal_position",
            (table,),
        )
        return [r[0] for r in rows]

    def indexes(self, table: str) -> set[str]:
        """Index names on ``table`` (excluding primary keys where the catalog says so)."""
        if self.dialect == "sqlite":
            return {r[1] for r in self.query(f"PRAGMA index_list({table})")
                    if not r[1].startswith("sqlite_autoindex")}
        if self.dialect == "postgresql":
            rows = self.query(
                "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
                "AND tablename = ?", (table,))
            return {r[0] for r in rows if not r[0].endswith("_pkey")}
        rows = self.query(
            "SELECT DISTINCT index_name FROM information_schema.statistics WHERE table_schema = "
            "DATABASE() AND table_name = ?", (table,))
        return {r[0] for r in rows if r[0] != "PRIMARY"}

    def count(self, table: str) -> int:
        """Row count of ``table``."""
        return int(self.query(f"SELECT COUNT(*) FROM {table}")[0][0])

    def schema_row(self, name: str, prefix: str = "timescape_") -> dict[str, Any] | None:
        """The state row of a schema, as a dict, read directly from the table."""
        conn_rows = self.query(
            f"SELECT name, status, steps_done, step_in_flight, error FROM {prefix}schemas "
            "WHERE name = ?", (name,))
        if not conn_rows:
            return None
        r = conn_rows[0]
        return {"name": r[0], "status": r[1], "steps_done": r[2], "step_in_flight": r[3],
                "error": r[4]}

    def active_versions(self, prefix: str = "timescape_") -> set[str]:
        """TSVs marked active in the versions table."""
        return {r[0] for r in self.query(f"SELECT tsv FROM {prefix}versions WHERE active = 1")}

    def event_kinds(self, prefix: str = "timescape_") -> list[str]:
        """Event kinds in insertion order."""
        return [r[0] for r in self.query(f"SELECT kind FROM {prefix}events ORDER BY id")]


# CREATE DATABASE + DROP DATABASE costs about 0.8 s on PostgreSQL 15 (a checkpointed copy of the
# template), which dominated the suite. A finished test's database is reset instead (its sessions
# terminated, every schema dropped, settings reset) and handed to the next test: still empty,
# still unique to one test at a time, at a tenth of the cost. The pool is dropped at session end.
_PG_POOL: list[str] = []
_PG_CREATED: set[str] = set()


def _pg_reset(name: str) -> bool:
    """Return a used PostgreSQL test database to the empty state of a new one."""
    try:
        with admin_connection("postgresql") as admin:
            cur = admin.cursor()
            cur.execute(f"ALTER DATABASE {name} RESET ALL")
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                "AND pid <> pg_backend_pid()",
                (name,),
            )
        with admin_connection("postgresql", name) as conn:
            cur = conn.cursor()
            cur.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%%' "
                "AND nspname <> 'information_schema'"
            )
            for (schema,) in cur.fetchall():
                cur.execute(f'DROP SCHEMA "{schema}" CASCADE')
            cur.execute("CREATE SCHEMA public")
            cur.execute("GRANT ALL ON SCHEMA public TO PUBLIC")
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND pid <> pg_backend_pid()")
            return int(cur.fetchone()[0]) == 0
    except Exception:
        return False


def drain_pool() -> None:
    """Drop the pooled PostgreSQL databases (end of the test session)."""
    while _PG_POOL:
        name = _PG_POOL.pop()
        with contextlib.suppress(Exception), admin_connection("postgresql") as conn:
            conn.cursor().execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def create_database(dialect: str, tmp_path: Path) -> TestDB:
    """Create (or take from the pool) a uniquely named empty database and return its handle."""
    if dialect == "sqlite":
        path = tmp_path / f"ts_{uuid.uuid4().hex[:8]}.db"
        return TestDB("sqlite", f"sqlite:///{path}", str(path), path=path)
    name = _PG_POOL.pop() if dialect == "postgresql" and _PG_POOL else None
    if name is None:
        name = f"ts_test_{uuid.uuid4().hex[:12]}"
        with admin_connection(dialect) as conn:
            cur = conn.cursor()
            cur.execute(f"CREATE DATABASE {name}")
        if dialect == "postgresql":
            _PG_CREATED.add(name)
    if dialect == "postgresql":
        parts = urlsplit(PG_ADMIN_URL)
        auth = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        url = f"postgresql://{auth}{parts.hostname}:{parts.port or 5432}/{name}"
    else:
        parts = urlsplit(MYSQL_ADMIN_URL)
        auth = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        url = f"mysql://{auth}{parts.hostname}:{parts.port or 3306}/{name}"
    return TestDB(dialect, url, name)


def drop_database(db: TestDB) -> None:
    """Drop the database (terminating leftover sessions on PostgreSQL)."""
    db.close()
    if db.dialect == "sqlite":
        return
    if db.dialect == "postgresql" and db.name in _PG_CREATED and _pg_reset(db.name):
        _PG_POOL.append(db.name)
        return
    with admin_connection(db.dialect) as conn:
        cur = conn.cursor()
        if db.dialect == "postgresql":
            cur.execute(f"DROP DATABASE IF EXISTS {db.name} WITH (FORCE)")
        else:
            cur.execute(f"DROP DATABASE IF EXISTS {db.name}")
