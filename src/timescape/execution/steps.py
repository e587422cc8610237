"""Run one step: its statements under the schema's budget, Ctrl-C between them, the session after.

The innermost loop of a run (every statement of every step passes here), so it does no more per
statement than check the deadline and Ctrl-C and hand the statement to the backend. A step that
ends badly leaves as a :class:`~timescape.execution.failures.StepFailedError` (see
:mod:`timescape.execution.failures`); what the run records about it is its path's business.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from timescape._faults import fault_point
from timescape._log import DEBUG, LazyLogger
from timescape.errors import StateError
from timescape.execution.failures import CtrlCError, StepFailedError, StepFailures
from timescape.model.plan import ActionKind, PlannedStatement, PlannedStep, SchemaAction
from timescape.store.base import Backend
from timescape.store.session import session_check

if TYPE_CHECKING:
    from timescape.engine.interrupt import InterruptGuard

__all__ = ["MigrationConnection", "StepRunner", "ms_since", "no_fault"]

_SENT_MAX = 1 << 20
"""The most statement text (characters) a unit keeps for its commit check."""

logger = LazyLogger("timescape.executor")
"""The per-step DEBUG record (``extra`` ``timescape_step``: the action and the step); the name is
the executor's, which progress displays such as the CLI's listen to."""


class MigrationConnection:
    """What a Python migration step receives: statements go through Timescape's choke point."""

    def __init__(self, backend: Backend) -> None:
        """Wrap the backend."""
        self._backend = backend

    @property
    def dialect(self) -> str:
        """``sqlite``, ``postgresql`` or ``mysql``."""
        return self._backend.dialect

    @property
    def raw(self) -> Any:
        """The driver connection, for what ``execute``/``query`` cannot express."""
        return self._backend.raw_connection

    def execute(self, sql: str, params: Sequence[object] | None = None) -> int:
        """Run one statement (``?`` placeholders with ``params``); return the row count."""
        return self._backend.execute(sql, params)

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Run a query (``?`` placeholders) and return its rows."""
        return self._backend.query(sql, params)


def _release_finished_frames(exc: BaseException) -> None:
    """Drop the locals of the finished frames ``exc`` (and its causes) went through.

    Why: a failed Python step's frames live on in the error's traceback, and with them what
    they held, such as a cursor of the step's own with rows it never read. On SQLite that
    cursor's statement stays open, and while one is open a cancel (``sqlite3_interrupt``) stays
    in force for every statement the connection starts: the ROLLBACK after a timeout was
    cancelled too, the connection was dropped as broken while that statement kept its write
    lock, and the failure could not be recorded until the error was garbage collected. The
    traceback still names every file, line and function; only the values of the locals go.
    A frame still running (the caller's own) is left as it is.

    Args:
        exc: The exception the step raised.
    """
    seen: set[int] = set()
    pending: BaseException | None = exc
    while pending is not None and id(pending) not in seen:
        seen.add(id(pending))
        tb = pending.__traceback__
        while tb is not None:
            with contextlib.suppress(RuntimeError):  # a frame still executing
                tb.tb_frame.clear()
            tb = tb.tb_next
        pending = pending.__cause__ or pending.__context__


def no_fault(point: str) -> None:
    """A fault point when none is configured (then no point's name is even built)."""


def ms_since(started: float) -> int:
    """Milliseconds since ``started`` (a :func:`time.monotonic` reading)."""
    return int((time.monotonic() - started) * 1000)


class StepRunner:
    """Runs steps on one backend; owned by the executor, which sets up each run.

    Per run the executor sets ``fault`` (a no-op unless fault points are armed) and ``guard``
    (the run's Ctrl-C guard); :meth:`start_budget` starts each schema's ``migration_timeout``.
    """

    def __init__(self, backend: Backend, failures: StepFailures, migration_timeout: float) -> None:
        """Bind to the backend, the failure classifier and the per-schema budget in seconds."""
        self.backend = backend
        self.failures = failures
        self.migration_timeout = migration_timeout
        self.fault: Callable[[str], None] = fault_point
        self.guard: InterruptGuard | None = None
        self._deadline = time.monotonic() + migration_timeout
        # How far the step running now got: the statement sent last, and how many were.
        self._current: PlannedStatement | None = None
        self._done = 0
        self.sent: list[str] | None = None
        """The texts sent since :meth:`collect` (None: not collected, or too many to keep)."""
        self._sent_size = 0

    def collect(self) -> None:
        """Start keeping the text of each statement sent, for the unit's commit check.

        The check then reads the very strings the statements were sent as, instead of slicing
        each statement from its script again (issue 14). Past :data:`_SENT_MAX` characters, or
        once a Python step runs (its statements are unknown), nothing is kept: the caller then
        reads the plan's statements itself, one at a time, as before.
        """
        self.sent = []
        self._sent_size = 0

    def start_budget(self) -> float:
        """Start one schema's ``migration_timeout``: its steps share it, whatever their number."""
        started = time.monotonic()
        self._deadline = started + self.migration_timeout
        return started

    def interrupted(self) -> bool:
        """Whether Ctrl-C was pressed during the run."""
        return self.guard is not None and self.guard.requested

    def _enter(self, action: SchemaAction, step: PlannedStep) -> None:
        """Fault point, progress record, and Ctrl-C pressed between two steps."""
        if self.fault is not no_fault:  # a point's name is built only when faults are armed
            self.fault(
                f"during_rollback:{step.index}"
                if action.kind is ActionKind.ROLLBACK
                else f"before_step:{step.index}"
            )
        if logger.isEnabledFor(DEBUG):
            logger.debug(
                "%s %s step %d",
                action.kind,
                action.name,
                step.index,
                extra={"timescape_step": (action, step)},
            )
        if self.interrupted():
            raise self.failures.interrupted(action, step, None, statements_done=0, uncertain=False)

    def run(self, action: SchemaAction, step: PlannedStep) -> None:
        """Run ``step`` of ``action``.

        Raises:
            StepFailedError: The step failed, timed out or was interrupted.
        """
        self._enter(action, step)
        backend = self.backend
        budget = max(self._deadline - time.monotonic(), 0.0)
        deadline = backend.arm_timeout(budget)
        self._current, self._done = None, 0
        try:
            if step.is_callable:
                self.sent = None  # what it runs is unknown
                step.script(MigrationConnection(backend))  # type: ignore[operator]
                changes_session = True  # and may change anything
            else:
                changes_session = self._send(step, deadline)
        except BaseException as exc:
            if step.is_callable:
                _release_finished_frames(exc)
            failure = self._failure(action, step, exc)
            if failure is None:
                raise
            raise failure from exc
        current, statements_done = self._current, self._done
        if backend.disarm_timeout():
            self._restore_session(step, failed=True)
            raise self.failures.fired_after_return(
                action, step, current, statements_done, self.interrupted
            )
        if changes_session:
            self._restore_after(action, step, current, statements_done)
        if self.fault is not no_fault and action.kind is not ActionKind.ROLLBACK:
            self.fault(f"after_step:{step.index}")

    def _send(self, step: PlannedStep, deadline: float) -> bool:
        """Send the statements of an SQL step; tell whether one may have changed the session.

        Each statement's text is read once (one slice of the script) and serves the driver,
        the session test and the unit's commit check (issue 14). ``_current`` and ``_done``
        say how far it got when it raises.
        """
        backend = self.backend
        send, may_change = backend.statement_sender(), session_check(backend.dialect)
        monotonic, guard, sent = time.monotonic, self.guard, self.sent
        changes_session = False
        for statement in step.statements:
            self._current = statement
            if monotonic() >= deadline:
                raise TimeoutError
            if guard is not None and guard.requested:
                raise CtrlCError
            text, data = statement.text, statement.data
            if data is None:
                send(text)
            else:
                backend.execute_statement(text, data)
            self._done += 1
            changes_session = changes_session or may_change(text)
            if sent is not None:
                sent.append(text)
                self._sent_size += len(text)
                if self._sent_size > _SENT_MAX:
                    sent = self.sent = None
        return changes_session

    def _failure(
        self, action: SchemaAction, step: PlannedStep, exc: BaseException
    ) -> StepFailedError | None:
        """What a step that raised ``exc`` failed with (None: let ``exc`` itself through)."""
        fired = self.backend.disarm_timeout()
        # A StateError is the transaction's, not the step's: PostgreSQL sends a transaction's
        # BEGIN, and its session check, with the first statement (issue 14).
        if isinstance(exc, KeyboardInterrupt | SystemExit | StateError):
            return None
        current, statements_done = self._current, self._done
        failure = (
            self.failures.cancelled_by_ctrl_c(action, step, current, exc, statements_done)
            if self.interrupted()
            else self.failures.of_step(
                action, step, current, exc, fired=fired, statements_done=statements_done
            )
        )
        self._restore_session(step, failed=True)
        return failure

    def _restore_after(
        self,
        action: SchemaAction,
        step: PlannedStep,
        current: PlannedStatement | None,
        statements_done: int,
    ) -> None:
        """Restore the session after a step that may have changed it; a failure fails the step."""
        try:
            self.backend.restore_session(None)
        except Exception as exc:
            if not self.backend.is_driver_error(exc):
                raise
            # The step ran; only putting the session back failed. Its statements count as done,
            # so a non-transactional database records the step as uncertain, never as not run.
            raise self.failures.of_step(
                action, step, current, exc, fired=False, statements_done=statements_done
            ) from exc

    def _restore_session(self, step: PlannedStep, *, failed: bool = False) -> None:
        """Undo the step's session changes before the state writes and the next step (issue 11).

        After a failure the restore is best effort: the failure is what gets reported, and a
        connection already dropped as broken is left alone.
        """
        # A generator: one statement's text at a time, never a copy of a whole big script.
        statements = None if step.is_callable else (s.text for s in step.statements)
        if not failed:
            self.backend.restore_session(statements)
        elif self.backend.is_connected:
            with contextlib.suppress(Exception):
                self.backend.restore_session(statements, failed=True)
