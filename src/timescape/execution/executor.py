"""Execute a :class:`~timescape.model.plan.Plan`: the transaction discipline of each database.

- Transactional DDL (PostgreSQL, SQLite): each applied schema is one transaction holding its steps
  and its state row; a deactivation is one transaction holding every rollback and the version flag,
  so a failed rollback leaves everything as it was. A failure is recorded afterwards in a
  separate transaction. That path is here.
- Otherwise (MySQL/MariaDB, or a schema declared ``transactional = false``): each step is marked
  started before it runs and done after, so a crash leaves evidence of exactly which step was in
  flight. A step whose outcome cannot be known becomes ``uncertain``; Timescape never guesses.
  That path is :mod:`timescape.execution.stepwise`.

A run marker committed before the first change lets the next run (or ``verify``) report a run that
died before recording its outcome as *interrupted*.

The :class:`Executor` owns its parts, one job each: a :class:`~.steps.StepRunner` runs a step
under the schema's budget, :class:`~.failures.StepFailures` says what a failed step left, a
:class:`~.recording.Recorder` writes the run's rows and events, and a
:class:`~.stepwise.StepwisePath` runs the step-by-step path.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import replace

from timescape._faults import armed, fault_point
from timescape._log import LazyLogger
from timescape.engine.interrupt import InterruptGuard
from timescape.errors import MigrationError
from timescape.execution.failures import StepFailedError, StepFailures, failed_status
from timescape.execution.recording import (
    Emit,
    Recorder,
    SchemaOutcome,
    callback_for,
    payload_for,
)
from timescape.execution.steps import MigrationConnection, StepRunner, ms_since, no_fault
from timescape.execution.stepwise import StepwisePath
from timescape.model.catalog import Catalog
from timescape.model.plan import ActionKind, Plan, SchemaAction
from timescape.model.state import SchemaState, SchemaStatus, StateSnapshot
from timescape.store.base import Backend, ErrorKind
from timescape.store.state import RunMarker, StateStore, now

__all__ = ["Executor", "MigrationConnection", "SchemaOutcome"]

logger = LazyLogger("timescape.executor")
"""Progress: a DEBUG record per run (``extra`` ``timescape_plan``) and per step
(``timescape_step``: the action and the step), for progress displays such as the CLI's."""


