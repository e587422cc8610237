"""Execute a :class:`~timescape.model.plan.Plan`: the transaction discipline of each database.

- Transactional DDL (PostgreSQL, SQLite): each applied schema is one transaction holding its steps
  and its state row; a deactivation is one transaction holding every rollback and the version flag,
  so a failed rollback leaves everything as it was. A failure is recorded afterwards in a
  separate transaction.
- Otherwise (MySQL/MariaDB, or a schema declared ``transactional = false``): each step is marked
  started before it runs and done after, so a crash leaves evidence of exactly which step was in
  flight. A step whose outcome cannot be known becomes ``uncertain``; Timescape never guesses.

A run marker committed before the first change lets the next run (or ``verify``) report a run that
died before recording its outcome as *interrupted*.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from timescape._faults import armed, fault_point
from timescape.engine.interrupt import InterruptGuard
from timescape.engine.outcome import may_have_written
from timescape.errors import (
    MigrationError,
    MigrationInterruptedError,
    MigrationTimeoutError,
    TimescapeError,
)
from timescape.model._overlay import Draft
from timescape.model.catalog import Catalog
from timescape.model.plan import ActionKind, Plan, PlannedStatement, PlannedStep, SchemaAction
from timescape.model.state import SchemaState, SchemaStatus, StateSnapshot
from timescape.store.base import Backend, ErrorKind
from timescape.store.state import RunMarker, StateStore, now

if TYPE_CHECKING:
    from datetime import datetime

__all__ = ["Executor", "MigrationConnection", "SchemaOutcome"]

Emit = Callable[[str, dict[str, Any]], None]
_APPLIED = SchemaStatus.APPLIED

logger = logging.getLogger("timescape.executor")
"""Progress: a DEBUG record per run (``extra`` ``timescape_plan``) and per step
(``timescape_step``: the action and the step), for progress displays such as the CLI's."""


@dataclass(frozen=True, slots=True)
class SchemaOutcome:
    """What happened to one schema during a run.

    Attributes:
        schema: Schema name.
        kind: The action (apply, rollback, contract, uncontract).
        status: The resulting status (``applied``, ``rolled_back``, ``failed``, ``uncertain``).
        steps_run: Steps executed in this run.
        duration_ms: Wall time of the action.
        error: The error message when it failed.
    """

    schema: str
    kind: ActionKind
    status: str
    steps_run: int
    duration_ms: int
    error: str | None = None


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


class _StepFailedError(Exception):
    """Internal: a step failed; carries what is known about how far it got."""

    def __init__(
        self,
        error: TimescapeError,
        *,
        step: int,
        statements_done: int,
        uncertain: bool = False,
    ) -> None:
        super().__init__(error.message)
        self.error = error
        self.step = step
        self.statements_done = statements_done
        self.uncertain = uncertain


class _CtrlCError(Exception):
    """Internal: Ctrl-C was pressed between two statements of a step."""


