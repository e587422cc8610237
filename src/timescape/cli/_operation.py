"""A plan and an operation's result, for humans and as JSON.

Why a module of its own: only the changing commands (and ``--dry-run``) show a plan or a result,
so the listings never import it; it is also the one place that words a plan's actions (apply,
roll back, contract) and says how each schema runs (one transaction or step by step).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from timescape.cli.render import Style, jsonable

if TYPE_CHECKING:  # the model loads when a command runs, not for --help
    from timescape.model.plan import Plan
    from timescape.reports import OperationResult

__all__ = ["plan_json", "plan_lines", "result_json", "result_lines"]


def plan_json(plan: Plan, *, transactional_ddl: bool | None = None) -> dict[str, Any]:
    """The plan as JSON: every action, step and statement in execution order."""
    actions = [
        {
            "kind": str(action.kind),
            "schema": action.name,
            "reason": action.reason,
            "steps_done_before": action.steps_done_before,
            "transaction": _unit(action.schema.transactional, transactional_ddl),
            "steps": [
                {
                    "index": step.index,
                    "file": step.file,
                    "callable": jsonable(step.script) if step.is_callable else None,
                    "statements": [{"line": s.line, "sql": s.text} for s in step.statements],
                }
                for step in action.steps
            ],
        }
        for action in plan.actions
    ]
    return {
        "operation": plan.operation,
        "target": plan.target,
        "actions": actions,
        "activate": list(plan.activate),
        "deactivate": list(plan.deactivate),
        "notes": list(plan.notes),
        "forced": list(plan.forced),
        "statements": plan.statements(),
    }


def _unit(transactional: bool, transactional_ddl: bool | None) -> str | None:  # noqa: FBT001
    if transactional_ddl is None:
        return None
    return "schema" if transactional and transactional_ddl else "step"


def result_json(
    result: OperationResult, *, transactional_ddl: bool | None = None
) -> dict[str, Any]:
    """An operation result as JSON (plan included)."""
    return {
        "operation": result.operation,
        "target": result.target,
        "dry_run": result.dry_run,
        "changed": result.changed,
        "message": result.message,
        "duration_ms": result.duration_ms,
        "plan": plan_json(result.plan, transactional_ddl=transactional_ddl),
        "outcomes": jsonable(result.outcomes),
        "irreversible": list(result.irreversible),
        "drain": result.drain.as_dict() if result.drain is not None else None,
    }


# Keyed by the values of ActionKind (a StrEnum: its members look themselves up here).
_VERBS = {
    "apply": "apply",
    "rollback": "roll back",
    "contract": "contract",
    "uncontract": "undo the contract of",
}


def plan_lines(plan: Plan, style: Style, *, transactional_ddl: bool | None = None) -> list[str]:
    """The exact plan for humans: schemas, steps and SQL in execution order."""
    lines: list[str] = []
    number = 0
    for action in plan.actions:
        number += 1
        unit = _unit(action.schema.transactional, transactional_ddl)
        how = {"schema": "one transaction", "step": "step by step, progress recorded"}.get(
            unit or "", ""
        )
        suffix = f"  [{how}]" if how else ""
        lines.append(
            f"{number}. {style(_VERBS[action.kind], 'bold')} {style(action.name, 'cyan')}"
            f"  ({action.reason}){suffix}"
        )
        if not action.steps:
            lines.append("     (no steps)")
        total = len(
            action.schema.contract
            if action.kind in ("contract", "uncontract")
            else action.schema.steps
        )
        for step in action.steps:
            undo = action.kind in ("rollback", "uncontract")
            head = f"undo step {step.index} of {total}" if undo else f"step {step.index} of {total}"
            source = f"  {step.file}" if step.file else ""
            lines.append(style(f"     {head}{source}", "dim"))
            if step.is_callable:
                lines.append(f"       {jsonable(step.script)}(connection)")
            for statement in step.statements:
                if step.file:
                    lines.append(style(f"       -- {step.file}:{statement.line}", "dim"))
                lines.extend(f"       {text}" for text in _sql(statement.text).splitlines())
                if statement.data is not None:
                    rows = statement.data.count("\n")
                    lines.append(style(f"       -- then {rows} line(s) of COPY data", "dim"))
    for tsv in plan.deactivate:
        number += 1
        lines.append(f"{number}. {style('mark', 'bold')} {tsv} inactive")
    for tsv in plan.activate:
        number += 1
        lines.append(f"{number}. {style('mark', 'bold')} {tsv} active")
    return lines


def _sql(text: str) -> str:
    stripped = text.rstrip()
    return stripped if stripped.endswith(";") else stripped + ";"


def result_lines(
    result: OperationResult, style: Style, *, transactional_ddl: bool | None = None
) -> list[str]:
    """What an operation did (or would do), for humans."""
    plan = result.plan
    if result.dry_run:
        if plan.is_noop:
            lines = [f"Dry run: {result.message}. Nothing was changed."]
        else:
            lines = [
                style(f"Dry run: {plan.operation} {plan.target}. Nothing was changed.", "bold"),
                "Plan, in execution order:",
                *plan_lines(plan, style, transactional_ddl=transactional_ddl),
            ]
    elif plan.is_noop:
        lines = [result.message]
    else:
        done = {
            "activate": "Activated",
            "deactivate": "Deactivated",
            "migrate": "Migrated",
            "rollback": "Rolled back",
        }.get(plan.operation, plan.operation.capitalize())
        lines = [style(f"{done} {plan.target} in {result.duration_ms} ms", "green")]
        for outcome in result.outcomes:
            lines.append(
                f"  {outcome.status:<12} {outcome.schema}  "
                f"({outcome.steps_run} step{'s' if outcome.steps_run != 1 else ''}, "
                f"{outcome.duration_ms} ms)"
            )
        lines.extend(_drain_lines(result))
        for tsv in plan.deactivate:
            lines.append(f"  deactivated  {tsv}")
        for tsv in plan.activate:
            lines.append(f"  activated    {tsv}")
    notes = [n for n in plan.notes if not n.endswith(": not applied yet")]
    if result.dry_run:
        notes = [n for n in notes if not n.startswith(tuple(f"{k} " for k in _VERBS))]
    if notes and not plan.is_noop:
        lines.append("Why:")
        lines.extend(f"  - {n}" for n in notes)
    if plan.forced:
        lines.append(style("Forced:", "yellow"))
        lines.extend(f"  - {f}" for f in plan.forced)
    return lines


def _drain_lines(result: OperationResult) -> list[str]:
    drain = result.drain
    if drain is None or drain.forced or not drain.instances:
        return []
    count = len(drain.instances)
    return [f"  drained      waited {drain.waited_s:.2f} s for {count} instance(s)"]
