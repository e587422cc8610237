"""T03 (gate and plan decided under the lock) and T04 (smart-rollback race on a shared schema)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from tests.dbutil import TestDB
from tests.reliability.driver import build_timescape, tsv_of, write_spec
from tests.reliability.faults import RaceEntry, race, start
from tests.reliability.invariants import check_invariants
from tests.reliability.scenarios import SOAK, count, make_spec, version
from tests.reliability.seeded import assert_unchanged, seed

pytestmark = [pytest.mark.timeout(2400 if SOAK else 240)]


def _table_schema(name: str, table: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "migrations": [f"CREATE TABLE {table} (id INTEGER PRIMARY KEY)"],
            "rollback": [f"DROP TABLE {table}"], "objects": [[table]], **extra}


def _hold_then_contend(path: Path, first: tuple[str, str], second: tuple[str, str]
                       ) -> tuple[Any, Any]:
    """Run ``first`` paused right after it takes the lock; start ``second``, wait until it has
    really found the lock taken, then release ``first``. Return both results."""
    holder = start(path, *first, faults="pause:after_lock")
    holder.wait_ready("after_lock")
    waiter = start(path, *second, faults="note:lock_busy")
    waiter.wait_ready("lock_busy")
    assert waiter.poll() is None
    holder.release("after_lock")
    return holder.wait(), waiter.wait()


def test_t03_gate_and_plan_decided_under_the_lock(db: TestDB, tmp_path: Path) -> None:
    seeded = seed(db)
    # Y (live W) ; X1 and X2 are both breaking, for Y and for each other.
    schemas = [
        _table_schema("Y", "y_t", breaking=False),
        _table_schema("X1", "x1_t", breaking=True),
        _table_schema("X2", "x2_t", breaking=True),
    ]
    versions = [version("W", "Y", 1), version("A", "X1", 2), version("B", "X2", 3)]
    spec = make_spec(db, schemas, versions, lock_timeout=60)
    path = write_spec(spec, tmp_path / "spec.json")
    tsv = {a: tsv_of(spec, a) for a in ("W", "A", "B")}

    # (1) Nothing live. P1 activates A (paused under the lock); P2 activates B meanwhile. The
    # serial outcome: B sees A live and is refused by the gate, naming A.
    p1, p2 = _hold_then_contend(path, ("activate", "A"), ("activate", "B"))
    p1.expect(0)
    p2.expect(1)
    assert p2.data["type"] == "CompatibilityError", p2.describe()
    assert tsv["A"] in p2.error, p2.describe()
    report = check_invariants(db, spec)
    assert report.active == {tsv["A"]}
    assert report.status("X2") == "pending"
    assert report.status("X1") == "applied"

    # (1') The same, order reversed: B first (A taken out of service beforehand).
    build_timescape(spec).deactivate(tsv["A"])
    p1, p2 = _hold_then_contend(path, ("activate", "B"), ("activate", "A"))
    p1.expect(0)
    p2.expect(1)
    assert tsv["B"] in p2.error, p2.describe()
    report = check_invariants(db, spec, previous=report)
    assert report.active == {tsv["B"]}
    assert report.status("X1") == "rolled_back"
    ts = build_timescape(spec)
    ts.deactivate(tsv["B"])
    ts.activate(tsv["W"])
    ts.close()

    # (2) W live. P1 deactivates W under the lock while P2 waits to activate A (breaking for
    # Y). P2 must act on the state after P1 committed: W is gone, so A goes live.
    p1, p2 = _hold_then_contend(path, ("deactivate", "W"), ("activate", "A"))
    p1.expect(0)
    p2.expect(0)
    report = check_invariants(db, spec, previous=report)
    assert report.active == {tsv["A"]}

    # (3) Nothing live but A... take A out; P1 activates W under the lock while P2 waits to
    # activate B: B is now refused because W (on Y) went live in between.
    build_timescape(spec).deactivate(tsv["A"])
    p1, p2 = _hold_then_contend(path, ("activate", "W"), ("activate", "B"))
    p1.expect(0)
    p2.expect(1)
    assert p2.data["type"] == "CompatibilityError", p2.describe()
    assert tsv["W"] in p2.error, p2.describe()
    report = check_invariants(db, spec, previous=report, api=True)
    assert report.active == {tsv["W"]}
    assert report.status("X2") == "rolled_back"
    assert_unchanged(seeded, db)


def test_t03_ref_resolved_under_the_lock(db: TestDB, tmp_path: Path) -> None:
    """A tag names the version only once the lock is held: a tag moved by the process this one
    waited for is honoured (DESIGN §2: "under the database lock: resolve the ref, plan …")."""
    seed(db)
    schemas = [_table_schema("R1", "r1_t", breaking=False), _table_schema("R2", "r2_t",
                                                                           breaking=False)]
    spec = make_spec(db, schemas, [version("V1", "R1", 1, tags=("candidate",)),
                                   version("V2", "R2", 2)], lock_timeout=60)
    path = write_spec(spec, tmp_path / "spec.json")
    v1, v2 = tsv_of(spec, "V1"), tsv_of(spec, "V2")
    p1, p2 = _hold_then_contend(path, ("tag", "V2", "candidate"), ("activate", "candidate"))
    p1.expect(0)
    p2.expect(0)
    assert p2.data["target"] == v2, p2.data
    report = check_invariants(db, spec, api=True)
    assert report.active == {v2}
    assert report.status("R1") == "pending"
    assert v1 not in report.active


def _last_event(db: TestDB) -> int:
    return int(db.query("SELECT COALESCE(MAX(id), 0) FROM timescape_events")[0][0])


def _shared_spec(db: TestDB) -> dict[str, Any]:
    schema = {
        "name": "S",
        "migrations": ["CREATE TABLE shared_t (id INTEGER PRIMARY KEY, note VARCHAR(20))",
                       "INSERT INTO shared_t (id, note) VALUES (1, 'seed')"],
        "rollback": ["DROP TABLE shared_t", "DELETE FROM shared_t WHERE id = 1"],
        "objects": [["shared_t"], ["shared_t?id = 1"]],
        "breaking": False,
    }
    return make_spec(db, [schema], [version("V1", "S", 1), version("V2", "S", 2)],
                     lock_timeout=60)


@pytest.mark.stress
def test_t04a_deactivate_v1_races_activate_v2__shared_schema_never_rolled_back_while_used(
        db: TestDB, tmp_path: Path) -> None:
    seeded = seed(db)
    spec = _shared_spec(db)
    path = write_spec(spec, tmp_path / "spec.json")
    v1, v2 = tsv_of(spec, "V1"), tsv_of(spec, "V2")
    ts = build_timescape(spec)
    rng = random.Random(4)
    report = None
    for i in range(count(6, 50)):
        # Start: V1 live on S, V2 not; a sentinel row that only survives if S is never rolled back.
        if ts.is_version_active(v2):
            ts.deactivate(v2)
        ts.activate(v1)
        db.execute(f"INSERT INTO shared_t (id, note) VALUES ({1000 + i}, 'sentinel')")
        before = _last_event(db)
        skew = rng.uniform(0, 0.03)
        results = race([RaceEntry(path, "deactivate", ("V1",), delay=skew if i % 2 else 0),
                        RaceEntry(path, "activate", ("V2",), delay=0 if i % 2 else skew)],
                       workdir=tmp_path / f"race{i}")
        for r in results:
            r.expect(0)
        report = check_invariants(db, spec, previous=report)
        assert report.active == {v2}
        assert report.status("S") == "applied"
        new = [(k, s) for (eid, k, s) in report.events if eid > before]
        order = [s for k, s in new if k in ("version_deactivated", "version_activated")]
        rolled = [k for k, s in new if k == "schema_rolled_back"]
        if order == [v2, v1]:
            # V2 went live first: S was still used, so it must not have been rolled back.
            assert rolled == [], new
            assert db.count(f"shared_t WHERE id = {1000 + i}") == 1
        else:
            assert order == [v1, v2], new
            # V1 left first with nobody on S: S rolled back once, then applied again for V2.
            assert rolled == ["schema_rolled_back"], new
            assert [k for k, _ in new].count("schema_applied") == 1, new
        ts.refresh()
    ts.close()
    check_invariants(db, spec, previous=report, api=True)
    assert_unchanged(seeded, db)


@pytest.mark.stress
def test_t04b_deactivate_v1_races_deactivate_v2__rolled_back_exactly_once(
        db: TestDB, tmp_path: Path) -> None:
    seeded = seed(db)
    spec = _shared_spec(db)
    path = write_spec(spec, tmp_path / "spec.json")
    v1, v2 = tsv_of(spec, "V1"), tsv_of(spec, "V2")
    ts = build_timescape(spec)
    rng = random.Random(5)
    report = None
    for i in range(count(6, 50)):
        ts.activate(v1)
        ts.activate(v2)
        before = _last_event(db)
        skew = rng.uniform(0, 0.02)
        results = race([RaceEntry(path, "deactivate", ("V1",), delay=skew),
                        RaceEntry(path, "deactivate", ("V2",))],
                       workdir=tmp_path / f"race{i}")
        for r in results:
            r.expect(0)
            assert "does not exist" not in r.stdout + r.stderr
        report = check_invariants(db, spec, previous=report)
        assert report.active == set()
        assert report.status("S") == "rolled_back"
        new = [(k, s) for (eid, k, s) in report.events if eid > before]
        assert [k for k, _ in new].count("schema_rolled_back") == 1, new
        # The rollback happened with the last deactivation, never before it.
        kinds = [k for k, _ in new]
        assert kinds.index("schema_rolled_back") > kinds.index("version_deactivated"), new
        ts.refresh()
    ts.close()
    check_invariants(db, spec, previous=report, api=True)
    assert_unchanged(seeded, db)
