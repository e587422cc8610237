"""T35: many reader processes against one migrator on SQLite, in WAL and rollback-journal mode.

Readers are plain ``sqlite3`` processes (no Timescape): each polls every 50 ms, reading the
schema's state row and the catalog in *one* read transaction, and records what it saw.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.dbutil import TestDB
from tests.reliability.driver import build_timescape, tsv_of, write_spec
from tests.reliability.faults import start, wait_until
from tests.reliability.invariants import check_invariants
from tests.reliability.scenarios import count, make_spec, sleep_sql, version
from tests.reliability.seeded import assert_unchanged, seed

pytestmark = [pytest.mark.dialects("sqlite"), pytest.mark.timeout(180)]

READERS = 20
BUSY_MS = 3000
TABLES = ("m1", "m2", "m3", "m4")

READER = r"""
import json, sqlite3, sys, time
path, folder, busy_ms = sys.argv[1], sys.argv[2], int(sys.argv[3])
tables = ("m1", "m2", "m3", "m4")
conn = sqlite3.connect(path, timeout=busy_ms / 1000, isolation_level=None)
seen, errors, waits = [], [], []
ready = False
while True:
    stop = __import__("os").path.exists(folder + "/stop")
    started = time.perf_counter()
    try:
        conn.execute("BEGIN")
        row = conn.execute("SELECT status FROM timescape_schemas WHERE name = 'M'").fetchone()
        names = {r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (%s)"
            % ",".join("'%s'" % t for t in tables))}
        conn.execute("COMMIT")
        seen.append([row[0] if row else None, len(names)])
    except sqlite3.Error as exc:
        errors.append(str(exc))
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass
    waits.append(time.perf_counter() - started)
    if not ready:
        open(folder + "/ready-%d" % __import__("os").getpid(), "w").close()
        ready = True
    if stop:
        break
    time.sleep(0.05)
print(json.dumps({"seen": seen, "errors": errors, "max_wait": max(waits)}))
"""


def _spec(db: TestDB, seconds: float) -> dict[str, Any]:
    base = {"name": "B", "migrations": ["CREATE TABLE m_base (id INTEGER PRIMARY KEY)"],
            "rollback": ["DROP TABLE m_base"], "objects": [["m_base"]]}
    m = {
        "name": "M", "breaking": False,
        "migrations": [
            "CREATE TABLE m1 (id INTEGER PRIMARY KEY);\nCREATE TABLE m2 (id INTEGER PRIMARY KEY)",
            sleep_sql("sqlite", seconds),
            "CREATE TABLE m3 (id INTEGER PRIMARY KEY);\nCREATE TABLE m4 (id INTEGER PRIMARY KEY)",
        ],
        "rollback": ["DROP TABLE m2;\nDROP TABLE m1", "SELECT 1", "DROP TABLE m4;\nDROP TABLE m3"],
        "objects": [["m1", "m2"], [], ["m3", "m4"]],
    }
    return make_spec(db, [base, m], [version("V0", "B", 0), version("VM", "M", 1)],
                     lock_timeout=30, migration_timeout=60)


@pytest.mark.parametrize("mode", ["wal", "delete"])
def test_t35_many_readers_vs_one_migrator(db: TestDB, tmp_path: Path, mode: str) -> None:
    db.query(f"PRAGMA journal_mode = {mode}")
    assert db.query("PRAGMA journal_mode")[0][0] == mode
    seeded = seed(db)
    seconds = count(1.5, 3.0)
    spec = _spec(db, seconds)
    path = write_spec(spec, tmp_path / "spec.json")
    ts = build_timescape(spec)
    ts.activate(tsv_of(spec, "V0"))
    ts.close()

    folder = tmp_path / "readers"
    folder.mkdir()
    readers = [
        subprocess.Popen([sys.executable, "-c", READER, db.name, str(folder), str(BUSY_MS)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(READERS)
    ]
    try:
        wait_until(lambda: len(list(folder.glob("ready-*"))) == READERS, 60, interval=0.05,
                   what="all readers polling")
        started = time.monotonic()
        migrator = start(path, "activate", "VM")
        result = migrator.wait(60)
        took = time.monotonic() - started
        time.sleep(0.3)
    finally:
        (folder / "stop").write_text("")
        outputs = [r.communicate(timeout=60) for r in readers]
    result.expect(0)
    # The migrator was never starved beyond its lock/busy budget.
    assert took < seconds + 30, took
    seen_new = False
    for (out, err), proc in zip(outputs, readers, strict=True):
        assert proc.returncode == 0, err
        data = json.loads(out)
        for status, tables in data["seen"]:
            # Atomic: the old state (not applied, no tables) or the new one (applied, all four).
            assert (status, tables) in ((None, 0), ("applied", len(TABLES))), data["seen"]
            seen_new |= status == "applied"
        if mode == "wal":
            assert data["errors"] == [], data["errors"]
        else:
            # Rollback journal: a reader may wait for the commit, but only within busy_timeout.
            assert data["max_wait"] <= BUSY_MS / 1000 + 1.0, data["max_wait"]
            assert all("locked" in e for e in data["errors"]), data["errors"]
    print(mode, "max waits", sorted(round(json.loads(o)["max_wait"], 3) for o, _ in outputs)[-3:],
          "errors", sum(len(json.loads(o)["errors"]) for o, _ in outputs))
    assert seen_new, "no reader ever saw the new state"
    report = check_invariants(db, spec, api=True)
    assert report.status("M") == "applied"
    assert_unchanged(seeded, db)
