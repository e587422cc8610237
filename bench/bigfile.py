"""Workload 8: one big migration file, Timescape against the raw driver (issue 11, speed on big files).

Two files, each the single migration file of one schema:

- ``inserts``: ≈20 MB of multi-row ``INSERT`` statements (24 of them, as a data dump writes) into one
  table created at the top of the file;
- ``ddl5000``: a 5,000-statement schema file (250 tables, 250 indexes, 4,500 one-row INSERTs).

Both tools run the same statements with the same transaction shape: PostgreSQL and SQLite one
transaction holding every statement and one history row; MySQL/MariaDB no transaction (DDL commits
implicitly) and the history row afterwards; each creates its history (state) tables before the
clock starts. The raw driver reads the file and splits it at ``;\\n``
(the generator never writes that inside a statement) inside the clock, as any client must read
its input; Timescape loads the project file and its ``dir`` and applies the schema. Imports are
not timed. Each run is a fresh process on a fresh database, so the peak RSS (``VmHWM``) is the
tool's own; the report gives it above the process's RSS after imports, next to the file size.

``python -m bench.bigfile worker TOOL TARGETJSON FILE`` is one run; it prints one JSON line.
"""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import _dbs

ROOT = Path(__file__).resolve().parent.parent
FILES = ("inserts", "ddl5000")
BIG_TOOLS = ("raw", "timescape")


@dataclass
class BigFileResult:
    dialect: str
    file: str
    file_mb: float
    statements: int
    raw_s: float  # medians
    timescape_s: float
    ratio: float  # median over rounds of timescape / raw in the same round
    raw_rss_mb: float  # peak RSS above the RSS after imports
    timescape_rss_mb: float
    rss_over_file: float  # timescape's peak RSS increase / file size
    rounds: int


def write_inserts(path: Path, *, target_mb: float = 20.0, statements: int = 24) -> int:
    """Write ≈``target_mb`` of multi-row INSERTs; return the statement count."""
    rows_per = int(target_mb * 1_000_000 / statements / 82)
    with path.open("w") as out:
        out.write(
            "CREATE TABLE big (id INTEGER PRIMARY KEY, name VARCHAR(100), "
            "note VARCHAR(200), amount NUMERIC(12, 2));\n"
        )
        row_id = 0
        for _ in range(statements):
            values = []
            for _ in range(rows_per):
                row_id += 1
                values.append(
                    f"({row_id}, 'name {row_id:08d}', 'a note about row {row_id:08d}; with "
                    f"''quotes''', {row_id % 100000}.{row_id % 100:02d})"
                )
            out.write("INSERT INTO big (id, name, note, amount) VALUES\n")
            out.write(",\n".join(values))
            out.write(";\n")
    return statements + 1


def write_ddl(path: Path, *, tables: int = 250, rows: int = 4500) -> int:
    """Write a 5,000-statement schema file; return the statement count."""
    lines = []
    for i in range(tables):
        lines.append(
            f"CREATE TABLE t_{i} (id INTEGER PRIMARY KEY, name VARCHAR(100), "
            f"created_at TIMESTAMP, parent_id INTEGER)"
        )
        lines.append(f"CREATE INDEX ix_t_{i}_name ON t_{i} (name)")
    lines.extend(
        f"INSERT INTO t_{j % tables} (id, name, created_at) "
        f"VALUES ({j}, 'row {j}', '2025-01-01 00:00:00')"
        for j in range(rows)
    )
    path.write_text(";\n".join(lines) + ";\n")
    return len(lines)


