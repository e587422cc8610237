"""Drain time and heartbeat cost (issue 10): ``python -m bench.drain``.

For each database: two versions live (v2's schema builds on v1's), four idle serving instances in
their own processes, then ``deactivate(v2)`` timed end to end (mark retiring → every instance
acknowledges → roll back), re-activated and deactivated again for several rounds. The same
deactivation with no instance registered is timed in the same run as the baseline, and the ratio
given. Instances learn of the change the way a serving process does: PostgreSQL ``LISTEN`` on
``Timescape.notification_channel``; elsewhere a ``state_generation()`` probe every
``poll_interval``. Then one instance heartbeats at the default interval for a few seconds: the
heartbeat count gives writes per minute, and single heartbeats and probes are timed.

Output: a Markdown table on stdout, and ``bench/results/<date>-drain.md`` / ``.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import _dbs
from timescape import Timescape

INSTANCES = 4
POLL_INTERVAL = 0.1
HEARTBEAT_INTERVAL = 2.0
RESULTS = Path(__file__).with_name("results")


def build(url: str, **options: Any) -> Timescape:
    """The benchmark's definitions: v1 on s1, v2 on s2 (which builds on s1)."""
    ts = Timescape(url, infer_compatibility=False, **options)
    ts.add_schema("s1", ["CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR(50))"],
                  ["DROP TABLE items"])
    ts.add_schema("s2", ["CREATE TABLE reviews (id INTEGER PRIMARY KEY, item_id INTEGER)"],
                  ["DROP TABLE reviews"], parent="s1", compatible_with=["s1"])
    ts.add_version("/api/items", "2024-01-01T00:00:00Z", "s1", tags=("v1",))
    ts.add_version("/api/items", "2024-02-01T00:00:00Z", "s2", tags=("v2",))
    return ts


def instance(url: str, folder: Path, seconds: float) -> int:
    """Serve (idly) as a registered instance until ``folder/stop`` exists or ``seconds`` pass."""
    ts = build(url, heartbeat_interval=HEARTBEAT_INTERVAL, poll_interval=POLL_INTERVAL)
    instance_id = ts.register_instance(label="bench instance")
    ts.refresh()
    ts.heartbeat(instance_id, generation=ts.view_generation(), in_flight={})
    channel = ts.notification_channel
    listener = None
    if channel is not None:
        import psycopg

        listener = psycopg.connect(url, autocommit=True)
        listener.execute(f"LISTEN {channel}")
    (folder / "ready").touch()
    last = time.monotonic()
    began = last
    beats = 0  # periodic heartbeats only, from here on
    ends = last + seconds
    while not (folder / "stop").exists() and time.monotonic() < ends:
        if listener is not None:
            changed = any(True for _ in listener.notifies(timeout=POLL_INTERVAL, stop_after=1))
        else:
            time.sleep(POLL_INTERVAL)
            changed = ts.state_generation() != ts.view_generation()
        if changed:
            ts.refresh()
        if changed or time.monotonic() - last >= HEARTBEAT_INTERVAL:
            ts.heartbeat(instance_id, generation=ts.view_generation(), in_flight={})
            beats += 1
            last = time.monotonic()
    ts.unregister_instance(instance_id)
    ts.close()
    if listener is not None:
        listener.close()
    (folder / "beats").write_text(f"{beats} {time.monotonic() - began}")
    return 0


def _start(url: str, folder: Path, seconds: float = 600) -> subprocess.Popen[bytes]:
    folder.mkdir(parents=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.drain", "--instance", url, str(folder), str(seconds)],
        cwd=Path(__file__).parents[1],
    )
    deadline = time.monotonic() + 60
    while not (folder / "ready").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            msg = f"instance in {folder} did not start"
            raise RuntimeError(msg)
        time.sleep(0.02)
    return proc


