"""``python -m bench``: run the benchmarks and write ``bench/results/<date>.md`` with PNG plots.

Every database it needs is created (a uniquely named one on each server, a temp file for SQLite)
and dropped again. A server that does not answer is skipped and the report says so.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import sys
import time
from datetime import datetime
from pathlib import Path

from bench import _dbs, bigfile, chain, coldstart, hotpath, report, scale
from bench._worker import ALL_TOOLS, BEFORE, TOOLS

WORKLOADS = ("chain", "hotpath", "scale", "cold", "bigfile")
RESULTS = Path(__file__).resolve().parent / "results"


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Timescape against the raw driver, Alembic and yoyo-migrations.",
        epilog="Workloads: chain = apply/roll back N schema versions (workload 1, and peak RSS: "
               "workload 5); hotpath = resolve/is_schema_active per call (2); scale = 10,000 "
               "schemas and versions (3); cold = command start-up (4); bigfile = one 20 MB file "
               "of INSERTs and one 5,000-statement file (8).",
    )
    p.add_argument("--quick", action="store_true",
                   help="a fast smoke run: small N, few rounds (results go to <date>-quick.md)")
    p.add_argument("--workloads", default=",".join(WORKLOADS),
                   help=f"comma-separated subset of {','.join(WORKLOADS)} (memory is part of "
                        "chain)")
    p.add_argument("--databases", default=",".join(_dbs.DIALECTS),
                   help="comma-separated subset of sqlite,postgresql,mysql (unreachable servers "
                        "are skipped)")
    p.add_argument("--tools", default=",".join(TOOLS), help="tools for the chain workload")
    p.add_argument("--before", metavar="SRC[=LABEL]", default=None,
                   help="also run Timescape from an older tree's src/ folder in the chain workload "
                        "(tool 'before', same rounds), e.g. /tmp/old/src=a7f8409; make it with "
                        "`git archive REV | tar -x -C /tmp/old`")
    p.add_argument("--n", default=None, help="chain lengths, e.g. 100,1000")
    p.add_argument("--sizes", default=None, help="scale sizes, e.g. 100,1000,10000")
    p.add_argument("--rounds", type=int, default=None,
                   help="rounds per figure (default 5, quick 2)")
    p.add_argument("--out", type=Path, default=RESULTS, help="folder for the report and plots")
    p.add_argument("--fresh", action="store_true",
                   help="do not keep the figures of workloads not run now from an earlier run "
                        "of the same day")
    return p.parse_args(argv)


def _keep_earlier(res: report.Results, path: Path, ran: list[str]) -> None:
    """Carry over, from an earlier report of the same day, the workloads not run this time."""
    if not path.exists():
        return
    old = json.loads(path.read_text())
    kept = []
    dialects = {r.dialect for r in res.chain} | {r.dialect for r in res.scale}
    # Rows of databases not run this time are kept too (a re-run of one database).
    if "chain" in ran and old.get("chain"):
        res.chain += [chain.ChainSummary(**c) for c in old["chain"] if c["dialect"] not in dialects]
        res.chain.sort(key=lambda r: (_dbs.DIALECTS.index(r.dialect), r.n, ALL_TOOLS.index(r.tool)))
    if "scale" in ran and old.get("scale"):
        res.scale += [scale.ScaleResult(**s) for s in old["scale"] if s["dialect"] not in dialects]
        res.scale.sort(key=lambda s: (_dbs.DIALECTS.index(s.dialect), s.size))
        if not res.scale_cli:
            res.scale_cli = old.get("scale_cli", [])
    if "chain" not in ran and old.get("chain"):
        res.chain = [chain.ChainSummary(**c) for c in old["chain"]]
        kept.append("chain")
        earlier = re.search(r"--before (\S+)", old["command"])
        if earlier and any(r.tool == BEFORE for r in res.chain):
            # The older tree's label, as the run that measured it printed it.
            src, _, label = earlier.group(1).partition("=")
            report.TOOL_LABELS[BEFORE] = f"Timescape before ({label or src})"
    if "hotpath" not in ran and old.get("hot"):
        res.hot = [hotpath.HotResult(**h) for h in old["hot"]]
        kept.append("hotpath")
    if "scale" not in ran and old.get("scale"):
        res.scale = [scale.ScaleResult(**s) for s in old["scale"]]
        res.scale_cli = old.get("scale_cli", [])
        kept.append("scale")
    if "bigfile" not in ran and old.get("bigfile"):
        res.bigfile = [bigfile.BigFileResult(**b) for b in old["bigfile"]]
        kept.append("bigfile")
    if "cold" not in ran and old.get("cold"):
        res.cold = [coldstart.ColdResult(**c) for c in old["cold"]]
        res.cold_pg = [coldstart.ColdResult(**c) for c in old.get("cold_pg", [])]
        kept.append("cold")
    carried = bool(kept) or any(r.dialect not in dialects for r in res.chain + res.scale)
    if carried:
        # The earlier command carries its own history: the chain names every run behind the
        # figures, not just the latest one.
        what = ", ".join(kept) + " and " if kept else ""
        res.command += f"`; {what}other databases' rows from the same day's earlier `{old['command']}"
        res.skipped.extend(old.get("skipped", []))


def _byte_compile(tools: tuple[str, ...]) -> None:
    """Compile the measured Timescape trees to .pyc first, as installing a wheel does.

    Workers run with PYTHONDONTWRITEBYTECODE (no stray .pyc from a measured run), so a tree never
    compiled would be compiled again in every worker: tens of ms of start-up and about 1 MB of
    peak RSS (compiler garbage) that no installed deployment pays, and that the peers, installed
    by pip with their .pyc, do not pay either.
    """
    import compileall

    import timescape

    trees = [Path(timescape.__file__).parent]
    if BEFORE in tools:
        trees.append(Path(os.environ["TIMESCAPE_BENCH_BEFORE_SRC"]) / "timescape")
    for tree in trees:
        compileall.compile_dir(tree, quiet=1)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    workloads = ["chain" if w == "memory" else w for w in workloads]
    unknown = set(workloads) - set(WORKLOADS)
    if unknown:
        sys.exit(f"unknown workload(s): {', '.join(sorted(unknown))}")
    rounds = args.rounds or (2 if args.quick else 5)
    ns = [int(x) for x in args.n.split(",")] if args.n else ([20, 100] if args.quick
                                                             else [100, 1000])
    sizes = [int(x) for x in args.sizes.split(",")] if args.sizes else (
        [100, 1000] if args.quick else [100, 1000, 10000])
    tools = tuple(t for t in args.tools.split(",") if t)
    if "raw" not in tools:
        tools = ("raw", *tools)  # ratios need the floor
    if args.before:
        src, _, label = args.before.partition("=")
        if not (Path(src) / "timescape" / "__init__.py").is_file():
            sys.exit(f"--before {src}: no timescape package there; give the older tree's src/")
        os.environ["TIMESCAPE_BENCH_BEFORE_SRC"] = str(Path(src).resolve())
        report.TOOL_LABELS[BEFORE] = f"Timescape before ({label or src})"
        tools = (*tools, BEFORE)

    _byte_compile(tools)
    started = datetime.now()
    res = report.Results(started=started.strftime("%Y-%m-%d %H:%M"),
                         command="python -m bench " + " ".join(sys.argv[1:] if argv is None
                                                               else argv),
                         quick=args.quick, rounds=rounds)
    dialects = []
    for d in (x.strip() for x in args.databases.split(",") if x.strip()):
        ok, reason = _dbs.available(d)
        if ok:
            dialects.append(d)
        else:
            res.skipped.append(f"{d}: {reason}")
            print(f"skipping {d}: {reason}", flush=True)
    res.environment = report.environment()
    _dbs.drop_leftovers()

    def log(line: str) -> None:
        print(line, flush=True)

    clock = time.perf_counter()
    if "chain" in workloads:
        log(f"workload 1+5: chain N={ns} on {dialects}, {rounds} rounds, tools {tools}")
        runs = chain.run(dialects, ns, rounds, tools, log=log)
        res.chain = chain.summarise(runs)
    if "hotpath" in workloads:
        log("workload 2: hot path")
        res.hot = hotpath.run(quick=args.quick, log=log)
    if "scale" in workloads:
        log(f"workload 3: scale sizes={sizes} on {dialects}")
        activations = 3 if args.quick else 15
        for dialect in dialects:
            for size in sizes:
                res.scale.append(scale.measure(dialect, size, activations, log=log))
        if "sqlite" in dialects:
            res.scale_cli = scale.cli_at_scale(max(sizes), 1 if args.quick else 3, log=log)
    if "cold" in workloads:
        log("workload 4: cold start")
        res.cold = coldstart.run(rounds=5 if args.quick else 15, log=log)
        if "postgresql" in dialects:
            res.cold_pg = coldstart.run_postgresql(rounds=5 if args.quick else 15, log=log)

    if "bigfile" in workloads:
        log(f"workload 8: big files on {dialects}, {rounds} rounds")
        res.bigfile = bigfile.run(dialects, rounds, log=log)

    args.out.mkdir(parents=True, exist_ok=True)
    stem = started.strftime("%Y-%m-%d") + ("-quick" if args.quick else "")
    if not args.fresh:
        _keep_earlier(res, args.out / f"{stem}.json", workloads)
    made = report.plots(res, args.out, stem)
    md = args.out / f"{stem}.md"
    report.write_markdown(res, md, made)
    (args.out / f"{stem}.json").write_text(json.dumps(dataclasses.asdict(res), indent=1,
                                                      default=str))
    log(f"\nwrote {md} and {', '.join(p.name for p in made)} in {time.perf_counter() - clock:.0f} s")
    if res.chain or res.scale:
        print("\n".join(report.summary_lines(res)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