def _status_mb(key: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    return 0.0  # pragma: no cover - Linux only


def _rss_mb() -> float:
    return _status_mb("VmRSS:")


def _peak_mb() -> float:
    # VmHWM: this address space's own high-water mark (ru_maxrss can carry the parent's peak
    # across fork/exec, see README workload 5).
    return _status_mb("VmHWM:")


def _raw(target: _dbs.Target, file: Path) -> float:
    conn = target.connect()
    cur = conn.cursor()
    cur.execute("CREATE TABLE migration_history (id VARCHAR(64) PRIMARY KEY, applied_at "
                "VARCHAR(40))")
    ph = "?" if target.dialect == "sqlite" else "%s"
    transactional = target.dialect != "mysql"
    started = time.perf_counter()
    text = file.read_text()
    statements = [s for s in text.split(";\n") if s.strip()]
    del text
    if transactional:
        cur.execute("BEGIN")
    for sql in statements:
        cur.execute(sql)
    cur.execute(f"INSERT INTO migration_history (id, applied_at) VALUES ({ph}, {ph})",
                ("big", time.strftime("%Y-%m-%dT%H:%M:%S")))
    if transactional:
        cur.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def _timescape(target: _dbs.Target, file: Path) -> float:
    from timescape.config import load_project

    project = file.parent / "timescape.toml"
    project.write_text(
        f'[database]\nurl = "{target.timescape_url}"\nmigration_timeout = 600\napplication_name = "tsbench-bigfile"\n\n'
        '[[schemas]]\nname = "big"\ndir = "migrations"\n'
    )
    (file.parent / "migrations").mkdir(exist_ok=True)
    step = file.parent / "migrations" / "001_big.sql"
    # The raw driver creates its history table before its clock starts; so does Timescape.
    from timescape import Timescape

    with Timescape(target.timescape_url, application_name="tsbench-bigfile") as boot:
        boot.backend.acquire_lock()
        boot.store.ensure()
        boot.backend.release_lock()
    os.replace(file, step)
    try:
        started = time.perf_counter()
        ts = load_project(project).timescape()
        ts.apply_schema("big")
        elapsed = time.perf_counter() - started
        ts.close()
    finally:
        os.replace(step, file)
    return elapsed


def worker(tool: str, target_json: str, file: str) -> None:
    target = _dbs.Target(**json.loads(target_json))
    if tool == "timescape":
        import timescape.config
        import timescape.store.backends  # noqa: F401 - imports are not timed
    if target.dialect == "postgresql":
        import psycopg  # noqa: F401
    elif target.dialect == "mysql":
        import pymysql  # noqa: F401
    baseline = _rss_mb()
    cpu = time.process_time()
    seconds = (_timescape if tool == "timescape" else _raw)(target, Path(file))
    cpu = time.process_time() - cpu
    print(json.dumps({"seconds": seconds, "cpu_s": cpu, "rss_mb": _peak_mb() - baseline}))


def _run(tool: str, dialect: str, file: Path) -> dict[str, Any]:
    target = _dbs.create(dialect, file.parent, prefix="tsbigfile_")
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "bench.bigfile", "worker", tool,
             json.dumps(dataclasses.asdict(target)), str(file)],
            cwd=ROOT, capture_output=True, text=True, timeout=1800, check=False,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        if proc.returncode != 0:
            raise RuntimeError(f"{tool} on {dialect} ({file.name}) failed:\n{proc.stderr[-3000:]}")
        return json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        _dbs.drop(target)


def measure(dialect: str, which: str, rounds: int, log: Any = print) -> BigFileResult:
    """Run both tools ``rounds`` times, alternating who goes first."""
    folder = _dbs.scratch_dir("tsbench-big-")
    try:
        file = folder / f"{which}.sql"
        count = write_inserts(file) if which == "inserts" else write_ddl(file)
        size_mb = file.stat().st_size / 1_000_000
        runs: dict[str, list[dict[str, Any]]] = {t: [] for t in BIG_TOOLS}
        ratios = []
        for r in range(rounds):
            order = BIG_TOOLS if r % 2 == 0 else tuple(reversed(BIG_TOOLS))
            got = {tool: _run(tool, dialect, file) for tool in order}
            for tool in BIG_TOOLS:
                runs[tool].append(got[tool])
            ratios.append(got["timescape"]["seconds"] / got["raw"]["seconds"])
            log(f"  {dialect} {which} round {r + 1}: raw {got['raw']['seconds']:.2f} s, "
                f"timescape {got['timescape']['seconds']:.2f} s ({ratios[-1]:.2f}x; CPU "
                f"{got['raw']['cpu_s']:.2f} / {got['timescape']['cpu_s']:.2f} s), RSS "
                f"+{got['timescape']['rss_mb']:.0f} MB vs raw +{got['raw']['rss_mb']:.0f} MB")

        def med(tool: str, key: str) -> float:
            return statistics.median(run[key] for run in runs[tool])

        ts_rss = med("timescape", "rss_mb")
        return BigFileResult(
            dialect=dialect, file=which, file_mb=round(size_mb, 1), statements=count,
            raw_s=med("raw", "seconds"), timescape_s=med("timescape", "seconds"),
            ratio=statistics.median(ratios), raw_rss_mb=med("raw", "rss_mb"),
            timescape_rss_mb=ts_rss, rss_over_file=ts_rss / size_mb, rounds=rounds,
        )
    finally:
        _dbs.remove_dir(folder)


def run(dialects: list[str], rounds: int, log: Any = print) -> list[BigFileResult]:
    return [measure(d, which, rounds, log) for d in dialects for which in FILES]


def table(rows: list[BigFileResult]) -> list[str]:
    lines = [
        ("| database | file | size | statements | raw driver | Timescape | ratio | peak RSS "
        "increase raw / Timescape | Timescape RSS / file size |"),
        "|---|---|---|---|---|---|---|---|---|",
    ]
    lines.extend(
        f"| {_dbs.LABELS[r.dialect]} | {r.file} | {r.file_mb:.1f} MB | {r.statements} | "
        f"{r.raw_s:.2f} s | {r.timescape_s:.2f} s | {r.ratio:.2f}x | "
        f"{r.raw_rss_mb:.0f} / {r.timescape_rss_mb:.0f} MB | {r.rss_over_file:.2f}x |"
        for r in rows
    )
    return lines


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "worker":
        worker(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        dialects = sys.argv[1].split(",") if len(sys.argv) > 1 else list(_dbs.DIALECTS)
        rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
        print("\n".join(table(run(dialects, rounds))))
