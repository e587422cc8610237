"""What the click commands share: global options, the App they pass around, changing operations.

:class:`~timescape.cli._app.App` (options, project, facade, output, secret masking) lives in
:mod:`timescape.cli._app`, which does not import click; it is re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from timescape.cli._app import App, secret_forms

if TYPE_CHECKING:
    from timescape.manager import Timescape
    from timescape.reports import OperationResult

__all__ = ["App", "global_options", "pass_app", "run_operation", "secret_forms"]

F = TypeVar("F", bound=Callable[..., Any])


pass_app = click.make_pass_decorator(App)


def run_operation(app: App, call: Callable[[Timescape], OperationResult]) -> None:
    """Run one changing facade call with progress on stderr, then print its result."""
    from timescape.cli._operation import (  # noqa: PLC0415 - not for listings
        result_json,
        result_lines,
    )

    ts = app.timescape()
    with app.progress():
        result = call(ts)
    transactional = ts.backend.transactional_ddl
    if app.json:
        app.emit_json(result_json(result, transactional_ddl=transactional))
        return
    for line in result_lines(result, app.style, transactional_ddl=transactional):
        app.echo(line)


def _store(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        app = ctx.find_object(App)
        if app is None or value in (None, False, 0):
            return
        if name == "verbose":
            app.verbose += int(value)
        else:
            setattr(app, name, value)

    return callback


def global_options(func: F) -> F:
    """Accept the global options after the command too (``timescape schema list --json``)."""
    options = [
        click.option(
            "--project",
            type=click.Path(path_type=Path),
            expose_value=False,
            callback=_store("project_path"),
            is_eager=True,
            help="Project file or folder (default: search upwards).",
        ),
        click.option(
            "--database",
            metavar="URL",
            expose_value=False,
            callback=_store("database"),
            is_eager=True,
            help="Database URL (overrides TIMESCAPE_DATABASE_URL and the project file).",
        ),
        click.option(
            "--json",
            "json_",
            is_flag=True,
            expose_value=False,
            callback=_store("json"),
            is_eager=True,
            help="Print one JSON document on stdout.",
        ),
        click.option(
            "-v",
            "--verbose",
            count=True,
            expose_value=False,
            callback=_store("verbose"),
            is_eager=True,
            help="More detail (repeat for more).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func
