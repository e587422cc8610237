"""The plan's values: what an operation will do, exactly, in order (:class:`Plan` and its parts).

Apart from the planners so that whatever only carries, renders or executes a plan (the executor,
the CLI's rendering, the reports) loads these types and none of the planning logic.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Any, Protocol, cast

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


# ``statements`` is stored packed: a step whose statements are plain spans of its own script keeps
# their offsets and lines, 12 bytes a statement, and makes the PlannedStatement values each time
# it is read (values compared by text, line and data: equal every time). A 1,000-schema
# activation held 280 bytes a step as objects, a third of the peak memory its result adds to a
# caller that keeps it (issue 14). What cannot be packed (COPY data, a statement that is not a
# span of the script, offsets past 4 GiB) stays the tuple it was given. The record stays frozen:
# only ``__init__`` and unpickling store it, through ``object.__setattr__``.
_STATEMENTS_SLOT: Any = PlannedStep.__dict__["statements"]
_UINT32 = 1 << 32


def _pack(step: PlannedStep, statements: tuple[PlannedStatement, ...]) -> object:
    """``statements`` as offsets and lines if each is a span of the step's script, else as is."""
    script = step.script
    if not statements or not isinstance(script, str) or type(statements) is not tuple:
        return statements
    packed: list[int] = []
    for statement in statements:
        source, start, end = statement.span
        line = statement.line
        if (
            source is not script
            or statement.data is not None
            or type(statement) is not PlannedStatement
            or not 0 <= start <= end < _UINT32
            or not 0 <= line < _UINT32
        ):
            return statements
        packed += (start, end, line)
    return b"".join(n.to_bytes(4, sys.byteorder) for n in packed)


def _statements(step: PlannedStep) -> tuple[PlannedStatement, ...]:
    stored: tuple[PlannedStatement, ...] | bytes = _STATEMENTS_SLOT.__get__(step, PlannedStep)
    if type(stored) is not bytes:
        return cast("tuple[PlannedStatement, ...]", stored)
    script = cast("str", step.script)  # only SQL text is packed
    numbers = memoryview(stored).cast("I")  # C unsigned int: 4 bytes wherever CPython runs
    return tuple(
        PlannedStatement(script, numbers[at + 2], span=(numbers[at], numbers[at + 1]))
        for at in range(0, len(numbers), 3)
    )


def _store_statements(step: PlannedStep, statements: tuple[PlannedStatement, ...]) -> None:
    # ``script`` is set before ``statements`` (field order), so packing can check the spans.
    _STATEMENTS_SLOT.__set__(step, _pack(step, statements))


type.__setattr__(
    PlannedStep,
    "statements",
    property(_statements, _store_statements, doc="The split statements (empty for a callable)."),
)


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


# ``notes`` is stored packed too. A plan's notes end with one line per action, ``"<kind> <name>:
# <reason>"`` (1,000 strings for a 1,000-schema activation, as much as its statements took packed,
# held by every result a caller keeps, issue 14). When they do, the slot keeps only the notes
# before those lines, and reading ``notes`` makes the lines again from the actions: equal strings
# every time. Other notes stay the tuple they were given.
_NOTES_SLOT: Any = Plan.__dict__["notes"]


class _ActionNotes:
    """The notes of a plan whose last ones are one line per action: only those before them."""

    __slots__ = ("head",)

    def __init__(self, head: tuple[str, ...]) -> None:
        self.head = head


def _action_note(action: SchemaAction) -> str:
    return f"{action.kind} {action.name}: {action.reason}"


def _notes(plan: Plan) -> tuple[str, ...]:
    stored: tuple[str, ...] | _ActionNotes = _NOTES_SLOT.__get__(plan, Plan)
    if type(stored) is not _ActionNotes:
        return cast("tuple[str, ...]", stored)
    return (*stored.head, *map(_action_note, plan.actions))


def _store_notes(plan: Plan, notes: tuple[str, ...]) -> None:
    # ``actions`` is set before ``notes`` (field order), so the lines can be checked against them.
    actions = plan.actions
    count = len(actions)
    packed: object = notes
    if (
        count
        and type(notes) is tuple
        and len(notes) >= count
        and all(map(str.__eq__, notes[-count:], map(_action_note, actions)))
    ):
        packed = _ActionNotes(notes[:-count])
    _NOTES_SLOT.__set__(plan, packed)


type.__setattr__(
    Plan,
    "notes",
    property(_notes, _store_notes, doc="Facts for humans (``already active``, ``kept: …``)."),
)
