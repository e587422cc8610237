"""A progress line on stderr for migrations that take longer than a moment.

The executor logs a DEBUG record when a run starts (with its plan) and before each step; this
module listens to those records, so it needs no hook into the facade. On a terminal it redraws one
line (``schema 1 of 2 · apply schema_v2 · step 3 of 5 · 2.4 s``) from a ticker thread, starting only
after half a second, and erases it when the run ends. Elsewhere it prints nothing, unless verbose:
then one plain line per step.
"""

from __future__ import annotations

import logging
import threading
import time
from types import TracebackType
from typing import IO, Self

from timescape.model.plan import ActionKind, Plan, PlannedStep, SchemaAction

__all__ = ["Progress"]

_LOGGER = "timescape.executor"


class _Listener(logging.Handler):
    def __init__(self, progress: Progress) -> None:
        super().__init__(logging.DEBUG)
        self.progress = progress

    def emit(self, record: logging.LogRecord) -> None:
        plan = getattr(record, "timescape_plan", None)
        if isinstance(plan, Plan):
            self.progress.started(plan)
        step = getattr(record, "timescape_step", None)
        if isinstance(step, tuple) and len(step) == 2:
            self.progress.stepped(step[0], step[1])


class Progress:
    """Context manager showing migration progress on ``stream``.

    Args:
        stream: Where to draw (stderr).
        live: Redraw a single line (a terminal).
        verbose: Without ``live``, print one line per step.
        delay: Seconds before the live line first appears.
    """

    def __init__(
        self, stream: IO[str], *, live: bool, verbose: bool = False, delay: float = 0.5
    ) -> None:
        """Configure; nothing is shown until a run starts."""
        self.stream = stream
        self.live = live
        self.verbose = verbose
        self.delay = delay
        self.plan: Plan | None = None
        self.begun = 0.0
        self.text = ""
        self.drawn = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._listener = _Listener(self)
        self._saved_level = logging.NOTSET

    def __enter__(self) -> Self:
        """Start listening to the executor's progress records."""
        logger = logging.getLogger(_LOGGER)
        self._saved_level = logger.level
        logger.setLevel(logging.DEBUG)
        logger.addHandler(self._listener)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        """Stop listening and erase the line."""
        logger = logging.getLogger(_LOGGER)
        logger.removeHandler(self._listener)
        logger.setLevel(self._saved_level)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1)
        with self._lock:
            if self.drawn:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
                self.drawn = False

    def started(self, plan: Plan) -> None:
        """A run began."""
        self.plan = plan
        self.begun = time.monotonic()
        if self.live and self._thread is None and plan.actions:
            self._thread = threading.Thread(
                target=self._tick, name="timescape-progress", daemon=True
            )
            self._thread.start()

    def stepped(self, action: SchemaAction, step: PlannedStep) -> None:
        """A step is about to run."""
        actions = self.plan.actions if self.plan is not None else (action,)
        k = next((i for i, a in enumerate(actions, 1) if a is action), 1)
        contract = action.kind in (ActionKind.CONTRACT, ActionKind.UNCONTRACT)
        total = len(action.schema.contract if contract else action.schema.steps)
        # Step numbers are the schema's own: a resumed run starts past 1, a rollback counts down.
        self.text = (
            f"schema {k} of {len(actions)} · {action.kind} {action.name} · "
            f"step {step.index} of {total}"
        )
        if not self.live and self.verbose:
            with self._lock:
                self.stream.write(f"timescape: {self.text}\n")
                self.stream.flush()

    def line(self) -> str:
        """The current progress text with the elapsed time."""
        return f"{self.text} · {time.monotonic() - self.begun:.1f} s"

    def _tick(self) -> None:
        if self._stop.wait(self.delay):
            return
        while True:
            with self._lock:
                if self._stop.is_set():
                    return
                if self.text:
                    self.stream.write("\r\x1b[K" + self.line())
                    self.stream.flush()
                    self.drawn = True
            if self._stop.wait(0.1):
                return
