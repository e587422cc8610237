"""What every command shares: global options, the project, the facade, output and secret masking.

Passwords are masked at the source (:func:`timescape.store.urls.redact`); as a second line of
defence every line this CLI writes passes through :meth:`App.scrub`, which masks the password of
every URL in play (``--database``, ``TIMESCAPE_DATABASE_URL``, the project file) in its raw,
percent-decoded and percent-encoded forms.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl, quote, quote_plus, unquote

import click

from timescape.cli._formats import json_format
from timescape.cli.render import Style, use_color

if TYPE_CHECKING:
    from timescape.manager import Timescape
    from timescape.project.config import Project
    from timescape.reports import OperationResult

__all__ = ["App", "global_options", "pass_app", "run_operation", "secret_forms"]

_SECRET_PARAM = re.compile(r"(?i)^(password|pass|pwd|passwd|sslpassword)$")
_MIN_SECRET = 4
F = TypeVar("F", bound=Callable[..., Any])


def secret_forms(url: str | None) -> set[str]:
    """Every form in which the password of ``url`` could be printed.

    Works on malformed URLs too: the password is what lies between the first ``:`` of the userinfo
    and the *last* ``@`` of the authority (an unencoded ``@`` in a password is a common mistake).

    Args:
        url: A database URL, or None.

    Returns:
        The password raw, decoded and encoded, and password-like query values; forms shorter than
        four characters are left out (masking them would garble ordinary text).
    """
    if not url:
        return set()
    found: set[str] = set()
    rest = url.partition("://")[2] or url
    at = rest.rfind("@")
    if at >= 0:
        userinfo = rest[:at]
        if ":" in userinfo:
            found.add(userinfo.split(":", 1)[1])
    query = url.partition("?")[2].partition("#")[0]
    found.update(
        value for key, value in parse_qsl(query, keep_blank_values=True) if _SECRET_PARAM.match(key)
    )
    # An unencoded '#' in a password would end the query for a URL parser; mask up to '&' too.
    for pattern in (r"([^&#]*)", r"([^&]*)"):
        found.update(
            re.findall(rf"(?i)[?&](?:password|pass|pwd|passwd|sslpassword)={pattern}", url)
        )
    forms: set[str] = set()
    for secret in found:
        plain = unquote(secret)
        forms.update({secret, plain, quote(secret, safe=""), quote(plain, safe="")})
        forms.update({quote_plus(secret), quote_plus(plain)})
    return {f for f in forms if len(f) >= _MIN_SECRET}


@dataclass
class App:
    """Per-invocation state: options, then the project and facade on first use.

    Attributes:
        project_path: ``--project``.
        database: ``--database``.
        json: ``--json``.
        verbose: ``-v`` count.
    """

    project_path: Path | None = None
    database: str | None = None
    json: bool = False
    verbose: int = 0
    _project: Project | None = field(default=None, repr=False)
    _timescape: Timescape | None = field(default=None, repr=False)
    _secrets: set[str] = field(default_factory=set, repr=False)
    _log_handler: logging.Handler | None = field(default=None, repr=False)
    _log_level: int = field(default=logging.NOTSET, repr=False)

    # -- secrets and output -------------------------------------------------------------------

    def secrets(self) -> set[str]:
        """Password forms known so far (options, environment, project file)."""
        found = set(self._secrets)
        found |= secret_forms(self.database)
        found |= secret_forms(os.environ.get("TIMESCAPE_DATABASE_URL"))
        if self._project is not None:
            found |= secret_forms(self._project.database.url)
        return found

    def scrub(self, text: str) -> str:
        """Mask every known password form in ``text``."""
        for secret in sorted(self.secrets(), key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    @property
    def style(self) -> Style:
        """Styling for stdout."""
        return Style(enabled=use_color(sys.stdout))

    @property
    def err_style(self) -> Style:
        """Styling for stderr."""
        return Style(enabled=use_color(sys.stderr))

    def echo(self, text: str = "") -> None:
        """Print a line on stdout (masked)."""
        click.echo(self.scrub(text), color=self.style.enabled)

    def warn(self, text: str) -> None:
        """Print a line on stderr (masked)."""
        click.echo(self.scrub(text), err=True, color=self.err_style.enabled)

    def emit_json(self, document: object) -> None:
        """Print one JSON document on stdout (masked), its format version first.

        A document that is an object gains ``"format": N`` as its first key (see
        :mod:`timescape.cli._formats`), unless it already carries one.
        """
        if isinstance(document, dict) and "format" not in document:
            document = {"format": json_format(_command_path()), **document}
        from timescape.cli._jsontext import dumps  # noqa: PLC0415 - only --json writes JSON

        click.echo(self.scrub(dumps(document)))

    # -- project and facade -------------------------------------------------------------------

    def project(self) -> Project:
        """Load the project file once (validated; no connection)."""
        if self._project is None:
            from timescape.project.config import load_project  # noqa: PLC0415 - keeps --help light

            self._project = load_project(self.project_path, cache=True)
        return self._project

    def timescape(self) -> Timescape:
        """Build the facade once: definitions validated before any connection opens."""
        if self._timescape is None:
            self.setup_logging()
            self._timescape = self.project().timescape(self.database)
        return self._timescape

    def close(self) -> None:
        """Close the facade's connection and detach logging."""
        if self._timescape is not None:
            self._timescape.close()
            self._timescape = None
        if self._log_handler is not None:
            logger = logging.getLogger("timescape")
            logger.removeHandler(self._log_handler)
            logger.setLevel(self._log_level)
            self._log_handler = None

    def setup_logging(self) -> None:
        """Send Timescape's warnings (info with -v, debug with -vv) to stderr, masked."""
        if self._log_handler is not None:
            return
        app = self

        class _Masked(logging.StreamHandler):  # type: ignore[type-arg]
            def format(self, record: logging.LogRecord) -> str:
                return app.scrub(super().format(record))

        handler = _Masked(sys.stderr)
        handler.setFormatter(logging.Formatter("timescape: %(levelname)s: %(message)s"))
        handler.setLevel(
            logging.DEBUG if self.verbose > 1 else logging.INFO if self.verbose else logging.WARNING
        )
        logger = logging.getLogger("timescape")
        self._log_level = logger.level
        logger.addHandler(handler)
        if logger.level == logging.NOTSET or logger.level > handler.level:
            logger.setLevel(handler.level)
        self._log_handler = handler

    @contextmanager
    def progress(self) -> Iterator[None]:
        """Show migration progress on stderr while the block runs."""
        from timescape.cli.progress import Progress  # noqa: PLC0415 - only for changing commands

        live = sys.stderr.isatty() and os.environ.get("TERM") != "dumb"
        with Progress(sys.stderr, live=live, verbose=self.verbose > 0 and not self.json):
            yield


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


def _command_path() -> str:
    """The running command without the program name (``"schema list"``), or ``"error"``."""
    ctx = click.get_current_context(silent=True)
    names: list[str] = []
    while ctx is not None and ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(reversed(names)) or "error"
