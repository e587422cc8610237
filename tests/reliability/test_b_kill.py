"""Reliability part B — the client dies while MariaDB runs a long DDL step (RELIABILITY T13).

A 600,000-row table makes ``ALTER TABLE … ADD COLUMN …, ALGORITHM=COPY`` take about 1.4 s on a
quiet test machine (150,000 rows took 0.35 s there, and the whole schema finished before the
kill). The driver process pauses before step 2, is released, and is SIGKILLed as soon as the
processlist shows the ALTER running. The server finishes (or abandons) the ALTER on its own; the
next ``verify`` and ``migrate`` must report step 2 as uncertain and refuse until an operator
states the truth with ``resolve_schema`` — never re-run it (a "duplicate column" crash) nor skip
it, and ``steps_done`` never exceeds the truth.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dbutil import TestDB
from tests.reliability import faults
from tests.reliability._b_helpers import UNRELATED, fingerprint, seed, spec_for, wait_for
from tests.reliability.driver import write_spec
from tests.reliability.invariants import check_invariants

pytestmark = pytest.mark.timeout(120)

ROWS = 600_000


def _alter_running(db: TestDB) -> bool:
    rows = db.query(
        "SELECT id FROM information_schema.processlist WHERE db = ? AND info LIKE ?",
        (db.name, "ALTER TABLE t13_big%"))
    return bool(rows)


def _client_sessions(db: TestDB) -> bool:
    rows = db.query(
        "SELECT id FROM information_schema.processlist WHERE db = ? AND id <> CONNECTION_ID()",
        (db.name,))
    return bool(rows)


@pytest.mark.dialects("mysql")
def test_t13_kill_client_mid_alter__uncertain_until_resolved(db: TestDB, tmp_path: Path) -> None:
    seed(db)
    db.execute("CREATE TABLE t13_big (id INTEGER PRIMARY KEY, payload VARCHAR(100))")
    db.execute(f"INSERT INTO t13_big SELECT seq, REPEAT('x', 100) FROM seq_1_to_{ROWS}")
    before = fingerprint(db, UNRELATED)
    spec = spec_for(db, [{"name": "s13", "migrations": [
        "CREATE TABLE t13_a (id INTEGER)",
        "ALTER TABLE t13_big ADD COLUMN c INTEGER, ALGORITHM=COPY",
        "CREATE TABLE t13_c (id INTEGER)"],
        "rollback": ["DROP TABLE t13_a", "ALTER TABLE t13_big DROP COLUMN c",
                     "DROP TABLE t13_c"],
        "objects": [["t13_a"], ["t13_big.c"], ["t13_c"]]}], migration_timeout=60)
    path = write_spec(spec, tmp_path / "spec.json")

    proc = faults.start(path, "migrate", "s13", faults="pause:before_step:2")
    proc.wait_ready("before_step:2")
    proc.release("before_step:2")
    assert wait_for(lambda: _alter_running(db), 20), "the ALTER never showed up"
    proc.sigkill()  # at once: the processlist already proves the server is running the ALTER
    # The server may finish the ALTER after its client died; wait until it is over either way.
    assert wait_for(lambda: not _alter_running(db), 60), "the ALTER never ended"
    # The server drops the dead client's session (and with it its GET_LOCK and run marker's
    # liveness) only after the ALTER returns; until then the run honestly looks alive. Wait for
    # the session itself to go, so the checks below judge a dead run (flaked under CI load).
    assert wait_for(lambda: not _client_sessions(db), 30), "the killed client's session stayed"
    truth = 2 if "c" in db.columns("t13_big") else 1
    row = db.schema_row("s13")
    assert row["steps_done"] <= truth
    assert (row["steps_done"], row["step_in_flight"]) == (1, 2), row

    verify = faults.run(path, "verify")
    assert verify.exit_code == 1, verify.describe()
    problems = verify.data["problems"]
    assert any(p["kind"] == "uncertain" and p["subject"] == "s13" for p in problems), problems
    assert any("step 2" in p["message"] for p in problems if p["subject"] == "s13"), problems

    for _ in range(2):  # refused every time, never guessed
        again = faults.run(path, "migrate", "s13")
        again.expect(1)
        assert "uncertain" in again.error, again.describe()
        assert "step 2" in again.error, again.describe()
        assert "schema resolve s13" in again.error, again.describe()
    assert "t13_c" not in db.tables()
    row = db.schema_row("s13")
    assert (row["status"], row["steps_done"]) == ("uncertain", 1), row
    assert [c for c in db.columns("t13_big") if c == "c"] == (["c"] if truth == 2 else [])

    faults.run(path, "resolve", "s13", str(truth)).expect(0)
    faults.run(path, "migrate", "s13").expect(0)
    assert db.schema_row("s13")["status"] == "applied"
    assert {"t13_a", "t13_c"} <= db.tables()
    assert "c" in db.columns("t13_big")
    assert db.count("t13_big") == ROWS
    assert fingerprint(db, UNRELATED) == before
    report = check_invariants(db, spec, api=True)
    kinds = report.kinds("s13")
    assert "schema_resolved" in kinds, kinds
    assert kinds[-1] == "schema_applied", kinds
