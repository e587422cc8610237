"""``timescape version …``: list, status, activate, deactivate, tag, untag, tags, resolve."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

from timescape.cli._context import App, global_options, pass_app, run_operation
from timescape.cli._listing import VERSION_STATUSES, list_versions
from timescape.cli.instances import DrainReporter, drain_options, holders_of
from timescape.cli.render import jsonable, table, when
from timescape.cli.retire import retire_command

if TYPE_CHECKING:  # the model loads when a command runs, not for --help
    from click.shell_completion import CompletionItem

    from timescape.reports import VersionInfo

__all__ = ["version_group"]

F = TypeVar("F", bound=Callable[..., Any])


def complete_ref(
    ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Complete TSVs and declared tags from the project file (no database)."""
    from click.shell_completion import CompletionItem  # noqa: PLC0415 - only when completing

    app = ctx.find_object(App)
    try:
        catalog = (app or App()).project().catalog
    except Exception:
        return []
    refs = {v.tsv for v in catalog.versions} | {t for v in catalog.versions for t in v.tags}
    return [CompletionItem(r) for r in sorted(refs) if r.startswith(incomplete)]


def complete_handler(
    ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Complete handler paths from the project file."""
    from click.shell_completion import CompletionItem  # noqa: PLC0415 - only when completing

    app = ctx.find_object(App)
    try:
        catalog = (app or App()).project().catalog
    except Exception:
        return []
    handlers = sorted({v.handler for v in catalog.versions})
    return [CompletionItem(h) for h in handlers if h.startswith(incomplete)]


def _handler_option(
    *, required: bool = False, text: str = "The handler, when the ref alone is ambiguous."
) -> Callable[[F], F]:
    return click.option(
        "--handler", metavar="H", required=required, shell_complete=complete_handler, help=text
    )


@click.group("version")
def version_group() -> None:
    """API versions (TSVs): list, activate, deactivate, tag."""


version_group.add_command(retire_command)


@version_group.command("list")
@_handler_option(text="Only this handler.")
@click.option(
    "--status", type=click.Choice(VERSION_STATUSES), help="Only versions with this usage status."
)
@global_options
@pass_app
def list_command(app: App, handler: str | None, status: str | None) -> None:
    """List versions with status, tags and usage."""
    list_versions(app, handler, status)


def _find(app: App, ref: str, handler: str | None) -> VersionInfo:
    ts = app.timescape()
    tsv = ts.resolve(ref, handler)
    return next(i for i in ts.versions() if i.tsv == tsv)


@version_group.command("status")
@click.argument("ref", shell_complete=complete_ref)
@_handler_option()
@global_options
@pass_app
def status_command(app: App, ref: str, handler: str | None) -> None:
    """Show a version: its schema chain, tags and usage."""
    ts = app.timescape()
    info = _find(app, ref, handler)
    catalog = ts.catalog
    chain = catalog.graph.topological(catalog.graph.closure([info.schema]))
    statuses = {s.name: s.status for s in ts.schemas()}
    description = catalog.version(info.tsv).description
    holders = holders_of(info, ts.instances()) if info.active else []
    if app.json:
        document: dict[str, Any] = jsonable(info)
        document["description"] = description
        document["schema_chain"] = [
            {"name": n, "status": statuses.get(n, "pending")} for n in chain
        ]
        document["held_by"] = [
            {"id": i.id, "host": i.host, "pid": i.pid, "reason": why} for i, why in holders
        ]
        app.emit_json(document)
        return
    style = app.style
    now = datetime.now(UTC)
    live = style("live", "green") if info.active else style("not live", "dim")
    if info.retiring_generation is not None:
        live = style("retiring", "yellow") + " (not routed; draining)"
    since = f" since {when(info.activated_at, now)}" if info.active and info.activated_at else ""
    app.echo(f"{style(info.tsv, 'bold')}  {info.handler}")
    if description:
        app.echo(f"  {description}")
    last = when(info.last_accessed, now) if info.last_accessed else "never"
    fields = [
        ("timestamp", info.timestamp.strftime("%Y-%m-%d %H:%M:%S UTC")),
        ("state", f"{live}{since}, usage {style.status(info.status)}"),
        ("schema", info.schema),
        ("needs", "  →  ".join(f"{n} ({style.status(statuses.get(n, 'pending'))})" for n in chain)),
        ("tags", ", ".join(info.tags) or "-"),
        ("requests", f"{info.request_count}, last {last}"),
    ]
    if info.retiring_generation is not None:
        fields.append(
            ("held by", "; ".join(f"{i.name}: {why}" for i, why in holders) or "no instance")
        )
    elif holders:
        fields.append(("in flight", "; ".join(f"{i.name}: {why}" for i, why in holders)))
    for label, value in fields:
        app.echo(f"  {label:<10} {value}")


@version_group.command("activate")
@click.argument("ref", required=False, shell_complete=complete_ref)
@_handler_option()
@click.option("--dry-run", is_flag=True, help="Print the exact plan and change nothing.")
@click.option(
    "--force", is_flag=True, help="Override the compatibility gate and drift refusals (logged)."
)
@global_options
@pass_app
def activate_command(
    app: App, ref: str | None, handler: str | None, *, dry_run: bool, force: bool
) -> None:
    """Make a version live, applying the schemas it needs.

    REF is a TSV, a tag, an ISO-8601 timestamp (the newest version at or before it), or nothing
    for the newest version.
    """
    run_operation(app, lambda ts: ts.activate(ref, handler=handler, dry_run=dry_run, force=force))


@version_group.command("deactivate")
@click.argument("ref", shell_complete=complete_ref)
@_handler_option()
@click.option("--dry-run", is_flag=True, help="Print the exact plan and change nothing.")
@click.option(
    "--force", is_flag=True, help="Allow protected tags and drifted rollback scripts (logged)."
)
@click.option("--keep-schema", is_flag=True, help="Deactivate without rolling anything back.")
@drain_options
@global_options
@pass_app
def deactivate_command(
    app: App,
    ref: str,
    handler: str | None,
    *,
    dry_run: bool,
    force: bool,
    keep_schema: bool,
    drain_timeout: float | None,
    no_drain: bool,
) -> None:
    """Take a version out of service.

    With serving instances registered, the version is first marked retiring (no instance
    routes a new request to it), then Timescape waits until every live instance has loaded
    that change and finished its requests on it, and only then rolls back. If the drain times
    out, nothing is rolled back, the command exits 1 naming the instances, and running it again
    continues.

    Schemas that no other live version needs are rolled back (descendants first), unless
    --keep-schema or rollback_on_deactivate = false.
    """
    run_operation(
        app,
        lambda ts: ts.deactivate(
            ref,
            handler=handler,
            dry_run=dry_run,
            force=force,
            keep_schema=keep_schema,
            drain=not no_drain,
            drain_timeout=drain_timeout,
            progress=DrainReporter(app),
        ),
    )


@version_group.command("tag")
@click.argument("tsv", shell_complete=complete_ref)
@click.argument("label")
@global_options
@pass_app
def tag_command(app: App, tsv: str, label: str) -> None:
    """Point a tag at a version.

    An existing tag of the same name in that handler moves.
    """
    from timescape.cli._operation import result_json  # noqa: PLC0415 - not for listings

    ts = app.timescape()
    result = ts.tag(ts.resolve(tsv), label)
    if app.json:
        app.emit_json(result_json(result))
        return
    app.echo(f"Tagged: {result.plan.notes[0]}" if result.plan.notes else result.message)


@version_group.command("untag")
@click.argument("label")
@_handler_option(required=True, text="The handler the tag belongs to.")
@global_options
@pass_app
def untag_command(app: App, label: str, handler: str) -> None:
    """Remove tag LABEL from a handler."""
    from timescape.cli._operation import result_json  # noqa: PLC0415 - not for listings

    result = app.timescape().untag(label, handler=handler)
    if app.json:
        app.emit_json(result_json(result))
        return
    app.echo(f"Untagged: {result.plan.notes[0]}" if result.plan.notes else result.message)


@version_group.command("tags")
@click.argument("tsv", required=False, shell_complete=complete_ref)
@global_options
@pass_app
def tags_command(app: App, tsv: str | None) -> None:
    """List tags (of one version when TSV is given)."""
    ts = app.timescape()
    target = ts.resolve(tsv) if tsv is not None else None
    rows = [
        {"handler": v.handler, "tag": tag, "tsv": v.tsv}
        for v in ts.versions()
        if target is None or v.tsv == target
        for tag in v.tags
    ]
    if app.json:
        app.emit_json({"tags": rows})
        return
    if not rows:
        app.echo("No tags.")
        return
    app.echo(
        table(
            ["HANDLER", "TAG", "TSV"], [[r["handler"], r["tag"], r["tsv"]] for r in rows], app.style
        )
    )


@version_group.command("resolve")
@click.argument("ref", shell_complete=complete_ref)
@_handler_option()
@global_options
@pass_app
def resolve_command(app: App, ref: str, handler: str | None) -> None:
    """Print the TSV a ref resolves to.

    REF is a TSV, a tag, an ISO-8601 timestamp or latest.
    """
    tsv = app.timescape().resolve(ref, handler)
    if app.json:
        app.emit_json({"ref": ref, "handler": handler, "tsv": tsv})
        return
    app.echo(tsv)
