"""The state rows and events a run writes: its outcomes, its failures, its versions.

Writes never commit here: the run's path (transactional or step by step) owns the transaction,
except for a failure, which is recorded afterwards in a transaction of its own. The
:class:`Recorder` also keeps the run's view of the schema rows (its writes over the snapshot's),
and an undo log of the open transaction's writes, so a rolled-back unit is forgotten exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from timescape.execution.failures import error_facts
from timescape.model._overlay import Draft
from timescape.model.plan import ActionKind, Plan, SchemaAction
from timescape.model.state import SchemaState, SchemaStatus, StateSnapshot
from timescape.store.base import Backend
from timescape.store.state import StateStore, now
from timescape.store.state.codec import json_object

if TYPE_CHECKING:
    from datetime import datetime

    from timescape.errors import TimescapeError

__all__ = ["Emit", "Recorder", "SchemaOutcome", "callback_for", "payload_for"]

Emit = Callable[[str, dict[str, Any]], None]
_APPLIED = SchemaStatus.APPLIED
_UNREAD: Any = object()
"""``write_row``'s ``before`` when the caller did not read the row."""


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


def payload_for(outcome: SchemaOutcome) -> dict[str, Any]:
    """The keyword arguments the callback of a successful ``outcome`` is called with.

    Built when the callback fires, not when the schema's row is written: a rollback of 1,000
    schemas is one transaction, and 1,000 payloads waiting for its commit were a quarter of a
    megabyte at the run's peak (issue 14).
    """
    return {"schema": outcome.schema, "duration_ms": outcome.duration_ms, "kind": str(outcome.kind)}


def callback_for(outcome: SchemaOutcome) -> str:
    """The callback fired once ``outcome`` is committed."""
    if outcome.kind is ActionKind.ROLLBACK:
        return "on_schema_rolled_back"
    if outcome.kind is ActionKind.APPLY:
        return "on_schema_applied"
    return "on_schema_contract"


