"""What every command run shares, click or not: options, project, facade, output, secrets, errors.

:class:`App` holds one invocation's state. It does not import click, so the listings'
click-free start (:mod:`timescape.cli._fast`) runs the very same code as the click commands; only
:meth:`App.write` and :meth:`App.command_path` differ between the two.

Passwords are masked at the source (:func:`timescape.store.urls.redact`); as a second line of
defence every line this CLI writes passes through :meth:`App.scrub`, which masks the password of
every URL in play (``--database``, ``TIMESCAPE_DATABASE_URL``, the project file) in its raw,
percent-decoded and percent-encoded forms.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote

from timescape._log import configure_before_first_record
from timescape.cli._formats import json_format
from timescape.cli.render import Style, use_color
from timescape.errors import TimescapeError

if TYPE_CHECKING:
    import logging

    from timescape.manager import Timescape
    from timescape.project.config import DatabaseSettings, Project

__all__ = ["App", "describe_error", "error_causes", "report_error", "secret_forms"]

# Compiled on first use (re's cache): most URLs have no query, and each pattern compiled at
# import cost the listings' start about 0.5M instructions.
_SECRET_PARAM = r"(?i)^(password|pass|pwd|passwd|sslpassword)$"  # noqa: S105 - a pattern
_MIN_SECRET = 4


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
    if query:
        found.update(
            value
            for key, value in parse_qsl(query, keep_blank_values=True)
            if re.match(_SECRET_PARAM, key)
        )
    # An unencoded '#' in a password would end the query for a URL parser; mask up to '&' too.
    for pattern in (r"([^&#]*)", r"([^&]*)") if "?" in url or "&" in url else ():
        found.update(
            re.findall(rf"(?i)[?&](?:password|pass|pwd|passwd|sslpassword)={pattern}", url)
        )
    forms: set[str] = set()
    for secret in found:
        plain = unquote(secret)
        forms.update({secret, plain, quote(secret, safe=""), quote(plain, safe="")})
        forms.update({quote_plus(secret), quote_plus(plain)})
    return {f for f in forms if len(f) >= _MIN_SECRET}


class App:
    """Per-invocation state: options, then the project and facade on first use.

    A plain class, not a dataclass: the decorator compiles ``__init__``, ``__repr__`` and
    ``__eq__`` at import, about 1M instructions of every listing's start, for methods no one
    calls.

    Attributes:
        project_path: ``--project``.
        database: ``--database``.
        json: ``--json``.
        verbose: ``-v`` count.
    """

    def __init__(
        self,
        project_path: Path | None = None,
        database: str | None = None,
        *,
        json: bool = False,
        verbose: int = 0,
    ) -> None:
        """Options as given; the project and the facade load on first use."""
        self.project_path = project_path
        self.database = database
        self.json = json
        self.verbose = verbose
        self._project: Project | None = None
        self._timescape: Timescape | None = None
        self._secrets: set[str] = set()
        self._log_handler: logging.Handler | None = None
        self._log_level = 0  # logging.NOTSET

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
        self.write(self.scrub(text), err=False, color=self.style.enabled)

    def warn(self, text: str) -> None:
        """Print a line on stderr (masked)."""
        self.write(self.scrub(text), err=True, color=self.err_style.enabled)

    def emit_json(self, document: object) -> None:
        """Print one JSON document on stdout (masked), its format version first.

        A document that is an object gains ``"format": N`` as its first key (see
        :mod:`timescape.cli._formats`), unless it already carries one.
        """
        if isinstance(document, dict) and "format" not in document:
            document = {"format": json_format(self.command_path()), **document}
        from timescape.cli._jsontext import dumps  # noqa: PLC0415 - only --json writes JSON

        self.write(self.scrub(dumps(document)), err=False, color=None)

    def write(self, text: str, *, err: bool, color: bool | None) -> None:
        """Print ``text`` and a newline as :func:`click.echo` does (the one way out).

        :class:`timescape.cli._fast` overrides this (and :meth:`command_path`) to list schemas
        and versions without importing click.
        """
        import click  # noqa: PLC0415 - loaded already: this App runs inside the click CLI

        click.echo(text, err=err, color=color)

    def command_path(self) -> str:
        """The running command without the program name (``"schema list"``), or ``"error"``."""
        import click  # noqa: PLC0415 - loaded already: this App runs inside the click CLI

        ctx = click.get_current_context(silent=True)
        names: list[str] = []
        while ctx is not None and ctx.parent is not None:
            names.append(ctx.info_name or "")
            ctx = ctx.parent
        return " ".join(reversed(names)) or "error"

    # -- project and facade -------------------------------------------------------------------

    def project(self) -> Project:
        """Load the project file once (validated; no connection)."""
        return self._load_project(connect_ahead=False)

    def _load_project(self, *, connect_ahead: bool) -> Project:
        """The project, loaded once; with ``connect_ahead``, the connection opens meanwhile."""
        if self._project is None:
            from timescape.project.config import load_project  # noqa: PLC0415 - keeps --help light

            self._project = load_project(
                self.project_path,
                cache=True,
                on_database=self._open_database_ahead if connect_ahead else None,
            )
        return self._project

    def _open_database_ahead(self, settings: DatabaseSettings, root: Path) -> None:
        """Open the connection on a helper thread while the definitions load.

        A command that builds the facade connects next; at ten thousand schemas, rebuilding the
        definitions and opening SQLite (which parses every table's ``CREATE``) took 140 and
        66 ms one after the other (issue 14). See :mod:`timescape.store.ahead`.
        """
        from timescape.project.config import open_database_ahead  # noqa: PLC0415 - loaded

        open_database_ahead(settings, root, self.database)

    def timescape(self) -> Timescape:
        """Build the facade once, its definitions validated before anything is read or written.

        Its connection opens on a helper thread while the definitions load
        (:meth:`_open_database_ahead`).
        """
        if self._timescape is None:
            self._arrange_logging()
            project = self._load_project(connect_ahead=True)
            self._timescape = project.timescape(self.database)
        return self._timescape

    def close(self) -> None:
        """Close the facade's connection and detach logging."""
        if self._timescape is not None:
            self._timescape.close()
            self._timescape = None
        ahead = sys.modules.get("timescape.store.ahead")
        if ahead is not None:
            ahead.discard()  # opened for a facade the command never built (it failed before)
        configure_before_first_record(None)
        if self._log_handler is not None:
            import logging  # noqa: PLC0415 - imported when the handler was installed

            logger = logging.getLogger("timescape")
            logger.removeHandler(self._log_handler)
            logger.setLevel(self._log_level)
            self._log_handler = None

    def _arrange_logging(self) -> None:
        """Install the masked handler now under ``-v``; else just before the first record.

        Why: with no ``-v``, only warnings can be shown, and a listing emits none; importing
        :mod:`logging` for its handler was a few milliseconds of every listing's start
        (issue 14). Timescape's loggers are lazy (:mod:`timescape._log`): they run the deferred
        setup before any record reaches :mod:`logging`, so a warning is shown exactly as before.
        """
        if self.verbose:
            self.setup_logging()
        else:
            configure_before_first_record(self.setup_logging)

    def setup_logging(self) -> None:
        """Send Timescape's warnings (info with -v, debug with -vv) to stderr, masked."""
        configure_before_first_record(None)
        if self._log_handler is not None:
            return
        import logging  # noqa: PLC0415 - only once a record could be shown (_arrange_logging)

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

        self.setup_logging()  # before the progress listener, which imports logging anyway
        live = sys.stderr.isatty() and os.environ.get("TERM") != "dumb"
        with Progress(sys.stderr, live=live, verbose=self.verbose > 0 and not self.json):
            yield


def error_causes(exc: BaseException) -> list[str]:
    """The chained causes of ``exc``, outermost first, as ``module.Type: message`` lines."""
    causes = []
    seen = {id(exc)}
    current = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        causes.append(f"{type(current).__module__}.{type(current).__qualname__}: {current}")
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return causes


def describe_error(exc: BaseException) -> tuple[str, str, dict[str, Any]]:
    """``(type, message, facts)`` for a Timescape error, or for a bug (anything else)."""
    if isinstance(exc, TimescapeError):
        return type(exc).__name__, exc.message, exc.facts()
    kind = type(exc).__name__
    message = (
        f"unexpected {kind}: {exc} (this is a bug in Timescape; run with -vv for the "
        "traceback and report it)"
    )
    return kind, message, {}


def report_error(
    app: App,
    code: int,
    *,
    kind: str,
    message: str,
    facts: dict[str, Any],
    causes: list[str],
    trace: BaseException | None = None,
) -> None:
    """Report one error: the JSON document (with ``--json``), then one ``Error:`` line on stderr.

    Args:
        app: The invocation.
        code: The exit code it ends with.
        kind: The error's type name, as the document's ``type``.
        message: The one-line message.
        facts: The error's facts, merged into the document.
        causes: The chained causes (printed with ``-v``).
        trace: The exception whose traceback ``-vv`` adds (a bug), or None.
    """
    if app.json:
        document: dict[str, Any] = {**facts, "type": kind, "message": message, "exit_code": code}
        if app.verbose:
            document["causes"] = causes
        app.emit_json({"error": document})
    style = app.err_style
    app.warn(f"{style('Error:', 'red', 'bold')} {message}")
    if app.verbose:
        for cause in causes:
            app.warn(f"  caused by {cause}")
    if app.verbose > 1 and trace is not None:
        import traceback  # noqa: PLC0415 - only for -vv on a bug; costs ~5 ms at start

        app.warn("".join(traceback.format_exception(trace)).rstrip())