def _deactivations(ts: Timescape, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        ts.activate("v2")
        started = time.perf_counter()
        ts.deactivate("v2")
        times.append(time.perf_counter() - started)
    return times


def measure(dialect: str, rounds: int, work: Path) -> dict[str, Any]:
    """Every figure for one database."""
    with _dbs.fresh(dialect, work / f"{dialect}-db") as target:
        url = target.timescape_url
        ts = build(url)
        ts.activate("v1")
        baseline = _deactivations(ts, rounds)
        folders = [work / f"{dialect}-instance{i}" for i in range(INSTANCES)]
        procs = [_start(url, folder) for folder in folders]
        try:
            drained = _deactivations(ts, rounds)
            waited = [e.duration_ms for e in ts.history(limit=1000) if e.kind == "version_drained"]
        finally:
            for folder in folders:
                (folder / "stop").touch()
            for proc in procs:
                proc.wait(timeout=30)
        ts.close()
        beat_folder = work / f"{dialect}-heartbeat"
        seconds = 5 * HEARTBEAT_INTERVAL + 0.5
        _start(url, beat_folder, seconds).wait(timeout=seconds + 30)
        count, span = (beat_folder / "beats").read_text().split()
        beats, elapsed = int(count), float(span)
        probe = build(url)
        instance_id = probe.register_instance()
        counter = iter(range(1, 1_000_000))  # a changed row each time, as in real heartbeats
        heartbeat_ms = _timed(
            lambda: probe.heartbeat(instance_id, generation=next(counter), in_flight={})
        )
        probe_ms = _timed(probe.state_generation)
        probe.unregister_instance(instance_id)
        probe.close()
    return {
        "dialect": dialect,
        "rounds": rounds,
        "instances": INSTANCES,
        "propagation": "LISTEN/NOTIFY" if dialect == "postgresql" else f"probe every {POLL_INTERVAL} s",
        "deactivate_no_instance_s": statistics.median(baseline),
        "deactivate_4_instances_s": statistics.median(drained),
        "deactivate_4_instances_max_s": max(drained),
        "drain_wait_ms_median": statistics.median(waited) if waited else None,
        "heartbeats_per_minute": round(beats / elapsed * 60, 1),
        "heartbeat_ms": heartbeat_ms,
        "probe_ms": probe_ms,
    }


def _timed(call: Any, n: int = 200) -> float:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return round(statistics.median(samples) * 1000, 3)


def report(rows: list[dict[str, Any]]) -> str:
    """The Markdown table."""
    lines = [
        f"# Drain and heartbeat, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        (
            f"Load average at start: {os.getloadavg()[0]:.2f}. "
            f"{INSTANCES} idle instances, each its own process; heartbeat every "
            f"{HEARTBEAT_INTERVAL:g} s. Medians of {rows[0]['rounds'] if rows else 0} rounds."
        ),
        "",
        (
            "| database | propagation | deactivate, no instance | deactivate, 4 instances (max) "
            "| ratio | drain wait | heartbeats/min/instance | one heartbeat | one probe |"
        ),
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = r["deactivate_4_instances_s"] / r["deactivate_no_instance_s"]
        wait = f"{r['drain_wait_ms_median']:.0f} ms" if r["drain_wait_ms_median"] is not None else "-"
        lines.append(
            f"| {_dbs.LABELS[r['dialect']]} | {r['propagation']} "
            f"| {r['deactivate_no_instance_s'] * 1000:.0f} ms "
            f"| {r['deactivate_4_instances_s'] * 1000:.0f} ms "
            f"({r['deactivate_4_instances_max_s'] * 1000:.0f} ms) | {ratio:.1f}x | {wait} "
            f"| {r['heartbeats_per_minute']:g} | {r['heartbeat_ms']:.2f} ms | {r['probe_ms']:.3f} ms |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, or one instance (``--instance URL DIR SECONDS``)."""
    args = argv if argv is not None else sys.argv[1:]
    if args[:1] == ["--instance"]:
        return instance(args[1], Path(args[2]), float(args[3]))
    parser = argparse.ArgumentParser(prog="python -m bench.drain")
    parser.add_argument("--databases", default=",".join(_dbs.DIALECTS))
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", type=Path, default=RESULTS)
    options = parser.parse_args(args)
    rows = []
    with tempfile.TemporaryDirectory(prefix="tsbench-drain-") as work:
        for dialect in options.databases.split(","):
            ok, why = _dbs.available(dialect)
            if not ok:
                print(f"skipped: {why}", file=sys.stderr)
                continue
            rows.append(measure(dialect, options.rounds, Path(work)))
    text = report(rows)
    print(text)
    stem = f"{datetime.now(UTC):%Y-%m-%d}-drain"
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / f"{stem}.md").write_text(text)
    (options.out / f"{stem}.json").write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
