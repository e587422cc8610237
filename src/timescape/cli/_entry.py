"""The console-script entry point: ``timescape --help`` and the listings without importing click.

``import click`` alone costs about twice a bare interpreter's start-up, so the top-level help
(``timescape``, ``timescape --help``, ``timescape -h``) and ``timescape --version`` replay what the
click CLI printed for them when :mod:`timescape.cli._helptext` was generated: exit code, stdout
and stderr, byte for byte. ``schema list`` and ``version list`` run without click too
(:mod:`timescape.cli._fast`). Every other command line imports click and runs
:func:`timescape.cli.main.main`.

A recording is replayed only where it is known to be what click would print now, and each check
costs a few system calls:

- the same Timescape version and the same click version (the no-argument case changed between
  click releases: help on stdout and exit 0 in 8.1, on stderr and exit 2 since 8.2);
- the same help width: click wraps to the terminal width, at most ``max_content_width``;
- no shell completion request (``_TIMESCAPE_COMPLETE``);
- nothing to mask: the error handler masks the password of ``TIMESCAPE_DATABASE_URL`` in what it
  prints on stderr, so a recording with stderr is not replayed while that variable is set.

``tests/cli/test_entry.py`` runs both paths for each form and many widths and requires identical
results, and fails when :mod:`timescape.cli._helptext` is stale.
"""

from __future__ import annotations

import os
import sys

from timescape import __version__

__all__ = ["click_is_installed", "main", "recorded_output", "terminal_columns"]

_COMPLETE_VAR = "_TIMESCAPE_COMPLETE"
_MIN_WIDTH = 50  # click.formatting.HelpFormatter never wraps narrower than this


def main() -> None:
    """Console-script entry point: replay the recorded help when valid, else run the click CLI.

    Exits with the recorded exit code, or 1 when stdout or stderr is a closed pipe (as click
    does).
    """
    argv = tuple(sys.argv[1:])
    # The cyclic collector is off until the command is known: loading the recorded help and the
    # listing's modules allocates enough to run it several times, and it would free nothing
    # (2.7% of a listing's instructions, issue 14). The click CLI gets it back before it runs.
    import gc  # noqa: PLC0415 - built in

    was_enabled = gc.isenabled()
    gc.disable()
    try:
        replay = recorded_output(argv)
        if replay is None and "list" in argv:
            from timescape.cli import _fast  # noqa: PLC0415 - only for the listings

            listing = _fast.parse(argv)
            if listing is not None:
                _fast.exit_now(_fast.run(listing))
    finally:
        if was_enabled:
            gc.enable()
    if replay is None:
        from timescape.cli.main import main as run_cli  # noqa: PLC0415 - the point of this module

        run_cli()
        return
    code, out, err = replay
    for stream, text in ((sys.stdout, out), (sys.stderr, err)):
        if not text:
            continue
        try:
            stream.write(text)
            stream.flush()
        except BrokenPipeError:
            # As click: exit 1, and no "Exception ignored" when the interpreter flushes at exit.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
            code = 1
            break
    sys.exit(code)


def recorded_output(argv: tuple[str, ...]) -> tuple[int, str, str] | None:
    """The recorded ``(exit code, stdout, stderr)`` of ``timescape *argv``, if still valid here.

    Args:
        argv: The arguments after the program name.

    Returns:
        What the click CLI would print, or None when the command line was not recorded or the
        recording might differ from what click prints in this process.
    """
    from timescape.cli import _helptext  # noqa: PLC0415 - after main() has turned the collector off

    if os.environ.get(_COMPLETE_VAR) or __version__ != _helptext.VERSION:
        return None
    width = max(min(terminal_columns(), _helptext.MAX_WIDTH) - 2, _MIN_WIDTH)
    found = _helptext.OUTPUTS.get((argv, width))
    if found is None or sys.stdout is None or sys.stderr is None:
        return None
    code, out_index, err_index = found
    out, err = _helptext.TEXTS[out_index], _helptext.TEXTS[err_index]
    if err and os.environ.get("TIMESCAPE_DATABASE_URL"):
        return None
    # ASCII goes out the same through any stream encoding; click.echo's encoding fallbacks
    # would be needed for anything else.
    if not (out.isascii() and err.isascii()) or not click_is_installed(_helptext.CLICK):
        return None
    return code, out, err


def terminal_columns() -> int:
    """The terminal width as :func:`shutil.get_terminal_size` computes it (80 when not a TTY).

    ``import shutil`` costs about 10 ms, as much as the rest of the fast path; the test suite
    checks that both agree.

    Returns:
        ``COLUMNS`` when a positive integer, else the width of the terminal on stdout, else 80.
    """
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 80
        columns = columns or 80
    return columns


def click_is_installed(version: str) -> bool:
    """Whether ``import click`` would load click ``version``, without importing it.

    Looks along ``sys.path`` as the import system does for the first ``click`` package, and for
    its ``click-<version>.dist-info`` beside it. Any other layout (a source checkout, an import
    hook, a zip) answers False, which only means the slow path.

    Args:
        version: The click version the help was recorded with.

    Returns:
        True when that version is the one ``import click`` finds first.
    """
    # os.path, not pathlib: importing pathlib costs about 5 ms.
    for entry in sys.path:
        base = entry or os.curdir
        package = os.path.join(base, "click", "__init__.py")  # noqa: PTH118
        if os.path.isfile(package):  # noqa: PTH113
            return os.path.isdir(os.path.join(base, f"click-{version}.dist-info"))  # noqa: PTH112, PTH118
    return False
