"""PostgreSQL: BEGIN and migration statements through libpq's simple query, not a cursor (issue 14).

What the cursor gave must still hold: the same row counts, the same psycopg errors with their
SQLSTATE, a transaction that rolls back, a COPY without data refused, and a wait that can be
interrupted without leaving the server session busy with the statement.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from types import FrameType, SimpleNamespace

import pytest

from tests.dbutil import TestDB, admin_connection
from timescape import Timescape
from timescape.store.backends.postgresql import PostgreSQLBackend, _is_local
from timescape.store.base import ErrorKind

pytestmark = pytest.mark.dialects("postgresql")


@pytest.fixture
def backend(db: TestDB) -> Iterator[PostgreSQLBackend]:
    ts = Timescape(db.url)
    backend = ts.backend
    assert isinstance(backend, PostgreSQLBackend)
    backend.connect()
    backend.execute("CREATE TABLE kv (k VARCHAR(20) PRIMARY KEY, v INTEGER NOT NULL)", None)
    yield backend
    backend.close()


_STATEMENTS = (
    "INSERT INTO kv (k, v) VALUES ('a', 1), ('b', 2), ('c', 3)",
    "UPDATE kv SET v = v + 1 WHERE v >= 2",
    "SELECT k FROM kv",
    "CREATE INDEX ix_kv_v ON kv (v)",
    "DELETE FROM kv WHERE k = 'nothing'",
    "SELECT 1; SELECT 1, 2 UNION ALL SELECT 3, 4",
)


def test_statement__row_counts__as_a_psycopg_cursor_reports_them(
    db: TestDB, backend: PostgreSQLBackend
) -> None:
    ours = [backend.execute_statement(sql) for sql in _STATEMENTS]
    backend.execute("DROP TABLE kv", None)
    backend.execute("CREATE TABLE kv (k VARCHAR(20) PRIMARY KEY, v INTEGER NOT NULL)", None)
    with admin_connection("postgresql", db.name) as conn:
        cur = conn.cursor()
        theirs = []
        for sql in _STATEMENTS:
            cur.execute(sql)
            theirs.append(cur.rowcount)
    assert ours == theirs == [3, 2, 3, -1, 0, 1]


def test_statement__fails__psycopg_error_with_sqlstate_and_the_transaction_rolls_back(
    db: TestDB, backend: PostgreSQLBackend
) -> None:
    backend.begin()
    backend.execute_statement("INSERT INTO kv (k, v) VALUES ('a', 1)")
    with pytest.raises(Exception) as info:
        backend.execute_statement("INSERT INTO kv (k, v) VALUES ('a', 2)")
    assert backend.is_driver_error(info.value)
    assert getattr(info.value, "sqlstate", None) == "23505"
    assert "kv_pkey" in str(info.value)
    assert backend.classify_error(info.value) == ErrorKind.OTHER
    backend.rollback()
    assert backend.query("SELECT count(*) FROM kv") == [(0,)]
    assert db.count("kv") == 0


def test_statement__error_after_a_result__raised_and_nothing_kept(
    db: TestDB, backend: PostgreSQLBackend
) -> None:
    backend.begin()
    with pytest.raises(Exception) as info:
        backend.execute_statement("INSERT INTO kv (k, v) VALUES ('a', 1); SELECT 1 / 0")
    assert getattr(info.value, "sqlstate", None) == "22012"
    backend.rollback()
    assert db.count("kv") == 0


def test_statement__copy_without_data__refused_as_before(backend: PostgreSQLBackend) -> None:
    with pytest.raises(Exception, match="COPY cannot be used") as info:
        backend.execute_statement("COPY kv FROM STDIN")
    assert backend.is_driver_error(info.value)


def test_begin__under_the_lock__statement_bound_set_in_the_same_round_trip(
    backend: PostgreSQLBackend,
) -> None:
    backend.acquire_lock(5)
    try:
        backend.begin()
        expected = f"{int(backend.migration_timeout * 1000)}ms"
        if expected.endswith("000ms"):
            expected = f"{int(backend.migration_timeout)}s"
        assert backend.query("SHOW statement_timeout") == [(expected,)]
        backend.rollback()
    finally:
        backend.release_lock()


def test_statement__interrupted_wait__connection_closed_and_the_server_ends_the_statement(
    db: TestDB, backend: PostgreSQLBackend
) -> None:
    pid = backend.connection_id()

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        backend.begin()
        with pytest.raises(KeyboardInterrupt):
            backend.execute_statement("SELECT pg_sleep(60)")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert backend.raw_connection.closed
    backend.rollback()  # the executor's abort path: the closed connection is dropped
    with admin_connection("postgresql", db.name) as conn:
        cur = conn.cursor()
        for _ in range(100):  # the server notices the closed socket at once (at most 2 s)
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,))
            if cur.fetchone()[0] == 0:
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"server session {pid} still runs the interrupted statement")
    assert backend.query("SELECT 1") == [(1,)]  # and the backend reconnects


def test_pipelined__decided_by_the_server_address(backend: PostgreSQLBackend) -> None:
    assert backend.pipelined is not _is_local(backend.raw_connection.info)
    local = ["/var/run/postgresql", "@abstract", "localhost", "127.0.0.1", "127.3.2.1", "::1"]
    for host in local:
        assert _is_local(SimpleNamespace(host=host, hostaddr=""))
    assert _is_local(SimpleNamespace(host="db.example", hostaddr="127.0.0.1"))
    assert not _is_local(SimpleNamespace(host="db.example", hostaddr="10.1.2.3"))
    assert not _is_local(SimpleNamespace(host="10.1.2.3", hostaddr="10.1.2.3"))
    assert not _is_local(SimpleNamespace(host="db.example", hostaddr=""))
