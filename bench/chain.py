"""Workload 1 (apply a chain of N schema versions, then roll it all back) and workload 5 (peak RSS).

Every run is a fresh subprocess on a fresh, empty database. Within one round the tools run back to
back in a rotating order, so each round yields one ratio per tool measured under the same machine
load; the report gives the median of those per-round ratios next to the median absolute times.
"""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import _dbs
from bench._worker import ALL_TOOLS, BEFORE, TOOLS

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class ChainRun:
    tool: str
    dialect: str
    n: int
    round: int
    apply_s: float
    rollback_s: float
    maxrss_kb: int  # peak RSS of the whole run, rollback included
    cpu_apply_s: float = 0.0
    maxrss_apply_kb: int = 0  # peak RSS right after the apply, before the bench's table count


@dataclass
class ChainSummary:
    dialect: str
    n: int
    tool: str
    apply_s: float  # median
    rollback_s: float  # median
    apply_ratio: float  # median over rounds of tool / raw in the same round
    rollback_ratio: float
    maxrss_mb: float  # median peak RSS, whole run
    runs: int
    cpu_apply_s: float = 0.0  # median CPU seconds of the process during apply
    apply_all: list[float] = field(default_factory=list)
    # Median over rounds of this tool's time / Timescape's time in the same round: above 1 means
    # Timescape was faster. Paired per round, like the ratios to raw, so machine drift cancels.
    apply_vs_timescape: float = float("nan")
    rollback_vs_timescape: float = float("nan")
    # Median over rounds of this tool's peak RSS minus the raw driver's in the same round (MB): what
    # the tool adds to the driver, since the driver alone differs a lot between databases (issue 14).
    rss_over_raw_mb: float = float("nan")
    # The same two figures for the apply phase alone (issue 14's target names it): read right after
    # the apply, before the bench's own table count and the rollback. NaN in older results.
    maxrss_apply_mb: float = float("nan")
    rss_apply_over_raw_mb: float = float("nan")


def _worker_env(tool: str) -> dict[str, str]:
    """The worker's environment: ``before`` finds the older tree first on its path."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    before = os.environ.get("TIMESCAPE_BENCH_BEFORE_SRC")
    if tool == BEFORE and before:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (before, env.get("PYTHONPATH")) if p)
    return env


def run_one(tool: str, dialect: str, n: int, timeout: float = 1800) -> dict[str, Any]:
    workdir = _dbs.scratch_dir(f"tsbench-{tool}-")
    target = _dbs.create(dialect, workdir)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "bench._worker", tool,
             json.dumps(dataclasses.asdict(target)), str(n), str(workdir)],
            cwd=ROOT, capture_output=True, text=True, timeout=timeout,
            env=_worker_env(tool), check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"{tool} on {dialect} N={n} failed:\n{proc.stderr[-3000:]}")
        result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
        if result["tables_after_apply"] != n or result["tables_after_rollback"] != 0:
            raise RuntimeError(f"{tool} on {dialect} N={n} left the wrong tables: {result}")
        return result
    finally:
        _dbs.drop(target)
        _dbs.remove_dir(workdir)


def run(dialects: list[str], ns: list[int], rounds: int, tools: tuple[str, ...] = TOOLS,
        log: Any = print) -> list[ChainRun]:
    runs: list[ChainRun] = []
    for dialect in dialects:
        for n in ns:
            for r in range(rounds):
                order = list(tools[r % len(tools):]) + list(tools[:r % len(tools)])
                for tool in order:
                    res = run_one(tool, dialect, n)
                    runs.append(ChainRun(tool, dialect, n, r, res["apply_s"], res["rollback_s"],
                                         res["maxrss_kb"], res["cpu_apply_s"],
                                         res["maxrss_apply_kb"]))
                    log(f"  chain {dialect:<10} N={n:<5} round {r + 1}/{rounds} {tool:<9} "
                        f"apply {res['apply_s']:8.3f} s  rollback {res['rollback_s']:8.3f} s  "
                        f"cpu {res['cpu_apply_s']:7.3f} s  "
                        f"rss apply {res['maxrss_apply_kb'] / 1024:6.1f} MB, "
                        f"run {res['maxrss_kb'] / 1024:6.1f} MB")
    return runs


def _median_over_raw(mine: list[ChainRun], raw: dict[int, ChainRun], kb: str) -> float:
    """Median over rounds of this tool's peak RSS (attribute ``kb``) minus raw's, in MB."""
    over = [(getattr(r, kb) - getattr(raw[r.round], kb)) / 1024 for r in mine if r.round in raw]
    return statistics.median(over) if over else float("nan")


def summarise(runs: list[ChainRun]) -> list[ChainSummary]:
    out: list[ChainSummary] = []
    keys = sorted({(r.dialect, r.n) for r in runs}, key=lambda k: (_dbs.DIALECTS.index(k[0]), k[1]))
    for dialect, n in keys:
        group = [r for r in runs if r.dialect == dialect and r.n == n]
        raw = {r.round: r for r in group if r.tool == "raw"}
        ts = {r.round: r for r in group if r.tool == "timescape"}
        for tool in ALL_TOOLS:
            mine = [r for r in group if r.tool == tool]
            if not mine:
                continue
            ratios_a = [r.apply_s / raw[r.round].apply_s for r in mine if r.round in raw]
            ratios_r = [r.rollback_s / raw[r.round].rollback_s for r in mine if r.round in raw]
            vs_a = [r.apply_s / ts[r.round].apply_s for r in mine if r.round in ts]
            vs_r = [r.rollback_s / ts[r.round].rollback_s for r in mine if r.round in ts]
            out.append(ChainSummary(
                dialect=dialect, n=n, tool=tool,
                apply_s=statistics.median(r.apply_s for r in mine),
                rollback_s=statistics.median(r.rollback_s for r in mine),
                apply_ratio=statistics.median(ratios_a) if ratios_a else float("nan"),
                rollback_ratio=statistics.median(ratios_r) if ratios_r else float("nan"),
                maxrss_mb=statistics.median(r.maxrss_kb for r in mine) / 1024,
                runs=len(mine),
                cpu_apply_s=statistics.median(r.cpu_apply_s for r in mine),
                apply_all=[r.apply_s for r in mine],
                apply_vs_timescape=statistics.median(vs_a) if vs_a else float("nan"),
                rollback_vs_timescape=statistics.median(vs_r) if vs_r else float("nan"),
                rss_over_raw_mb=_median_over_raw(mine, raw, "maxrss_kb"),
                maxrss_apply_mb=statistics.median(r.maxrss_apply_kb for r in mine) / 1024,
                rss_apply_over_raw_mb=_median_over_raw(mine, raw, "maxrss_apply_kb"),
            ))
    return out
