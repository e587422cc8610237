"""MariaDB: a state commit is one compound statement, one round trip (issue 14).

``BEGIN NOT ATOMIC ... START TRANSACTION; <writes>; COMMIT; END`` carries a transaction's state
writes. What it must keep: a failing write inside leaves nothing half-written and no open
transaction, and raises the server's own error (so it is classified as before); every value is
bound through the driver's escaping; the rows, events and generation are those of the one
statement per round trip path, which MySQL proper keeps (forced here with ``COMPOUND_WRITES``).
Round trips are counted by the server (``Questions``: one per client statement).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.dbutil import TestDB
from timescape import MigrationError, Timescape
from timescape.store.backends.mysql import MySQLBackend
from timescape.store.base import Backend, ErrorKind

pytestmark = pytest.mark.dialects("mysql")

HOSTILE = [
    "'",
    "''; DROP TABLE kv; --",
    "\\",
    "\\'; END; COMMIT; END",
    "%s",
    "%%s %(x)s",
    "?",
    "` backtick `",
    "/* c */ # c -- c",
    "line\nbreak\r\ttab",
    "\x00nul",
    "é 🙂 日本",
    "END",
]


@pytest.fixture(params=[True, False], ids=["block", "fallback"])
def blocks(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Run the test on the compound-statement path and on MySQL's path (forced on MariaDB)."""
    monkeypatch.setattr(MySQLBackend, "COMPOUND_WRITES", request.param)
    return bool(request.param)


@pytest.fixture
def backend(db: TestDB, blocks: bool) -> Iterator[Backend]:
    """The state connection of a Timescape on ``db``, with a table ``kv`` holding one row."""
    del blocks  # the path is chosen before connecting
    ts = Timescape(db.url, ddl_lock_timeout=1)
    backend = ts.backend
    backend.connect()
    try:
        if not getattr(backend, "is_mariadb", False):
            pytest.skip("MySQL proper has no anonymous compound statement")
        backend.execute("CREATE TABLE kv (k VARCHAR(20) PRIMARY KEY, v TEXT)", None)
        backend.execute("INSERT INTO kv (k, v) VALUES ('old', 'kept')", None)
        yield backend
    finally:
        backend.close()


def _questions(backend: Backend) -> int:
    """Statements this session sent so far, the ``SHOW`` asking included."""
    return int(backend.query("SHOW SESSION STATUS LIKE 'Questions'")[0][1])


def _open_transaction(backend: Backend) -> bool:
    return bool(backend.query("SELECT @@in_transaction")[0][0])


def _rows(backend: Backend) -> list[tuple[Any, ...]]:
    return sorted(backend.query("SELECT k, v FROM kv"))


@pytest.mark.parametrize("started", [False, True], ids=["unstarted", "after-a-read"])
def test_block__failing_write_inside__own_error_no_open_transaction_nothing_written(
    backend: Backend, blocks: bool, started: bool
) -> None:
    backend.begin()
    if started:  # a read inside the transaction sent START TRANSACTION already
        assert _rows(backend) == [("old", "kept")]
    backend.defer("INSERT INTO kv (k, v) VALUES (?, ?)", ("a", "1"))
    backend.defer("UPDATE kv SET v = ? WHERE k = ?", ("changed", "old"))

    def write_and_commit() -> None:  # raises at the COMMIT; on MySQL's path, at the write
        backend.defer("INSERT INTO kv (k, v) VALUES (?, ?)", ("a", "duplicate"))
        backend.defer("INSERT INTO kv (k, v) VALUES (?, ?)", ("b", "after"))
        backend.commit()

    with pytest.raises(Exception) as info:
        write_and_commit()
    assert backend.is_driver_error(info.value)
    assert info.value.args[0] == 1062  # the server's duplicate-key error, raised again as is
    if blocks:
        # The block's handler rolled back already: no transaction waits for the caller.
        assert not _open_transaction(backend)
    backend.rollback()
    assert not _open_transaction(backend)
    assert _rows(backend) == [("old", "kept")]
    # The connection goes on: the next transaction commits normally.
    backend.begin()
    backend.defer("INSERT INTO kv (k, v) VALUES (?, ?)", ("c", "3"))
    backend.defer("INSERT INTO kv (k, v) VALUES (?, ?)", ("d", "4"))
    backend.commit()
    assert _rows(backend) == [("c", "3"), ("d", "4"), ("old", "kept")]


def test_block__lock_wait_inside__classified_as_before(db: TestDB, backend: Backend) -> None:
    holder = db.connect()  # the test's own connection to the database, not Timescape's
    cur = holder.cursor()
    cur.execute("START TRANSACTION")
    cur.execute("UPDATE kv SET v = 'held' WHERE k = 'old'")
    try:
        backend.begin()
        backend.defer("INSERT INTO kv (k, v) VALUES (?, ?)", ("a", "1"))

        def write_and_commit() -> None:
            backend.defer("UPDATE kv SET v = ? WHERE k = ?", ("mine", "old"))
            backend.commit()

        with pytest.raises(Exception) as info:
            write_and_commit()
        assert backend.classify_error(info.value) == ErrorKind.LOCK_NOT_AVAILABLE
        backend.rollback()
        assert not _open_transaction(backend)
    finally:
        cur.execute("ROLLBACK")
    assert _rows(backend) == [("old", "kept")]


def test_block__hostile_values__stored_exactly(backend: Backend) -> None:
    backend.begin()
    for i, value in enumerate(HOSTILE):
        backend.defer("INSERT INTO kv (k, v) VALUES (?, ?)", (f"h{i:02d}", value))
    backend.defer("UPDATE kv SET v = ? WHERE k = ?", (HOSTILE[1], "old"))
    backend.commit()
    stored = dict(backend.query("SELECT k, v FROM kv"))
    assert stored == {"old": HOSTILE[1]} | {f"h{i:02d}": v for i, v in enumerate(HOSTILE)}
    assert set(backend.table_names()) >= {"kv"}


