"""``timescape schema …``: list, status, migrate, rollback, check, resolve, graph."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click
from click.shell_completion import CompletionItem

from timescape.cli._context import App, global_options, pass_app, run_operation
from timescape.cli.render import Cell, Style, jsonable, result_json, table, when
from timescape.reports import SchemaInfo

__all__ = ["complete_schema", "schema_group", "schema_json"]


def complete_schema(
    ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Complete schema names from the project file (no database)."""
    app = ctx.find_object(App)
    try:
        project = (app or App()).project()
    except Exception:
        return []
    return [CompletionItem(s.name) for s in project.schemas if s.name.startswith(incomplete)]


def schema_json(info: SchemaInfo) -> dict[str, Any]:
    """A schema as JSON: every :class:`SchemaInfo` field plus ``parent`` as in the project file."""
    document: dict[str, Any] = jsonable(info)
    parent: str | list[str] | None = list(info.parents) or None
    if isinstance(parent, list) and len(parent) == 1:
        parent = parent[0]
    return {"name": info.name, "parent": parent, **document}


def _short(checksum: str | None) -> str:
    if not checksum:
        return "-"
    return checksum.rpartition(":")[2][:12]


def _users(used_by: tuple[str, ...]) -> str:
    if not used_by:
        return "-"
    if len(used_by) <= 2:
        return ", ".join(used_by)
    return f"{used_by[0]}, +{len(used_by) - 1} more"


@click.group("schema")
def schema_group() -> None:
    """Schema versions: list, inspect, apply, roll back, check, draw."""


@schema_group.command("list")
@global_options
@pass_app
def list_command(app: App) -> None:
    """List schemas with status, usage and checksum."""
    infos = app.timescape().schemas()
    if app.json:
        app.emit_json({"schemas": [schema_json(i) for i in infos]})
        return
    if not infos:
        app.echo("No schemas defined: add a [[schemas]] table to the project file.")
        return
    style = app.style
    now = datetime.now(UTC)
    rows: list[list[str | Cell]] = [
        [
            i.name if i.defined else f"{i.name} (not defined)",
            ", ".join(i.parents) or "-",
            Cell(i.status, style.status),
            _users(i.used_by),
            when(i.applied_at, now) if i.status == "applied" else "-",
            _short(i.checksum),
        ]
        for i in infos
    ]
    app.echo(table(["NAME", "PARENT", "STATUS", "USED BY", "APPLIED", "CHECKSUM"], rows, style))


def _status_fields(info: SchemaInfo, style: Style) -> list[tuple[str, str]]:
    now = datetime.now(UTC)
    declared = []
    if info.compatible_with:
        declared.append("compatible_with " + ", ".join(info.compatible_with))
    if info.breaking is not None:
        declared.append(f"breaking = {str(info.breaking).lower()}")
    applied = f"applied {when(info.applied_at, now)}" if info.applied_at else "never applied"
    if info.rolled_back_at:
        applied += f", rolled back {when(info.rolled_back_at, now)}"
    if info.duration_ms:
        applied += f", last run {info.duration_ms} ms"
    in_place = f"{info.steps_done} of {info.steps} step(s) in place"
    fields = [
        ("status", f"{style.status(info.status)} ({in_place})"),
        ("parents", ", ".join(info.parents) or "-"),
        ("used by", ", ".join(info.used_by) or "-"),
        ("history", applied),
        ("declared", "; ".join(declared) or "nothing (the gate judges its SQL)"),
        ("reversible", "yes" if info.reversible else "no (no rollback scripts)"),
        ("checksum", info.checksum or "-"),
    ]
    if info.contract_steps:
        done = "done" if info.contract_done else "not run"
        fields.append(("contract", f"{info.contract_steps} step(s), {done}"))
    if info.error:
        fields.append(("error", style(info.error, "red")))
    if not info.defined:
        note = "in the database but no longer in the project file"
        fields.append(("note", style(note, "yellow")))
    return fields


