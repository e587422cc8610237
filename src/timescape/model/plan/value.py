"""The plan's values: what an operation will do, exactly, in order (:class:`Plan` and its parts).

Apart from the planners so that whatever only carries, renders or executes a plan (the executor,
the CLI's rendering, the reports) loads these types and none of the planning logic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Protocol

from timescape.model._record import record
from timescape.model.schema import SchemaVersion, StepCallable
from timescape.model.text import StatementText

__all__ = [
    "ActionKind",
    "Plan",
    "PlannedStatement",
    "PlannedStep",
    "SchemaAction",
    "Splitter",
    "StatementLike",
]


class StatementLike(Protocol):
    """What a splitter returns for one statement: its text, line, data and span of the script."""

    @property
    def text(self) -> str:
        """The statement's SQL."""
        ...

    @property
    def line(self) -> int:
        """Its first line in the script (1-based)."""
        ...

    @property
    def data(self) -> str | None:
        """Inline data sent after it (a ``COPY ... FROM stdin`` block), if any."""
        ...

    @property
    def span(self) -> tuple[str, int, int]:
        """The script it was split from, and its start and end offsets there."""
        ...


Splitter = Callable[[str], Sequence[StatementLike]]
"""Splits a script into statements (dialect-aware; injected so this module stays pure)."""


class ActionKind(StrEnum):
    """What an action does to a schema."""

    APPLY = "apply"
    ROLLBACK = "rollback"
    CONTRACT = "contract"
    """Run the deferred contract steps (no live version needs the pre-expand shape any more)."""
    UNCONTRACT = "uncontract"
    """Run the contract rollback (a live version needs the pre-expand shape again)."""


class PlannedStatement(StatementText):
    """One statement exactly as it will be sent (see :class:`~timescape.model.text.StatementText`).

    A value object (compared by text, line and data) holding its span of the step's script:
    the text is sliced when read, so a plan of a 50 MB dump holds the script once, not twice.
    """

    __slots__ = ()


@record
class PlannedStep:
    """One step of an action, with its statements split.

    Attributes:
        index: 1-based step number within the schema (or its contract).
        script: The SQL text or callable that runs.
        statements: The split statements (empty for a callable).
        file: The file the script came from, if any.
    """

    index: int
    script: str | StepCallable
    statements: tuple[PlannedStatement, ...]
    file: str | None = None

    @property
    def is_callable(self) -> bool:
        """True for a Python step."""
        return not isinstance(self.script, str)


@record
class SchemaAction:
    """Apply, roll back, contract or uncontract one schema.

    Attributes:
        kind: What happens.
        schema: The schema definition.
        steps: Steps in execution order (descending indexes for rollbacks).
        steps_done_before: ``steps_done`` before the action (resume point).
        reason: Why the planner chose it, for humans.
    """

    kind: ActionKind
    schema: SchemaVersion
    steps: tuple[PlannedStep, ...]
    steps_done_before: int
    reason: str

    @property
    def name(self) -> str:
        """The schema name."""
        return self.schema.name


@record
class Plan:
    """The exact work one operation will do, in order.

    Attributes:
        operation: ``activate``, ``deactivate``, ``migrate`` or ``rollback``.
        target: The TSV or schema name the operation is about.
        actions: Schema actions, in execution order.
        activate: TSVs marked live at the end.
        deactivate: TSVs marked not live (before rollbacks on MySQL; atomically elsewhere).
        notes: Facts for humans ("already active", "kept: still used by …").
        forced: What ``force`` overrode, recorded in the event log.
    """

    operation: str
    target: str
    actions: tuple[SchemaAction, ...] = ()
    activate: tuple[str, ...] = ()
    deactivate: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    forced: tuple[str, ...] = ()

    @property
    def is_noop(self) -> bool:
        """True when executing the plan changes nothing."""
        return not (self.actions or self.activate or self.deactivate)

    def statements(self) -> list[str]:
        """Every SQL statement of the plan, in execution order."""
        return [s.text for a in self.actions for step in a.steps for s in step.statements]
