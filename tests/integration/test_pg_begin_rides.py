"""PostgreSQL: a transaction's BEGIN rides with its first statement, its state writes and COMMIT
go in one libpq pipeline (issue 14).

What the separate round trips guaranteed must still hold: the statement runs inside the
transaction under its server-side bound; on another server session than the lock's (a
transaction pooler) it never runs at all; its errors read as its own; a text of several
statements runs as before; the state writes bind their values on the server with their types,
and one that fails takes the schema's effects with it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.dbutil import TestDB, admin_connection
from timescape import Timescape
from timescape.errors import MigrationError, StateError
from timescape.store.backends.postgresql import PostgreSQLBackend

pytestmark = pytest.mark.dialects("postgresql")


@pytest.fixture
def backend(db: TestDB) -> Iterator[PostgreSQLBackend]:
    """A migrating connection: it holds the lock, so each BEGIN carries the session check."""
    locked = Timescape(db.url).backend
    assert isinstance(locked, PostgreSQLBackend)
    locked.acquire_lock(5)
    locked.execute("CREATE TABLE kv (k VARCHAR(20) PRIMARY KEY, v INTEGER)", None)
    yield locked
    locked.close()  # releases the lock


def _tables(db: TestDB) -> set[str]:
    with admin_connection("postgresql", db.name) as conn:
        cur = conn.cursor()
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        return {row[0] for row in cur.fetchall()}


def test_begin__first_statement__runs_inside_the_transaction_under_its_bound(
    db: TestDB, backend: PostgreSQLBackend
) -> None:
    backend.begin()
    assert backend.execute_statement("CREATE TABLE t1 (id INTEGER)") == -1
    bound = backend.execute_statement(
        "SELECT 1 FROM pg_settings WHERE name = 'statement_timeout' "
        f"AND setting = '{int(backend.migration_timeout * 1000)}'"
    )
    assert bound == 1
    backend.rollback()
    assert "t1" not in _tables(db)
    backend.begin()
    backend.execute_statement("CREATE TABLE t1 (id INTEGER)")
    backend.commit()
    assert "t1" in _tables(db)


def test_begin__session_moved_under_the_lock__statement_never_runs_and_state_error(
    db: TestDB, backend: PostgreSQLBackend
) -> None:
    real = backend._lock_pid  # a pooler's session change, staged on a real server
    assert real is not None
    backend._lock_pid = real + 100_000
    try:
        backend.begin()
        with pytest.raises(StateError, match=f"to {real} while holding") as info:
            backend.execute_statement("CREATE TABLE t2 (id INTEGER)")
        assert "transaction pooler" in str(info.value)
        assert not backend.in_transaction
    finally:
        backend._lock_pid = real
    assert "t2" not in _tables(db)
    assert backend.raw_connection.info.transaction_status == 0  # IDLE: rolled back


def test_begin__syntax_error_in_first_statement__error_reads_as_the_statement_alone(
    backend: PostgreSQLBackend,
) -> None:
    backend.begin()
    with pytest.raises(Exception, match="syntax error") as info:
        backend.execute_statement("CREATE TABLX t3 (id INTEGER)")
    assert "LINE 1: CREATE TABLX t3 (id INTEGER)" in str(info.value)
    assert "set_config" not in str(info.value)
    assert "BEGIN" not in str(info.value)
    backend.rollback()
    assert backend.query("SELECT count(*) FROM kv") == [(0,)]


def test_begin__first_statement_holds_several__runs_as_a_simple_query(
    db: TestDB, backend: PostgreSQLBackend
) -> None:
    backend.begin()
    # The extended protocol refuses several statements before running any: sent again as text.
    rows = backend.execute_statement(
        "INSERT INTO kv VALUES ('a', 1); INSERT INTO kv VALUES ('b', 2)"
    )
    assert rows == 1
    backend.commit()
    assert db.count("kv") == 2


def test_begin__nothing_sent__commit_and_rollback_leave_the_session_idle(
    backend: PostgreSQLBackend,
) -> None:
    backend.begin()
    backend.commit()
    backend.begin()
    backend.rollback()
    assert not backend.in_transaction
    assert backend.raw_connection.info.transaction_status == 0


def test_defer__values_of_every_kind__stored_as_psycopg_stores_them(
    db: TestDB, backend: PostgreSQLBackend
) -> None:
    backend.execute(
        "CREATE TABLE typed (n BIGINT, i INTEGER, t TEXT, s VARCHAR(40), b BOOLEAN, d DATE)", None
    )
    insert = "INSERT INTO typed (n, i, t, s, b, d) VALUES (?, ?, ?, ?, ?, ?)"
    backend.begin()
    backend.defer(insert, (2**62, -7, 'it\'s 100% "plain" ?', None, None, "2025-01-02"))
    backend.defer(insert, (None, 0, "naïve", "ünïcode", True, None))  # psycopg adapts these
    backend.commit()
    with admin_connection("postgresql", db.name) as conn:
        cur = conn.cursor()
        cur.execute("SELECT n, i, t, s, b, d::text FROM typed ORDER BY i")
        assert cur.fetchall() == [
            (2**62, -7, 'it\'s 100% "plain" ?', None, None, "2025-01-02"),
            (None, 0, "naïve", "ünïcode", True, None),
        ]


def test_apply__state_write_fails__schema_effects_rolled_back_and_failure_recorded(
    db: TestDB,
) -> None:
    ts = Timescape(db.url)
    # The step itself makes its own state row impossible: the row's INSERT, in the pipeline
    # with the COMMIT, fails after every statement of the step succeeded.
    step = (
        "CREATE TABLE t_s1 (id INTEGER);\n"
        "ALTER TABLE timescape_schemas ADD CONSTRAINT no_s1 CHECK (name <> 's1');"
    )
    ts.add_schema("s1", [step], ["DROP TABLE t_s1;"])
    tsv = ts.add_version("/items", "2025-01-01T00:00:00Z", "s1")
    with pytest.raises(MigrationError, match="no_s1"):
        ts.activate(tsv)
    ts.close()
    assert "t_s1" not in _tables(db)
    with admin_connection("postgresql", db.name) as conn:
        cur = conn.cursor()
        cur.execute("SELECT conname FROM pg_constraint WHERE conname = 'no_s1'")
        assert cur.fetchall() == []
        cur.execute("SELECT status FROM timescape_schemas WHERE name = 's1'")
        assert cur.fetchall() == [("failed",)]
        cur.execute("SELECT kind FROM timescape_events WHERE subject = 's1' ORDER BY id")
        assert [row[0] for row in cur.fetchall()] == ["schema_failed"]
        cur.execute("SELECT active FROM timescape_versions")
        assert cur.fetchall() == [(0,)]