class Executor:
    """Runs plans for one backend and state store. Call only while holding the Timescape lock."""

    def __init__(
        self,
        backend: Backend,
        store: StateStore,
        *,
        actor: str,
        migration_timeout: float,
        emit: Emit,
    ) -> None:
        """Bind the executor.

        Args:
            backend: The connected backend (lock held).
            store: The state store on that backend.
            actor: Who runs it, for the event log.
            migration_timeout: Per-schema budget in seconds.
            emit: Called with ``(callback_name, payload)`` after each committed outcome.
        """
        self.backend = backend
        self.store = store
        self.actor = actor
        self.migration_timeout = migration_timeout
        self.emit = emit
        self._failures = StepFailures(backend, migration_timeout)
        self._steps = StepRunner(backend, self._failures, migration_timeout)
        self._record = Recorder(backend, store, actor=actor, emit=emit)
        self._stepwise_path = StepwisePath(
            backend,
            store,
            steps=self._steps,
            failures=self._failures,
            record=self._record,
            emit=emit,
        )

    # -- entry point --------------------------------------------------------------------------

    def run(self, plan: Plan, catalog: Catalog, snapshot: StateSnapshot) -> list[SchemaOutcome]:
        """Execute ``plan``; return the outcomes, or raise the first failure after recording it.

        While it runs, Ctrl-C cancels the running statement on the server and ends the run
        with :class:`MigrationInterruptedError` once the outcome is recorded (see
        :mod:`timescape.engine.interrupt`).

        Args:
            plan: The plan, made under the lock from ``snapshot``.
            catalog: The definitions the plan came from.
            snapshot: The state the plan was made from.

        Returns:
            One outcome per action.

        Raises:
            MigrationError: A step failed, timed out or was interrupted (recorded in the state
                tables first).
            TimescapeError: A state write failed.
        """
        with InterruptGuard(self.backend) as guard:
            self._steps.guard = guard
            try:
                return self._run(plan, catalog, snapshot)
            finally:
                self._steps.guard = None

    def _run(self, plan: Plan, catalog: Catalog, snapshot: StateSnapshot) -> list[SchemaOutcome]:
        # Fault points cost an environment lookup each; a run without faults skips them all.
        fault = fault_point if armed() else no_fault
        self._steps.fault = fault
        record = self._record
        record.start(snapshot, plan.forced)
        logger.debug("running %s %s", plan.operation, plan.target, extra={"timescape_plan": plan})
        marker = RunMarker(
            operation=plan.operation,
            target=plan.target,
            schemas=tuple(a.name for a in plan.actions),
            started_at=now(),
            actor=self.actor,
        )
        stepwise = (not self.backend.transactional_ddl) or any(
            not a.schema.transactional for a in plan.actions
        )
        # Whether steps commit on their own (then what a failed step left matters).
        self._failures.stepwise = stepwise
        # The run marker commits on its own before the first change, so a run killed anywhere
        # after it (inside its first schema too) is reported as interrupted (DESIGN §2). Its
        # generation move makes every snapshot cached before the run stale; the run's last
        # commit moves it again, and the commits in between leave it (issue 14).
        self.backend.begin()
        self.store.sync_versions(catalog, snapshot)
        self.store.set_run_marker(marker)
        if stepwise and plan.deactivate:
            # Without transactional DDL a deactivation cannot be atomic: take the version out of
            # service first, so no request is routed to it while its schema is half rolled back.
            record.finish_versions(plan, activate=False)
        self.store.bump_generation()
        self.backend.commit()
        if stepwise:
            # Committed already: say so now, even if a rollback step fails below.
            record.emit_versions(plan, activate=False)
        fault("after_run_marker")
        if stepwise:
            return self._stepwise_path.run(plan)
        return self._run_transactional(plan)

    # -- transactional path -------------------------------------------------------------------

    def _run_transactional(self, plan: Plan) -> list[SchemaOutcome]:
        units: list[list[SchemaAction]]
        if plan.operation in ("deactivate", "rollback"):
            units = [list(plan.actions)]
        else:
            units = [[a] for a in plan.actions] or [[]]
        outcomes: list[SchemaOutcome] = []
        for i, unit in enumerate(units):
            final = i == len(units) - 1
            outcomes.extend(self._run_unit(plan, unit, final=final))
        return outcomes

    def _run_unit(
        self, plan: Plan, unit: list[SchemaAction], *, final: bool
    ) -> list[SchemaOutcome]:
        pending: list[SchemaOutcome] = []
        current: SchemaAction | None = None
        steps = self._steps
        record = self._record
        fault = steps.fault
        run_step = steps.run
        started = time.monotonic()
        # What the database holds if this unit rolls back: rows written inside it must not be
        # mistaken for committed ones when the failure is recorded afterwards. An undo log, not
        # a copy: copying every row per unit made a long chain quadratic.
        record.undo = []
        steps.collect()
        self.backend.begin()
        try:
            for action in unit:
                # The previous schema's queued state writes go now, so a failure among them is
                # reported as theirs, not as this schema's first step.
                self.backend.flush_writes()
                current = action
                started = steps.start_budget()
                if fault is not no_fault:
                    fault(f"before_schema:{action.name}")
                for step in action.steps:
                    run_step(action, step)
                duration = ms_since(started)
                pending.append(record.success(action, duration, len(action.steps)))
            self._close_unit(plan, unit, current, final=final)
            fault("before_commit")
            self.backend.commit()
            fault("after_commit_before_release")
        except StepFailedError as failure:
            self.backend.rollback()
            record.undo_unit()
            assert current is not None  # noqa: S101 - a step failure always has an action
            self._record_failure(plan, current, failure, ms_since(started))
            raise failure.error from failure.__cause__
        except BaseException as exc:
            self._abort_unit(plan, current, exc, started)
            raise
        for outcome in pending:
            self.emit(callback_for(outcome), payload_for(outcome))
        if final:
            record.emit_versions(plan)
        return pending

    def _close_unit(
        self, plan: Plan, unit: list[SchemaAction], current: SchemaAction | None, *, final: bool
    ) -> None:
        """The unit's last writes before its commit, and the dialect's check of its changes.

        Raises:
            StepFailedError: The dialect refuses to commit what the unit left.
        """
        if final:
            self._record.finish_versions(plan)
            self.store.set_run_marker(None)
        if final or self._record.withdrawn:
            # Once per run, not per schema (issue 14): the run marker's commit made every
            # snapshot cached before the run stale, this one makes those read meanwhile stale.
            # Schemas applied in between only add what no live version uses yet; one taken out
            # of service (``withdrawn``) moves it at once.
            self.store.bump_generation()
            self._record.withdrawn = False
        sent = self._steps.sent
        problem = self.backend.before_commit_check(
            sent if sent is not None else _statements_of(unit)
        )
        if problem is not None:
            raise StepFailedError(
                MigrationError(
                    schema=current.name if current else plan.target, step=None, reason=problem
                ),
                step=0,
                statements_done=0,
            )

    def _abort_unit(
        self,
        plan: Plan,
        current: SchemaAction | None,
        exc: BaseException,
        started: float,
    ) -> None:
        """Roll back a unit that failed outside its steps; translate a driver error.

        The steps ran but writing their state (or the commit) failed: the transaction rolls
        back, so nothing of the unit remains. A driver error is re-raised as a
        :class:`MigrationError` naming the state write, after recording the failure.

        Raises:
            MigrationError: For a driver error; other exceptions are left to the caller.
        """
        driver = self.backend.is_driver_error(exc)
        lost = driver and self.backend.classify_error(exc) == ErrorKind.CONNECTION_LOST
        self.backend.rollback()
        self._record.undo_unit()
        if not driver or not isinstance(exc, Exception):
            return
        failure = self._failures.of_state_write(current.name if current else plan.target, exc)
        if current is not None and not lost:
            # After a lost connection the commit may have landed: recording "failed" could be a
            # lie. The run marker (cleared only by that commit) tells the next run.
            self._record_failure(plan, current, failure, ms_since(started))
        raise failure.error from exc

    def _record_failure(
        self, plan: Plan, action: SchemaAction, failure: StepFailedError, duration: int
    ) -> None:
        """Record a failed unit's schema; its transaction rolled back, so none of it remains."""
        error = failure.error
        row = self._record.rows.get(action.name)
        if action.kind is ActionKind.APPLY:
            new = SchemaState(
                name=action.name,
                status=failed_status(error),
                steps_done=action.steps_done_before,
                checksums=row.checksums if row else (),
                rollback_checksums=row.rollback_checksums if row else (),
                parents=action.schema.parents,
                applied_at=row.applied_at if row else None,
                rolled_back_at=row.rolled_back_at if row else None,
                duration_ms=duration,
                error=error.message,
                contract_done=row.contract_done if row else False,
            )
        else:
            # Rollback, contract and uncontract failures changed nothing: the transaction rolled
            # back, so the schema keeps its status; only the error is recorded.
            base = row or SchemaState(name=action.name, status=SchemaStatus.APPLIED)
            new = replace(base, error=error.message, duration_ms=duration)
        self._record.failure(plan, action, new, error, duration)


def _statements_of(unit: Sequence[SchemaAction]) -> Iterable[str] | None:
    """The SQL a unit runs (one text at a time), or None when a Python step runs."""
    steps = [step for action in unit for step in action.steps]
    if any(step.is_callable for step in steps):
        return None
    return (statement.text for step in steps for statement in step.statements)
