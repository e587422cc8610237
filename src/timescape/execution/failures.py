"""What a failed step left: the error to report, and how far the step got (never guessed).

A step ends badly in one of a few ways: its statement failed, the schema's budget ran out, Ctrl-C
cancelled it, the connection was lost, or only the state write after it failed. Each becomes a
:class:`StepFailedError` carrying the Timescape error to report and what is known of the step's
progress; :mod:`timescape.engine.outcome` answers whether a statement that ended badly may have
written. Only failure paths come here: nothing in this module runs while steps succeed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from timescape.engine.outcome import may_have_written
from timescape.errors import (
    MigrationError,
    MigrationInterruptedError,
    MigrationTimeoutError,
    TimescapeError,
)
from timescape.model.plan import ActionKind, PlannedStatement, PlannedStep, SchemaAction
from timescape.model.state import SchemaStatus
from timescape.store.base import Backend, ErrorKind

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "CtrlCError",
    "StepFailedError",
    "StepFailures",
    "error_facts",
    "failed_status",
    "uncertain_error",
]


class StepFailedError(Exception):
    """Internal: a step failed; carries what is known about how far it got."""

    def __init__(
        self,
        error: TimescapeError,
        *,
        step: int,
        statements_done: int,
        uncertain: bool = False,
    ) -> None:
        """Carry ``error`` and the step's progress (statements that may have written)."""
        super().__init__(error.message)
        self.error = error
        self.step = step
        self.statements_done = statements_done
        self.uncertain = uncertain


class CtrlCError(Exception):
    """Internal: Ctrl-C was pressed between two statements of a step."""


def failed_status(error: TimescapeError) -> SchemaStatus:
    """``interrupted`` after Ctrl-C (nothing of the step remains), else ``failed``."""
    if isinstance(error, MigrationInterruptedError):
        return SchemaStatus.INTERRUPTED
    return SchemaStatus.FAILED


