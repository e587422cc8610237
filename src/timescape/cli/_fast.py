"""``schema list`` and ``version list`` without click (issue 14: cold start).

``import click`` costs about as much as a bare interpreter's start-up, and these two read-only
listings are what people (and scripts) run most. The console script (:mod:`timescape.cli._entry`)
asks :func:`parse` whether it can serve the command line here; only these shapes are served:

    timescape [GLOBAL…] schema list [GLOBAL…]
    timescape [GLOBAL…] version list [GLOBAL… | --handler H | --status S]

where GLOBAL is ``--project P``, ``--database URL`` (each also as ``--opt=value``), ``--json``,
``-v`` or ``--verbose`` (at most one level: ``-vv`` prints tracebacks, whose frames name the click
path). Anything else falls back to click: an unknown or malformed option, ``--help``, ``--``, an
empty value or one starting with ``-``, a ``--status`` click would refuse, a ``--project`` path
click would call unreadable, shell completion, and output streams click would re-wrap (an ASCII
encoding, a stream that is not a plain text file).

What runs is the very code the click commands run (:mod:`timescape.cli._listing`, the same
:class:`~timescape.cli._app.App`, the same error report); this module mirrors only what click
itself does around a command: ``click.echo`` (strip ANSI codes unless colour, flush), the
a newline on stderr before an interrupt, and a broken pipe ending quietly with 1.
``tests/cli/test_fast_listing.py`` runs both paths on a matrix of command lines, projects and
database states and requires identical exit codes, stdout and stderr, byte for byte.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing costs milliseconds at start; type checkers read this as true
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import IO, Any, NoReturn

    from timescape.cli._app import App

__all__ = ["Listing", "exit_now", "parse", "run"]

_COMPLETE_VAR = "_TIMESCAPE_COMPLETE"
_VALUE_OPTIONS = {"--project": "project", "--database": "database"}
_VERSION_OPTIONS = {"--handler": "handler", "--status": "status"}
_STATUSES = ("hot", "warm", "cold", "retiring", "inactive")  # _listing.VERSION_STATUSES
_EXIT_INTERRUPTED = 130
_EPIPE = 32  # errno.EPIPE on Linux and macOS; the errno module is not worth importing


class Listing:
    """One command line this module can serve: the command and its options as click parses them.

    Attributes:
        command: ``"schema list"`` or ``"version list"``.
        project: Every ``--project`` given, in order (the last one counts).
        database: The last ``--database``, or None.
        json: ``--json`` given.
        verbose: How many ``-v``.
        handler: ``--handler`` (``version list``).
        status: ``--status`` (``version list``).
    """

    def __init__(self) -> None:
        """An empty command line: no command yet, no option."""
        self.command = ""
        self.project: list[str] = []
        self.database: str | None = None
        self.json = False
        self.verbose = 0
        self.handler: str | None = None
        self.status: str | None = None


def parse(argv: Sequence[str]) -> Listing | None:
    """The listing ``timescape *argv`` asks for, when this module prints what click would.

    Args:
        argv: The arguments after the program name.

    Returns:
        The parsed command line, or None: run the click CLI instead.
    """
    if _COMPLETE_VAR in os.environ or not (_plain(sys.stdout) and _plain(sys.stderr)):
        return None
    listing = Listing()
    at = _options(argv, 0, listing, _VALUE_OPTIONS)
    if at is None or tuple(argv[at : at + 2]) not in (("schema", "list"), ("version", "list")):
        return None
    listing.command = f"{argv[at]} list"
    allowed = _VALUE_OPTIONS if argv[at] == "schema" else {**_VALUE_OPTIONS, **_VERSION_OPTIONS}
    if _options(argv, at + 2, listing, allowed) != len(argv):
        return None  # an argument click would refuse, or a subcommand of list
    if listing.verbose > 1 or (listing.status is not None and listing.status not in _STATUSES):
        return None
    for path in listing.project:
        # click.Path(readable=True) refuses an existing path it cannot read.
        if os.path.exists(path) and not os.access(path, os.R_OK):  # noqa: PTH110 - no pathlib yet
            return None
    return listing


def _options(argv: Sequence[str], at: int, listing: Listing, allowed: dict[str, str]) -> int | None:
    """Read options from ``argv[at]`` on into ``listing``; where they stop, or None if unknown."""
    while at < len(argv) and argv[at].startswith("-"):
        word = argv[at]
        name, equals, value = word.partition("=")
        if word == "--json":
            listing.json = True
        elif word == "--verbose" or (len(word) > 1 and word.strip("v") == "-"):
            listing.verbose += 1 if word == "--verbose" else len(word) - 1
        elif name in allowed:
            if not equals:
                at += 1
                value = argv[at] if at < len(argv) else ""
            if not value or value.startswith("-"):
                return None
            field = allowed[name]
            if field == "project":
                listing.project.append(value)
            else:
                setattr(listing, field, value)
        else:
            return None
        at += 1
    return at


def _plain(stream: IO[str] | None) -> bool:
    """Whether ``click.echo`` would write to ``stream`` as it is (not re-wrap it), as we do."""
    import io  # noqa: PLC0415 - loaded at start-up anyway; here for the reader
    from codecs import lookup  # noqa: PLC0415 - likewise

    if type(stream) is not io.TextIOWrapper or stream.errors is None:
        return False
    try:
        return lookup(stream.encoding).name != "ascii"
    except LookupError:
        return True


def run(listing: Listing) -> int:
    """Run the listing as the click CLI would, errors and interrupts included.

    The cyclic garbage collector is off meanwhile, imports included (as for the listing itself,
    :mod:`timescape.cli._gc`): importing the facade allocates enough to trigger it dozens of
    times and frees nothing it would find, 4% of the command's instructions.

    Args:
        listing: What :func:`parse` returned.

    Returns:
        The exit code.

    Raises:
        SystemExit: 1, when stdout or stderr is a broken pipe (as click ends then).
    """
    import gc  # noqa: PLC0415 - built in

    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _run(listing)
    finally:
        if was_enabled:
            gc.enable()


def exit_now(code: int) -> NoReturn:
    """End the process with ``code``, skipping the interpreter's teardown when nothing needs it.

    Tearing the interpreter down after a listing (a last full garbage collection over every
    object the imports made, then every module freed) cost 11% of the command's instructions,
    for nothing a finished listing needs. What a normal exit does that matters is done here:
    stdout and stderr flushed, the ``atexit`` handlers run (logging's among them). Only
    where another thread runs, or a stream cannot be flushed, does the normal exit happen.

    Args:
        code: The exit code.
    """
    import atexit  # noqa: PLC0415 - built in
    import threading  # noqa: PLC0415 - loaded already, by timescape.store.ahead

    if threading.active_count() == 1:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
            atexit._run_exitfuncs()  # noqa: SLF001 - what Py_FinalizeEx runs first
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        else:
            os._exit(code)
    sys.exit(code)


def _run(listing: Listing) -> int:
    """:func:`run`, with the collector off."""
    from pathlib import Path  # noqa: PLC0415 - not for the other command lines

    from timescape.cli import _listing  # noqa: PLC0415 - likewise
    from timescape.cli._app import (  # noqa: PLC0415 - likewise
        describe_error,
        error_causes,
        report_error,
    )
    from timescape.errors import TimescapeError  # noqa: PLC0415 - likewise

    app = _fast_app()
    if listing.project:
        app.project_path = Path(listing.project[-1])
    app.database = listing.database
    app.json = listing.json
    app.verbose = listing.verbose
    call: Callable[[App], None]
    if listing.command == "schema list":
        call = _listing.list_schemas
    else:
        call = lambda app: _listing.list_versions(app, listing.handler, listing.status)  # noqa: E731
    try:
        _invoke(app, listing.command, call)
        code = 0
    except TimescapeError as exc:
        code = exc.exit_code
        kind, message, facts = describe_error(exc)
        report_error(app, code, kind=kind, message=message, facts=facts, causes=error_causes(exc))
    except _InterruptedError as exc:
        code = _EXIT_INTERRUPTED
        report_error(
            app, code, kind="Interrupted", message="interrupted", facts={}, causes=error_causes(exc)
        )
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = 1
    except Exception as exc:
        code = 1
        kind, message, facts = describe_error(exc)
        causes = error_causes(exc)
        report_error(app, code, kind=kind, message=message, facts=facts, causes=causes, trace=exc)
    finally:
        app.close()
    return code


class _InterruptedError(Exception):
    """click's ``Abort``: an interrupt (or end of input) while the command ran."""


def _invoke(app: Any, command: str, call: Callable[[Any], None]) -> None:
    """Run ``call(app)`` as ``click.Command.main`` runs a command (standalone mode off)."""
    app.command = command
    try:
        call(app)
    except (EOFError, KeyboardInterrupt) as exc:
        app.command = "error"
        sys.stderr.write("\n")
        sys.stderr.flush()
        raise _InterruptedError from exc
    except OSError as exc:
        if exc.errno != _EPIPE:
            raise
        sys.stdout = _PacifyFlushWrapper(sys.stdout)
        sys.stderr = _PacifyFlushWrapper(sys.stderr)
        raise SystemExit(1) from None
    finally:
        app.command = "error"  # the context is gone: error documents say "error"


class _PacifyFlushWrapper:
    """click's wrapper of a broken stream: flushing it at exit raises no second EPIPE."""

    def __init__(self, wrapped: IO[str]) -> None:
        self.wrapped = wrapped

    def flush(self) -> None:
        try:
            self.wrapped.flush()
        except OSError as exc:
            if exc.errno != _EPIPE:
                raise

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.wrapped, attr)


def _fast_app() -> App:
    """An :class:`App` that writes as ``click.echo`` does, without click."""
    import re  # noqa: PLC0415 - loaded by the listing anyway

    from timescape.cli._app import App  # noqa: PLC0415 - not for the other command lines

    ansi = r"\033\[[0-?]*[ -/]*[@-~]"  # click._compat._ansi_re; compiled only for an ESC

    class FastApp(App):
        command = "error"

        def write(self, text: str, *, err: bool, color: bool | None) -> None:
            stream = sys.stderr if err else sys.stdout
            out = text + "\n"
            strip = (not color) if color is not None else not _isatty(stream)
            if strip and "\033" in out:
                out = re.sub(ansi, "", out)
            stream.write(out)
            stream.flush()

        def command_path(self) -> str:
            return self.command

    return FastApp()


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except Exception:
        return False
