"""Propagation latency: state commit → every serving instance routing the change (issue 10).

``python -m bench.propagation [--databases ...] [--samples N] [--instances K] [--quick]``

For each database, K serving instances (:class:`timescape.web.serving.ServingInstance`, each with
its own facade and connections, all in this process) are opened; a control facade then makes a
state-only change (activate a version whose schema is already applied) and this thread polls every
instance's routing decision (memory only, every 0.2 ms) until all of them serve it. The latency is
measured from the moment ``activate()`` returned (its transaction has committed by then) to the
moment the last instance routes the new version. The version is then deactivated: with registered
instances that is the two-phase drain, and its duration with K idle instances is recorded too.

Modes: ``notify`` (PostgreSQL LISTEN/NOTIFY) and ``poll`` (the generation probe every
``poll_interval``, default 0.5 s) on every database. Targets (issue 10): PostgreSQL notify p99
≤ 100 ms on loopback; poll p99 ≤ interval + 50 ms; a drain with 4 idle instances ≤ 1.2 s on PG.

Writes ``bench/results/<date>-propagation.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from bench import _dbs
from timescape import Timescape
from timescape.web.serving import ServingInstance

HANDLER = "/api/items"
RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class PropagationResult:
    dialect: str
    mode: str
    instances: int
    samples: int
    poll_interval: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    deactivate_p50_ms: float
    deactivate_max_ms: float
    heartbeats_per_minute: float
    idle_heartbeats_per_minute: float = 0.0


def _facade(url: str) -> Timescape:
    ts = Timescape(url)
    ts.add_schema("s1", ["CREATE TABLE items (id INTEGER PRIMARY KEY)"], ["DROP TABLE items"])
    ts.add_version(HANDLER, "2025-01-01T00:00:00Z", "s1", tags=["v1"])
    ts.add_version(HANDLER, "2025-02-01T00:00:00Z", "s1", tags=["v2"])
    return ts


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _wait_all(instances: list[ServingInstance], served: bool, timeout: float = 10.0) -> float:
    deadline = time.perf_counter() + timeout
    while True:
        now = time.perf_counter()
        if all(i.decide(HANDLER, "v2").is_served == served for i in instances):
            return now
        if now > deadline:
            raise RuntimeError("instances did not converge within 10 s")
        time.sleep(0.0002)


def measure(dialect: str, mode: str, *, instances: int, samples: int, poll_interval: float,
            idle_seconds: float = 10.0) -> PropagationResult:
    with _dbs.fresh(dialect) as target:
        url = target.timescape_url
        control = _facade(url)
        control.activate("v1", handler=HANDLER)
        fleet = [
            ServingInstance(
                _facade(url), listen=mode == "notify", poll_interval=poll_interval,
                heartbeat_interval=2.0, count_requests=False,
            )
            for _ in range(instances)
        ]
        opened = time.monotonic()
        try:
            for instance in fleet:
                instance.open()
            deadline = time.monotonic() + 10
            while mode == "notify" and any(i.propagation_mode != "notify" for i in fleet):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{dialect}: no notification connection within 10 s")
                time.sleep(0.01)
            latencies: list[float] = []
            deactivations: list[float] = []
            rng = random.Random(7)
            for _ in range(samples):
                # Out of phase with the pollers: the last wait ended right after one of their ticks.
                time.sleep(rng.uniform(0, poll_interval if mode == "poll" else 0.05))
                control.activate("v2", handler=HANDLER)
                committed = time.perf_counter()
                latencies.append((_wait_all(fleet, served=True) - committed) * 1000)
                started = time.perf_counter()
                control.deactivate("v2", handler=HANDLER)
                deactivations.append((time.perf_counter() - started) * 1000)
                _wait_all(fleet, served=False)
            elapsed = time.monotonic() - opened
            beats = sum(i.heartbeats_sent for i in fleet) / len(fleet)
            # The heartbeat's cost at rest: nothing changes, nothing is served.
            before = sum(i.heartbeats_sent for i in fleet)
            time.sleep(idle_seconds)
            idle = (sum(i.heartbeats_sent for i in fleet) - before) / len(fleet) * 60 / idle_seconds
        finally:
            for instance in fleet:
                instance.close()
                instance.timescape.close()
            control.close()
    return PropagationResult(
        dialect, mode, instances, samples, poll_interval,
        p50_ms=round(statistics.median(latencies), 1),
        p99_ms=round(_pct(latencies, 0.99), 1),
        max_ms=round(max(latencies), 1),
        deactivate_p50_ms=round(statistics.median(deactivations), 1),
        deactivate_max_ms=round(max(deactivations), 1),
        heartbeats_per_minute=round(beats * 60 / elapsed, 1),
        idle_heartbeats_per_minute=round(idle, 1),
    )


def child(url: str, mode: str, poll_interval: float) -> int:
    """One serving process: print ``ready``, then ``<0|1> <monotonic>`` whenever v2's routing flips.

    ``time.monotonic()`` is the system-wide CLOCK_MONOTONIC on Linux, so the parent can compare it
    with its own commit time. Stops when stdin closes.
    """
    instance = ServingInstance(_facade(url), listen=mode == "notify", poll_interval=poll_interval,
                               count_requests=False)
    instance.open()
    while mode == "notify" and instance.propagation_mode != "notify":
        time.sleep(0.01)
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    print("ready", flush=True)
    last = instance.decide(HANDLER, "v2").is_served
    while not stop.is_set():
        served = instance.decide(HANDLER, "v2").is_served
        if served != last:
            print(f"{int(served)} {time.monotonic()}", flush=True)
            last = served
        time.sleep(0.0002)
    instance.close()
    instance.timescape.close()
    return 0


def measure_processes(dialect: str, mode: str, *, instances: int, samples: int,
                      poll_interval: float) -> PropagationResult:
    """Like :func:`measure`, with each instance in a process of its own (no shared GIL)."""
    with _dbs.fresh(dialect) as target:
        url = target.timescape_url
        control = _facade(url)
        control.activate("v1", handler=HANDLER)
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "bench.propagation", "--child", url, mode, str(poll_interval)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            )
            for _ in range(instances)
        ]
        try:
            for proc in procs:
                assert proc.stdout is not None
                if proc.stdout.readline().strip() != "ready":
                    raise RuntimeError("a serving process did not start")
            latencies: list[float] = []
            deactivations: list[float] = []
            rng = random.Random(7)
            for _ in range(samples):
                time.sleep(rng.uniform(0, poll_interval if mode == "poll" else 0.05))
                control.activate("v2", handler=HANDLER)
                committed = time.monotonic()
                seen = [float(p.stdout.readline().split()[1]) for p in procs]  # type: ignore[union-attr]
                latencies.append((max(seen) - committed) * 1000)
                started = time.monotonic()
                control.deactivate("v2", handler=HANDLER)
                deactivations.append((time.monotonic() - started) * 1000)
                for p in procs:
                    p.stdout.readline()  # type: ignore[union-attr]
        finally:
            for proc in procs:
                if proc.stdin is not None:
                    proc.stdin.close()
            for proc in procs:
                proc.wait(timeout=30)
            control.close()
    return PropagationResult(
        dialect, f"{mode} (processes)", instances, samples, poll_interval,
        p50_ms=round(statistics.median(latencies), 1),
        p99_ms=round(_pct(latencies, 0.99), 1),
        max_ms=round(max(latencies), 1),
        deactivate_p50_ms=round(statistics.median(deactivations), 1),
        deactivate_max_ms=round(max(deactivations), 1),
        heartbeats_per_minute=0.0,
    )


def render(results: list[PropagationResult], skipped: list[str]) -> str:
    lines = [
        f"# Propagation latency — {datetime.now().strftime('%Y-%m-%d %H:%M')}",
        "",
        "State commit → every serving instance routing the change (in-process instances, each",
        "with its own connections and threads; latency from `activate()` returning). Deactivation",
        "is the two-phase drain with the instances idle. Heartbeats/min under changes include the",
        "immediate ones sent after each change (the drain's acks); at rest they are the cost of",
        "the heartbeat alone (one small autocommitted write each, interval 2 s).",
        "",
        "| database | mode | instances | samples | p50 ms | p99 ms | max ms | deactivate p50 ms | deactivate max ms | heartbeats/min/instance (changing) | at rest |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {_dbs.LABELS[r.dialect]} | {r.mode}{'' if r.mode.startswith('notify') else f' {r.poll_interval:g} s'} "
        f"| {r.instances} | {r.samples} | {r.p50_ms} | {r.p99_ms} | {r.max_ms} "
        f"| {r.deactivate_p50_ms} | {r.deactivate_max_ms} | {r.heartbeats_per_minute or '-'} | {r.idle_heartbeats_per_minute or '-'} |"
        for r in results
    ]
    if skipped:
        lines += ["", "Skipped: " + "; ".join(skipped)]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.propagation", description=__doc__.split("\n")[0])
    parser.add_argument("--databases", default=",".join(_dbs.DIALECTS))
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument("--samples", type=int, default=None, help="per mode (default 100 notify, 40 poll)")
    parser.add_argument("--poll-interval", type=float, default=0.5)
    parser.add_argument("--drain-instances", type=int, default=4, help="instances of the extra drain row (0: none)")
    parser.add_argument("--quick", action="store_true", help="10 samples per mode")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--processes", action="store_true",
                        help="also measure with each instance in its own process (PostgreSQL notify)")
    if argv[:1] == ["--child"]:
        return child(argv[1], argv[2], float(argv[3]))
    args = parser.parse_args(argv)
    _dbs.drop_leftovers()
    results: list[PropagationResult] = []
    skipped: list[str] = []
    for dialect in args.databases.split(","):
        ok, reason = _dbs.available(dialect)
        if not ok:
            skipped.append(f"{dialect}: {reason}")
            continue
        modes = ["notify", "poll"] if dialect == "postgresql" else ["poll"]
        for mode in modes:
            samples = args.samples or (10 if args.quick else (100 if mode == "notify" else 40))
            result = measure(dialect, mode, instances=args.instances, samples=samples,
                             poll_interval=args.poll_interval, idle_seconds=4.0 if args.quick else 10.0)
            print(json.dumps(asdict(result)), flush=True)
            results.append(result)
        if args.processes and dialect == "postgresql":
            result = measure_processes(dialect, "notify", instances=args.instances,
                                       samples=10 if args.quick else 100,
                                       poll_interval=args.poll_interval)
            print(json.dumps(asdict(result)), flush=True)
            results.append(result)
        if args.drain_instances and dialect == "postgresql":
            result = measure(dialect, "notify", instances=args.drain_instances,
                             samples=10 if args.quick else 20, poll_interval=args.poll_interval,
                             idle_seconds=4.0 if args.quick else 10.0)
            print(json.dumps(asdict(result)), flush=True)
            results.append(result)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"{datetime.now().strftime('%Y-%m-%d')}{'-quick' if args.quick else ''}-propagation"
    stem.with_suffix(".json").write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
    stem.with_suffix(".md").write_text(render(results, skipped))
    print(render(results, skipped))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
