"""dbmate: ``<version>_<name>.sql`` files holding ``-- migrate:up`` and ``-- migrate:down``.

Each file becomes a schema named ``m<version>_<name>``, in numeric order, copied as it is (a
schema's ``dir`` reads dbmate files directly); ``schema_migrations.version`` is the tool id.
"""

from __future__ import annotations

import re
from pathlib import Path

from timescape.errors import InputError
from timescape.project.importers.history import History, MigrationFile, linear_history
from timescape.project.sqlfile import read_text

__all__ = ["read"]

_FILE = re.compile(r"^(?P<version>\d+)_(?P<name>.+)\.sql$")
_UP = re.compile(r"(?m)^--\s*migrate:up\b")


def read(path: Path, *, prefix: str | None = None) -> History:
    """Read a dbmate folder (``db/migrations``).

    Args:
        path: The folder.
        prefix: Put before every schema name (default ``m``).

    Returns:
        The history.

    Raises:
        InputError: When ``path`` is not a folder or holds no migrations.
    """
    if not path.is_dir():
        raise InputError(f"{path} is not a folder; give dbmate's migrations folder")
    found: list[MigrationFile] = []
    skipped: list[str] = []
    for file in sorted(path.iterdir()):
        if not file.name.endswith(".sql"):
            continue
        match = _FILE.match(file.name)
        if match is None or not _UP.search(read_text(file, label=str(file))):
            skipped.append(
                f"{file.name}: not a dbmate migration (<version>_<name>.sql with -- migrate:up)"
            )
            continue
        found.append(
            MigrationFile(
                path=file,
                order=(int(match["version"]),),
                tool_id=match["version"],
                stem=f"{match['version']}_{match['name']}",
            )
        )
    return linear_history(
        "dbmate", path, found, prefix="m" if prefix is None else prefix, skipped=skipped
    )
