"""``timescape schema adopt`` and ``timescape import``: taking over what a team already has.

``schema adopt NAME...`` checks the database's catalog and records schemas as applied (exit 1 and
the list of what is missing when the database lacks anything they create). ``import TOOL PATH``
writes another tool's history into the project file (never touching the database), and with
``--adopt`` then adopts what the tool's own table says is applied.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from timescape.cli._context import App, global_options, pass_app

if TYPE_CHECKING:
    from timescape.engine.adoption import AdoptionReport

__all__ = ["adopt_command", "import_command"]

_TOOLS = ("alembic", "flyway", "golang-migrate", "dbmate", "sql")


def report_json(report: AdoptionReport) -> dict[str, Any]:
    """The adoption report as JSON (the CLI adds ``format``)."""
    return {
        "ok": report.ok,
        "dry_run": report.dry_run,
        "adopted": list(report.adopted),
        "already_applied": list(report.already_applied),
        "schemas": [
            {
                "name": s.name,
                "status_before": s.status_before,
                "found": list(s.found),
                "missing": list(s.missing),
                "unchecked": list(s.unchecked),
            }
            for s in report.schemas
        ],
    }


def _report_lines(report: AdoptionReport) -> list[str]:
    lines: list[str] = []
    for schema in report.schemas:
        lines.append(
            f"schema {schema.name}: {len(schema.found)} object(s) found, "
            f"{len(schema.missing)} missing, {len(schema.unchecked)} not checked"
        )
        lines.extend(f"  missing: {item}" for item in schema.missing)
        lines.extend(f"  not checked: {item}" for item in schema.unchecked)
    if report.already_applied:
        lines.append(f"already applied: {', '.join(report.already_applied)}")
    if not report.ok:
        lines.append(
            f"Nothing adopted: {len(report.missing)} object(s) missing. Adopt only the schemas the "
            "database has and apply the rest with "
            "'timescape schema migrate', or fix the database and adopt again."
        )
    elif not report.adopted:
        lines.append("Nothing to adopt: every schema named is applied already.")
    elif report.dry_run:
        lines.append(f"Would adopt {', '.join(report.adopted)} (dry run: nothing recorded).")
    else:
        lines.append(f"Adopted {', '.join(report.adopted)}: recorded as applied.")
    return lines


def _emit(app: App, report: AdoptionReport) -> int:
    if app.json:
        app.emit_json(report_json(report))
    else:
        for line in _report_lines(report):
            app.echo(line)
    return 0 if report.ok else 1


@click.command("adopt")
@click.argument("names", nargs=-1, required=True)
@click.option("--dry-run", is_flag=True, help="Check and report; record nothing.")
@global_options
@pass_app
@click.pass_context
def adopt_command(ctx: click.Context, app: App, names: tuple[str, ...], *, dry_run: bool) -> None:
    """Record schemas as applied for objects the database already has.

    Checks the catalog for the tables, columns, indexes and views the schemas' migrations (and
    their unapplied ancestors') create; refuses with exit 1 and the list of what is missing.
    Data changes, functions, triggers and Python steps cannot be checked and are listed.
    """
    ctx.exit(_emit(app, app.timescape().adopt(names, dry_run=dry_run)))


@click.command("import")
@click.argument("tool", type=click.Choice(_TOOLS))
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Print what would be written; write nothing.")
@click.option(
    "--prefix",
    help="Put before every schema name (default: rev_ for alembic, m for numbered files).",
)
@click.option(
    "--dir",
    "migrations_dir",
    default="migrations",
    show_default=True,
    help="Folder (in the project) for the schemas' dir folders.",
)
@click.option(
    "--render-sql",
    type=click.Choice(("sqlite", "postgresql", "mysql")),
    help="Alembic: turn revisions that render offline (alembic upgrade --sql) into SQL steps "
    "for this database; the others keep running through Alembic.",
)
@click.option(
    "--adopt",
    "adopt",
    is_flag=True,
    help="Then adopt what the tool's table (alembic_version, flyway_schema_history, "
    "schema_migrations) says the database has.",
)
@global_options
@pass_app
@click.pass_context
def import_command(
    ctx: click.Context,
    app: App,
    tool: str,
    path: Path,
    *,
    dry_run: bool,
    prefix: str | None,
    migrations_dir: str,
    render_sql: str | None,
    adopt: bool,
) -> None:
    """Write another tool's migration history into the project file.

    TOOL is alembic (PATH: alembic.ini or the script directory), flyway, golang-migrate, dbmate
    or sql (PATH: the migrations folder). Each migration becomes a schema, parents first; the
    database is not touched unless --adopt is given.
    """
    from timescape.project.config import (  # noqa: PLC0415 - keeps --help light
        PROJECT_FILE,
        find_project_file,
    )
    from timescape.project.importers import read_history, write_history  # noqa: PLC0415
    from timescape.project.importers.applied import TABLES  # noqa: PLC0415

    if adopt and tool not in TABLES:
        from timescape.errors import InputError  # noqa: PLC0415

        raise InputError(
            f"{tool} keeps no history table to adopt from: import without --adopt, then run "
            "'timescape schema adopt NAME' with the last schema the database has"
        )
    history = read_history(tool, path, prefix=prefix, render_sql=render_sql)
    project_file = _project_file(app.project_path, find_project_file, PROJECT_FILE)
    existing: list[str] = []
    if project_file.exists():
        existing = [s.name for s in app.project().schemas]
    written = write_history(
        history, project_file, migrations_dir=migrations_dir, existing=existing, dry_run=dry_run
    )
    adoption = None
    if adopt and not dry_run:
        adoption = _adopt(app, project_file, tool, history)
    if app.json:
        app.emit_json(
            {
                "tool": tool,
                "dry_run": dry_run,
                "project_file": str(written.project_file),
                "schemas": [
                    {
                        "name": s.name,
                        "parent": list(s.parents),
                        "source": s.source,
                        "tool_id": s.tool_id,
                    }
                    for s in history.schemas
                ],
                "heads": list(history.heads),
                "files": list(written.files),
                "skipped": list(history.skipped),
                "notes": list(history.notes),
                "adoption": report_json(adoption) if adoption is not None else None,
            }
        )
    else:
        verb = "Would write" if dry_run else "Wrote"
        app.echo(
            f"{verb} {len(history.schemas)} schema(s) from {tool} into {written.project_file}"
            f" (heads: {', '.join(history.heads)})."
        )
        for line in (*history.skipped, *history.notes):
            app.echo(f"  {line}")
        if dry_run:
            app.echo("")
            app.echo(written.toml.rstrip())
        if adoption is not None:
            for line in _report_lines(adoption):
                app.echo(line)
    ctx.exit(0 if adoption is None or adoption.ok else 1)


def _project_file(given: Path | None, find: Any, default_name: str) -> Path:
    """The project file to append to: as ``--project`` names it, or found upwards, or created."""
    if given is not None and given.is_file():
        return given
    if given is not None and (given.is_dir() or not given.suffix):
        inner = given / default_name
        if not inner.is_file():
            pyproject = given / "pyproject.toml"
            if pyproject.is_file() and find(given) == pyproject:
                return pyproject
        return inner
    if given is not None:
        return given
    found: Path | None = find(Path.cwd())
    return found if found is not None else Path.cwd() / default_name


def _adopt(app: App, project_file: Path, tool: str, history: Any) -> AdoptionReport:
    from timescape.errors import InputError  # noqa: PLC0415
    from timescape.project.importers.applied import (  # noqa: PLC0415
        applied_tool_ids,
        schemas_for,
    )

    app.project_path = project_file
    app._project = None  # noqa: SLF001 - the file was just appended to: read it again
    ts = app.timescape()
    ts.backend.connect()
    written = f"the {len(history.schemas)} schema(s) are written to {project_file}, but"
    try:
        ids = applied_tool_ids(ts.backend, tool)
    except InputError as exc:
        raise InputError(f"{written} nothing was adopted: {exc.message}") from None
    names, unknown = schemas_for(ids, history)
    if unknown:
        raise InputError(
            f"{written} nothing was adopted: the database's {tool} table records "
            f"{unknown[0]!r}, which is not in {history.source}"
        )
    if not names:
        from timescape.engine.adoption import AdoptionReport  # noqa: PLC0415

        return AdoptionReport()
    return ts.adopt(names)
