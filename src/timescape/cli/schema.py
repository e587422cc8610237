"""``timescape schema …``: list, status, migrate, rollback, check, resolve, graph."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from timescape.cli._context import App, global_options, pass_app, run_operation
from timescape.cli._listing import list_schemas, parent_field, short_checksum
from timescape.cli.instances import DrainReporter, drain_options
from timescape.cli.render import (
    Cell,
    Style,
    contract_state,
    record_json,
    table,
    when,
)
from timescape.errors import InputError

if TYPE_CHECKING:  # the model loads when a command runs, not for --help
    from click.shell_completion import CompletionItem

    from timescape.model.schema import SchemaVersion
    from timescape.reports import SchemaInfo

__all__ = ["complete_schema", "schema_group", "schema_json"]


def complete_schema(
    ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Complete schema names from the project file (no database)."""
    from click.shell_completion import CompletionItem  # noqa: PLC0415 - only when completing

    app = ctx.find_object(App)
    try:
        project = (app or App()).project()
    except Exception:
        return []
    return [CompletionItem(s.name) for s in project.schemas if s.name.startswith(incomplete)]


def schema_json(info: SchemaInfo) -> dict[str, Any]:
    """A schema as JSON: every :class:`SchemaInfo` field, ``parent`` and ``contract``.

    ``parent`` is as written in the project file; ``contract`` is ``none``, ``pending`` or
    ``done`` (:func:`~timescape.cli.render.contract_state`).
    """
    return _schema_document(info, record_json(info))


def _schema_document(info: SchemaInfo, fields: dict[str, Any]) -> dict[str, Any]:
    """:func:`schema_json` around ``fields``, the :class:`SchemaInfo` fields in order."""
    return {
        "name": info.name,
        "parent": parent_field(info.parents),
        **fields,
        "contract": contract_state(info),
    }


@click.group("schema")
def schema_group() -> None:
    """Schema versions: list, inspect, apply, roll back, check, draw."""


@schema_group.command("list")
@global_options
@pass_app
def list_command(app: App) -> None:
    """List schemas with status, usage and checksum."""
    list_schemas(app)


def _contract_text(
    info: SchemaInfo, schema: SchemaVersion | None, live: dict[str, str], style: Style
) -> str:
    """Whether the contract ran, and when it would run or be rolled back."""
    steps = f"{info.contract_steps} step(s)"
    rule = "runs when every live version is on this schema or a descendant"
    if info.contract_done:
        undoable = schema is not None and all(s.rollback is not None for s in schema.contract)
        if not undoable:
            return (
                f"{steps}, {style('done', 'green')}; no contract_rollback, so activating a "
                "version on an older schema again is refused"
            )
        return (
            f"{steps}, {style('done', 'green')}; would be rolled back if a version on an older "
            f"schema is activated again, or before {info.name} is rolled back"
        )
    pending = style("pending", "yellow")
    if info.status != "applied":
        return f"{steps}, {pending}: {rule}, once the schema is applied"
    waiting = sorted(tsv for tsv in live if tsv not in info.used_by)
    if not live:
        return f"{steps}, {pending}: {rule} (no version is live now)"
    if waiting:
        shown = ", ".join(f"{tsv} (on {live[tsv]})" for tsv in waiting)
        return f"{steps}, {pending}: {rule}; waiting for {shown}"
    return (
        f"{steps}, {pending}: every live version is on it now, so it runs at the next "
        "activation or deactivation"
    )