@schema_group.command("status")
@click.argument("name", shell_complete=complete_schema)
@global_options
@pass_app
def status_command(app: App, name: str) -> None:
    """Show one schema in detail.

    Steps, checksums, status, last error, usage and durations.
    """
    ts = app.timescape()
    info = ts.schema_info(name)
    if app.json:
        app.emit_json(schema_json(info))
        return
    style = app.style
    files: list[str | None] = []
    if ts.catalog.has_schema(name):
        files = [s.file for s in ts.catalog.schema(name).steps]
    fields = _status_fields(info, style)
    app.echo(style(info.name, "bold"))
    for label, value in fields:
        app.echo(f"  {label:<11} {value}")
    if info.step_checksums or info.stored_checksums:
        rows: list[list[str | Cell]] = []
        for i in range(max(len(info.step_checksums), len(info.stored_checksums))):
            state = "in place" if i < info.steps_done else "to do"
            if i + 1 in info.drifted_steps:
                state = "DRIFTED"
            current = info.step_checksums[i] if i < len(info.step_checksums) else None
            file = (files[i] if i < len(files) else None) or "-"
            paint = (lambda t: style(t, "red")) if state == "DRIFTED" else None
            rows.append([str(i + 1), Cell(state, paint), _short(current), file])
        app.echo("  steps")
        for line in table(["#", "STATE", "CHECKSUM", "FILE"], rows, style).splitlines():
            app.echo(f"    {line}")


@schema_group.command("migrate")
@click.argument("name", shell_complete=complete_schema)
@click.option("--dry-run", is_flag=True, help="Print the exact plan and change nothing.")
@click.option(
    "--force", is_flag=True, help="Override the compatibility gate and drift refusals (logged)."
)
@global_options
@pass_app
def migrate_command(app: App, name: str, *, dry_run: bool, force: bool) -> None:
    """Apply a schema and its missing ancestors.

    No version is activated; the compatibility gate still applies.
    """
    run_operation(app, lambda ts: ts.apply_schema(name, dry_run=dry_run, force=force))


@schema_group.command("rollback")
@click.argument("name", shell_complete=complete_schema)
@click.option(
    "--force", is_flag=True, help="Roll back although live versions need it (they are deactivated)."
)
@click.option("--dry-run", is_flag=True, help="Print the exact plan and change nothing.")
@global_options
@pass_app
def rollback_command(app: App, name: str, *, force: bool, dry_run: bool) -> None:
    """Roll back a schema and its applied descendants.

    Refused while a live version needs them, unless --force (which deactivates those versions).
    """
    run_operation(app, lambda ts: ts.rollback_schema(name, dry_run=dry_run, force=force))


@schema_group.command("resolve")
@click.argument("name", shell_complete=complete_schema)
@click.option(
    "--steps-done",
    type=click.IntRange(min=0),
    required=True,
    metavar="K",
    help="How many steps are really in place (check the database first).",
)
@global_options
@pass_app
def resolve_command(app: App, name: str, steps_done: int) -> None:
    """Record how many steps of a schema are really in place.

    For an uncertain, failed or interrupted schema: check the database first, then state the
    truth. The change is logged.
    """
    result = app.timescape().resolve_schema(name, steps_done=steps_done)
    if app.json:
        app.emit_json(result_json(result))
        return
    app.echo(result.plan.notes[0] if result.plan.notes else result.message)


@schema_group.command("check")
@click.argument("name", required=False, shell_complete=complete_schema)
@global_options
@pass_app
@click.pass_context
def check_command(ctx: click.Context, app: App, name: str | None) -> None:
    """Report what the compatibility gate would refuse now.

    Shows what each schema declares, and for every schema not applied yet, whether the gate
    would let it in with the live versions. Exits 1 when it would refuse one.
    """
    from timescape.cli.check import build_check_report, check_lines  # noqa: PLC0415

    report = build_check_report(app.timescape(), name)
    if app.json:
        app.emit_json(report.to_json())
    else:
        for line in check_lines(report, app.style):
            app.echo(line)
    if not report.ok:
        ctx.exit(1)


@schema_group.command("graph")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "mermaid", "dot"]),
    default="text",
    show_default=True,
    help="Text tree, Mermaid flowchart or Graphviz DOT.",
)
@global_options
@pass_app
def graph_command(app: App, fmt: str) -> None:
    """Draw schemas, versions and who uses what."""
    from timescape.cli.graph import graph_json, render_graph  # noqa: PLC0415

    ts = app.timescape()
    schemas, versions = ts.schemas(), ts.versions()
    if app.json:
        app.emit_json(graph_json(schemas, versions))
        return
    app.echo(render_graph(fmt, schemas, versions, app.style))
