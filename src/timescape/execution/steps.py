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
from timescape.execution.failures import CtrlCError, StepFailures
from timescape.model.plan import ActionKind, PlannedStatement, PlannedStep, SchemaAction
from timescape.store.base import Backend

if TYPE_CHECKING:
    from timescape.engine.interrupt import InterruptGuard

__all__ = ["MigrationConnection", "StepRunner", "ms_since"]

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
        point = (
            f"during_rollback:{step.index}"
            if action.kind is ActionKind.ROLLBACK
            else f"before_step:{step.index}"
        )
        self.fault(point)
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
        budget = max(self._deadline - time.monotonic(), 0.0)
        deadline = self.backend.arm_timeout(budget)
        statements_done = 0
        current: PlannedStatement | None = None
        try:
            if step.is_callable:
                step.script(MigrationConnection(self.backend))  # type: ignore[operator]
            else:
                for statement in step.statements:
                    current = statement
                    if time.monotonic() >= deadline:
                        raise TimeoutError
                    if self.interrupted():
                        raise CtrlCError
                    self.backend.execute_statement(statement.text, statement.data)
                    statements_done += 1
        except BaseException as exc:
            fired = self.backend.disarm_timeout()
            # A StateError is the transaction's, not the step's: PostgreSQL sends a transaction's
            # BEGIN, and its session check, with the first statement (issue 14).
            if isinstance(exc, KeyboardInterrupt | SystemExit | StateError):
                raise
            failure = (
                self.failures.cancelled_by_ctrl_c(action, step, current, exc, statements_done)
                if self.interrupted()
                else self.failures.of_step(
                    action, step, current, exc, fired=fired, statements_done=statements_done
                )
            )
            self._restore_session(step, failed=True)
            raise failure from exc
        if self.backend.disarm_timeout():
            self._restore_session(step, failed=True)
            raise self.failures.fired_after_return(
                action, step, current, statements_done, self.interrupted
            )
        self._restore_after(action, step, current, statements_done)
        if action.kind is not ActionKind.ROLLBACK:
            self.fault(f"after_step:{step.index}")

    def _restore_after(
        self,
        action: SchemaAction,
        step: PlannedStep,
        current: PlannedStatement | None,
        statements_done: int,
    ) -> None:
        """Restore the session after a step that ran; a failure to do so fails the step."""
        try:
            self._restore_session(step)
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
