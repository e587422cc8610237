"""The format version of each command's ``--json`` document.

Every document printed with ``--json`` carries ``"format": N`` at its top level, so a program
reading it can tell which shape it got. N starts at 1 and moves forward, per command, whenever
the document's shape changes (a key renamed, removed, or moved; a key *added* changes the shape
too, and is also a bump, so a strict reader is never surprised). ``tests/cli/test_json_format.py``
holds a recorded key shape per command and fails when a shape changes while its number does not.
Until the first release that prints these numbers, every shape is format 1 and is re-recorded
instead of bumped.

Added in 0.5.
"""

from __future__ import annotations

__all__ = ["DEFAULT_FORMAT", "JSON_FORMATS", "json_format"]

DEFAULT_FORMAT = 1

JSON_FORMATS: dict[str, int] = {}
"""Command path (``"schema list"``; ``"error"`` for error documents) → its format version, for
every command past version 1."""


def json_format(command: str) -> int:
    """The format version of ``command``'s ``--json`` document.

    Args:
        command: The command path without the program name (``"version activate"``), or
            ``"error"``.

    Returns:
        Its format version (1 unless :data:`JSON_FORMATS` says otherwise).
    """
    return JSON_FORMATS.get(command, DEFAULT_FORMAT)
