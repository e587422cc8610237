"""The ``timescape`` command: the click group, global options, and the one error handler.

Exit codes: 0 success; 1 the operation failed or a check found problems; 2 bad input (usage,
definition errors, unknown refs). Every error is one ``Error: …`` line on stderr (``-v`` adds the
chained causes, ``-vv`` a traceback for unexpected errors); with ``--json`` the error is also the
JSON document on stdout: ``{"error": {"type", "message", "exit_code", …facts}}``.

Commands are thin: each calls one public :class:`~timescape.manager.Timescape` method and renders
the result. Nothing here imports a database driver, sqlglot or rich.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import click

from timescape import __version__
from timescape.cli._app import describe_error, error_causes, report_error
from timescape.cli._context import App, global_options, pass_app
from timescape.cli._gc import without_collector
from timescape.cli._lazy import add_lazy, imported
from timescape.cli.render import Cell, jsonable, table, when
from timescape.errors import TimescapeError

__all__ = ["cli", "main"]

EXIT_INTERRUPTED = 130


class TimescapeGroup(click.Group):
    """The root group: runs the command and maps every error to an exit code and one line."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,  # noqa: FBT001, FBT002 - click's signature
        **extra: Any,
    ) -> Any:
        """Run the CLI; exit (or return, when not standalone) with the right code."""
        app = App()
        extra.setdefault("obj", app)
        words = list(sys.argv[1:] if args is None else args)
        # Usage errors are raised before any option callback runs: honour --json for them too.
        app.json = "--json" in words[: words.index("--")] if "--" in words else "--json" in words
        try:
            value = super().main(
                args, prog_name or "timescape", complete_var, standalone_mode=False, **extra
            )
            code = value if isinstance(value, int) and not isinstance(value, bool) else 0
        except TimescapeError as exc:
            code = exc.exit_code
            _report(app, exc, code)
        except click.ClickException as exc:
            code = exc.exit_code
            _report(app, exc, code)
        except click.Abort as exc:
            code = EXIT_INTERRUPTED
            _report(app, exc, code)
        except BrokenPipeError:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            code = 1
        except Exception as exc:
            code = 1
            _report(app, exc, code)
        finally:
            app.close()
        if standalone_mode:
            sys.exit(code)
        return code


def _describe(exc: BaseException) -> tuple[str, str, dict[str, Any]]:
    """Return ``(type, message, facts)`` for an error."""
    if isinstance(exc, click.UsageError):
        return "UsageError", exc.format_message(), {}
    if isinstance(exc, click.ClickException):
        return type(exc).__name__, exc.format_message(), {}
    if isinstance(exc, click.Abort):
        return "Interrupted", "interrupted", {}
    return describe_error(exc)


def _report(app: App, exc: BaseException, code: int) -> None:
    kind, message, facts = _describe(exc)
    if isinstance(exc, click.UsageError) and not app.json:
        buffer = io.StringIO()
        exc.show(file=buffer)
        app.warn(buffer.getvalue().rstrip("\n"))
        return
    bug = not isinstance(exc, TimescapeError | click.ClickException)
    causes = error_causes(exc)
    trace = exc if bug else None
    report_error(app, code, kind=kind, message=message, facts=facts, causes=causes, trace=trace)