@pytest.mark.parametrize("writes", [1, 3])
def test_state_commit__round_trips(backend: Backend, blocks: bool, writes: int) -> None:
    before = _questions(backend)
    backend.begin()
    for i in range(writes):
        backend.defer("INSERT INTO kv (k, v) VALUES (?, ?)", (f"k{i}", str(i)))
    backend.commit()
    sent = _questions(backend) - before - 1
    # One statement either way on MariaDB; MySQL's path: START TRANSACTION, each write, COMMIT.
    assert sent == (1 if blocks else writes + 2)
    assert len(_rows(backend)) == writes + 1


def _chain(db: TestDB, n: int, prefix: str) -> tuple[dict[str, Any], int]:
    """Apply then deactivate a chain of ``n`` schemas of two statements each; what it recorded.

    Returns the rows, events and generation after each phase (timestamps left out), and the
    statements the run's connection sent for the apply.
    """
    ts = Timescape(db.url, table_prefix=prefix)
    parent = None
    for i in range(n):
        name = f"s{i}"
        table = f"t{i}"  # the same in both runs: the first one's rollback dropped them
        ts.add_schema(
            name,
            [f"CREATE TABLE {table} (id INTEGER PRIMARY KEY); INSERT INTO {table} VALUES (1)"],
            [f"DROP TABLE {table}"],
            parent=parent,
        )
        parent = name
    tsv = ts.add_version("/api/items", "2025-01-01T00:00:00Z", parent or "")
    ts.schemas()  # connects and creates the state tables before counting
    backend = ts.backend
    before = _questions(backend)
    ts.activate(tsv)
    sent = _questions(backend) - before - 1
    recorded: dict[str, Any] = {"applied": _recorded(db, prefix)}
    ts.deactivate(tsv)
    recorded["rolled_back"] = _recorded(db, prefix)
    ts.close()
    return recorded, sent


def _recorded(db: TestDB, prefix: str) -> dict[str, Any]:
    schemas = db.query(
        f"SELECT name, status, steps_done, step_count, checksums, step_in_flight, error, "
        f"contract_done FROM {prefix}schemas ORDER BY name"
    )
    events = db.query(f"SELECT kind, subject, actor, detail FROM {prefix}events ORDER BY id")
    generation = db.query(f"SELECT value FROM {prefix}meta WHERE key_name = 'generation'")
    versions = db.query(f"SELECT tsv, active FROM {prefix}versions ORDER BY tsv")
    return {"schemas": schemas, "events": events, "generation": generation, "versions": versions}


def test_chain__both_paths_record_the_same__block_one_round_trip_per_state_commit(
    db: TestDB, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = 6
    monkeypatch.setattr(MySQLBackend, "COMPOUND_WRITES", False)
    fallback, fallback_sent = _chain(db, n, "tf_")
    monkeypatch.setattr(MySQLBackend, "COMPOUND_WRITES", True)
    block, block_sent = _chain(db, n, "tb_")
    assert block == fallback
    assert [r[1] for r in block["applied"]["schemas"]] == ["applied"] * n
    assert [r[1] for r in block["rolled_back"]["schemas"]] == ["rolled_back"] * n
    # Per schema: two statements and one state commit, against START TRANSACTION, the final
    # row, its event, the next schema's in-flight row and COMMIT on MySQL's path. The rest is
    # per run (bootstrap, reads, lock), the same on both paths but for its own transactions.
    assert fallback_sent - block_sent >= 4 * n
    assert block_sent - 3 * n == _chain(db, 2 * n, "tc_")[1] - 3 * (2 * n)


_REFUSE = (
    "CREATE TRIGGER {prefix}refuse BEFORE INSERT ON {prefix}events FOR EACH ROW BEGIN "
    "IF NEW.subject = 's1' AND NEW.kind = 'schema_applied' THEN SIGNAL SQLSTATE "
    "'45000' SET MESSAGE_TEXT = 'refused by test'; END IF; END"
)


def test_chain__state_commit_refused__schema_failed_next_not_started(
    db: TestDB, blocks: bool
) -> None:
    del blocks
    ts = Timescape(db.url)
    ts.add_schema("s0", ["CREATE TABLE c0 (id INTEGER)"], ["DROP TABLE c0"])
    ts.add_schema("s1", ["CREATE TABLE c1 (id INTEGER)"], ["DROP TABLE c1"], parent="s0")
    ts.add_schema("s2", ["CREATE TABLE c2 (id INTEGER)"], ["DROP TABLE c2"], parent="s1")
    tsv = ts.add_version("/api/items", "2025-01-01T00:00:00Z", "s2")
    ts.apply_schema("s0")
    db.execute(_REFUSE.format(prefix="timescape_"))
    with pytest.raises(MigrationError, match="refused by test"):
        ts.activate(tsv)
    # s1's final row, its event and s2's in-flight row were one transaction: none of it landed.
    assert not _open_transaction(ts.backend) if ts.backend.is_connected else True
    ts.close()
    row = db.schema_row("s1")
    assert row is not None
    assert row["status"] == "failed"
    assert row["steps_done"] == 1
    assert db.schema_row("s2") is None
    assert "c2" not in db.tables()
    assert "schema_applied" not in [k for k, s in _events(db) if s == "s1"]
    assert db.active_versions() == set()


def _events(db: TestDB) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in db.query("SELECT kind, subject FROM timescape_events")]
