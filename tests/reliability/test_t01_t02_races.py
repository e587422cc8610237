"""T01 (N processes race to activate one version) and T02 (bootstrap race on an empty database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dbutil import TestDB
from tests.reliability.driver import tsv_of, write_spec
from tests.reliability.faults import RaceEntry, race
from tests.reliability.invariants import check_invariants
from tests.reliability.scenarios import (
    SOAK,
    count,
    create_witness,
    make_spec,
    version,
    witness_schema,
)
from tests.reliability.seeded import assert_unchanged, seed
from timescape.store.state import FORMAT_VERSION

pytestmark = [pytest.mark.stress, pytest.mark.timeout(2400 if SOAK else 240)]

PROCESSES = 8


def test_t01_race_to_activate_one_version__exactly_once(db: TestDB, tmp_path: Path) -> None:
    seeded = seed(db)
    create_witness(db)
    iterations = count(3, 20)
    schemas = [witness_schema(f"s{i}", f"t{i}", db.dialect, iteration=i, breaking=False)
               for i in range(iterations)]
    versions = [version(f"V{i}", f"s{i}", i) for i in range(iterations)]
    spec = make_spec(db, schemas, versions, lock_timeout=60)
    path = write_spec(spec, tmp_path / "spec.json")
    previous = None
    for i in range(iterations):
        results = race([RaceEntry(path, "activate", (f"V{i}",))] * PROCESSES,
                       workdir=tmp_path / f"race{i}")
        for r in results:
            r.expect(0)
        changed = [r for r in results if r.data["changed"]]
        assert len(changed) == 1, [r.data for r in results]
        noops = [r for r in results if not r.data["changed"]]
        assert all("already active" in r.data["message"] for r in noops), [r.data for r in noops]
        starts = [r.started for r in results]
        assert max(starts) - min(starts) < 0.5, f"barrier released over {max(starts) - min(starts)} s"
        assert db.count(f"witness WHERE iter = {i}") == 1
        report = check_invariants(db, spec, previous=previous, api=i == iterations - 1)
        tsv = tsv_of(spec, f"V{i}")
        assert report.status(f"s{i}") == "applied"
        assert tsv in report.active
        new = [k for (eid, k, s) in report.events
               if previous is None or eid > max(previous.event_ids, default=0)]
        assert new.count("schema_applied") == 1, new
        assert new.count("version_activated") == 1, new
        previous = report
    assert db.count("witness") == iterations
    assert_unchanged(seeded, db)


def test_t02_bootstrap_race_on_empty_database__tables_created_once(db: TestDB,
                                                                    tmp_path: Path) -> None:
    seeded = seed(db)
    create_witness(db)
    iterations = count(2, 10)
    for i in range(iterations):
        # A fresh table prefix is a fresh, empty Timescape state in the same database.
        prefix = f"boot{i}_"
        spec = make_spec(db, [witness_schema(f"b{i}", f"bt{i}", db.dialect, iteration=100 + i)],
                         [version("V", f"b{i}", 1)], lock_timeout=60, table_prefix=prefix)
        path = write_spec(spec, tmp_path / f"spec{i}.json")
        entries = [RaceEntry(path, "list")] * 5 + [RaceEntry(path, "activate", ("V",))] * 5
        entries += [RaceEntry(path, "stats")] * 5 + [RaceEntry(path, "verify")] * 5
        results = race(entries, workdir=tmp_path / f"race{i}")
        for r in results:
            assert r.exit_code == 0, r.describe()
            for bad in ("already exists", "Duplicate", "duplicate key", "aborted", "Traceback"):
                assert bad not in r.stderr + r.stdout, r.describe()
        state_tables = sorted(t for t in db.tables() if t.startswith(prefix))
        assert state_tables == sorted(f"{prefix}{t}" for t in
                                      ("meta", "schemas", "versions", "tags", "events",
                                       "instances"))
        rows = db.query(f"SELECT key_name, value FROM {prefix}meta WHERE key_name = "
                        "'format_version'")
        assert rows == [("format_version", str(FORMAT_VERSION))]
        report = check_invariants(db, spec, api=True)
        assert report.kinds().count("schema_applied") == 1
        assert db.count(f"witness WHERE iter = {100 + i}") == 1
    assert_unchanged(seeded, db)
