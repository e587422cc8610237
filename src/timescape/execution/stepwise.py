"""The step-by-step path: no transactional DDL (MySQL/MariaDB), or ``transactional = false``.

Each step is marked started before it runs and done after, so a crash leaves evidence of exactly
which step was in flight. A step whose outcome cannot be known becomes ``uncertain``; Timescape
never guesses.
"""

from __future__ import annotations

from dataclasses import replace

from timescape.execution.failures import (
    StepFailedError,
    StepFailures,
    failed_status,
    uncertain_error,
)
from timescape.execution.recording import (
    Emit,
    Recorder,
    SchemaOutcome,
    callback_for,
    payload_for,
)
from timescape.execution.steps import StepRunner, ms_since
from timescape.model.plan import ActionKind, Plan, SchemaAction
from timescape.model.state import SchemaState, SchemaStatus
from timescape.store.base import Backend
from timescape.store.state import StateStore, now

__all__ = ["StepwisePath"]


class StepwisePath:
    """Runs a plan step by step, one state transaction between two steps; owned by the executor.

    The crash evidence needs one write before a step and one after it, not more (issue 14): the
    record that step k is done is the one that marks step k+1 in flight, and a schema's final row
    and event commit with the next schema's first in-flight row. The last transaction also holds
    the version activation, the run marker's clearing and the generation.
    """

    def __init__(
        self,
        backend: Backend,
        store: StateStore,
        *,
        steps: StepRunner,
        failures: StepFailures,
        record: Recorder,
        emit: Emit,
    ) -> None:
        """Bind to the backend and store, and to the executor's parts it shares."""
        self.backend = backend
        self.store = store
        self.steps = steps
        self.failures = failures
        self.record = record
        self.emit = emit
        # Schemas whose final row waits in the open transaction (the action, its steps in
        # place, the outcome and the callback payload), and the committed outcomes.
        self._carry: list[tuple[SchemaAction, int, SchemaOutcome]] = []
        self._outcomes: list[SchemaOutcome] = []

    def run(self, plan: Plan) -> list[SchemaOutcome]:
        """Run every action of ``plan`` (its run marker committed); return the outcomes.

        Raises:
            MigrationError: A step or a state write failed (recorded first, when possible).
        """
        self._carry = []
        self._outcomes = []
        for action in plan.actions:
            self._run_action(plan, action)
        if not self.backend.in_transaction:
            self.backend.begin()
        try:
            self.record.finish_versions(plan, deactivate=False)
            self.store.set_run_marker(None)
            self._commit_state(bump=True)
        except Exception as exc:
            self._state_write_failed(plan, exc, None, 0, 0)
            raise
        self.record.emit_versions(plan, deactivate=False)
        return self._outcomes

    def _commit_state(self, *, bump: bool = False) -> None:
        """Commit the open state transaction; then report the schemas it finished."""
        record = self.record
        if bump or record.withdrawn:
            # A schema taken out of service (its first rollback write) moves the generation at
            # once, so no reader keeps it for usable; additions wait for the run's last commit.
            self.store.bump_generation()
        self.backend.commit()
        record.withdrawn = False
        carried, self._carry = self._carry, []
        for _action, _done, outcome in carried:
            self._outcomes.append(outcome)
            self.emit(callback_for(outcome), payload_for(outcome))

    def _run_action(self, plan: Plan, action: SchemaAction) -> None:
        started = self.steps.start_budget()
        done = action.steps_done_before
        rollback = action.kind is ActionKind.ROLLBACK
        steps = action.steps
        run_step = self.steps.run
        try:
            self.steps.fault(f"before_schema:{action.name}")
            for position, step in enumerate(steps):
                if position == 0:
                    # Joins the previous schema's final row, when its transaction is still open.
                    if not self.backend.in_transaction:
                        self.backend.begin()
                    self._write_progress(action, done=done, in_flight=step.index)
                    self._commit_state()
                try:
                    run_step(action, step)
                except StepFailedError as failure:
                    self._record_failure(plan, action, failure, done, ms_since(started))
                    raise failure.error from failure.__cause__
                if action.kind in (ActionKind.APPLY, ActionKind.ROLLBACK):
                    done = step.index - 1 if rollback else step.index
                if position + 1 < len(steps):
                    # Step k done and step k+1 in flight: one row, one transaction.
                    self.backend.begin()
                    self._write_progress(action, done=done, in_flight=steps[position + 1].index)
                    self._commit_state()
            if not self.backend.in_transaction:
                self.backend.begin()
            outcome = self.record.success(action, ms_since(started), len(steps))
            # Committed with the next schema's first write, or with the run's last transaction.
            self._carry.append((action, done, outcome))
        except Exception as exc:
            self._state_write_failed(plan, exc, action, done, ms_since(started))
            raise

    def _state_write_failed(
        self,
        plan: Plan,
        exc: Exception,
        action: SchemaAction | None,
        done: int,
        duration: int,
    ) -> None:
        """A state write or commit between steps failed: record what is certain, then raise.

        A schema whose final row was in the failed transaction (the first carried one) is the
        one reported: all its steps are in place. Otherwise ``done`` steps of ``action`` are.

        Raises:
            MigrationError: For a driver error (other exceptions are left to the caller).
        """
        if not self.backend.is_driver_error(exc):
            if self._carry and self.backend.in_transaction:
                # Not a state write's failure: the finished schemas' rows are true; keep them.
                try:
                    self._commit_state()
                except Exception:
                    self.backend.rollback()
                    self._carry = []
            return
        self.backend.rollback()
        if self._carry:
            action, done, _ = self._carry[0]
            self._carry = []
        if action is None:
            return
        # ``done`` steps are in place for certain. Record exactly that (a separate write, which
        # may well succeed where this one failed), so verify flags it and a retry resumes
        # after them.
        failure = self.failures.of_state_write(action.name, exc, steps_in_place=done)
        self._record_failure(plan, action, failure, done, duration)
        raise failure.error from exc

    def _write_progress(self, action: SchemaAction, *, done: int, in_flight: int | None) -> None:
        row = self.record.rows.get(action.name)
        schema = action.schema
        base = row or SchemaState(name=action.name, status=SchemaStatus.PENDING)
        if action.kind is ActionKind.ROLLBACK and base.status is SchemaStatus.APPLIED:
            # From its first rollback step on, the schema is no longer whole: ``applied`` would
            # tell the hot path (and every reader until the next run) that it may be used.
            base = replace(base, status=SchemaStatus.ROLLED_BACK)
        if action.kind in (ActionKind.APPLY, ActionKind.ROLLBACK):
            new = replace(
                base,
                steps_done=done,
                checksums=schema.checksums[:done],
                rollback_checksums=schema.rollback_checksums[:done],
                parents=schema.parents,
                step_in_flight=in_flight,
                attempt_started_at=now() if in_flight is not None else None,
            )
        else:
            new = replace(
                base,
                step_in_flight=in_flight,
                attempt_started_at=now() if in_flight is not None else None,
            )
        self.record.write_row(new, action)

    def _record_failure(
        self, plan: Plan, action: SchemaAction, failure: StepFailedError, done: int, duration: int
    ) -> None:
        error = failure.error
        uncertain = failure.statements_done > 0 or failure.uncertain
        row = self.record.rows.get(action.name) or SchemaState(
            name=action.name, status=SchemaStatus.PENDING
        )
        if uncertain:
            detail = (
                f"{failure.statements_done} statement(s) of step {failure.step} committed "
                "before the failure"
                if failure.statements_done
                else f"step {failure.step} may have changed the database, in part or in full"
            )
            error = uncertain_error(
                error,
                schema=action.name,
                step=failure.step,
                detail=f"{detail}; check the database, then run: timescape schema resolve "
                f"{action.name} --steps-done K",
            )
            new = replace(
                row,
                status=SchemaStatus.UNCERTAIN,
                step_in_flight=failure.step,
                error=error.message,
                duration_ms=duration,
            )
        else:
            new = replace(
                row,
                status=failed_status(error),
                steps_done=done,
                step_in_flight=None,
                attempt_started_at=None,
                error=error.message,
                duration_ms=duration,
                checksums=action.schema.checksums[:done]
                if action.kind is ActionKind.APPLY
                else row.checksums,
            )
        failure.error = error
        self.record.failure(plan, action, new, error, duration)
