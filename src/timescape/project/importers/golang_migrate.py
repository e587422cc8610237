"""golang-migrate: ``<version>_<title>.up.sql`` and ``<version>_<title>.down.sql`` pairs.

Each version becomes a schema named ``m<version>_<title>`` (a name cannot start with a digit), in
numeric order; ``schema_migrations.version`` is the schema's tool id, for ``--adopt``.
"""

from __future__ import annotations

import re
from pathlib import Path

from timescape.errors import InputError
from timescape.project.importers.history import History, MigrationFile, linear_history

__all__ = ["read"]

_FILE = re.compile(r"^(?P<version>\d+)_(?P<title>.+)\.(?P<direction>up|down)\.sql$")


def read(path: Path, *, prefix: str | None = None) -> History:
    """Read a golang-migrate folder.

    Args:
        path: The folder passed to ``migrate -path``.
        prefix: Put before every schema name (default ``m``).

    Returns:
        The history.

    Raises:
        InputError: When ``path`` is not a folder or holds no migrations.
    """
    if not path.is_dir():
        raise InputError(f"{path} is not a folder; give the folder passed to migrate -path")
    found: list[MigrationFile] = []
    skipped: list[str] = []
    for file in sorted(path.iterdir()):
        if not file.name.endswith(".sql"):
            continue
        match = _FILE.match(file.name)
        if match is None:
            skipped.append(f"{file.name}: not a golang-migrate file name (<n>_<title>.up.sql)")
            continue
        found.append(
            MigrationFile(
                path=file,
                order=(int(match["version"]),),
                tool_id=str(int(match["version"])),
                stem=f"{match['version']}_{match['title']}",
                is_undo=match["direction"] == "down",
            )
        )
    return linear_history(
        "golang-migrate", path, found, prefix="m" if prefix is None else prefix, skipped=skipped
    )
