"""Throwaway databases: a temp file per SQLite run, a uniquely named database per server run.

Every URL a tool needs is derived here from one admin URL per server, so Timescape, the raw
driver, SQLAlchemy/Alembic and yoyo all point at the same, freshly created, empty database.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PG_ADMIN_URL = os.environ.get(
    "TIMESCAPE_BENCH_PG_URL",
    os.environ.get("TIMESCAPE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
)
MYSQL_ADMIN_URL = os.environ.get(
    "TIMESCAPE_BENCH_MYSQL_URL",
    os.environ.get("TIMESCAPE_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"),
)
DIALECTS = ("sqlite", "postgresql", "mysql")
LABELS = {"sqlite": "SQLite (file)", "postgresql": "PostgreSQL", "mysql": "MariaDB/MySQL"}


@dataclass(frozen=True)
class Target:
    """One empty database and how each tool reaches it."""

    dialect: str
    name: str  # database name, or the file path on SQLite
    host: str = ""
    port: int = 0
    user: str = ""
    password: str = ""

    def _auth(self) -> str:
        if not self.user:
            return ""
        return f"{self.user}:{self.password}@" if self.password else f"{self.user}@"

    @property
    def timescape_url(self) -> str:
        if self.dialect == "sqlite":
            return f"sqlite:///{self.name}"
        return f"{self.dialect}://{self._auth()}{self.host}:{self.port}/{self.name}"

    @property
    def sqlalchemy_url(self) -> str:
        if self.dialect == "sqlite":
            return f"sqlite:///{self.name}"
        driver = "postgresql+psycopg" if self.dialect == "postgresql" else "mysql+pymysql"
        return f"{driver}://{self._auth()}{self.host}:{self.port}/{self.name}"

    @property
    def yoyo_url(self) -> str:
        if self.dialect == "sqlite":
            return f"sqlite:///{self.name}"
        driver = "postgresql+psycopg" if self.dialect == "postgresql" else "mysql"
        return f"{driver}://{self._auth()}{self.host}:{self.port}/{self.name}"

    def connect(self) -> Any:
        """A raw driver connection in autocommit mode (transactions are explicit)."""
        if self.dialect == "sqlite":
            import sqlite3

            return sqlite3.connect(self.name, isolation_level=None)
        if self.dialect == "postgresql":
            import psycopg

            return psycopg.connect(host=self.host, port=self.port, user=self.user or None,
                                   password=self.password or None, dbname=self.name,
                                   autocommit=True)
        import pymysql

        return pymysql.connect(host=self.host, port=self.port, user=self.user or "root",
                               password=self.password, database=self.name, autocommit=True)


def _admin(dialect: str) -> tuple[str, int, str, str, str]:
    url = PG_ADMIN_URL if dialect == "postgresql" else MYSQL_ADMIN_URL
    parts = urlsplit(url)
    default_port = 5432 if dialect == "postgresql" else 3306
    default_user = "postgres" if dialect == "postgresql" else "root"
    return (parts.hostname or "127.0.0.1", parts.port or default_port,
            parts.username or default_user, parts.password or "", parts.path.lstrip("/"))


@contextlib.contextmanager
def admin_connection(dialect: str) -> Iterator[Any]:
    host, port, user, password, db = _admin(dialect)
    if dialect == "postgresql":
        import psycopg

        conn = psycopg.connect(host=host, port=port, user=user, password=password or None,
                               dbname=db or "postgres", autocommit=True, connect_timeout=5)
    else:
        import pymysql

        conn = pymysql.connect(host=host, port=port, user=user, password=password,
                               autocommit=True, connect_timeout=5)
    try:
        yield conn
    finally:
        conn.close()


def available(dialect: str) -> tuple[bool, str]:
    """Whether the server for ``dialect`` answers (SQLite always does)."""
    if dialect == "sqlite":
        return True, ""
    host, port, *_ = _admin(dialect)
    try:
        with socket.create_connection((host, port), timeout=3):
            pass
        with admin_connection(dialect) as conn:
            cur = conn.cursor()
            cur.execute("SELECT 1")
            cur.fetchall()
    except Exception as exc:
        return False, f"{dialect} at {host}:{port}: {exc}"
    return True, ""


def create(dialect: str, workdir: Path | None = None, prefix: str = "tsbench_") -> Target:
    """Create an empty database (a file path in ``workdir`` for SQLite).

    ``prefix`` other than ``tsbench_`` keeps the database out of reach of another run's
    :func:`drop_leftovers` (two benchmarks sharing a server).
    """
    # The orchestrating run's pid leads the suffix: drop_leftovers spares a live run's databases.
    suffix = f"{_run_pid()}_{uuid.uuid4().hex[:12]}"
    if dialect == "sqlite":
        folder = Path(workdir or tempfile.mkdtemp(prefix="tsbench-"))
        folder.mkdir(parents=True, exist_ok=True)
        return Target("sqlite", str(folder / f"bench_{suffix}.db"))
    host, port, user, password, _ = _admin(dialect)
    name = f"{prefix}{suffix}"
    with admin_connection(dialect) as conn:
        cur = conn.cursor()
        cur.execute(f"CREATE DATABASE {name}")
    return Target(dialect, name, host, port, user, password)


def drop(target: Target) -> None:
    """Drop the database (or delete the SQLite file and its companions)."""
    if target.dialect == "sqlite":
        for extra in ("", "-journal", "-wal", "-shm", "-timescape.lock"):
            with contextlib.suppress(OSError):
                os.remove(target.name + extra)
        return
    with admin_connection(target.dialect) as conn:
        cur = conn.cursor()
        if target.dialect == "postgresql":
            cur.execute(f"DROP DATABASE IF EXISTS {target.name} WITH (FORCE)")
        else:
            cur.execute(f"DROP DATABASE IF EXISTS {target.name}")


@contextlib.contextmanager
def fresh(dialect: str, workdir: Path | None = None) -> Iterator[Target]:
    """A fresh empty database for the duration of the block."""
    target = create(dialect, workdir)
    try:
        yield target
    finally:
        drop(target)


def _run_pid() -> int:
    """The pid of the benchmark run this process belongs to (workers inherit it)."""
    return int(os.environ.setdefault("TIMESCAPE_BENCH_RUN_PID", str(os.getpid())))


def _abandoned(name: str) -> bool:
    """Whether ``tsbench_<pid>_<hex>`` belongs to no running process on this machine.

    Names without a pid (older runs) count as abandoned. Another live run's databases are kept:
    two benchmarks sharing a server must not drop each other's work.
    """
    head = name.removeprefix("tsbench_").split("_", 1)[0]
    if not head.isdigit():
        return True
    try:
        os.kill(int(head), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by another user
        return False
    return False


def drop_leftovers() -> None:
    """Drop ``tsbench_*`` databases an interrupted run left behind on the servers."""
    for dialect in ("postgresql", "mysql"):
        if not available(dialect)[0]:
            continue
        with admin_connection(dialect) as conn:
            cur = conn.cursor()
            if dialect == "postgresql":
                cur.execute("SELECT datname FROM pg_database WHERE datname LIKE 'tsbench_%'")
            else:
                cur.execute("SHOW DATABASES LIKE 'tsbench\\_%'")
            for (name,) in cur.fetchall():
                if _abandoned(name):
                    drop(Target(dialect, name))


def scratch_dir(prefix: str = "tsbench-") -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


def remove_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
