"""Planning: from definitions, a state snapshot and a request to an exact, ordered :class:`Plan`.

Pure functions, no I/O. The manager calls them *after* taking the database lock, on a snapshot read
under that lock, so the gate and the usage counts are never decided on stale state. ``--dry-run``
renders the returned Plan; apply executes that same object.

The modules depend one way: :mod:`~timescape.model.plan.value` (the plan's types) ←
:mod:`~timescape.model.plan.gate` (usage and the compatibility gate),
:mod:`~timescape.model.plan.check` (the refusals), :mod:`~timescape.model.plan.action` (scripts
split into statements) ← :mod:`~timescape.model.plan.planner` (the planners). This module
re-exports the public names, so ``from timescape.model.plan import X`` keeps working. The planners
load on first access (PEP 562): a read-only command renders plans and asks the gate, but plans
nothing, and so never pays for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from timescape.model.plan.gate import Judge, compatibility, declared_judge, resolve_judge, usage
from timescape.model.plan.value import (
    ActionKind,
    Plan,
    PlannedStatement,
    PlannedStep,
    SchemaAction,
    Splitter,
)

if TYPE_CHECKING:
    from timescape.model.plan.planner import (
        plan_activation,
        plan_deactivation,
        plan_schema_apply,
        plan_schema_rollback,
    )

__all__ = [
    "ActionKind",
    "Judge",
    "Plan",
    "PlannedStatement",
    "PlannedStep",
    "SchemaAction",
    "Splitter",
    "compatibility",
    "declared_judge",
    "plan_activation",
    "plan_deactivation",
    "plan_schema_apply",
    "plan_schema_rollback",
    "resolve_judge",
    "usage",
]

_PLANNERS = frozenset(
    {"plan_activation", "plan_deactivation", "plan_schema_apply", "plan_schema_rollback"}
)


def __getattr__(name: str) -> object:
    """Import a planner on first access (PEP 562) and keep it as a module global.

    Raises:
        AttributeError: ``name`` is not a name of this module.
    """
    if name not in _PLANNERS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from timescape.model.plan import planner  # noqa: PLC0415 - only operations that change plan

    value: object = getattr(planner, name)
    globals()[name] = value
    return value
