"""One schema's action: its scripts split into the exact statements a plan will send.

Apart from the planners, which decide *which* schemas to apply, roll back or contract: this
module only turns that decision into :class:`~timescape.model.plan.value.SchemaAction` values,
and is where a script that cannot be split safely is refused, before anything runs.
"""

from __future__ import annotations

from collections.abc import Sequence

from timescape.errors import DefinitionError, RollbackRefusedError, SQLSplitError
from timescape.model.plan.value import (
    ActionKind,
    PlannedStatement,
    PlannedStep,
    SchemaAction,
    Splitter,
    StatementLike,
)
from timescape.model.schema import SchemaVersion, Step, StepCallable
from timescape.model.text import StatementText

__all__ = ["apply_action", "contract_action", "rollback_action"]


def _planned_steps(
    steps: Sequence[tuple[int, str | StepCallable, str | None]], split: Splitter, where: str
) -> tuple[PlannedStep, ...]:
    """Split each script; ``where`` (``s1.step``, ``s1.rollback``, ...) names it in errors.

    Raises:
        DefinitionError: A script cannot be split safely (nothing has run), naming schema, step,
            file and line.
    """
    planned = []
    for index, script, file in steps:
        statements: tuple[PlannedStatement, ...] = ()
        if isinstance(script, str):
            try:
                statements = tuple(map(_planned, split(script)))
            except SQLSplitError as exc:
                raise DefinitionError(
                    f"cannot split SQL at line {exc.line}: {exc.reason}",
                    file=file,
                    key=f"{where}{index}",
                    line=exc.line if file else None,
                ) from None
        planned.append(PlannedStep(index=index, script=script, statements=statements, file=file))
    return tuple(planned)


def _planned(statement: StatementLike) -> PlannedStatement:
    """The planned form of a split statement, sharing the script's text instead of copying it."""
    if isinstance(statement, StatementText):
        return PlannedStatement.same_span(statement)
    source, start, end = statement.span
    return PlannedStatement(source, statement.line, statement.data, span=(start, end))


def apply_action(schema: SchemaVersion, done: int, split: Splitter, reason: str) -> SchemaAction:
    """Apply the steps of ``schema`` from step ``done + 1`` (a resume point) on."""
    todo = [(i + 1, s.migration, s.file) for i, s in enumerate(schema.steps) if i >= done]
    steps = _planned_steps(todo, split, f"{schema.name}.step")
    return SchemaAction(ActionKind.APPLY, schema, steps, done, reason)


def rollback_action(schema: SchemaVersion, done: int, split: Splitter) -> SchemaAction:
    """Roll back the first ``done`` steps of ``schema``, last step first."""
    todo: list[tuple[int, str | StepCallable, str | None]] = []
    for i in range(done - 1, -1, -1):
        step = schema.steps[i]
        if step.rollback is None:  # pragma: no cover - refused earlier by check_rollback_scripts
            msg = "irreversible step reached the planner"
            raise AssertionError(msg)
        todo.append((i + 1, step.rollback, step.rollback_file))
    return SchemaAction(
        ActionKind.ROLLBACK,
        schema,
        _planned_steps(todo, split, f"{schema.name}.rollback"),
        done,
        "no live version needs it any more",
    )


def contract_action(schema: SchemaVersion, kind: ActionKind, split: Splitter) -> SchemaAction:
    """Run the contract steps of ``schema`` (``kind`` CONTRACT) or their rollback (UNCONTRACT).

    Raises:
        RollbackRefusedError: Uncontracting steps that have no ``contract_rollback``.
    """
    steps: Sequence[Step] = schema.contract
    if kind is ActionKind.CONTRACT:
        todo = [(i + 1, s.migration, s.file) for i, s in enumerate(steps)]
        reason = "every live version is on this schema or a descendant"
    else:
        if any(s.rollback is None for s in steps):
            # Making a version live on a shape the database no longer has would be a lie.
            raise RollbackRefusedError(
                schema.name,
                reason="its contract steps ran and have no contract_rollback, so the shape "
                "from before the contract cannot be restored. Add contract_rollback, or keep "
                "the older version retired",
            )
        todo = [
            (i + 1, s.rollback, s.rollback_file)
            for i, s in reversed(list(enumerate(steps)))
            if s.rollback is not None
        ]
        reason = "a live version needs the shape from before the contract"
    planned = _planned_steps(todo, split, f"{schema.name}.{kind}")
    return SchemaAction(kind, schema, planned, 0, reason)
