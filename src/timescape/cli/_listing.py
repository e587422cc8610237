"""``schema list`` and ``version list``: what they print, whichever way the command line came in.

The click commands (:mod:`timescape.cli.schema`, :mod:`timescape.cli.version`) and the click-free
start (:mod:`timescape.cli._fast`) both call these functions, so the two print the same by
construction. Nothing here imports click.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from timescape.cli._gc import without_collector
from timescape.cli.render import Cell, Rows, contract_word, table, when

if TYPE_CHECKING:  # the model loads when a command runs
    from timescape.cli._app import App
    from timescape.reports import SchemaInfo

__all__ = ["VERSION_STATUSES", "list_schemas", "list_versions", "parent_field", "short_checksum"]

VERSION_STATUSES = ("hot", "warm", "cold", "retiring", "inactive")
"""The choices of ``version list --status``."""


@without_collector
def list_schemas(app: App) -> None:
    """List schemas with status, usage and checksum."""
    from timescape.reports import SchemaInfo  # noqa: PLC0415 - loaded with the facade anyway

    if app.json:
        # schema_json's objects as tuples: the fields as they are, not JSON-ready (dumps
        # converts datetimes exactly as schema_json does, a column at a time, issue #5), the
        # moments as printed text straight from the stored text, and no SchemaInfo built only
        # to be taken apart again (issue 14).
        names = tuple(f.name for f in dataclasses.fields(SchemaInfo))
        steps, done = names.index("contract_steps"), names.index("contract_done")
        found = app.timescape().schema_rows(iso_times=True)
        # A column per field, the two made for JSON added as columns too: no tuple per row
        # made only for dumps to take apart again (issue 14).
        columns: list[Sequence[Any]] = (
            list(zip(*found, strict=True)) if found else [() for _ in names]
        )
        contract = [
            contract_word(n, done=d) for n, d in zip(columns[steps], columns[done], strict=True)
        ]
        # ``name`` first, then ``parent``, then the other fields: as schema_json's dict has them.
        keys = ("name", "parent", *names[1:], "contract")
        printed = [columns[0], list(map(parent_field, columns[1])), *columns[1:], contract]
        app.emit_json({"schemas": Rows.of_columns(keys, printed)})
        return
    infos = app.timescape().schemas()
    if not infos:
        app.echo("No schemas defined: add a [[schemas]] table to the project file.")
        return
    style = app.style
    now = datetime.now(UTC)
    rows: list[list[str | Cell]] = [
        [
            _name_cell(i),
            ", ".join(i.parents) or "-",
            Cell(i.status, style.status),
            _users(i.used_by),
            when(i.applied_at, now) if i.status == "applied" else "-",
            short_checksum(i.checksum),
        ]
        for i in infos
    ]
    app.echo(table(["NAME", "PARENT", "STATUS", "USED BY", "APPLIED", "CHECKSUM"], rows, style))


@without_collector
def list_versions(app: App, handler: str | None, status: str | None) -> None:
    """List versions with status, tags and usage."""
    if app.json:
        # The VersionInfo fields as tuples, encoded a column at a time, the moments as printed
        # text straight from the stored text (issue 14).
        from timescape.reports import VersionInfo  # noqa: PLC0415 - loaded with the facade anyway

        names = tuple(f.name for f in dataclasses.fields(VersionInfo))
        found = app.timescape().version_rows(handler=handler, iso_times=True)
        if status is not None:
            at = names.index("status")
            found = [r for r in found if r[at] == status]
        app.emit_json({"versions": Rows(names, found)})
        return
    infos = app.timescape().versions(handler=handler)
    if status is not None:
        infos = [i for i in infos if i.status == status]
    if not infos:
        app.echo(
            "No versions match."
            if handler or status
            else "No versions defined: add a [[versions]] table to the project file."
        )
        return
    style = app.style
    now = datetime.now(UTC)
    rows: list[list[str | Cell]] = [
        [
            i.tsv,
            i.handler,
            i.timestamp.strftime("%Y-%m-%d %H:%M"),
            i.schema,
            Cell("yes" if i.active else "no", (lambda t: style(t, "green")) if i.active else None),
            Cell(i.status, style.status),
            ", ".join(i.tags) or "-",
            str(i.request_count),
            when(i.last_accessed, now) if i.last_accessed else "never",
        ]
        for i in infos
    ]
    headers = [
        "TSV",
        "HANDLER",
        "TIMESTAMP",
        "SCHEMA",
        "LIVE",
        "STATUS",
        "TAGS",
        "REQUESTS",
        "LAST REQUEST",
    ]
    app.echo(table(headers, rows, style))


def parent_field(parents: tuple[str, ...]) -> str | list[str] | None:
    """``parent`` as written in the project file: one name, a list of them, or None."""
    if len(parents) == 1:
        return parents[0]
    return list(parents) or None


def _name_cell(info: SchemaInfo) -> str:
    """The name, flagged when it is gone from the project or cannot be rolled back."""
    if not info.defined:
        return f"{info.name} (not defined)"
    if not info.reversible:
        return f"{info.name} (no rollback)"
    return info.name


def short_checksum(checksum: str | None) -> str:
    if not checksum:
        return "-"
    return checksum.rpartition(":")[2][:12]


def _users(used_by: tuple[str, ...]) -> str:
    if not used_by:
        return "-"
    if len(used_by) <= 2:
        return ", ".join(used_by)
    return f"{used_by[0]}, +{len(used_by) - 1} more"
