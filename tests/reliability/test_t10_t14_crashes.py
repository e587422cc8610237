"""T10 (kill -9 at every named point) and T14 (failure and kill during rollback)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.dbutil import TestDB
from tests.reliability.driver import build_timescape, tsv_of, write_spec
from tests.reliability.faults import run, start
from tests.reliability.invariants import InvariantReport, check_invariants, object_exists
from tests.reliability.scenarios import four_step_schema, make_spec, version
from tests.reliability.seeded import assert_unchanged, seed
from timescape import InterruptedMigrationError, Timescape

pytestmark = [pytest.mark.timeout(300)]

ACTIVATE_POINTS = [
    "after_lock", "after_run_marker", "before_schema:K",
    "before_step:1", "after_step:1", "before_step:2", "after_step:2",
    "before_step:3", "after_step:3", "before_step:4", "after_step:4",
    "before_commit", "after_commit_before_release",
]
ROLLBACK_POINTS = ["during_rollback:4", "during_rollback:3", "during_rollback:2",
                   "during_rollback:1"]
# Points only the transactional path (PostgreSQL/SQLite) passes through.
TRANSACTIONAL_ONLY = {"before_commit", "after_commit_before_release"}


def _spec(db: TestDB) -> dict[str, Any]:
    base = {"name": "S0", "migrations": ["CREATE TABLE k_base (id INTEGER PRIMARY KEY)"],
            "rollback": ["DROP TABLE k_base"], "objects": [["k_base"]]}
    k = {**four_step_schema("K", db.dialect), "breaking": False}
    return make_spec(db, [base, k], [version("V0", "S0", 0), version("VK", "K", 1)],
                     lock_timeout=30)


def _steps_in_place(db: TestDB, schema: dict[str, Any]) -> int:
    """What an operator finds by looking: the steps whose objects all exist."""
    done = 0
    for objects in schema["objects"]:
        if all(object_exists(db, o) for o in objects):
            done += 1
        else:
            break
    return done


def _fresh(spec: dict[str, Any]) -> Timescape:
    return build_timescape(spec)


def _recover_uncertain(db: TestDB, spec: dict[str, Any], name: str, call: Any) -> Any:
    """Run ``call(ts)``; on MariaDB an uncertain schema is refused first, with instructions,
    and then resolved by the 'operator' (the test, looking at the catalog) and retried."""
    ts = _fresh(spec)
    try:
        try:
            return call(ts)
        except InterruptedMigrationError as exc:
            refused = exc
        assert db.dialect == "mysql", refused
        assert "resolve" in refused.message
        schema = next(s for s in spec["schemas"] if s["name"] == name)
        ts.resolve_schema(name, steps_done=_steps_in_place(db, schema))
        return call(ts)
    finally:
        ts.close()


def test_t10_kill_9_at_every_named_point(db: TestDB, tmp_path: Path) -> None:
    seeded = seed(db)
    spec = _spec(db)
    path = write_spec(spec, tmp_path / "spec.json")
    v0, vk = tsv_of(spec, "V0"), tsv_of(spec, "VK")
    ts = _fresh(spec)
    ts.activate(v0)
    ts.close()
    report: InvariantReport | None = check_invariants(db, spec)
    transactional = db.dialect in ("sqlite", "postgresql")

    for point in ACTIVATE_POINTS:
        killed = start(path, "activate", "VK", faults=f"kill:{point}").wait()
        if point in TRANSACTIONAL_ONLY and not transactional:
            assert killed.exit_code == 0, killed.describe()  # the point is not on this path
        else:
            assert killed.exit_code == -9, (point, killed.describe())
        report = check_invariants(db, spec, previous=report)
        committed = point == "after_commit_before_release" or killed.exit_code == 0
        if transactional:
            assert report.status("K") == ("applied" if committed else
                                          report.status("K")), point
            assert (report.status("K") == "applied") == committed, (point, report.schemas)
            assert (vk in report.active) == committed, point
        elif point.startswith(("before_step:", "after_step:")):
            # Progress per step, the step in flight marked before it ran.
            k = int(point.rsplit(":", 1)[1])
            assert report.schemas["K"][1:] == (k - 1, k), (point, report.schemas)
            assert vk not in report.active, point
        # verify: an attempt that died after its run marker is reported as interrupted.
        ts = _fresh(spec)
        verdict = ts.verify()
        ts.close()
        died_midway = report.marker is not None
        assert died_midway == (point not in ("after_lock", "after_commit_before_release")
                               and killed.exit_code == -9), (point, report.marker)
        if died_midway:
            assert not verdict.ok, point
            assert "interrupted" in [p.kind for p in verdict.problems], point
        else:
            assert verdict.ok, (point, verdict.problems)
        # Re-activating recovers (MariaDB: an uncertain step is resolved by the operator first).
        _recover_uncertain(db, spec, "K", lambda t: t.activate(vk))
        report = check_invariants(db, spec, previous=report)
        assert report.status("K") == "applied", point
        assert vk in report.active, point
        if died_midway:
            assert "run_interrupted" in report.kinds()[-6:], (point, report.kinds()[-6:])
        ts = _fresh(spec)
        assert ts.verify().ok, point
        ts.deactivate(vk)
        ts.close()
        report = check_invariants(db, spec, previous=report)
        assert report.status("K") == "rolled_back", point

    for point in ROLLBACK_POINTS:
        ts = _fresh(spec)
        ts.activate(vk)
        ts.close()
        killed = start(path, "deactivate", "VK", faults=f"kill:{point}").wait()
        assert killed.exit_code == -9, (point, killed.describe())
        report = check_invariants(db, spec, previous=report)
        assert report.marker is not None, point
        if transactional:
            # One transaction: nothing of the rollback happened.
            assert report.status("K") == "applied", point
            assert vk in report.active, point
        else:
            # Progress per step: the version went out of service first; steps above k are gone.
            k = int(point.rsplit(":", 1)[1])
            assert vk not in report.active, point
            assert report.schemas["K"][1] == k, report.schemas
            assert report.schemas["K"][2] == k, report.schemas
        ts = _fresh(spec)
        verdict = ts.verify()
        ts.close()
        assert "interrupted" in [p.kind for p in verdict.problems], point
        if transactional:
            _fresh(spec).deactivate(vk)
        else:
            _recover_uncertain(db, spec, "K", lambda t: t.deactivate(vk))
            _recover_uncertain(db, spec, "K", lambda t: t.rollback_schema("K"))
        report = check_invariants(db, spec, previous=report, api=True)
        assert report.status("K") == "rolled_back", point
        assert vk not in report.active, point
        ts = _fresh(spec)
        assert ts.verify().ok, (point, ts.verify().problems)
        ts.close()
    assert_unchanged(seeded, db)


# -- T14 ------------------------------------------------------------------------------------------


def _rollback_spec(db: TestDB, *, fixed: bool) -> dict[str, Any]:
    drop_index = ("DROP INDEX r_t_c2 ON r_t" if db.dialect == "mysql" else "DROP INDEX r_t_c2")
    r = {
        "name": "R",
        "breaking": False,
        "migrations": ["CREATE TABLE r_t (id INTEGER PRIMARY KEY)",
                       "ALTER TABLE r_t ADD COLUMN c2 INTEGER",
                       "CREATE INDEX r_t_c2 ON r_t (c2)"],
        "rollback": ["DROP TABLE r_t",
                     "ALTER TABLE r_t DROP COLUMN c2" if fixed else
                     "ALTER TABLE r_t DROP COLUMN no_such_column",
                     drop_index],
        "objects": [["r_t"], ["r_t.c2"], ["r_t#r_t_c2"]],
    }
    irreversible = {"name": "IR", "breaking": False,
                    "migrations": ["CREATE TABLE ir_t (id INTEGER PRIMARY KEY)"],
                    "objects": [["ir_t"]]}
    return make_spec(db, [r, irreversible], [version("VR", "R", 1), version("VI", "IR", 2)])


def test_t14_failure_and_kill_during_rollback(db: TestDB, tmp_path: Path) -> None:
    seeded = seed(db)
    bad = _rollback_spec(db, fixed=False)
    good = _rollback_spec(db, fixed=True)
    bad_path = write_spec(bad, tmp_path / "bad.json")
    good_path = write_spec(good, tmp_path / "good.json")
    vr, vi = tsv_of(bad, "VR"), tsv_of(bad, "VI")
    transactional = db.dialect in ("sqlite", "postgresql")
    ts = _fresh(bad)
    ts.activate(vr)
    ts.activate(vi)
    ts.close()
    report = check_invariants(db, bad)

    # An irreversible schema is refused before anything runs.
    before = db.query("SELECT * FROM timescape_events ORDER BY id")
    refused = run(bad_path, "deactivate", "VI")
    refused.expect(1)
    assert refused.data["type"] == "RollbackRefusedError", refused.describe()
    assert db.query("SELECT * FROM timescape_events ORDER BY id") == before
    assert "ir_t" in db.tables()

    # (a) rollback[1] (the rollback of step 2) fails.
    failed = run(bad_path, "deactivate", "VR")
    failed.expect(1)
    assert failed.data["type"] == "MigrationError", failed.describe()
    assert "rollback step 2" in failed.error, failed.error
    report = check_invariants(db, bad, previous=report)
    if transactional:
        # Documented choice (DESIGN §2): deactivation is atomic; the version stays live and the
        # schema fully applied; the schema shows the error.
        assert report.status("R") == "applied"
        assert vr in report.active
        ts = _fresh(bad)
        info = ts.schema_info("R")
        assert info.error, info
        assert "rollback step 2" in info.error, info
        assert ts.verify().ok, ts.verify().problems
        ts.close()
    else:
        # Per-step progress: out of service, step 3 undone, stuck at 2 steps.
        assert vr not in report.active
        assert report.schemas["R"][:2] == ("failed", 2), report.schemas
        ts = _fresh(bad)
        assert not ts.verify().ok
        ts.close()

    # (b) Fix rollback[1]. The stored rollback checksum no longer matches: refused as drift
    # unless forced (logged); forced, it completes.
    op = ("deactivate", "VR") if transactional else ("rollback", "R")
    drift = run(good_path, *op)
    drift.expect(1)
    assert drift.data["type"] == "DriftError", drift.describe()
    run(good_path, *op, options=("--force",)).expect(0)
    report = check_invariants(db, good, previous=report, api=True)
    assert report.status("R") == "rolled_back"
    assert vr not in report.active

    # (c) Kill during rollback step 2.
    ts = _fresh(good)
    ts.activate(vr)
    ts.close()
    killed = start(good_path, "deactivate", "VR", faults="kill:during_rollback:2").wait()
    assert killed.exit_code == -9, killed.describe()
    report = check_invariants(db, good, previous=report)
    if transactional:
        assert report.status("R") == "applied"
        assert vr in report.active
        run(good_path, "deactivate", "VR").expect(0)
    else:
        # Out of service, step 3 undone, step 2's rollback marked started (and never run).
        assert vr not in report.active, report.schemas
        assert report.schemas["R"][1:] == (2, 2), report.schemas
        resumed = run(good_path, "rollback", "R")
        resumed.expect(1)
        assert "resolve" in resumed.error
        run(good_path, "resolve", "R", str(_steps_in_place(db, good["schemas"][0]))).expect(0)
        run(good_path, "rollback", "R").expect(0)
    report = check_invariants(db, good, previous=report, api=True)
    assert report.status("R") == "rolled_back"
    assert_unchanged(seeded, db)
