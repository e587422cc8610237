"""A plain folder of numbered SQL files: ``001_create.sql`` (and ``001_create.rollback.sql``).

Each number becomes a schema named ``m001_create``, in numeric order; a ``.rollback.sql`` or
``.down.sql`` file beside it undoes it. There is no tool table to adopt from.
"""

from __future__ import annotations

import re
from pathlib import Path

from timescape.errors import InputError
from timescape.project.importers.history import History, MigrationFile, linear_history

__all__ = ["read"]

_FILE = re.compile(r"^(?P<number>\d+)[_\-](?P<name>.+?)(?P<undo>\.rollback|\.down)?\.sql$")


def read(path: Path, *, prefix: str | None = None) -> History:
    """Read a folder of numbered SQL files.

    Args:
        path: The folder.
        prefix: Put before every schema name (default ``m``).

    Returns:
        The history.

    Raises:
        InputError: When ``path`` is not a folder or holds no numbered SQL files.
    """
    if not path.is_dir():
        raise InputError(f"{path} is not a folder of numbered .sql files")
    found: list[MigrationFile] = []
    skipped: list[str] = []
    for file in sorted(path.iterdir()):
        if not file.name.endswith(".sql"):
            continue
        match = _FILE.match(file.name)
        if match is None:
            skipped.append(f"{file.name}: not a numbered SQL file (NNN_name.sql)")
            continue
        number = match["number"]
        found.append(
            MigrationFile(
                path=file,
                order=(int(number),),
                tool_id=str(int(number)),
                stem=f"{number}_{match['name']}",
                is_undo=match["undo"] is not None,
            )
        )
    return linear_history(
        "sql", path, found, prefix="m" if prefix is None else prefix, skipped=skipped
    )