# ``timescape --help`` does not run this code: timescape.cli._entry replays what it printed when
# _helptext.py was generated. After changing anything the top-level help shows (here or in a
# command's docstring), run ``python -m timescape.cli._helpgen``; tests/cli/test_entry.py insists.
@click.group(
    cls=TimescapeGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@global_options
@click.version_option(
    __version__, "--version", prog_name="timescape", message="%(prog)s %(version)s"
)
@pass_app
def cli(app: App) -> None:
    """Version a database schema together with the API versions of a web service.

    The project file is timescape.toml (or [tool.timescape] in pyproject.toml), found in the
    current folder or above, or given with --project. The database URL comes from --database,
    then TIMESCAPE_DATABASE_URL, then the project file, then sqlite:///timescape.db beside it.

    Global options may also follow the command: timescape schema list --json.
    Exit codes: 0 success, 1 failure or problems found, 2 bad input.
    """
    del app


# Each command module loads when its command is looked up (timescape.cli._lazy): a command line
# imports only the modules it runs.


def _schema() -> click.Command:
    from timescape.cli.schema import schema_group  # noqa: PLC0415 - the point of it

    add_lazy(schema_group, "adopt", imported("timescape.cli.importing", "adopt_command"))
    return schema_group


for _name, _load in (
    ("init", imported("timescape.cli.init", "init_command")),
    ("demo", imported("timescape.cli.demo", "demo_command")),
    ("schema", _schema),
    ("version", imported("timescape.cli.version", "version_group")),
    ("dashboard", imported("timescape.cli.dashboard", "dashboard_command")),
    ("import", imported("timescape.cli.importing", "import_command")),
    ("instances", imported("timescape.cli.instances", "instances_command")),
):
    add_lazy(cli, _name, _load)


@cli.command("history")
@click.option(
    "--limit",
    type=click.IntRange(1, 100_000),
    default=50,
    show_default=True,
    help="At most this many events.",
)
@global_options
@pass_app
def history_command(app: App, limit: int) -> None:
    """Show the audit log, newest first."""
    events = app.timescape().history(limit=limit)
    if app.json:
        app.emit_json({"events": jsonable(events)})
        return
    if not events:
        app.echo("No events yet: nothing has been applied or activated in this database.")
        return
    now = datetime.now(UTC)
    style = app.style
    rows: list[list[str | Cell]] = []
    for event in events:
        duration = f"{event.duration_ms} ms" if event.duration_ms is not None else "-"
        colour = "red" if "failed" in event.kind or "interrupted" in event.kind else None
        rows.append(
            [
                when(event.at, now),
                Cell(event.kind, (lambda t, c=colour: style(t, c)) if colour else None),  # type: ignore[misc]
                event.subject,
                event.actor,
                duration,
                _detail(event.detail),
            ]
        )
    app.echo(table(["WHEN", "EVENT", "SUBJECT", "BY", "DURATION", "DETAIL"], rows, style))


def _detail(detail: dict[str, Any], limit: int = 70) -> str:
    parts = []
    for key, value in detail.items():
        if value in (None, [], {}, ""):
            continue
        shown = ",".join(map(str, value)) if isinstance(value, list) else str(value)
        parts.append(f"{key}={shown}")
    text = " ".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@cli.command("verify")
@global_options
@pass_app
@click.pass_context
def verify_command(ctx: click.Context, app: App) -> None:
    """Check for drift and failed or interrupted runs.

    Exits 1 when anything needs attention.
    """
    report = app.timescape().verify()
    if app.json:
        app.emit_json(
            {
                "ok": report.ok,
                "checked_schemas": report.checked_schemas,
                "problems": jsonable(report.problems),
            }
        )
    else:
        style = app.style
        if report.ok:
            app.echo(
                style(
                    f"OK: {report.checked_schemas} schema(s) checked, nothing needs attention.",
                    "green",
                )
            )
        else:
            count = sum(1 for p in report.problems if p.kind != "in_progress")
            app.echo(
                style(
                    f"{count} problem(s) found ({report.checked_schemas} schema(s) checked):",
                    "red",
                    "bold",
                )
            )
        for problem in report.problems:
            app.echo(f"  {style(problem.kind, 'yellow')}: {problem.message}")
    if not report.ok:
        ctx.exit(1)


@cli.command("stats")
@global_options
@pass_app
@without_collector
def stats_command(app: App) -> None:
    """Show counts by status and migration durations."""
    stats = app.timescape().stats()
    if app.json:
        app.emit_json(jsonable(stats))
        return
    values = jsonable(stats)
    width = max(len(k) for k in values)
    style = app.style
    for key, value in values.items():
        shown = "-" if value is None else str(value)
        app.echo(f"{style(key.ljust(width), 'bold')}  {shown}")


def main() -> None:
    """Run the click CLI, for every command line :func:`timescape.cli._entry.main` cannot replay.

    The console script starts in :mod:`timescape.cli._entry`, which answers the top-level help
    and ``--version`` without importing click.
    """
    cli.main(prog_name="timescape")