def _failed_status(error: TimescapeError) -> SchemaStatus:
    """``interrupted`` after Ctrl-C (nothing of the step remains), else ``failed``."""
    if isinstance(error, MigrationInterruptedError):
        return SchemaStatus.INTERRUPTED
    return SchemaStatus.FAILED


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
        # The run's view of the schema rows: its writes over the snapshot's, which are shared,
        # not copied (ten thousand of them, for a run that writes one or two; issue 14).
        self._rows: Draft[str, SchemaState] = Draft(StateSnapshot().schemas)
        self._written: set[str] = set()
        # Row changes of the open unit, oldest first: (name, row before, written before).
        self._undo: list[tuple[str, SchemaState | None, bool]] = []
        self._fault: Callable[[str], None] = fault_point
        self._deadline = time.monotonic() + migration_timeout
        self._forced: tuple[str, ...] = ()
        self._guard: InterruptGuard | None = None
        # Whether steps commit on their own (then what a failed step left matters).
        self._stepwise = True
        # A schema left the applied state in the open transaction: the generation must move.
        self._withdrawn = False
        # Stepwise runs: schemas whose final row waits in the open transaction (the action,
        # its steps in place, the outcome and the callback payload), and the committed outcomes.
        self._carry: list[tuple[SchemaAction, int, SchemaOutcome, dict[str, Any]]] = []
        self._outcomes: list[SchemaOutcome] = []

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
            self._guard = guard
            try:
                return self._run(plan, catalog, snapshot)
            finally:
                self._guard = None

    def _run(self, plan: Plan, catalog: Catalog, snapshot: StateSnapshot) -> list[SchemaOutcome]:
        # Fault points cost an environment lookup each; a run without faults skips them all.
        self._fault = fault_point if armed() else _no_fault
        self._rows = Draft(snapshot.schemas)
        self._forced = plan.forced
        self._written = set()
        self._undo = []
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
        self._stepwise = stepwise
        self._withdrawn = False
        # The run marker commits on its own before the first change, so a run killed anywhere
        # after it (inside its first schema too) is reported as interrupted (DESIGN §2). Its
        # generation move makes every snapshot cached before the run stale; the run's last
        # commit moves it again, and the commits in between leave it (issue 14).
        self._begin()
        self.store.sync_versions(catalog, snapshot)
        self.store.set_run_marker(marker)
        if stepwise and plan.deactivate:
            # Without transactional DDL a deactivation cannot be atomic: take the version out of
            # service first, so no request is routed to it while its schema is half rolled back.
            self._finish_versions(plan, activate=False)
        self.store.bump_generation()
        self._commit()
        if stepwise:
            # Committed already: say so now, even if a rollback step fails below.
            self._emit_versions(plan, activate=False)
        self._fault("after_run_marker")
        if stepwise:
            return self._run_stepwise(plan)
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
        pending: list[tuple[SchemaOutcome, dict[str, Any]]] = []
        current: SchemaAction | None = None
        started = time.monotonic()
        # What the database holds if this unit rolls back: rows written inside it must not be
        # mistaken for committed ones when the failure is recorded afterwards. An undo log, not
        # a copy: copying every row per unit made a long chain quadratic.
        self._undo = []
        self._begin()
        try:
            for action in unit:
                # The previous schema's queued state writes go now, so a failure among them is
                # reported as theirs, not as this schema's first step.
                self.backend.flush_writes()
                current = action
                started = self._start_budget()
                self._fault(f"before_schema:{action.name}")
                for step in action.steps:
                    self._run_step(action, step)
                duration = _ms_since(started)
                pending.append(self._record_success(action, duration, len(action.steps)))
            self._close_unit(plan, unit, current, final=final)
            self._fault("before_commit")
            self._commit()
            self._fault("after_commit_before_release")
        except _StepFailedError as failure:
            self.backend.rollback()
            self._undo_unit()
            assert current is not None  # noqa: S101 - a step failure always has an action
            self._record_failure_transactional(plan, current, failure, _ms_since(started))
            raise failure.error from failure.__cause__
        except BaseException as exc:
            self._abort_unit(plan, current, exc, started)
            raise
        for outcome, payload in pending:
            self.emit(_callback_for(outcome), payload)
        if final:
            self._emit_versions(plan)
        return [o for o, _ in pending]

    def _close_unit(
        self, plan: Plan, unit: list[SchemaAction], current: SchemaAction | None, *, final: bool
    ) -> None:
        """The unit's last writes before its commit, and the dialect's check of its changes.

        Raises:
            _StepFailedError: The dialect refuses to commit what the unit left.
        """
        if final:
            self._finish_versions(plan)
            self.store.set_run_marker(None)
        if final or self._withdrawn:
            # Once per run, not per schema (issue 14): the run marker's commit made every
            # snapshot cached before the run stale, this one makes those read meanwhile stale.
            # Schemas applied in between only add what no live version uses yet; one taken out
            # of service (``_withdrawn``) moves it at once.
            self.store.bump_generation()
            self._withdrawn = False
        problem = self.backend.before_commit_check(_statements_of(unit))
        if problem is not None:
            raise _StepFailedError(
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
        self._undo_unit()
        if not driver or not isinstance(exc, Exception):
            return
        failure = self._state_write_failure(current.name if current else plan.target, exc)
        if current is not None and not lost:
            # After a lost connection the commit may have landed: recording "failed" could be a
            # lie. The run marker (cleared only by that commit) tells the next run.
            self._record_failure_transactional(plan, current, failure, _ms_since(started))
        raise failure.error from exc

    def _record_failure_transactional(
        self, plan: Plan, action: SchemaAction, failure: _StepFailedError, duration: int
    ) -> None:
        error = failure.error
        row = self._rows.get(action.name)
        if action.kind is ActionKind.APPLY:
            new = SchemaState(
                name=action.name,
                status=_failed_status(error),
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
        self._write_failure(plan, action, new, error, duration)

    def _write_failure(
        self,
        plan: Plan,
        action: SchemaAction,
        new: SchemaState,
        error: TimescapeError,
        duration: int,
        *,
        clear_marker: bool = True,
    ) -> None:
        kind = "schema_failed" if action.kind is ActionKind.APPLY else f"{action.kind}_failed"
        try:
            if not self.backend.is_connected:
                self.backend.reconnect()
                self.backend.acquire_lock(timeout=self.backend.lock_timeout)
            self._begin()
            self._write_row(new, action)
            self.store.record_event(
                kind,
                action.name,
                actor=self.actor,
                duration_ms=duration,
                detail={
                    "error": error.message,
                    "operation": plan.operation,
                    "target": plan.target,
                    **_error_facts(error),
                },
            )
            if clear_marker:
                self.store.set_run_marker(None)
            self.store.bump_generation()
            self._commit()
        except Exception:
            # The failure could not be recorded (connection gone, disk full): the run marker
            # stays, and the next run reports this attempt as interrupted.
            self.backend.rollback()
            return
        self.emit(
            "on_schema_failed", {"schema": action.name, "error": error, "kind": str(action.kind)}
        )

    # -- stepwise path ------------------------------------------------------------------------

    def _run_stepwise(self, plan: Plan) -> list[SchemaOutcome]:
        """Run each action step by step, one state transaction between two steps.

        The crash evidence needs one write before a step and one after it, not more (issue 14):
        the record that step k is done is the one that marks step k+1 in flight, and a schema's
        final row and event commit with the next schema's first in-flight row. The last
        transaction also holds the version activation, the run marker's clearing and the
        generation.
        """
        self._carry = []
        self._outcomes = []
        for action in plan.actions:
            self._run_action_stepwise(plan, action)
        if not self.backend.in_transaction:
            self._begin()
        try:
            self._finish_versions(plan, deactivate=False)
            self.store.set_run_marker(None)
            self._commit_state(bump=True)
        except Exception as exc:
            self._state_write_failed(plan, exc, None, 0, 0)
            raise
        self._emit_versions(plan, deactivate=False)
        return self._outcomes

    def _commit_state(self, *, bump: bool = False) -> None:
        """Commit the open state transaction; then report the schemas it finished."""
        if bump or self._withdrawn:
            # A schema taken out of service (its first rollback write) moves the generation at
            # once, so no reader keeps it for usable; additions wait for the run's last commit.
            self.store.bump_generation()
        self._commit()
        self._withdrawn = False
        carried, self._carry = self._carry, []
        for _action, _done, outcome, payload in carried:
            self._outcomes.append(outcome)
            self.emit(_callback_for(outcome), payload)

    def _run_action_stepwise(self, plan: Plan, action: SchemaAction) -> None:
        started = self._start_budget()
        done = action.steps_done_before
        rollback = action.kind is ActionKind.ROLLBACK
        steps = action.steps
        try:
            self._fault(f"before_schema:{action.name}")
            for position, step in enumerate(steps):
                if position == 0:
                    # Joins the previous schema's final row, when its transaction is still open.
                    if not self.backend.in_transaction:
                        self._begin()
                    self._write_progress(action, done=done, in_flight=step.index)
                    self._commit_state()
                try:
                    self._run_step(action, step)
                except _StepFailedError as failure:
                    self._record_failure_stepwise(plan, action, failure, done, _ms_since(started))
                    raise failure.error from failure.__cause__
                if action.kind in (ActionKind.APPLY, ActionKind.ROLLBACK):
                    done = step.index - 1 if rollback else step.index
                if position + 1 < len(steps):
                    # Step k done and step k+1 in flight: one row, one transaction.
                    self._begin()
                    self._write_progress(action, done=done, in_flight=steps[position + 1].index)
                    self._commit_state()
            if not self.backend.in_transaction:
                self._begin()
            outcome, payload = self._record_success(action, _ms_since(started), len(steps))
            # Committed with the next schema's first write, or with the run's last transaction.
            self._carry.append((action, done, outcome, payload))
        except Exception as exc:
            self._state_write_failed(plan, exc, action, done, _ms_since(started))
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
            action, done, _, _ = self._carry[0]
            self._carry = []
        if action is None:
            return
        # ``done`` steps are in place for certain. Record exactly that (a separate write, which
        # may well succeed where this one failed), so verify flags it and a retry resumes
        # after them.
        failure = self._state_write_failure(action.name, exc, steps_in_place=done)
        self._record_failure_stepwise(plan, action, failure, done, duration)
        raise failure.error from exc

    def _write_progress(self, action: SchemaAction, *, done: int, in_flight: int | None) -> None:
        row = self._rows.get(action.name)
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
        self._write_row(new, action)

    def _record_failure_stepwise(
        self, plan: Plan, action: SchemaAction, failure: _StepFailedError, done: int, duration: int
    ) -> None:
        error = failure.error
        uncertain = failure.statements_done > 0 or failure.uncertain
        row = self._rows.get(action.name) or SchemaState(
            name=action.name, status=SchemaStatus.PENDING
        )
        if uncertain:
            detail = (
                f"{failure.statements_done} statement(s) of step {failure.step} committed "
                "before the failure"
                if failure.statements_done
                else f"step {failure.step} may have changed the database, in part or in full"
            )
            error = _uncertain_error(
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
                status=_failed_status(error),
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
        self._write_failure(plan, action, new, error, duration)

    def _start_budget(self) -> float:
        """Start one schema's ``migration_timeout``: its steps share it, whatever their number."""
        started = time.monotonic()
        self._deadline = started + self.migration_timeout
        return started

    def _state_write_failure(
        self, schema: str, exc: Exception, *, steps_in_place: int | None = None
    ) -> _StepFailedError:
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
        return _StepFailedError(
            MigrationError(schema=schema, step=None, reason=reason), step=0, statements_done=0
        )

    # -- steps --------------------------------------------------------------------------------

    def _enter_step(self, action: SchemaAction, step: PlannedStep) -> None:
        """Fault point, progress record, and Ctrl-C pressed between two steps."""
        point = (
            f"during_rollback:{step.index}"
            if action.kind is ActionKind.ROLLBACK
            else f"before_step:{step.index}"
        )
        self._fault(point)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s step %d",
                action.kind,
                action.name,
                step.index,
                extra={"timescape_step": (action, step)},
            )
        if self._interrupted():
            raise self._interrupt_failure(action, step, None, statements_done=0, uncertain=False)

    def _run_step(self, action: SchemaAction, step: PlannedStep) -> None:
        self._enter_step(action, step)
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
                    if self._interrupted():
                        raise _CtrlCError
                    self.backend.execute_statement(statement.text, statement.data)
                    statements_done += 1
        except BaseException as exc:
            fired = self.backend.disarm_timeout()
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            failure = (
                self._cancelled_by_ctrl_c(action, step, current, exc, statements_done)
                if self._interrupted()
                else self._step_failure(
                    action, step, current, exc, fired=fired, statements_done=statements_done
                )
            )
            self._restore_session(step, failed=True)
            raise failure from exc
        if self.backend.disarm_timeout():
            self._restore_session(step, failed=True)
            raise self._fired_after_return(action, step, current, statements_done)
        self._restore_after_step(action, step, current, statements_done)
        if action.kind is not ActionKind.ROLLBACK:
            self._fault(f"after_step:{step.index}")

    def _restore_after_step(
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
            raise self._step_failure(
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

    def _timeout_error(
        self, action: SchemaAction, step: PlannedStep, current: PlannedStatement | None
    ) -> MigrationTimeoutError:
        return MigrationTimeoutError(
            schema=action.name,
            step=step.index,
            timeout_s=self.migration_timeout,
            statement=current.text if current else None,
            file=step.file,
            line=current.line if current else None,
            phase="rollback" if action.kind is ActionKind.ROLLBACK else "apply",
        )

    def _cancelled_by_ctrl_c(
        self,
        action: SchemaAction,
        step: PlannedStep,
        current: PlannedStatement | None,
        exc: BaseException,
        statements_done: int,
    ) -> _StepFailedError:
        """The step ended in an error after Ctrl-C: the statement was cancelled (or never ran)."""
        uncertain = False
        if not isinstance(exc, _CtrlCError):
            lost = self.backend.classify_error(exc) == ErrorKind.CONNECTION_LOST
            uncertain = may_have_written(
                self.backend,
                current.text if current else None,
                ending="lost" if lost else "cancelled",
            )
        return self._interrupt_failure(
            action, step, current, statements_done=statements_done, uncertain=uncertain
        )

    def _fired_after_return(
        self,
        action: SchemaAction,
        step: PlannedStep,
        current: PlannedStatement | None,
        statements_done: int,
    ) -> _StepFailedError:
        """The deadline passed, or Ctrl-C cancelled, while the last statement returned normally.

        On MySQL a killed SLEEP() returns normally, and a DDL may or may not have landed before
        the KILL: the statement ran, perhaps to its end, so only a proven read changed nothing.
        """
        uncertain = may_have_written(self.backend, current.text if current else None, ending="lost")
        done = max(statements_done - 1, 0)
        if self._interrupted():
            return self._interrupt_failure(
                action, step, current, statements_done=done, uncertain=uncertain
            )
        return _StepFailedError(
            self._timeout_error(action, step, current),
            step=step.index,
            statements_done=self._writes_before(step, done),
            uncertain=uncertain,
        )

    def _interrupted(self) -> bool:
        return self._guard is not None and self._guard.requested

    def _interrupt_failure(
        self,
        action: SchemaAction,
        step: PlannedStep,
        current: PlannedStatement | None,
        *,
        statements_done: int,
        uncertain: bool,
    ) -> _StepFailedError:
        error = MigrationInterruptedError(
            schema=action.name,
            step=step.index,
            statement=current.text if current else None,
            file=step.file,
            line=current.line if current else None,
            phase="rollback" if action.kind is ActionKind.ROLLBACK else "apply",
        )
        return _StepFailedError(
            error,
            step=step.index,
            statements_done=self._writes_before(step, statements_done),
            uncertain=uncertain,
        )

    def _step_failure(
        self,
        action: SchemaAction,
        step: PlannedStep,
        current: PlannedStatement | None,
        exc: BaseException,
        *,
        fired: bool,
        statements_done: int,
    ) -> _StepFailedError:
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
        uncertain = self._stepwise and may_have_written(self.backend, text, ending=ending)
        if fired or kind == ErrorKind.TIMEOUT:
            error = self._timeout_error(action, step, current)
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
        return _StepFailedError(
            error,
            step=step.index,
            statements_done=self._writes_before(step, statements_done),
            uncertain=uncertain,
        )

    def _writes_before(self, step: PlannedStep, count: int) -> int:
        """How many of the step's first ``count`` statements (all finished) may have written.

        Finished reads leave nothing behind, so a step whose earlier statements only read is as
        clean as one that failed on its first statement.
        """
        if count == 0 or step.is_callable or not self._stepwise:
            return count
        return sum(
            may_have_written(self.backend, statement.text, ending="lost")
            for statement in step.statements[:count]
        )

    # -- state rows ---------------------------------------------------------------------------

    def _write_row(
        self, new: SchemaState, action: SchemaAction, *, at: datetime | None = None
    ) -> None:
        name = action.name
        written = name in self._written
        before = self._rows.get(name)
        if before is not None and before.status is _APPLIED and new.status is not _APPLIED:
            self._withdrawn = True
        self.store.write_schema(
            new, step_count=len(action.schema.steps), known=before is not None or written, at=at
        )
        self._undo.append((name, before, written))
        self._rows[name] = new
        self._written.add(name)

    def _undo_unit(self) -> None:
        """Forget the rows written by a unit whose transaction rolled back."""
        for name, before, written in reversed(self._undo):
            if before is None:
                self._rows.pop(name, None)
            else:
                self._rows[name] = before
            if not written:
                self._written.discard(name)
        self._undo = []

    def _record_success(
        self, action: SchemaAction, duration: int, steps_run: int
    ) -> tuple[SchemaOutcome, dict[str, Any]]:
        row = self._rows.get(action.name) or SchemaState(
            name=action.name, status=SchemaStatus.PENDING
        )
        schema = action.schema
        moment = now()
        # Built field by field rather than with dataclasses.replace (twice the cost, once per
        # schema): every field not set here is carried over from ``row``.
        if action.kind is ActionKind.APPLY:
            new = SchemaState(
                name=row.name,
                status=SchemaStatus.APPLIED,
                steps_done=len(schema.steps),
                checksums=schema.checksums,
                rollback_checksums=schema.rollback_checksums,
                parents=schema.parents,
                applied_at=moment,
                rolled_back_at=row.rolled_back_at,
                duration_ms=duration,
                contract_done=row.contract_done,
            )
            status, event = "applied", "schema_applied"
        elif action.kind is ActionKind.ROLLBACK:
            new = SchemaState(
                name=row.name,
                status=SchemaStatus.ROLLED_BACK,
                parents=row.parents,
                applied_at=row.applied_at,
                rolled_back_at=moment,
                duration_ms=duration,
            )
            status, event = "rolled_back", "schema_rolled_back"
        else:
            contracted = action.kind is ActionKind.CONTRACT
            new = replace(
                row,
                contract_done=contracted,
                error=None,
                step_in_flight=None,
                attempt_started_at=None,
            )
            status = "contracted" if contracted else "uncontracted"
            event = f"schema_{status}"
        self._write_row(new, action, at=moment)
        self.store.record_event(
            event,
            action.name,
            actor=self.actor,
            duration_ms=duration,
            at=moment,
            # What --force overrode (drift, the gate) stays in the log with the change it allowed.
            detail={"steps": steps_run, "reason": action.reason}
            | ({"forced": list(self._forced)} if self._forced else {}),
        )
        outcome = SchemaOutcome(action.name, action.kind, status, steps_run, duration)
        return outcome, {"schema": action.name, "duration_ms": duration, "kind": str(action.kind)}

    def _finish_versions(
        self, plan: Plan, *, deactivate: bool = True, activate: bool = True
    ) -> None:
        for tsv in plan.deactivate if deactivate else ():
            self.store.set_version_active(tsv, active=False)
            self.store.record_event(
                "version_deactivated",
                tsv,
                actor=self.actor,
                detail={"operation": plan.operation, "forced": list(plan.forced)},
            )
        for tsv in plan.activate if activate else ():
            self.store.set_version_active(tsv, active=True)
            self.store.record_event(
                "version_activated",
                tsv,
                actor=self.actor,
                detail={
                    "schemas_applied": [a.name for a in plan.actions],
                    "forced": list(plan.forced),
                },
            )

    def _emit_versions(self, plan: Plan, *, deactivate: bool = True, activate: bool = True) -> None:
        """Fire the version callbacks, once the matching change is committed."""
        for tsv in plan.deactivate if deactivate else ():
            self.emit("on_version_deactivated", {"tsv": tsv})
        for tsv in plan.activate if activate else ():
            self.emit("on_version_activated", {"tsv": tsv})

    # -- transactions -------------------------------------------------------------------------

    def _begin(self) -> None:
        self.backend.begin()

    def _commit(self) -> None:
        self.backend.commit()


def _no_fault(point: str) -> None:
    """A fault point when none is configured."""


def _statements_of(unit: Sequence[SchemaAction]) -> Iterable[str] | None:
    """The SQL a unit runs (one text at a time), or None when a Python step runs."""
    steps = [step for action in unit for step in action.steps]
    if any(step.is_callable for step in steps):
        return None
    return (statement.text for step in steps for statement in step.statements)


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _callback_for(outcome: SchemaOutcome) -> str:
    if outcome.kind is ActionKind.ROLLBACK:
        return "on_schema_rolled_back"
    if outcome.kind is ActionKind.APPLY:
        return "on_schema_applied"
    return "on_schema_contract"


def _error_facts(error: TimescapeError) -> dict[str, Any]:
    facts = error.facts()
    facts.pop("schema", None)
    return {k: v for k, v in facts.items() if v is not None}


def _uncertain_error(
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
