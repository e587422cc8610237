"""What a change returns: :class:`OperationResult`, the plan and what happened to each schema.

Apart from the listings and ``verify``'s problems because every operation that changes something
returns it (the runner, retirement, adoption, bookkeeping), and none of them reads a report.
"""

from __future__ import annotations

import dataclasses
from array import array
from typing import TYPE_CHECKING, Any, cast

from timescape.model._record import record
from timescape.model.plan import ActionKind, Plan, SchemaAction

if TYPE_CHECKING:  # the executor (and the backends under it) load only when a run happens
    from timescape.engine.drain import DrainOutcome
    from timescape.execution.executor import SchemaOutcome

__all__ = ["OperationResult"]


@record
class OperationResult:
    """The outcome of activate, deactivate, migrate, rollback or resolve.

    Attributes:
        operation: What was asked.
        target: The TSV or schema.
        plan: The plan that was (or, for a dry run, would be) executed.
        outcomes: What happened to each schema.
        duration_ms: Wall time including the lock wait.
        dry_run: True when nothing was executed.
        drain: How the serving instances were drained first (None when none were registered).
    """

    operation: str
    target: str
    plan: Plan
    outcomes: tuple[SchemaOutcome, ...] = ()
    duration_ms: int = 0
    dry_run: bool = False
    drain: DrainOutcome | None = None

    @property
    def changed(self) -> bool:
        """True when the database was changed."""
        return not self.dry_run and not self.plan.is_noop

    @property
    def irreversible(self) -> tuple[str, ...]:
        """Schemas this operation applies (or would apply) that have no rollback scripts.

        Once applied they stay: deactivating their versions cannot roll them back.

        Added in 0.2.
        """
        return tuple(
            a.name for a in self.plan.actions if a.kind == "apply" and not a.schema.is_reversible
        )

    @property
    def message(self) -> str:
        """One line for humans."""
        if self.plan.is_noop:
            return self.plan.notes[0] if self.plan.notes else "nothing to do"
        verb = "would " if self.dry_run else ""
        parts = [f"{verb}{a.kind} {a.name}" for a in self.plan.actions]
        parts += [f"{verb}activate {t}" for t in self.plan.activate]
        parts += [f"{verb}deactivate {t}" for t in self.plan.deactivate]
        return "; ".join(parts)


# ``outcomes`` is stored packed. After a run that went through, each outcome is its action's plain
# success: the schema's name, the action's kind, its status, every step run and no error. Then the
# result keeps only the outcomes' class and durations (4 bytes each), and reading ``outcomes``
# makes the equal values again from the plan's actions. A caller keeping a 1,000-schema result
# held 1,000 outcome objects (88 KB, issue 14). Anything else stays the tuple it was given.
_OUTCOMES_SLOT: Any = OperationResult.__dict__["outcomes"]
_STATUS = {
    ActionKind.APPLY: "applied",
    ActionKind.ROLLBACK: "rolled_back",
    ActionKind.CONTRACT: "contracted",
    ActionKind.UNCONTRACT: "uncontracted",
}
_FIELDS = ("schema", "kind", "status", "steps_run", "duration_ms", "error")
_UINT32 = 1 << 32


class _Successes:
    """Outcomes that are each their action's plain success: their class and durations."""

    __slots__ = ("durations", "kind")

    def __init__(self, kind: type[SchemaOutcome], durations: array[int]) -> None:
        self.kind = kind
        self.durations = durations


def _is_success(outcome: SchemaOutcome, action: SchemaAction, kind: type) -> bool:
    return (
        type(outcome) is kind
        and outcome.schema == action.name
        and outcome.kind is action.kind
        and outcome.status == _STATUS[action.kind]
        and outcome.steps_run == len(action.steps)
        and outcome.error is None
        and type(outcome.duration_ms) is int
        and 0 <= outcome.duration_ms < _UINT32
    )


def _outcomes(result: OperationResult) -> tuple[SchemaOutcome, ...]:
    stored: tuple[SchemaOutcome, ...] | _Successes = _OUTCOMES_SLOT.__get__(result, OperationResult)
    if type(stored) is not _Successes:
        return cast("tuple[SchemaOutcome, ...]", stored)
    make = stored.kind
    return tuple(
        make(a.name, a.kind, _STATUS[a.kind], len(a.steps), duration)
        for a, duration in zip(result.plan.actions, stored.durations, strict=True)
    )


def _store_outcomes(result: OperationResult, outcomes: tuple[SchemaOutcome, ...]) -> None:
    # ``plan`` is set before ``outcomes`` (field order), so they can be checked against it.
    packed: object = outcomes
    actions = result.plan.actions
    if outcomes and type(outcomes) is tuple and len(outcomes) == len(actions):
        kind = type(outcomes[0])
        if (
            dataclasses.is_dataclass(kind)
            and tuple(f.name for f in dataclasses.fields(kind)) == _FIELDS
            and all(map(_is_success, outcomes, actions, (kind,) * len(actions)))
        ):
            packed = _Successes(kind, array("I", [o.duration_ms for o in outcomes]))
    _OUTCOMES_SLOT.__set__(result, packed)


type.__setattr__(
    OperationResult,
    "outcomes",
    property(_outcomes, _store_outcomes, doc="What happened to each schema."),
)
