"""Workload 6: ``timescape schema check`` of a long chain, beside squawk on the same SQL files.

``python -m bench.check`` writes ``bench/results/<date>-check.md`` (and ``.json``). For each chain
length N (default 200 and 1,000) it writes a project whose schemas are a linear chain, each one
``dir`` of one SQL file with the three statements of workload 1 (``CREATE TABLE t_i``, ``CREATE
INDEX`` on it, an ``INSERT``), then times, in fresh processes:

- ``timescape schema check --json`` against that project (the first run writes the parsed-project
  cache and is reported apart as *cold*; the median of the following rounds is *warm*);
- with ``--baseline-src PATH``, the same command with another checkout's ``src`` first on
  ``sys.path`` (a before/after comparison in one run, e.g. ``--baseline-src /work/main/src``);
- ``squawk`` over the same N files in one invocation, when the ``squawk`` binary is on ``PATH`` or
  beside this Python (the ``squawk-cli`` wheel of the ``bench`` extra). Squawk is a reference, never
  a requirement: without it the column says so.

Targets (issue 16): 200 schemas within 1 s, 1,000 within 5 s, on SQLite and PostgreSQL.
The ratio column is ``timescape / squawk`` in the same round (median over rounds).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bench import _dbs

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
TARGETS = {200: 1.0, 1000: 5.0}


@dataclass
class CheckResult:
    dialect: str
    n: int
    statements: int
    cold_s: float
    warm_s: float  # median
    warm_all: list[float] = field(default_factory=list)
    warm_cpu_s: float = 0.0  # median CPU seconds of the process (less disturbed by load)
    baseline_cpu_s: float | None = None
    squawk_cpu_s: float | None = None
    exit_code: int = 0
    lint_issues: int = 0
    baseline_s: float | None = None  # median, --baseline-src
    squawk_s: float | None = None  # median
    squawk_ratio: float | None = None  # median of timescape / squawk per round
    target_s: float | None = None


def write_chain(folder: Path, n: int, url: str) -> list[Path]:
    """Write a project of an N-schema chain, one SQL file per schema; return the SQL files."""
    files = []
    lines = ["[database]", f'url = "{url}"', ""]
    for i in range(n):
        step = folder / "migrations" / f"s{i:04d}"
        step.mkdir(parents=True, exist_ok=True)
        sql = step / "001_create.sql"
        sql.write_text(
            f"CREATE TABLE t_{i} (id INTEGER PRIMARY KEY, name VARCHAR(100), "
            "created_at TIMESTAMP);\n"
            f"CREATE INDEX ix_t_{i}_name ON t_{i} (name);\n"
            f"INSERT INTO t_{i} (name, created_at) VALUES ('x', CURRENT_TIMESTAMP);\n"
        )
        (step / "001_create.rollback.sql").write_text(f"DROP TABLE t_{i};\n")
        files.append(sql)
        lines += ["[[schemas]]", f'name = "s{i:04d}"']
        if i:
            lines.append(f'parent = "s{i - 1:04d}"')
        lines += [f'dir = "migrations/s{i:04d}"', ""]
    (folder / "timescape.toml").write_text("\n".join(lines))
    return files


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, int, str]:
    """Run ``cmd``; return its wall seconds, exit code and stdout (CPU seconds in ``LAST_CPU``)."""
    cpu, start = _cpu(), time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env or _ENV,
                          timeout=600, check=False)
    wall = time.perf_counter() - start
    LAST_CPU[0] = _cpu() - cpu
    return wall, proc.returncode, proc.stdout


LAST_CPU = [0.0]
# Bytecode caches allowed, as for any installed package (a user's install has them), kept in a
# scratch folder so no source tree, the baseline's included, is written to.
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
_ENV["PYTHONPYCACHEPREFIX"] = os.path.join(tempfile.gettempdir(), "tsbench-check-pycache")


def squawk_binary() -> str | None:
    beside = Path(sys.executable).parent / "squawk"
    return str(beside) if beside.exists() else shutil.which("squawk")


def _check_cmd(folder: Path) -> list[str]:
    return [sys.executable, "-m", "timescape", "--project", str(folder / "timescape.toml"),
            "schema", "check", "--json", "--fail-on", "none"]


def measure(dialect: str, n: int, rounds: int, baseline: Path | None,
            log=print) -> CheckResult:
    workdir = _dbs.scratch_dir("tsbench-check-")
    target = _dbs.create(dialect, workdir)
    try:
        files = write_chain(workdir, n, target.timescape_url)
        cmd = _check_cmd(workdir)
        cold, code, out = _timed(cmd, workdir)
        if code != 0:
            raise RuntimeError(f"schema check failed ({code}): {out[-500:]}")
        report = json.loads(out)
        issues = len(report["sections"]["lint"]["issues"])
        squawk = squawk_binary()
        env = None
        if baseline is not None:
            env = {**_ENV, "PYTHONPATH": str(baseline)}
        warm, base, sq, ratios = [], [], [], []
        cpu: dict[str, list[float]] = {"warm": [], "base": [], "squawk": []}
        for r in range(rounds):
            seconds, _, _ = _timed(cmd, workdir)
            warm.append(seconds)
            cpu["warm"].append(LAST_CPU[0])
            if env is not None:  # the baseline may predate --fail-on: exit 1 is fine there
                base.append(_timed(cmd[:-2], workdir, env)[0])
                cpu["base"].append(LAST_CPU[0])
            if squawk:
                s, _, _ = _timed([squawk, *map(str, files)], workdir)
                sq.append(s)
                cpu["squawk"].append(LAST_CPU[0])
                ratios.append(seconds / s)
            log(f"  {dialect} N={n} round {r + 1}: timescape {seconds:.2f} s"
                + (f", baseline {base[-1]:.2f} s" if base else "")
                + (f", squawk {sq[-1]:.3f} s" if sq else ""))
        return CheckResult(
            dialect=dialect, n=n, statements=3 * n, cold_s=cold,
            warm_s=statistics.median(warm), warm_all=warm, exit_code=code, lint_issues=issues,
            warm_cpu_s=statistics.median(cpu["warm"]),
            baseline_cpu_s=statistics.median(cpu["base"]) if base else None,
            squawk_cpu_s=statistics.median(cpu["squawk"]) if sq else None,
            baseline_s=statistics.median(base) if base else None,
            squawk_s=statistics.median(sq) if sq else None,
            squawk_ratio=statistics.median(ratios) if ratios else None,
            target_s=TARGETS.get(n),
        )
    finally:
        _dbs.drop(target)
        _dbs.remove_dir(workdir)


def markdown(results: list[CheckResult], command: str, started: str, squawk: str | None) -> str:
    import platform

    lines = [
        f"# `timescape schema check` speed ({started})", "",
        (f"Command: `{command}`. Python {platform.python_version()}, "
         f"load average at start {' '.join(f'{x:.2f}' for x in os.getloadavg())}."),
        f"squawk: {squawk or 'not installed (column empty)'}.", "",
        ("| database | schemas | statements | cold (s) | warm median (s) | CPU (s) | target (s) | "
         "baseline (s) | baseline CPU (s) | squawk (s) | squawk CPU (s) | timescape / squawk | "
         "lint issues |"),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        def cell(value: float | None, fmt: str = ".2f") -> str:
            return "-" if value is None else format(value, fmt)
        lines.append(
            f"| {_dbs.LABELS[r.dialect]} | {r.n} | {r.statements} | {r.cold_s:.2f} | "
            f"{r.warm_s:.2f} | {r.warm_cpu_s:.2f} | {cell(r.target_s, '.0f')} | "
            f"{cell(r.baseline_s)} | {cell(r.baseline_cpu_s)} | {cell(r.squawk_s, '.3f')} | "
            f"{cell(r.squawk_cpu_s, '.3f')} | {cell(r.squawk_ratio, '.0f')} | {r.lint_issues} |"
        )
    lines += ["", ("Cold: the first run, which also writes the parsed-project cache. Warm: the "
                   "median of the rounds after it. Baseline: the same command run from "
                   "`--baseline-src`. CPU: user + system seconds of the process, which a busy "
                   "machine disturbs less than wall time. Squawk lints the same SQL files in one invocation (it does "
                   "not read the chain, the database or the gate)."), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.check", description=__doc__.split("\n")[0])
    p.add_argument("--n", default="200,1000", help="chain lengths")
    p.add_argument("--databases", default="sqlite,postgresql")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--baseline-src", type=Path, default=None,
                   help="another checkout's src/ to time the same command with (before/after)")
    p.add_argument("--baseline-n", default="200",
                   help="chain lengths the baseline runs for (an old, quadratic baseline takes "
                        "minutes per round at 1,000)")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    started = datetime.now()
    results: list[CheckResult] = []
    for dialect in (d.strip() for d in args.databases.split(",") if d.strip()):
        ok, reason = _dbs.available(dialect)
        if not ok:
            print(f"skipping {dialect}: {reason}")
            continue
        baseline_ns = {int(x) for x in args.baseline_n.split(",") if x}
        results.extend(
            measure(dialect, n, args.rounds, args.baseline_src if n in baseline_ns else None)
            for n in (int(x) for x in args.n.split(","))
        )
    command = "python -m bench.check " + " ".join(sys.argv[1:] if argv is None else argv)
    squawk = squawk_binary()
    version = None
    if squawk:
        version = subprocess.run([squawk, "--version"], capture_output=True, text=True,
                                 check=False).stdout.strip()
    args.out.mkdir(parents=True, exist_ok=True)
    stem = started.strftime("%Y-%m-%d") + "-check"
    text = markdown(results, command, started.strftime("%Y-%m-%d %H:%M"), version)
    (args.out / f"{stem}.md").write_text(text)
    (args.out / f"{stem}.json").write_text(
        json.dumps([dataclasses.asdict(r) for r in results], indent=1))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
