"""T09 (two Timescape instances in one process) and T23 (a timeout racing the commit never
produces a lie). Both use the Python API in the test process."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.dbutil import TestDB, create_database, drop_database
from tests.reliability.driver import build_timescape, tsv_of
from tests.reliability.invariants import check_invariants, object_exists
from tests.reliability.scenarios import (
    SOAK,
    count,
    create_witness,
    cte_rate,
    make_spec,
    version,
    witness_schema,
)
from tests.reliability.seeded import assert_unchanged, seed
from timescape import MigrationTimeoutError

pytestmark = [pytest.mark.timeout(2400 if SOAK else 240)]


def _threads(*work: Callable[[], None]) -> None:
    """Run each callable in its own thread; re-raise the first failure."""
    errors: list[BaseException] = []

    def wrap(fn: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                fn()
            except BaseException as exc:
                errors.append(exc)
        return run

    threads = [threading.Thread(target=wrap(fn)) for fn in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
        assert not t.is_alive(), "a thread hung"
    if errors:
        raise errors[0]


def _witness_spec(db: TestDB, n: int, handler: str) -> dict[str, Any]:
    schemas = [witness_schema(f"w{i}", f"wt{i}", db.dialect, iteration=i, breaking=False)
               for i in range(n)]
    versions = [version(f"V{i}", f"w{i}", i, handler=handler) for i in range(n)]
    return make_spec(db, schemas, versions, lock_timeout=60)


@pytest.mark.stress
def test_t09_two_instances_in_one_process(db: TestDB, tmp_path: Path) -> None:
    n = count(8, 50)
    seeded = seed(db)
    create_witness(db)
    (tmp_path / "other").mkdir()
    other = create_database(db.dialect, tmp_path / "other")
    try:
        create_witness(other)
        # Different databases: no cross-talk.
        spec1 = _witness_spec(db, n, "/api/one")
        spec2 = _witness_spec(other, n, "/api/two")
        ts1, ts2 = build_timescape(spec1), build_timescape(spec2)
        gate = threading.Barrier(2, timeout=60)

        def drive(ts: Any, spec: dict[str, Any]) -> Callable[[], None]:
            def work() -> None:
                for i in range(n):
                    gate.wait()
                    assert ts.activate(tsv_of(spec, f"V{i}")).changed
            return work

        _threads(drive(ts1, spec1), drive(ts2, spec2))
        ts1.close()
        ts2.close()
        r1 = check_invariants(db, spec1, api=True)
        r2 = check_invariants(other, spec2, api=True)
        assert r1.active == {tsv_of(spec1, f"V{i}") for i in range(n)}
        assert r2.active == {tsv_of(spec2, f"V{i}") for i in range(n)}
        assert {h for (h,) in db.query("SELECT DISTINCT handler FROM timescape_versions")} \
            == {"/api/one"}
        assert {h for (h,) in other.query("SELECT DISTINCT handler FROM timescape_versions")} \
            == {"/api/two"}
        assert db.count("witness") == n
        assert other.count("witness") == n
    finally:
        drop_database(other)

    # The same database, two instances: exactly once, as across processes (T01).
    spec = _witness_spec(db, n, "/api/one")
    spec["schemas"] = [witness_schema(f"x{i}", f"xt{i}", db.dialect, iteration=1000 + i,
                                      breaking=False) for i in range(n)]
    spec["versions"] = [version(f"V{i}", f"x{i}", 100 + i, handler="/api/same")
                        for i in range(n)]
    spec["table_prefix"] = "same_"
    ts_a, ts_b = build_timescape(spec), build_timescape(spec)
    changed: list[bool] = []
    lock = threading.Lock()
    gate = threading.Barrier(2, timeout=60)

    def same(ts: Any) -> Callable[[], None]:
        def work() -> None:
            for i in range(n):
                gate.wait()
                result = ts.activate(tsv_of(spec, f"V{i}"))
                with lock:
                    changed.append(result.changed)
        return work

    _threads(same(ts_a), same(ts_b))
    ts_a.close()
    ts_b.close()
    assert changed.count(True) == n
    assert changed.count(False) == n
    for i in range(n):
        assert db.count(f"witness WHERE iter = {1000 + i}") == 1
    check_invariants(db, spec, api=True)
    assert_unchanged(seeded, db)


# -- T23 ------------------------------------------------------------------------------------------


def _slow_step(dialect: str) -> str:
    if dialect == "postgresql":
        return "SELECT pg_sleep((SELECT s FROM t23_ctl))"
    if dialect == "mysql":
        return "SELECT SLEEP((SELECT s FROM t23_ctl))"
    return ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < "
            "(SELECT n FROM t23_ctl)) SELECT COUNT(*) FROM c")


def _resolve_truth(db: TestDB, ts: Any, spec: dict[str, Any]) -> None:
    schema = spec["schemas"][0]
    done = 0
    for objects in schema["objects"]:
        if objects and not all(object_exists(db, o) for o in objects):
            break
        done += 1
    ts.resolve_schema("Z", steps_done=done)


@pytest.mark.stress
def test_t23_timeout_racing_commit_never_lies(db: TestDB) -> None:
    seeded = seed(db)
    timeout = 0.4
    db.execute("CREATE TABLE t23_ctl (s NUMERIC(6,3), n INTEGER)")
    db.execute("INSERT INTO t23_ctl (s, n) VALUES (0, 1)")
    z = {
        "name": "Z", "breaking": False,
        "migrations": ["CREATE TABLE z_t (id INTEGER PRIMARY KEY)",
                       f"{_slow_step(db.dialect)};\nINSERT INTO z_t (id) VALUES (2)"],
        "rollback": ["DROP TABLE z_t", "DELETE FROM z_t WHERE id = 2"],
        "objects": [["z_t"], ["z_t?id = 2"]],
    }
    spec = make_spec(db, [z], [version("VZ", "Z", 1)], migration_timeout=timeout)
    vz = tsv_of(spec, "VZ")
    ts = build_timescape(spec)
    rng = random.Random(23)
    rate = cte_rate()
    outcomes: list[str] = []
    report = None
    for _ in range(count(12, 200)):
        seconds = round(timeout * rng.uniform(0.8, 1.15), 3)
        db.execute(f"UPDATE t23_ctl SET s = {seconds}, n = {int(rate * seconds)}")
        try:
            ts.activate(vz)
            outcome = "applied"
        except MigrationTimeoutError:
            outcome = "timeout"
        outcomes.append(outcome)
        report = check_invariants(db, spec, previous=report)
        status = report.status("Z")
        last = db.query("SELECT kind FROM timescape_events WHERE subject = 'Z' ORDER BY id DESC "
                        "LIMIT 1")[0][0]
        if outcome == "applied":
            # Reported applied: it is applied, live, and the log says so.
            assert status == "applied"
            assert vz in report.active
            assert last == "schema_applied"
            ts.deactivate(vz)
        else:
            # Reported failed: nothing committed on PG/SQLite; MariaDB records what landed.
            assert vz not in report.active, report.schemas
            assert status in ("failed", "uncertain"), report.schemas
            assert last == "schema_failed", last
            if db.dialect != "mysql":
                assert status == "failed"
                assert "z_t" not in db.tables()
            else:
                if status == "uncertain":
                    _resolve_truth(db, ts, spec)
                ts.rollback_schema("Z")
        report = check_invariants(db, spec, previous=report)
        assert vz not in report.active
    ts.close()
    check_invariants(db, spec, previous=report, api=True)
    assert_unchanged(seeded, db)
    print(f"T23 outcomes on {db.dialect}: {outcomes}")
