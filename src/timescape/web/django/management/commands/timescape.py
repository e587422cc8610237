"""``manage.py timescape ...``: the Timescape CLI on the database in ``settings.DATABASES``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from timescape.errors import TimescapeError
from timescape.web.django import run_cli

__all__ = ["Command"]


class Command(BaseCommand):
    """Run ``timescape ARGS`` with ``--database`` taken from Django's settings."""

    help = (
        "Run the timescape CLI (schema, version, history, verify, stats, ...) on the database "
        "in settings.DATABASES: manage.py timescape version list"
    )

    def run_from_argv(self, argv: list[str]) -> None:
        """Pass the command line through to the CLI untouched (its own options and help).

        Args:
            argv: ``[manage.py, "timescape", ...]``.
        """
        words = _without_django_options(argv[2:])
        try:
            code = run_cli(words, prog_name=f"{Path(argv[0]).name} {argv[1]}")
        except TimescapeError as exc:  # a settings problem, met before the CLI runs
            self.stderr.write(f"Error: {exc.message}")
            sys.exit(exc.exit_code)
        sys.exit(code)

    def add_arguments(self, parser: CommandParser) -> None:
        """Take every remaining word as the CLI's arguments (for ``call_command``)."""
        parser.add_argument("args", nargs=argparse.REMAINDER)

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the CLI from ``call_command("timescape", "version", "list")``.

        Raises:
            CommandError: When the CLI exits non-zero (its exit code is kept).
        """
        del options
        try:
            code = run_cli([str(a) for a in args])
        except TimescapeError as exc:
            raise CommandError(exc.message, returncode=exc.exit_code) from exc
        if code:
            raise CommandError(f"timescape exited with code {code}", returncode=code)


def _without_django_options(words: list[str]) -> list[str]:
    """Drop ``--settings``/``--pythonpath``: django-admin has already acted on them."""
    kept: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word in ("--settings", "--pythonpath"):
            skip = True
        elif not word.startswith(("--settings=", "--pythonpath=")):
            kept.append(word)
    return kept
