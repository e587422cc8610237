"""SQLite: a timeout that lands while a migration's SELECT still has unread rows.

While any statement is open on a connection, SQLite keeps a cancel (``sqlite3_interrupt``) in
force for every statement that connection starts. A migration's SELECT stays open on Timescape's
statement cursor, its rows unread, until the next statement runs. A timeout landing in that gap
made the ROLLBACK fail with "interrupted"; the connection was dropped as broken, and closing it
with the SELECT still open left its write lock held until the cursor was garbage collected
(reliability test T23, once under CI load). These tests reproduce the gap deterministically on
real database files.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from timescape import MigrationTimeoutError, Timescape
from timescape.store.backends.sqlite import SQLiteBackend
from timescape.store.urls import parse_url

_ROWS_UNREAD = "SELECT 1 UNION ALL SELECT 2"


def _write_lock_problem(path: Path) -> str | None:
    """What stops another connection from starting a write transaction at once (None: nothing)."""
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:
        return str(exc)
    finally:
        conn.close()
    return None


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def _cancelled_with_rows_unread(backend: SQLiteBackend, *statements: str) -> None:
    """Run ``statements`` in a transaction, leave a SELECT open, and let the watchdog cancel."""
    backend.connect()
    backend.begin()
    send = backend.statement_sender()
    for statement in statements:
        send(statement)
    send(_ROWS_UNREAD)
    backend.arm_timeout(0.02)
    time.sleep(0.25)  # the watchdog cancels at the deadline, and again every 0.1 s
    assert backend.disarm_timeout()


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[Path, SQLiteBackend]]:
    path = tmp_path / "app.db"
    backend = SQLiteBackend(parse_url(f"sqlite:///{path}"))
    yield path, backend
    backend.close()


def test_cancel_after_a_select_returned__rollback_undoes_it_on_the_same_connection(
    database: tuple[Path, SQLiteBackend],
) -> None:
    path, backend = database
    _cancelled_with_rows_unread(backend, "CREATE TABLE t (id INTEGER)")
    conn = backend.raw_connection

    backend.rollback()

    assert backend.is_connected
    assert backend.raw_connection is conn  # not dropped as broken
    assert _write_lock_problem(path) is None
    assert "t" not in _tables(path)
    backend.begin()  # and the connection goes on working
    backend.execute("CREATE TABLE u (id INTEGER)")
    backend.commit()
    assert "u" in _tables(path)


def test_cancel_after_a_select_returned__failed_step_s_pragma_set_back(
    database: tuple[Path, SQLiteBackend],
) -> None:
    _, backend = database
    backend.connect()
    before = backend.query("PRAGMA recursive_triggers")[0][0]
    _cancelled_with_rows_unread(backend, f"PRAGMA recursive_triggers = {1 - before}")

    backend.restore_session(None, failed=True)
    backend.rollback()

    assert backend.query("PRAGMA recursive_triggers")[0][0] == before


def test_connection_dropped_with_a_select_open__write_lock_released_at_once(
    database: tuple[Path, SQLiteBackend],
) -> None:
    path, backend = database
    _cancelled_with_rows_unread(backend, "CREATE TABLE t (id INTEGER)")

    backend.drop_broken()

    assert _write_lock_problem(path) is None
    assert "t" not in _tables(path)


def test_python_step_times_out_with_rows_unread__nothing_left_and_connection_kept(
    tmp_path: Path,
) -> None:
    path = tmp_path / "app.db"
    ts = Timescape(f"sqlite:///{path}", migration_timeout=0.2, base_dir=tmp_path)
    seen: list[Any] = []

    def slow(conn: Any) -> None:
        conn.execute("CREATE TABLE z (id INTEGER)")
        conn.execute(_ROWS_UNREAD)
        seen.append(conn.raw)
        time.sleep(0.6)  # the timeout passes while the SELECT is still open

    ts.add_schema("z", [slow], ["DROP TABLE z"])
    tsv = ts.add_version("/api/x", "2025-01-01T00:00:00Z", "z")
    with pytest.raises(MigrationTimeoutError) as raised:
        ts.activate(tsv)

    error = raised.value  # kept alive on purpose: what its traceback references must not lock
    assert _write_lock_problem(path) is None
    assert "z" not in _tables(path)
    assert ts.backend.raw_connection is seen[0]
    assert ts.schema_info("z").status == "failed"
    ts.close()
    with sqlite3.connect(path) as conn:
        kinds = [row[0] for row in conn.execute("SELECT kind FROM timescape_events ORDER BY id")]
    assert kinds[-1] == "schema_failed"
    assert isinstance(error, MigrationTimeoutError)


def test_python_step_keeps_its_own_raw_cursor_with_rows_unread__timeout_leaves_no_lock(
    tmp_path: Path,
) -> None:
    """The step's own cursor, still open in its frame, which the error's traceback keeps alive.

    Until the failed step's locals were released, the ROLLBACK after the cancel was itself
    cancelled (the cursor's statement was still open), the connection was dropped with the
    write lock held by that statement, and the failure could not even be recorded: the schema
    showed ``interrupted`` and other writers found the database locked while the error lived.
    """
    path = tmp_path / "app.db"
    ts = Timescape(f"sqlite:///{path}", migration_timeout=0.3, base_dir=tmp_path)
    endless = (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
    )

    def reads_then_spins(conn: Any) -> None:
        raw = conn.raw
        raw.execute("CREATE TABLE own (id INTEGER)")
        cursor = raw.execute("SELECT 1 UNION ALL SELECT 2")
        assert cursor.fetchone() == (1,)  # one row of two read: its statement stays open
        raw.execute(endless).fetchone()  # cancelled by the timeout

    ts.add_schema("own", [reads_then_spins], ["DROP TABLE own"])
    tsv = ts.add_version("/api/x", "2025-01-01T00:00:00Z", "own")
    with pytest.raises(MigrationTimeoutError) as raised:
        ts.activate(tsv)

    error = raised.value  # kept alive on purpose, with its traceback
    assert _write_lock_problem(path) is None
    assert "own" not in _tables(path)
    assert ts.schema_info("own").status == "failed"
    ts.close()
    with sqlite3.connect(path) as conn:
        kinds = [row[0] for row in conn.execute("SELECT kind FROM timescape_events ORDER BY id")]
    assert kinds[-1] == "schema_failed"
    assert "timed out" in str(error)
