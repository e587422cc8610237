"""Deferred state writes: sent with the next statement or the COMMIT, never lost, never leaked.

PostgreSQL queues a schema's state writes and sends them with its COMMIT: in one libpq pipeline
when every value is plain text or an int, otherwise through psycopg, pipelined to a remote server
and one by one over loopback (``pipelined``; both are run here, by the tests whose values need
psycopg's adaptation). The other dialects run them at once. Either way a read inside the
transaction sees them, a rollback drops them, a failing write aborts the COMMIT it rides with, and
nothing is left queued after.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.dbutil import TestDB
from timescape import Timescape
from timescape.store.backends.postgresql import PostgreSQLBackend
from timescape.store.base import Backend


@pytest.fixture(params=[False, True], ids=["plain", "pipelined"])
def pipelined(request: pytest.FixtureRequest, db: TestDB) -> bool:
    """Both ways PostgreSQL sends its queued writes (the test server is local: plain by default)."""
    if request.param and db.dialect != "postgresql":
        pytest.skip("only PostgreSQL pipelines its queued writes")
    return bool(request.param)


def _backend(db: TestDB, pipelined: bool) -> Backend:
    ts = Timescape(db.url)
    backend = ts.backend
    backend.connect()
    if isinstance(backend, PostgreSQLBackend):
        backend.pipelined = pipelined
    backend.execute("CREATE TABLE kv (k VARCHAR(20) PRIMARY KEY, v INTEGER NOT NULL)", None)
    return backend


def _rows(backend: Backend) -> list[tuple[object, ...]]:
    return sorted(backend.query("SELECT k, v FROM kv"))


def test_defer__read_in_the_transaction__sees_the_write(db: TestDB, pipelined: bool) -> None:
    backend = _backend(db, pipelined)
    backend.begin()
    backend.defer("INSERT INTO kv (k, v) VALUES (?, ?)", ("a", 1))
    assert _rows(backend) == [("a", 1)]
    backend.commit()
    assert _rows(backend) == [("a", 1)]
    backend.close()


def test_defer__committed__written_once(db: TestDB, pipelined: bool) -> None:
    backend = _backend(db, pipelined)
    backend.begin()
    for i in range(3):
        backend.defer("INSERT INTO kv (k, v) VALUES (?, ?)", (f"k{i}", i))
    backend.defer("UPDATE kv SET v = v + ? WHERE k = ?", (10, "k0"))
    backend.commit()
    assert _rows(backend) == [("k0", 10), ("k1", 1), ("k2", 2)]
    backend.close()


def test_defer__rolled_back__nothing_written_nothing_left_queued(
    db: TestDB, pipelined: bool
) -> None:
    backend = _backend(db, pipelined)
    backend.begin()
    backend.defer("INSERT INTO kv (k, v) VALUES (?, ?)", ("a", 1))
    backend.rollback()
    backend.begin()
    backend.defer("INSERT INTO kv (k, v) VALUES (?, ?)", ("b", 2))
    backend.commit()
    assert _rows(backend) == [("b", 2)]
    backend.close()


def test_defer__failing_write__commit_raises_and_nothing_lands(db: TestDB, pipelined: bool) -> None:
    backend = _backend(db, pipelined)
    backend.begin()
    backend.defer("INSERT INTO kv (k, v) VALUES (?, ?)", ("a", 1))

    def write_null_and_commit() -> None:
        # Queued (PostgreSQL): the COMMIT it rides with raises; run at once elsewhere: here.
        backend.defer("INSERT INTO kv (k, v) VALUES (?, ?)", ("b", None))  # NOT NULL
        backend.commit()

    _commit_fails(backend, write_null_and_commit)


def test_defer__values_needing_adaptation__committed_once(db: TestDB, pipelined: bool) -> None:
    backend = _backend(db, pipelined)
    backend.begin()
    backend.defer("INSERT INTO kv (k, v) VALUES (?, ?)", ("é", 1))  # not ASCII: psycopg adapts it
    backend.defer("INSERT INTO kv (k, v) VALUES (?, ?)", ("b", 2))
    backend.commit()
    assert _rows(backend) == [("b", 2), ("é", 1)]
    backend.close()


def test_defer__failing_write_needing_adaptation__commit_raises_and_nothing_lands(
    db: TestDB, pipelined: bool
) -> None:
    backend = _backend(db, pipelined)
    backend.begin()

    def write_and_commit() -> None:
        backend.defer("INSERT INTO kv (k, v) VALUES (?, ?)", ("é", 1))
        backend.defer("INSERT INTO kv (k, v) VALUES (?, ?)", ("ü", None))  # NOT NULL
        backend.commit()

    _commit_fails(backend, write_and_commit)


def _log(backend: Backend) -> list[tuple[object, ...]]:
    return [tuple(r) for r in backend.query("SELECT id, k FROM log ORDER BY id")]


def test_defer__rides_after_writes_and_events__all_land_in_queue_order(
    db: TestDB, pipelined: bool
) -> None:
    # An event may ride in the write queued before it (PostgreSQL, issue 14), never in another
    # event: the log keeps the order the events were queued in, every write lands once.
    backend = _backend(db, pipelined)
    backend.execute(
        "CREATE TABLE log (id INTEGER PRIMARY KEY, k VARCHAR(20) NOT NULL)"
        if backend.dialect != "postgresql"
        else "CREATE TABLE log (id SERIAL PRIMARY KEY, k VARCHAR(20) NOT NULL)",
        None,
    )
    event = "INSERT INTO log (k) VALUES (?)"
    if backend.dialect == "mysql":
        backend.execute("ALTER TABLE log MODIFY id INTEGER NOT NULL AUTO_INCREMENT", None)
    backend.begin()
    backend.defer("INSERT INTO kv (k, v) VALUES (?, ?)", ("a", 1))
    backend.defer(event, ("e1",), rides=True)
    backend.defer(event, ("e2",), rides=True)
    backend.defer("UPDATE kv SET v = v + ? WHERE k = ?", (10, "a"))
    backend.defer(event, ("e3",), rides=True)
    backend.defer("DELETE FROM kv WHERE k = ?", ("none",))
    backend.defer(event, ("e4",), rides=True)
    backend.commit()
    assert _rows(backend) == [("a", 11)]
    assert [k for _, k in _log(backend)] == ["e1", "e2", "e3", "e4"]
    backend.close()


def test_defer__failing_rider__commit_raises_and_its_carrier_does_not_land(
    db: TestDB, pipelined: bool
) -> None:
    backend = _backend(db, pipelined)
    backend.execute("CREATE TABLE log (id INTEGER PRIMARY KEY, k VARCHAR(20) NOT NULL)", None)
    backend.begin()

    def write_and_commit() -> None:
        backend.defer("INSERT INTO kv (k, v) VALUES (?, ?)", ("a", 1))
        backend.defer("INSERT INTO log (id, k) VALUES (?, ?)", (1, None), rides=True)  # NOT NULL
        backend.commit()

    _commit_fails(backend, write_and_commit)


def _commit_fails(backend: Backend, write_and_commit: Callable[[], None]) -> None:
    """``write_and_commit`` raises a driver error, and nothing of the transaction lands."""
    try:
        with pytest.raises(Exception) as info:
            write_and_commit()
        assert backend.is_driver_error(info.value)
    finally:
        backend.rollback()
    assert _rows(backend) == []
    backend.close()
