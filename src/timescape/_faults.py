"""Named fault points for the reliability tests; inert unless ``TIMESCAPE_TEST_FAULTS`` is set.

``TIMESCAPE_TEST_FAULTS`` holds comma-separated ``action:point`` entries, e.g.
``pause:after_step:2,kill:before_commit``:

- ``pause:P`` — at point P, create ``$TIMESCAPE_TEST_FAULT_DIR/P.ready`` and wait (at most 120 s)
  until ``P.go`` exists. Tests use it to stop a process at an exact place, deterministically.
- ``kill:P`` — at point P, ``SIGKILL`` this process (a crash with no cleanup at all).
- ``fail:P`` — at point P, raise :class:`FaultInjectedError` (an ordinary failure).
- ``note:P`` — at point P, create ``P.ready`` and carry on: a witness that the point was reached
  (e.g. that a process really waited for the lock), without pausing it.

Points: ``lock_busy`` (the first try-lock found the lock taken; the process now polls),
``after_lock``, ``before_schema:NAME``, ``before_step:K``, ``after_step:K``, ``before_commit``,
``after_commit_before_release``, ``during_rollback:K`` (before rollback step K),
``after_run_marker``, ``after_retiring`` (a deactivation committed the retiring mark and has not
drained yet).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

__all__ = ["FaultInjectedError", "armed", "fault_point"]

_ENV = "TIMESCAPE_TEST_FAULTS"
_DIR_ENV = "TIMESCAPE_TEST_FAULT_DIR"
_PAUSE_LIMIT_S = 120.0
_parsed: tuple[str, dict[str, str]] = ("", {})


class FaultInjectedError(RuntimeError):
    """Raised by a ``fail:`` fault point."""


def _faults() -> dict[str, str]:
    global _parsed  # noqa: PLW0603 - a one-entry cache of the parsed variable
    raw = os.environ.get(_ENV, "")
    if raw != _parsed[0]:
        table: dict[str, str] = {}
        for entry in raw.split(","):
            action, _, point = entry.strip().partition(":")
            if point:
                table[point] = action
        _parsed = (raw, table)
    return _parsed[1]


def armed() -> bool:
    """Whether any fault is configured: a run checks once, then skips its fault points."""
    return bool(os.environ.get(_ENV))


def fault_point(point: str) -> None:
    """Trigger the fault configured for ``point``, if any; otherwise return at once.

    Args:
        point: The point's name, e.g. ``after_step:2``.

    Raises:
        FaultInjectedError: For a ``fail:`` entry at this point.
    """
    if not os.environ.get(_ENV):
        return
    action = _faults().get(point)
    if action is None:
        return
    if action == "kill":
        import signal  # noqa: PLC0415 - its enums cost 0.5 ms at every start; only tests kill

        os.kill(os.getpid(), signal.SIGKILL)
    elif action == "fail":
        msg = f"fault injected at {point}"
        raise FaultInjectedError(msg)
    elif action in ("pause", "note"):
        folder = Path(os.environ.get(_DIR_ENV, "."))
        safe = point.replace(":", "_").replace("/", "_")
        (folder / f"{safe}.ready").write_text(str(os.getpid()))
        if action == "note":
            return
        go = folder / f"{safe}.go"
        deadline = time.monotonic() + _PAUSE_LIMIT_S
        while not go.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
