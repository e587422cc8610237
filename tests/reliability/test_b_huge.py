"""Reliability part B — huge inputs (RELIABILITY T32), SQLite and PostgreSQL.

- A 50 MB migration file (~520,000 rows in ~5,200 multi-row INSERTs) applied through the CLI.
  Peak RSS of that process, read from ``resource.getrusage`` inside it, must stay under the
  documented bound: 3 x file size + 100 MB (measured: about 2 x file size + 40 MB).
- One step of 10,000 statements.
- A project of 1,000 schemas in a DAG with 5,000 versions: ``--dry-run`` of activating the newest
  version just completes (bounded by the pytest timeout only; timing belongs to ``bench/``).
"""

from __future__ import annotations

import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.clirun import run_process, write_project
from tests.dbutil import TestDB
from tests.reliability._b_helpers import spec_for, timescape_for

pytestmark = [pytest.mark.timeout(300), pytest.mark.dialects("sqlite", "postgresql")]

MB = 1024 * 1024

_RSS_MAIN = """
import os, resource, sys
sys.argv[0] = "timescape"
from timescape.cli.main import main
try:
    main()
finally:
    # VmHWM is this address space's own peak: ru_maxrss keeps the parent's peak across fork and
    # exec, so a pytest process grown past the bound would fail the test for its own memory.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1])
    with open(os.environ["TSB_RSS"], "w") as handle:
        handle.write(str(peak))
"""


def _cli_rss(*args: str, cwd: Path, tmp: Path) -> tuple[int, str, str, int]:
    """Run the CLI in a subprocess; return (exit code, stdout, stderr, peak RSS in bytes)."""
    rss = tmp / "rss.txt"
    result = run_process(*args, cwd=cwd, env={"TSB_RSS": str(rss)}, timeout=240,
                         command=(sys.executable, "-c", _RSS_MAIN))
    return result.exit_code, result.stdout, result.stderr, int(rss.read_text()) * 1024


def _big_file(path: Path, size: int) -> int:
    """Multi-row INSERT statements (~10 KB each) until ``size`` bytes; returns the row count."""
    rows = 0
    with path.open("w") as handle:
        handle.write("CREATE TABLE t32_big (id INTEGER PRIMARY KEY, payload VARCHAR(120));\n")
        written = 0
        while written < size:
            values = ",\n".join(f"({rows + i}, '{'p;' * 40}{rows + i}')" for i in range(100))
            chunk = f"-- batch {rows // 100}; a comment\nINSERT INTO t32_big VALUES\n{values};\n"
            handle.write(chunk)
            written += len(chunk)
            rows += 100
    return rows


def test_t32_50mb_migration_file__applies_within_the_memory_bound(
    db: TestDB, tmp_path: Path
) -> None:
    root = tmp_path / "proj"
    (root / "m").mkdir(parents=True)
    rows = _big_file(root / "m/001_big.sql", 50 * MB)
    size = (root / "m/001_big.sql").stat().st_size
    write_project(root, '[[schemas]]\nname = "s32"\ndir = "m"\n')
    started = time.monotonic()
    code, out, err, rss = _cli_rss("--database", db.url, "schema", "migrate", "s32",
                                   cwd=root, tmp=tmp_path)
    elapsed = time.monotonic() - started
    assert code == 0, f"{out}\n{err}"
    bound = 3 * size + 100 * MB
    print(f"T32 {db.dialect}: {size / MB:.1f} MB file, {rows} rows, peak RSS {rss / MB:.0f} MB "
          f"(bound {bound / MB:.0f} MB), {elapsed:.1f} s")
    assert rss <= bound, f"peak RSS {rss / MB:.0f} MB > {bound / MB:.0f} MB"
    assert db.count("t32_big") == rows
    assert db.schema_row("s32")["status"] == "applied"


def test_t32_step_of_10000_statements(db: TestDB) -> None:
    script = "CREATE TABLE t32_small (id INTEGER);\n" + "".join(
        f"INSERT INTO t32_small VALUES ({i});\n" for i in range(10_000))
    spec = spec_for(db, [{"name": "s32", "migrations": [script]}], migration_timeout=120)
    with timescape_for(spec) as ts:
        planned = ts.apply_schema("s32", dry_run=True).plan.statements()
        assert len(planned) == 10_001
        ts.apply_schema("s32")
    assert db.count("t32_small") == 10_000


def test_t32_project_of_1000_schemas_and_5000_versions__dry_run_completes(
    db: TestDB, tmp_path: Path
) -> None:
    rng = random.Random(32)
    lines = []
    for i in range(1000):
        parents = sorted({f"s{rng.randrange(i)}" for _ in range(rng.randint(1, 2))}) if i else []
        lines.append(f'[[schemas]]\nname = "s{i}"\nparent = {json.dumps(parents)}\n'
                     f'breaking = false\nmigrations = ["CREATE TABLE t32_s{i} (id INTEGER)"]\n'
                     f'rollback = ["DROP TABLE t32_s{i}"]\n')
    start = datetime(2020, 1, 1, tzinfo=UTC)
    for v in range(5000):
        moment = (start + timedelta(days=v // 50)).strftime("%Y-%m-%dT%H:%M:%SZ")
        lines.append(f'[[versions]]\nhandler = "/api/h{v % 50}"\ntimestamp = "{moment}"\n'
                     f'schema = "s{min(999, v // 5)}"\n')
    root = tmp_path / "proj"
    write_project(root, "\n".join(lines))
    started = time.monotonic()
    code, out, err, rss = _cli_rss("--database", db.url, "--json", "version", "activate",
                                   "latest", "--handler", "/api/h49", "--dry-run",
                                   cwd=root, tmp=tmp_path)
    elapsed = time.monotonic() - started
    assert code == 0, f"{out[-2000:]}\n{err[-2000:]}"
    plan = json.loads(out)
    print(f"T32 {db.dialect}: 1000 schemas / 5000 versions dry run in {elapsed:.1f} s, "
          f"peak RSS {rss / MB:.0f} MB, {len(json.dumps(plan)) / 1024:.0f} KB of JSON")
    assert "t32_s999" in out
    assert "timescape_meta" not in db.tables()  # a dry run writes nothing
