"""T15 (the migrating connection is killed mid-step) and T24 (a crashed client's lock is freed
within server-side limits). PostgreSQL and MariaDB: SQLite has no server (its crash case is T10).

The server-restart variant of T15 is not run: restarting the shared PostgreSQL/MariaDB servers
would break every other suite running on this machine at the same time.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.dbutil import TestDB, admin_connection
from tests.reliability.driver import build_timescape, tsv_of, write_spec
from tests.reliability.faults import run, start, wait_until
from tests.reliability.invariants import check_invariants, leftover_problems, timescape_sessions
from tests.reliability.scenarios import make_spec, version
from tests.reliability.seeded import assert_unchanged, seed

pytestmark = [pytest.mark.dialects("postgresql", "mysql"), pytest.mark.timeout(180)]


def _sleep_from_table(dialect: str) -> str:
    fn = "pg_sleep" if dialect == "postgresql" else "SLEEP"
    return f"SELECT {fn}((SELECT s FROM slow_ctl))"


def _spec(db: TestDB, **options: Any) -> dict[str, Any]:
    base = {"name": "S0", "migrations": ["CREATE TABLE c_base (id INTEGER PRIMARY KEY)"],
            "rollback": ["DROP TABLE c_base"], "objects": [["c_base"]]}
    slow = {
        "name": "C", "breaking": False,
        "migrations": ["CREATE TABLE c1 (id INTEGER PRIMARY KEY)", _sleep_from_table(db.dialect),
                       "CREATE TABLE c3 (id INTEGER PRIMARY KEY)"],
        "rollback": ["DROP TABLE c1", "SELECT 1", "DROP TABLE c3"],
        "objects": [["c1"], [], ["c3"]],
    }
    return make_spec(db, [base, slow], [version("V0", "S0", 0), version("VC", "C", 1)],
                     **options)


def _sleeping_session(db: TestDB) -> Any:
    """The server id of the Timescape session running the sleep, or None."""
    for sid, state, query in timescape_sessions(db):
        if query and "slow_ctl" in query and (state in ("active", "Query")):
            return sid
    return None


def _kill_session(db: TestDB, sid: Any) -> None:
    with admin_connection(db.dialect) as conn:
        cur = conn.cursor()
        if db.dialect == "postgresql":
            cur.execute(f"SELECT pg_terminate_backend({int(sid)})")
        else:
            cur.execute(f"KILL CONNECTION {int(sid)}")


def test_t15_connection_killed_mid_step(db: TestDB, tmp_path: Path) -> None:
    seeded = seed(db)
    db.execute("CREATE TABLE slow_ctl (s INTEGER)")
    db.execute("INSERT INTO slow_ctl (s) VALUES (5)")
    spec = _spec(db, lock_timeout=30, migration_timeout=30)
    path = write_spec(spec, tmp_path / "spec.json")
    v0, vc = tsv_of(spec, "V0"), tsv_of(spec, "VC")
    ts = build_timescape(spec)
    ts.activate(v0)
    ts.close()
    report = check_invariants(db, spec)

    proc = start(path, "activate", "VC")
    sid = None

    def sleeping() -> bool:
        nonlocal sid
        sid = _sleeping_session(db)
        return sid is not None

    wait_until(sleeping, 20, interval=0.02, what="the step running on the server")
    _kill_session(db, sid)
    result = proc.wait(30)
    result.expect(1)
    assert "connection lost during step 2" in result.error, result.describe()

    report = check_invariants(db, spec, previous=report)
    status, done, _in_flight = report.schemas["C"]
    assert vc not in report.active
    if db.dialect == "postgresql":
        assert done == 0
        assert "c1" not in db.tables()
    else:
        assert done == 1
        assert "c1" in db.tables()
        assert "c3" not in db.tables()
    # Recorded on a new connection right away, or as interrupted by the next run.
    assert status in ("failed", "interrupted") or report.marker is not None, report.schemas
    assert not leftover_problems(db)

    db.execute("UPDATE slow_ctl SET s = 0")
    run(path, "activate", "VC").expect(0)
    report = check_invariants(db, spec, previous=report, api=True)
    assert report.status("C") == "applied"
    assert vc in report.active
    assert_unchanged(seeded, db)


def test_t24_crashed_clients_lock_is_freed_within_server_limits(db: TestDB,
                                                                tmp_path: Path) -> None:
    seeded = seed(db)
    db.execute("CREATE TABLE slow_ctl (s INTEGER)")
    db.execute("INSERT INTO slow_ctl (s) VALUES (600)")
    statement_budget = 5.0
    spec = _spec(db, lock_timeout=60, migration_timeout=statement_budget)
    path = write_spec(spec, tmp_path / "spec.json")
    vc = tsv_of(spec, "VC")
    ts = build_timescape(spec)
    ts.activate(tsv_of(spec, "V0"))
    ts.close()

    proc = start(path, "activate", "VC")
    wait_until(lambda: _sleeping_session(db) is not None, 20, interval=0.02,
               what="the 600 s step running on the server")
    started = time.monotonic()
    time.sleep(1.0)  # the catalogue's "SIGKILL the client 1 s in"
    proc.sigkill()
    killed_at = time.monotonic()
    db.execute("UPDATE slow_ctl SET s = 0")  # the retry need not sleep; the abandoned one still does

    second = start(path, "activate", "VC", faults="note:after_lock",
                   options=("--lock-timeout", "60"))
    got_lock_at = second.wait_ready("after_lock", timeout=60)
    result = second.wait(60)
    waited = got_lock_at - killed_at
    # Bounded by the statement budget (plus the connection-check interval and scheduling), never
    # by the 600 s the abandoned statement asked for.
    assert waited <= statement_budget + 4.0, waited
    assert time.monotonic() - started < 60
    assert _sleeping_session(db) is None, "the abandoned statement is still running"
    report = check_invariants(db, spec)
    if db.dialect == "postgresql":
        # Nothing of the dead attempt remained; the second run recovered it and applied all.
        result.expect(0)
        assert report.status("C") == "applied"
        assert vc in report.active
    else:
        # Step 2 was marked started: the next run reports it uncertain, never guesses.
        result.expect(1)
        assert result.data["type"] == "InterruptedMigrationError", result.describe()
        assert report.status("C") == "uncertain"
        assert report.schemas["C"][1:] == (1, 2)
        assert vc not in report.active
    assert "run_interrupted" in report.kinds()
    assert_unchanged(seeded, db)
