"""A serving instance in its own process, for the drain tests (T45-T49).

Usage::

    python -m tests.reliability.instance SPEC.json DIR [--hold TSV] [--freeze]

It does what a serving process must do (docs/instances.md): registers, loads its view, and
heartbeats every ``heartbeat_interval`` of the spec; it probes the state generation every 20 ms
and, when it moved, reloads its view and heartbeats at once. Files in ``DIR`` steer it:

- ``ready`` is written (holding the instance id) after the first heartbeat.
- ``--hold TSV``: one request on TSV stays in flight until ``DIR/release`` exists; then the count
  drops to zero and it heartbeats at once.
- ``--freeze``: it keeps heartbeating but never loads a newer state until ``DIR/thaw`` exists
  (an instance stuck on old state: alive, never acknowledging).

SIGTERM unregisters and exits 0; SIGKILL leaves the row behind to go stale.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from tests.reliability.driver import build_timescape, load_spec
from timescape import TimescapeError

PROBE_S = 0.02


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("spec")
    parser.add_argument("dir", type=Path)
    parser.add_argument("--hold", default=None)
    parser.add_argument("--freeze", action="store_true")
    args = parser.parse_args(argv)
    ts = build_timescape(load_spec(args.spec))
    folder: Path = args.dir
    instance = ts.register_instance(label="test instance")
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    ts.refresh()
    in_flight = {args.hold: 1} if args.hold else {}
    ts.heartbeat(instance, generation=ts.view_generation(), in_flight=in_flight)
    (folder / "ready").write_text(instance)
    interval = ts.serving.heartbeat_interval
    last_beat = time.monotonic()
    while not stopping:
        time.sleep(PROBE_S)
        beat = time.monotonic() - last_beat >= interval
        try:
            if in_flight and (folder / "release").exists():
                in_flight = {}
                beat = True
            frozen = args.freeze and not (folder / "thaw").exists()
            if not frozen and ts.state_generation() != ts.view_generation():
                ts.refresh()
                beat = True
            if beat:
                ts.heartbeat(instance, generation=ts.view_generation(), in_flight=in_flight)
                last_beat = time.monotonic()
        except TimescapeError as exc:  # a lost connection: say so, retry at the next probe
            print(f"instance: {exc}", file=sys.stderr, flush=True)
    ts.unregister_instance(instance)
    ts.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