class StepFailures:
    """Turns what ended a step (or a state write) into the error to report, for one backend.

    Owned by the executor and shared with its step runner and step-by-step path. ``stepwise``
    is set per run: only where steps commit on their own does what a failed step left matter.
    """

    def __init__(self, backend: Backend, migration_timeout: float) -> None:
        """Bind to the backend that ran the steps, and the per-schema budget they shared."""
        self.backend = backend
        self.migration_timeout = migration_timeout
        self.stepwise = True

    def timeout(
        self, action: SchemaAction, step: PlannedStep, current: PlannedStatement | None
    ) -> MigrationTimeoutError:
        """The schema's ``migration_timeout`` ran out during ``step``."""
        return MigrationTimeoutError(
            schema=action.name,
            step=step.index,
            timeout_s=self.migration_timeout,
            statement=current.text if current else None,
            file=step.file,
            line=current.line if current else None,
            phase="rollback" if action.kind is ActionKind.ROLLBACK else "apply",
        )

    def cancelled_by_ctrl_c(
        self,
        action: SchemaAction,
        step: PlannedStep,
        current: PlannedStatement | None,
        exc: BaseException,
        statements_done: int,
    ) -> StepFailedError:
        """The step ended in an error after Ctrl-C: the statement was cancelled (or never ran)."""
        uncertain = False
        if not isinstance(exc, CtrlCError):
            lost = self.backend.classify_error(exc) == ErrorKind.CONNECTION_LOST
            uncertain = may_have_written(
                self.backend,
                current.text if current else None,
                ending="lost" if lost else "cancelled",
            )
        return self.interrupted(
            action, step, current, statements_done=statements_done, uncertain=uncertain
        )

    def fired_after_return(
        self,
        action: SchemaAction,
        step: PlannedStep,
        current: PlannedStatement | None,
        statements_done: int,
        interrupted: Callable[[], bool],
    ) -> StepFailedError:
        """The deadline passed, or Ctrl-C cancelled, while the last statement returned normally.

        On MySQL a killed SLEEP() returns normally, and a DDL may or may not have landed before
        the KILL: the statement ran, perhaps to its end, so only a proven read changed nothing.
        ``interrupted`` is asked after that proof, which may query the server.
        """
        uncertain = may_have_written(self.backend, current.text if current else None, ending="lost")
        done = max(statements_done - 1, 0)
        if interrupted():
            return self.interrupted(
                action, step, current, statements_done=done, uncertain=uncertain
            )
        return StepFailedError(
            self.timeout(action, step, current),
            step=step.index,
            statements_done=self.writes_before(step, done),
            uncertain=uncertain,
        )

    def interrupted(
        self,
        action: SchemaAction,
        step: PlannedStep,
        current: PlannedStatement | None,
        *,
        statements_done: int,
        uncertain: bool,
    ) -> StepFailedError:
        """Ctrl-C ended the step (between two steps, ``current`` is None)."""
        error = MigrationInterruptedError(
            schema=action.name,
            step=step.index,
            statement=current.text if current else None,
            file=step.file,
            line=current.line if current else None,
            phase="rollback" if action.kind is ActionKind.ROLLBACK else "apply",
        )
        return StepFailedError(
            error,
            step=step.index,
            statements_done=self.writes_before(step, statements_done),
            uncertain=uncertain,
        )

    def of_step(
        self,
        action: SchemaAction,
        step: PlannedStep,
        current: PlannedStatement | None,
        exc: BaseException,
        *,
        fired: bool,
        statements_done: int,
    ) -> StepFailedError:
        """The step raised ``exc`` (``fired``: its deadline had passed); drops a lost connection."""
        kind = (
            ErrorKind.TIMEOUT
            if isinstance(exc, TimeoutError)
            else (self.backend.classify_error(exc))
        )
        phase = "rollback" if action.kind is ActionKind.ROLLBACK else "apply"
        error: MigrationError
        text = current.text if current is not None else None
        if kind == ErrorKind.CONNECTION_LOST:
            ending = "lost"
        elif fired or kind == ErrorKind.TIMEOUT:
            ending = "cancelled"
        else:
            ending = "failed"
        # Never guessed from the first keyword (issue 11): SELECT f(), DO f(), NEXTVAL() write.
        uncertain = self.stepwise and may_have_written(self.backend, text, ending=ending)
        if fired or kind == ErrorKind.TIMEOUT:
            error = self.timeout(action, step, current)
        else:
            reason = self.backend.describe_error(exc)
            detail = None
            if kind == ErrorKind.CONNECTION_LOST:
                reason = f"connection lost during step {step.index}: {reason}"
            elif kind == ErrorKind.LOCK_NOT_AVAILABLE:
                reason = (
                    f"could not get a table lock within {self.backend.ddl_lock_timeout:g} s "
                    f"({reason}); the application holds it. Retry when traffic is lower, or "
                    "raise ddl_lock_timeout"
                )
            elif kind == ErrorKind.DISK_FULL:
                reason = f"database or disk is full: {reason}"
            error = MigrationError(
                schema=action.name,
                step=step.index,
                reason=reason,
                statement=current.text if current else None,
                file=step.file,
                line=current.line if current else None,
                phase=phase,
                detail=detail,
            )
        if kind == ErrorKind.CONNECTION_LOST:
            self.backend.drop_broken()
        return StepFailedError(
            error,
            step=step.index,
            statements_done=self.writes_before(step, statements_done),
            uncertain=uncertain,
        )

    def writes_before(self, step: PlannedStep, count: int) -> int:
        """How many of the step's first ``count`` statements (all finished) may have written.

        Finished reads leave nothing behind, so a step whose earlier statements only read is as
        clean as one that failed on its first statement.
        """
        if count == 0 or step.is_callable or not self.stepwise:
            return count
        return sum(
            may_have_written(self.backend, statement.text, ending="lost")
            for statement in step.statements[:count]
        )

    def of_state_write(
        self, schema: str, exc: Exception, *, steps_in_place: int | None = None
    ) -> StepFailedError:
        """Describe a driver error raised by a state write or a commit, not by a step.

        Args:
            schema: The schema being applied or rolled back.
            exc: The driver error.
            steps_in_place: Steps known to be in place (stepwise runs); None when the whole
                transaction rolled back.
        """
        kind = self.backend.classify_error(exc)
        outcome = (
            "nothing was committed"
            if steps_in_place is None
            else f"{steps_in_place} step(s) are in place"
        )
        reason = self.backend.describe_error(exc)
        if kind == ErrorKind.CONNECTION_LOST:
            self.backend.drop_broken()
            reason = (
                f"connection lost while writing the state tables or committing ({reason}); the "
                "commit may or may not have landed: run timescape verify"
            )
        elif kind == ErrorKind.LOCK_NOT_AVAILABLE:
            reason = (
                f"writing the state tables failed: {reason} (another connection holds the "
                f"database; waited {self.backend.ddl_lock_timeout:g} s); {outcome}"
            )
        else:
            reason = f"writing the state tables failed: {reason}; {outcome}"
        return StepFailedError(
            MigrationError(schema=schema, step=None, reason=reason), step=0, statements_done=0
        )


def error_facts(error: TimescapeError) -> dict[str, Any]:
    """The error's facts for the failure event, without the schema (the event names it)."""
    facts = error.facts()
    facts.pop("schema", None)
    return {k: v for k, v in facts.items() if v is not None}


def uncertain_error(
    error: TimescapeError, *, schema: str, step: int, detail: str
) -> MigrationError:
    """Restate a step's error with what is uncertain about it, keeping its class and facts.

    A timeout stays a :class:`MigrationTimeoutError` and a rollback step stays in the rollback
    phase, so callers catching the specific class, and the message, still say what happened.

    Args:
        error: The step's error.
        schema: The schema.
        step: The step whose outcome is unknown.
        detail: What is uncertain and what to do next.

    Returns:
        The restated error.
    """
    if isinstance(error, MigrationTimeoutError):
        return MigrationTimeoutError(
            schema=schema,
            step=step,
            timeout_s=error.timeout_s,
            statement=error.statement,
            file=error.file,
            line=error.line,
            phase=error.phase,
            detail=detail,
        )
    if isinstance(error, MigrationInterruptedError):
        return MigrationInterruptedError(
            schema=schema,
            step=step,
            statement=error.statement,
            file=error.file,
            line=error.line,
            phase=error.phase,
            detail=detail,
        )
    if isinstance(error, MigrationError):
        return MigrationError(
            schema=schema,
            step=step,
            reason=error.reason,
            statement=error.statement,
            file=error.file,
            line=error.line,
            phase=error.phase,
            detail=detail,
        )
    return MigrationError(schema=schema, step=step, reason=error.message, detail=detail)