def _status_fields(info: SchemaInfo, style: Style, contract: str | None) -> list[tuple[str, str]]:
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
    if contract is not None:
        fields.append(("contract", contract))
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
    schema = ts.catalog.schema(name) if ts.catalog.has_schema(name) else None
    files = [s.file for s in schema.steps] if schema is not None else []
    contract = None
    if info.contract_steps or info.contract_done:
        live = {v.tsv: v.schema for v in ts.versions() if v.active}
        contract = _contract_text(info, schema, live, style)
    fields = _status_fields(info, style, contract)
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
            rows.append([str(i + 1), Cell(state, paint), short_checksum(current), file])
        for i, step in enumerate(schema.contract if schema is not None else (), start=1):
            state = "contracted" if info.contract_done else "deferred"
            rows.append([f"c{i}", state, short_checksum(step.checksum), step.file or "-"])
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
@drain_options
@global_options
@pass_app
def rollback_command(
    app: App,
    name: str,
    *,
    force: bool,
    dry_run: bool,
    drain_timeout: float | None,
    no_drain: bool,
) -> None:
    """Roll back a schema and its applied descendants.

    Refused while a live version needs them, unless --force (which deactivates those versions,
    draining them from every serving instance first, as version deactivate does).
    """
    run_operation(
        app,
        lambda ts: ts.rollback_schema(
            name,
            dry_run=dry_run,
            force=force,
            drain=not no_drain,
            drain_timeout=drain_timeout,
            progress=DrainReporter(app),
        ),
    )


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
    from timescape.cli._operation import result_json  # noqa: PLC0415 - not for listings

    result = app.timescape().resolve_schema(name, steps_done=steps_done)
    if app.json:
        app.emit_json(result_json(result))
        return
    app.echo(result.plan.notes[0] if result.plan.notes else result.message)


@schema_group.command("check")
@click.argument("name", required=False, shell_complete=complete_schema)
@click.option(
    "--strict",
    is_flag=True,
    help="Fail (exit 1) on declarations the SQL analysis contradicts, not only warn.",
)
@click.option(
    "--fail-on",
    "fail_on",
    type=click.Choice(["both", "verdict", "lint", "none"]),
    default="both",
    show_default=True,
    help="What makes the check exit 1: gate verdicts (refusals; with --strict, contradicted "
    "declarations), lint errors, both, or none (report only).",
)
@global_options
@pass_app
@click.pass_context
def check_command(
    ctx: click.Context, app: App, name: str | None, *, strict: bool, fail_on: str
) -> None:
    """Report what the gate would refuse now, what the SQL does, and lint issues.

    For each schema (or NAME and its ancestors): what it declares; if it is not applied, whether
    the gate would let it in with the live versions; what each statement does to older code;
    and lint issues ([lint] disabled in the project file silences rules, [lint] enabled turns
    optional ones on). Exits 1 when the gate would refuse a schema or, with --strict, when the
    analysis contradicts a declaration (verdicts), or when an error-level lint rule fires on a
    schema not applied yet (lint); --fail-on picks which of the two count.
    """
    from timescape.cli.check import build_check_report, check_lines  # noqa: PLC0415

    settings = app.project().lint
    report = build_check_report(
        app.timescape(),
        name,
        strict=strict,
        disabled=settings.disabled,
        enabled=settings.enabled,
    )
    if app.json:
        app.emit_json(report.to_json())
    else:
        for line in check_lines(report, app.style):
            app.echo(line)
    if report.fails(fail_on):
        ctx.exit(1)


@schema_group.command("graph")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "mermaid", "dot", "svg", "png"]),
    default="text",
    show_default=True,
    help="Text tree, Mermaid flowchart, Graphviz DOT, or a picture drawn by Graphviz (svg, png).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to this file instead of stdout (needed for png on a terminal).",
)
@global_options
@pass_app
def graph_command(app: App, fmt: str, output: Path | None) -> None:
    """Draw schemas, versions and who uses what.

    svg and png are drawn by Graphviz's dot, which must be installed (apt-get install graphviz).
    """
    from timescape.cli.graph import graph_json, render_graph, render_picture  # noqa: PLC0415

    ts = app.timescape()
    schemas, versions = ts.schemas(), ts.versions()
    if app.json:
        app.emit_json(graph_json(schemas, versions))
        return
    if fmt in ("svg", "png"):
        if fmt == "png" and output is None and sys.stdout.isatty():
            raise InputError(
                "--format png writes binary data: pass --output FILE.png or redirect stdout"
            )
        picture = render_picture(fmt, render_graph("dot", schemas, versions, app.style))
        if output is not None:
            output.write_bytes(picture)
            app.echo(f"Wrote {output} ({len(schemas)} schema(s), {len(versions)} version(s))")
        else:
            click.echo(picture, nl=False)
        return
    text = render_graph(fmt, schemas, versions, app.style)
    if output is not None:
        output.write_text(text + "\n", encoding="utf-8")
        app.echo(f"Wrote {output}")
        return
    app.echo(text)
