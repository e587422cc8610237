"""The harness itself: the invariant checker catches what it claims to, the driver keeps its
error contract, and the ``note:``/``pause:`` fault points behave (SQLite, fast)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dbutil import TestDB
from tests.reliability.driver import build_timescape, tsv_of, write_spec
from tests.reliability.faults import run, start
from tests.reliability.invariants import check_invariants
from tests.reliability.scenarios import make_spec, version

pytestmark = [pytest.mark.dialects("sqlite"), pytest.mark.timeout(60)]


def _spec(db: TestDB) -> dict:
    schema = {"name": "S", "migrations": ["CREATE TABLE h_t (id INTEGER PRIMARY KEY)",
                                          "ALTER TABLE h_t ADD COLUMN c2 INTEGER"],
              "rollback": ["DROP TABLE h_t", "ALTER TABLE h_t DROP COLUMN c2"],
              "objects": [["h_t"], ["h_t.c2"]]}
    return make_spec(db, [schema], [version("V", "S", 1)])


def test_checker_catches_objects_without_state_and_state_without_objects(db: TestDB) -> None:
    spec = _spec(db)
    check_invariants(db, spec)
    db.execute("CREATE TABLE h_t (id INTEGER PRIMARY KEY)")  # objects of a pending schema
    with pytest.raises(AssertionError, match="step 1's h_t exists"):
        check_invariants(db, spec)
    db.execute("DROP TABLE h_t")
    ts = build_timescape(spec)
    ts.activate(tsv_of(spec, "V"))
    ts.close()
    report = check_invariants(db, spec, api=True)
    db.execute("ALTER TABLE h_t DROP COLUMN c2")  # state says applied, an object is gone
    with pytest.raises(AssertionError, match=r"step 2's h_t\.c2 is missing"):
        check_invariants(db, spec)
    db.execute("ALTER TABLE h_t ADD COLUMN c2 INTEGER")
    db.execute("DELETE FROM timescape_events WHERE id = (SELECT MIN(id) FROM timescape_events)")
    with pytest.raises(AssertionError, match="events deleted"):
        check_invariants(db, spec, previous=report)


def test_checker_sees_a_held_lock_and_the_note_point(db: TestDB, tmp_path: Path) -> None:
    spec = _spec(db)
    path = write_spec(spec, tmp_path / "spec.json")
    holder = start(path, "activate", "V", faults="pause:after_lock")
    holder.wait_ready("after_lock")
    with pytest.raises(AssertionError, match="flocked"):
        check_invariants(db, spec, settle=0.2)
    waiter = start(path, "activate", "V", faults="note:lock_busy", options=("--lock-timeout", "30"))
    waiter.wait_ready("lock_busy")  # noted without pausing: it keeps polling
    holder.release("after_lock")
    holder.wait().expect(0)
    result = waiter.wait()
    result.expect(0)
    assert "already active" in result.data["message"]
    check_invariants(db, spec)


def test_driver_error_contract(db: TestDB, tmp_path: Path) -> None:
    path = write_spec(_spec(db), tmp_path / "spec.json")
    result = run(path, "activate", "tsv:1-nope-001")
    result.expect(2)
    assert result.data["ok"] is False
    assert result.data["type"] == "UnknownRefError"
