"""Flyway: ``V<version>__<description>.sql`` migrations and ``U<version>__…`` undo files.

Each versioned migration becomes a schema, in version order (``1.10`` after ``1.9``), named after
its file (``V1.1__create_products``). Repeatable migrations (``R__*.sql``) run again whenever
they change, which a schema's steps never do: they are reported as skipped. The version recorded in
``flyway_schema_history`` (``1.1``) is the schema's tool id, for ``--adopt``.
"""

from __future__ import annotations

import re
from pathlib import Path

from timescape.errors import InputError
from timescape.project.importers.history import History, MigrationFile, linear_history

__all__ = ["read"]

_VERSIONED = re.compile(r"^(?P<kind>[VU])(?P<version>\d+(?:[._]\d+)*)__(?P<label>.+)\.sql$")
_REPEATABLE = re.compile(r"^R__.+\.sql$")


def read(path: Path, *, prefix: str | None = None) -> History:
    """Read a Flyway migrations folder (searched recursively, as Flyway's locations are).

    Args:
        path: The folder (``src/main/resources/db/migration`` or ``sql/``).
        prefix: Put before every schema name (default: none; the names start with ``V``).

    Returns:
        The history.

    Raises:
        InputError: When ``path`` is not a folder or holds no versioned migrations.
    """
    if not path.is_dir():
        raise InputError(f"{path} is not a folder; give Flyway's migrations folder")
    found: list[MigrationFile] = []
    skipped: list[str] = []
    for file in sorted(path.rglob("*.sql")):
        shown = file.relative_to(path).as_posix()
        if _REPEATABLE.match(file.name):
            skipped.append(f"{shown}: repeatable migrations (R__) are not supported")
            continue
        match = _VERSIONED.match(file.name)
        if match is None:
            skipped.append(f"{shown}: not a Flyway file name (V<version>__<description>.sql)")
            continue
        version = match["version"].replace("_", ".")
        found.append(
            MigrationFile(
                path=file,
                order=tuple(int(part) for part in version.split(".")),
                tool_id=version,
                stem=f"V{match['version']}__{match['label']}",
                is_undo=match["kind"] == "U",
            )
        )
    return linear_history("flyway", path, found, prefix=prefix or "", skipped=skipped)
