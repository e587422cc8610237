"""``timescape version retire``: show each live version's verdict and retire the cold ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import click

from timescape.cli._context import App, global_options, pass_app
from timescape.cli.render import Cell, iso, table, when

if TYPE_CHECKING:  # the lifecycle loads the facade: only when the command runs
    from timescape.lifecycle import RetirementCandidate, RetirementOutcome

__all__ = ["parse_duration_option", "retire_command"]


def parse_duration_option(
    _ctx: click.Context, param: click.Parameter, value: str | None
) -> timedelta | None:
    """Read a duration option (``30d``, ``12h``, ``15m``, ``90s``, ``2w``), or fail with exit 2."""
    if value is None:
        return None
    from timescape.model.usage import parse_duration  # noqa: PLC0415 - keeps --help light

    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param=param) from None


@click.command("retire")
@click.option(
    "--cold-after",
    metavar="DURATION",
    callback=parse_duration_option,
    help="Idle time after which a live version is cold (default: [lifecycle] cold_after, 30d).",
)
@click.option("--dry-run", is_flag=True, help="Show the verdicts and plans; change nothing.")
@global_options
@pass_app
@click.pass_context
def retire_command(
    ctx: click.Context, app: App, cold_after: timedelta | None, *, dry_run: bool
) -> None:
    """Retire cold, unprotected versions that are not their handler's newest live one.

    Shows each live version's verdict (hot, warm or cold; protected; newest; why), then
    deactivates the retirable ones one by one, each like 'version deactivate' (drain, then
    smart rollback). A version activated less than the cold threshold ago is never cold.
    Exits 1 when a retirement failed.
    """
    from timescape.lifecycle import Lifecycle  # noqa: PLC0415 - keeps --help light

    ts = app.timescape()
    try:
        lifecycle = Lifecycle(ts, cold_after=cold_after)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--cold-after'") from None
    moment = datetime.now(UTC)
    candidates = lifecycle.candidates(now=moment)
    with app.progress():
        outcomes = lifecycle.retire_cold(dry_run=dry_run, now=moment)
    failed = [o for o in outcomes if o.error is not None]
    if app.json:
        app.emit_json(_document(lifecycle, candidates, outcomes, dry_run=dry_run))
    else:
        _print(app, candidates, outcomes, moment, dry_run=dry_run)
    if failed:
        ctx.exit(1)


def _document(
    lifecycle: Any,
    candidates: list[RetirementCandidate],
    outcomes: list[RetirementOutcome],
    *,
    dry_run: bool,
) -> dict[str, Any]:
    from timescape.cli._operation import result_json  # noqa: PLC0415 - not for listings
    from timescape.model.usage import format_duration  # noqa: PLC0415

    transactional = lifecycle.timescape.backend.transactional_ddl
    return {
        "format": 1,
        "dry_run": dry_run,
        "hot_within": format_duration(lifecycle.policy.hot_within),
        "cold_after": format_duration(lifecycle.policy.cold_after),
        "versions": [
            {
                "tsv": c.version.tsv,
                "handler": c.version.handler,
                "status": str(c.verdict.status),
                "protected": c.verdict.is_protected,
                "newest": c.verdict.is_newest,
                "retire": c.verdict.retire,
                "reason": c.verdict.reason,
                "tags": list(c.version.tags),
                "request_count": c.version.request_count,
                "last_accessed": iso(c.version.last_accessed),
                "activated_at": iso(c.version.activated_at),
            }
            for c in candidates
        ],
        "retired": [
            {
                "tsv": o.candidate.version.tsv,
                "result": result_json(o.result, transactional_ddl=transactional),
            }
            for o in outcomes
            if o.result is not None
        ],
        "failed": [
            {
                "tsv": o.candidate.version.tsv,
                "error": {"type": type(o.error).__name__, "message": o.error.message},
            }
            for o in outcomes
            if o.error is not None
        ],
    }


def _print(
    app: App,
    candidates: list[RetirementCandidate],
    outcomes: list[RetirementOutcome],
    moment: datetime,
    *,
    dry_run: bool,
) -> None:
    style = app.style
    if not candidates:
        app.echo("No live versions: nothing to retire.")
        return
    rows: list[list[str | Cell]] = []
    for c in candidates:
        verdict = c.verdict
        action = ("would retire" if dry_run else "retire") if verdict.retire else "keep"
        rows.append(
            [
                c.version.tsv,
                c.version.handler,
                Cell(str(verdict.status), style.status),
                "yes" if verdict.is_protected else "-",
                "yes" if verdict.is_newest else "-",
                when(c.version.last_accessed, moment) if c.version.last_accessed else "never",
                Cell(action, (lambda t: style(t, "yellow")) if verdict.retire else None),
                verdict.reason,
            ]
        )
    headers = ["TSV", "HANDLER", "STATUS", "PROTECTED", "NEWEST", "LAST REQUEST", "VERDICT", "WHY"]
    app.echo(table(headers, rows, style))
    if not outcomes:
        app.echo("Nothing to retire.")
        return
    app.echo("")
    for outcome in outcomes:
        tsv = outcome.candidate.version.tsv
        if outcome.error is not None:
            app.echo(f"{style('Failed', 'red', 'bold')} to retire {tsv}: {outcome.error.message}")
        elif outcome.result is not None:
            verb = "Would retire" if dry_run else "Retired"
            gone = [a.name for a in outcome.result.plan.actions if a.kind == "rollback"]
            rolled = "would roll back" if dry_run else "rolled back"
            detail = f"{rolled} {', '.join(gone)}" if gone else "its schemas are still needed"
            app.echo(f"{verb} {tsv} ({detail})")
    if dry_run:
        app.echo("Dry run: nothing was changed.")
