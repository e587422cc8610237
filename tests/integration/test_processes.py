"""Real processes: two activators at once, and a process killed in the middle of a migration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.dbutil import TestDB
from tests.integration.apps import two_step_app, witness_app
from timescape import InterruptedMigrationError

ROOT = Path(__file__).resolve().parents[2]


def _spawn(app: str, url: str, operation: str, *extra: str,
           faults: str | None = None) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIMESCAPE_TEST_FAULT")}
    if faults:
        env["TIMESCAPE_TEST_FAULTS"] = faults
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.apps", app, url, operation, *extra],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _wait_until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail("condition not reached in time")
        time.sleep(0.02)


def _server_lock_free(db: TestDB) -> bool:
    """True when no session holds a Timescape lock on this database (PG/MariaDB catalogs)."""
    if db.dialect == "postgresql":
        rows = db.query(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
            "WHERE l.locktype = 'advisory' AND d.datname = ?", (db.name,))
        return rows[0][0] == 0
    if db.dialect == "mysql":
        rows = db.query("SELECT count(*) FROM information_schema.processlist WHERE db = ? "
                        "AND id <> CONNECTION_ID()", (db.name,))
        return rows[0][0] == 0
    return True


def test_two_processes__activate_same_version_at_once__migration_runs_once(
    db: TestDB, tmp_path: Path
) -> None:
    db.execute("CREATE TABLE witness (n INTEGER)")
    go = tmp_path / "go"
    procs = [_spawn("witness", db.url, "activate", str(go)) for _ in range(2)]
    time.sleep(0.3)  # let both import and reach the barrier
    go.write_text("")
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    assert sorted(r["changed"] for r in results) == [False, True]
    assert any("already active" in r["message"] for r in results)
    assert db.count("witness") == 1
    ts, tsv = witness_app(db.url)
    assert db.active_versions() == {tsv}
    assert db.schema_row("counted")["status"] == "applied"
    assert db.event_kinds().count("schema_applied") == 1
    assert ts.schema_usage("counted") == [tsv]
    assert ts.backend.lock_is_free()
    ts.close()


def test_killed_mid_migration__state_honest_and_lock_free(db: TestDB) -> None:
    proc = _spawn("two_step", db.url, "activate", faults="kill:after_step:1")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == -9, err
    _wait_until(lambda: _server_lock_free(db))

    ts, tsv = two_step_app(db.url)
    assert ts.backend.lock_is_free()
    report = ts.verify()
    assert not report.ok
    assert "interrupted" in {p.kind for p in report.problems}
    assert db.active_versions() == set()
    assert "second_t" not in db.tables()

    if ts.backend.transactional_ddl:
        # PostgreSQL / SQLite: the schema transaction died with the process.
        assert "first_t" not in db.tables()
        result = ts.activate(tsv)  # the lock is free and the run starts over
        assert [s.index for s in result.plan.actions[0].steps] == [1, 2]
        assert db.schema_row("two")["status"] == "applied"
        assert "run_interrupted" in db.event_kinds()
    else:
        # MariaDB: step 1 committed, and the state says step 1 was in flight: uncertain.
        assert db.count("first_t") == 1
        row = db.schema_row("two")
        assert (row["steps_done"], row["step_in_flight"]) == (0, 1)
        with pytest.raises(InterruptedMigrationError, match="uncertain"):
            ts.activate(tsv)
        assert db.schema_row("two")["status"] == "uncertain"
        ts.resolve_schema("two", steps_done=1)  # the operator checked: first_t is there
        result = ts.activate(tsv)
        assert [s.index for s in result.plan.actions[0].steps] == [2]
    assert {"first_t", "second_t"} <= db.tables()
    assert db.count("first_t") == 1
    assert db.active_versions() == {tsv}
    assert ts.verify().ok
    ts.close()