class Recorder:
    """Writes one run's schema rows, events and version flags; owned by the executor.

    ``rows`` is the run's view of the schema rows, ``withdrawn`` says a schema left the applied
    state in the open transaction (the generation must move at its commit), ``undo`` holds the
    open unit's row changes. :meth:`start` resets them for each run.
    """

    def __init__(self, backend: Backend, store: StateStore, *, actor: str, emit: Emit) -> None:
        """Bind to the backend, its state store, the actor for events and the callback sink."""
        self.backend = backend
        self.store = store
        self.actor = actor
        self.emit = emit
        # The run's view of the schema rows: its writes over the snapshot's, which are shared,
        # not copied (ten thousand of them, for a run that writes one or two; issue 14).
        self.rows: Draft[str, SchemaState] = Draft(StateSnapshot().schemas)
        self._written: set[str] = set()
        # Row changes of the open unit, oldest first: (name, row before, written before).
        self.undo: list[tuple[str, SchemaState | None, bool]] = []
        self._forced: tuple[str, ...] = ()
        # Each event detail of the run, encoded once: (steps run, reason) -> JSON text.
        self._details: dict[tuple[int, str], str] = {}
        # A schema left the applied state in the open transaction: the generation must move.
        self.withdrawn = False

    def start(self, snapshot: StateSnapshot, forced: tuple[str, ...]) -> None:
        """Start a run from ``snapshot``; ``forced`` is what ``--force`` overrode, for the log."""
        self.rows = Draft(snapshot.schemas)
        self._forced = forced
        self._details = {}
        self._written = set()
        self.undo = []
        self.withdrawn = False

    def write_row(
        self,
        new: SchemaState,
        action: SchemaAction,
        *,
        at: datetime | None = None,
        before: SchemaState | None = _UNREAD,
    ) -> None:
        """Write ``action``'s schema row (in the open transaction) and remember it.

        ``before`` is the row as :attr:`rows` holds it now, when the caller has just read it.
        """
        name = action.name
        written = name in self._written
        if before is _UNREAD:
            before = self.rows.get(name)
        if before is not None and before.status is _APPLIED and new.status is not _APPLIED:
            self.withdrawn = True
        self.store.write_schema(
            new, step_count=len(action.schema.steps), known=before is not None or written, at=at
        )
        self.undo.append((name, before, written))
        self.rows[name] = new
        self._written.add(name)

    def undo_unit(self) -> None:
        """Forget the rows written by a unit whose transaction rolled back."""
        for name, before, written in reversed(self.undo):
            if before is None:
                self.rows.pop(name, None)
            else:
                self.rows[name] = before
            if not written:
                self._written.discard(name)
        self.undo = []

    def success(self, action: SchemaAction, duration: int, steps_run: int) -> SchemaOutcome:
        """Write the row and event of an action whose steps all ran; return its outcome.

        Its callback's arguments are :func:`payload_for` the outcome, once the row commits.
        """
        name = action.name
        before = self.rows.get(name)
        schema = action.schema
        moment = now()
        # Built field by field rather than with dataclasses.replace (twice the cost, once per
        # schema): every field not set here is carried over from the row before (if any).
        if action.kind is ActionKind.APPLY:
            new = SchemaState(
                name=name,
                status=_APPLIED,
                steps_done=len(schema.steps),
                checksums=schema.checksums,
                rollback_checksums=schema.rollback_checksums,
                parents=schema.parents,
                applied_at=moment,
                rolled_back_at=None if before is None else before.rolled_back_at,
                duration_ms=duration,
                contract_done=before is not None and before.contract_done,
            )
            status, event = "applied", "schema_applied"
        else:
            new, status = _not_applied(action, before, moment, duration)
            event = f"schema_{status}"
        self.write_row(new, action, at=moment, before=before)
        self.store.record_event(
            event,
            name,
            actor=self.actor,
            duration_ms=duration,
            at=moment,
            detail_json=self._detail(steps_run, action.reason),
        )
        return SchemaOutcome(name, action.kind, status, steps_run, duration)

    def _detail(self, steps_run: int, reason: str) -> str:
        """The encoded detail of a schema's event: a run's schemas share a handful of them.

        What --force overrode (drift, the gate) stays in the log with the change it allowed.
        """
        key = (steps_run, reason)
        encoded = self._details.get(key)
        if encoded is None:
            detail: dict[str, Any] = {"steps": steps_run, "reason": reason}
            if self._forced:
                detail["forced"] = list(self._forced)
            encoded = self._details[key] = json_object(detail)
        return encoded

    def failure(
        self,
        plan: Plan,
        action: SchemaAction,
        new: SchemaState,
        error: TimescapeError,
        duration: int,
        *,
        clear_marker: bool = True,
    ) -> None:
        """Record a failed action in a transaction of its own (reconnecting if need be).

        If even that fails (connection gone, disk full), nothing is recorded: the run marker
        stays, and the next run reports this attempt as interrupted.
        """
        kind = "schema_failed" if action.kind is ActionKind.APPLY else f"{action.kind}_failed"
        try:
            if not self.backend.is_connected:
                self.backend.reconnect()
                self.backend.acquire_lock(timeout=self.backend.lock_timeout)
            self.backend.begin()
            self.write_row(new, action)
            self.store.record_event(
                kind,
                action.name,
                actor=self.actor,
                duration_ms=duration,
                detail={
                    "error": error.message,
                    "operation": plan.operation,
                    "target": plan.target,
                    **error_facts(error),
                },
            )
            if clear_marker:
                self.store.set_run_marker(None)
            self.store.bump_generation()
            self.backend.commit()
        except Exception:
            self.backend.rollback()
            return
        self.emit(
            "on_schema_failed", {"schema": action.name, "error": error, "kind": str(action.kind)}
        )

    def finish_versions(
        self, plan: Plan, *, deactivate: bool = True, activate: bool = True
    ) -> None:
        """Write the plan's version flags and their events (in the open transaction)."""
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

    def emit_versions(self, plan: Plan, *, deactivate: bool = True, activate: bool = True) -> None:
        """Fire the version callbacks, once the matching change is committed."""
        for tsv in plan.deactivate if deactivate else ():
            self.emit("on_version_deactivated", {"tsv": tsv})
        for tsv in plan.activate if activate else ():
            self.emit("on_version_activated", {"tsv": tsv})


def _not_applied(
    action: SchemaAction, before: SchemaState | None, moment: datetime, duration: int
) -> tuple[SchemaState, str]:
    """The row a rollback, contract or uncontract leaves, and its status word for the event."""
    row = before or SchemaState(name=action.name, status=SchemaStatus.PENDING)
    if action.kind is ActionKind.ROLLBACK:
        new = SchemaState(
            name=row.name,
            status=SchemaStatus.ROLLED_BACK,
            parents=row.parents,
            applied_at=row.applied_at,
            rolled_back_at=moment,
            duration_ms=duration,
        )
        return new, "rolled_back"
    contracted = action.kind is ActionKind.CONTRACT
    new = replace(
        row, contract_done=contracted, error=None, step_in_flight=None, attempt_started_at=None
    )
    return new, "contracted" if contracted else "uncontracted"
