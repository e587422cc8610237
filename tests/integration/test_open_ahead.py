"""A connection opened ahead (``timescape.store.ahead``) is the one the backend would have opened.

The CLI starts opening the database on a helper thread as soon as it has read the project's
``[database]`` table, and the facade's backend takes that connection instead of opening its own.
These tests check, on the real databases, what makes that invisible: the backend really gets the
helper's connection (seen from the server, or through the file it holds open), a failure is raised
by ``connect()`` as it was without it, other settings open their own connection, nothing is
created ahead, and one nobody claims is closed without waiting for the helper.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.clirun import run_process, write_project
from tests.dbutil import TestDB
from timescape.cli._app import App
from timescape.errors import ConnectionFailedError
from timescape.store import ahead
from timescape.store.backends import create_backend
from timescape.store.backends.sqlite import SQLiteBackend
from timescape.store.base import Backend
from timescape.store.urls import parse_url


@pytest.fixture(autouse=True)
def _nothing_pending() -> Iterator[None]:
    ahead.discard()
    yield
    ahead.discard()


def _backend(url: str, **options: Any) -> Backend:
    return create_backend(parse_url(url), **options)


def _existing(db: TestDB) -> TestDB:
    """``db``, its SQLite file made (an empty file is an empty database): only an existing
    file is opened ahead."""
    if db.dialect == "sqlite":
        Path(db.name).touch()
    return db


def _wait(condition: Any, what: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def _files_open(path: Path) -> int:
    """How many descriptors of this process are open on ``path``."""
    target = str(path.resolve())
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == target:
                count += 1
        except OSError:
            continue
    return count


def _helper_session(db: TestDB, name: str) -> int:
    """The server session id of the connection opened ahead, once the server lists it."""
    raw = db.connect()
    cur = raw.cursor()
    if db.dialect == "postgresql":
        sql = "SELECT pid FROM pg_stat_activity WHERE application_name = %s"
        args: tuple[str, ...] = (name,)
    else:
        sql = (
            "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = %s AND ID <> CONNECTION_ID()"
        )
        args = (db.name,)

    def found() -> int | None:
        cur.execute(sql, args)
        rows = cur.fetchall()
        return int(rows[0][0]) if len(rows) == 1 else None

    return int(_wait(found, "the connection opened ahead to show on the server"))


def test_connect__opened_ahead_with_its_settings__takes_that_connection(
    db: TestDB, tmp_path: Path
) -> None:
    name = f"ahead-{uuid.uuid4().hex[:8]}"
    if db.dialect == "sqlite":
        # The helper's connection holds the file open: move the file away and put an empty
        # database in its place; a backend that opened its own would find the empty one.
        raw = db.connect()
        raw.execute("CREATE TABLE opened_before (id INTEGER)")
        db.close()
    assert ahead.open_ahead(_backend(db.url, application_name=name))
    if db.dialect == "sqlite":
        path = Path(db.name)
        _wait(lambda: _files_open(path), "the helper to open the file")
        path.rename(tmp_path / "moved.db")
        path.touch()
        expected: Any = None
    else:
        expected = _helper_session(db, name)
    backend = _backend(db.url, application_name=name)
    try:
        backend.connect()
        assert not ahead.pending()
        if db.dialect == "sqlite":
            tables = backend.query("SELECT name FROM sqlite_master WHERE type = 'table'")
            assert ("opened_before",) in tables
        elif db.dialect == "postgresql":
            assert backend.query("SELECT pg_backend_pid()")[0][0] == expected
        else:
            assert backend.query("SELECT CONNECTION_ID()")[0][0] == expected
    finally:
        backend.close()


def test_connect__opening_ahead_failed__raises_the_same_error(db: TestDB, tmp_path: Path) -> None:
    if db.dialect == "sqlite":
        bad = tmp_path / "not-a-database.db"
        bad.write_bytes(b"this is not an SQLite file, " * 100)
        url = f"sqlite:///{bad}"
    else:
        url = db.url.rsplit("/", 1)[0] + f"/no_such_db_{uuid.uuid4().hex[:8]}"
    with pytest.raises(ConnectionFailedError) as without:
        _backend(url).connect()
    assert ahead.open_ahead(_backend(url))
    with pytest.raises(ConnectionFailedError) as claimed:
        _backend(url).connect()
    assert str(claimed.value) == str(without.value)
    assert not ahead.pending()


def test_connect__other_settings__opens_its_own_connection(db: TestDB) -> None:
    _existing(db)
    assert ahead.open_ahead(_backend(db.url, lock_timeout=30.0))
    other = _backend(db.url, lock_timeout=5.0)
    try:
        other.connect()
        assert other.query("SELECT 1")[0][0] == 1
        assert ahead.pending()  # still there for a backend with its settings
    finally:
        other.close()
    ahead.discard()
    assert not ahead.pending()


@pytest.mark.dialects("sqlite")
def test_open_ahead__sqlite_file_missing_or_in_memory__starts_nothing(
    db: TestDB, tmp_path: Path
) -> None:
    missing = tmp_path / "later.db"
    assert not ahead.open_ahead(_backend(f"sqlite:///{missing}"))
    assert not ahead.open_ahead(_backend("sqlite:///:memory:"))
    assert not missing.exists()
    assert not ahead.pending()


class _SlowToOpen(SQLiteBackend):
    """SQLite whose opening waits for the test to let it go."""

    release = threading.Event()
    finished = threading.Event()

    def _open(self) -> Any:
        self.release.wait(10)
        try:
            return super()._open()
        finally:
            self.finished.set()


@pytest.mark.dialects("sqlite")
def test_discard__helper_still_opening__returns_and_the_helper_closes_it(db: TestDB) -> None:
    path = Path(_existing(db).name)
    slow = _SlowToOpen(parse_url(db.url))
    assert ahead.open_ahead(slow)
    ahead.discard()  # returns while the helper is still waiting to open
    assert not _SlowToOpen.finished.is_set()
    assert not ahead.pending()
    _SlowToOpen.release.set()
    _SlowToOpen.finished.wait(10)
    _wait(lambda: _files_open(path) == 0, "the abandoned connection to be closed")


@pytest.mark.dialects("sqlite")
def test_cli_facade__built_after_its_project_loads__takes_the_connection_opened_ahead(
    db: TestDB, tmp_path: Path
) -> None:
    project = write_project(
        tmp_path / "proj",
        '[database]\nurl = "{url}"\n\n[[schemas]]\nname = "s1"\n'
        'migrations = ["CREATE TABLE items (id INTEGER PRIMARY KEY)"]\n'
        'rollback = ["DROP TABLE items"]\n\n[[versions]]\nhandler = "/api/items"\n'
        'timestamp = "2025-01-01T00:00:00Z"\nschema = "s1"\n',
        url=db.url,
    )
    _existing(db)
    app = App(project_path=project)
    try:
        app.project()  # the project alone opens nothing
        assert not ahead.pending()
        app._project = None
        facade = app.timescape()
        assert ahead.pending() or facade.backend.is_connected
        infos = facade.schemas()
        assert [(i.name, i.status) for i in infos] == [("s1", "pending")]
        assert not ahead.pending()
        assert facade.backend.is_connected
    finally:
        app.close()
    assert not ahead.pending()


def test_cli_listing__invalid_project__reports_the_definition_error(
    db: TestDB, tmp_path: Path
) -> None:
    """The helper may fail (or succeed) for nothing: the definitions' error is what is shown."""
    if db.dialect == "sqlite":
        missing = tmp_path / "never.db"
        url = f"sqlite:///{missing}"
    else:
        url = db.url.rsplit("/", 1)[0] + f"/no_such_db_{uuid.uuid4().hex[:8]}"
    write_project(
        tmp_path / "proj",
        '[database]\nurl = "{url}"\n\n[[schemas]]\nname = "s1"\nmigrations = "not a list"\n',
        url=url,
    )
    result = run_process("schema", "list", cwd=tmp_path / "proj")
    assert result.exit_code == 2, result.describe()
    assert "migrations" in result.stderr, result.describe()
    assert "Traceback" not in result.stderr
    if db.dialect == "sqlite":
        assert not missing.exists()
