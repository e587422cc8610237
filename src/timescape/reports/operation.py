"""What a change returns: :class:`OperationResult`, the plan and what happened to each schema.

Apart from the listings and ``verify``'s problems because every operation that changes something
returns it (the runner, retirement, adoption, bookkeeping), and none of them reads a report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from timescape.model._record import record
from timescape.model.plan import Plan

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
