"""Importers of other tools' histories: one module per tool, one :class:`History` each.

Each importer reads a folder (never the database) and returns a :class:`History`: one schema per
migration the tool records separately (a Flyway version, a golang-migrate or dbmate file, an
Alembic revision), chained by the tool's own order or, for Alembic, by ``down_revision``.
:func:`write_history` appends the ``[[schemas]]`` tables to the project file and writes each
schema's ``dir``; adopting what the database already has is :meth:`timescape.Timescape.adopt`.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from timescape.errors import InputError
from timescape.project.importers.history import History, ImportedSchema, write_history

__all__ = ["TOOLS", "History", "ImportedSchema", "read_history", "write_history"]

TOOLS = {
    "alembic": "timescape.project.importers.alembic",
    "flyway": "timescape.project.importers.flyway",
    "golang-migrate": "timescape.project.importers.golang_migrate",
    "dbmate": "timescape.project.importers.dbmate",
    "sql": "timescape.project.importers.sql",
}
"""Tool name (as on the command line) → the module whose ``read(path, prefix=…)`` reads it."""


def read_history(
    tool: str, path: Path, *, prefix: str | None = None, render_sql: str | None = None
) -> History:
    """Read another tool's history from ``path``; touches no database.

    Args:
        tool: A key of :data:`TOOLS`.
        path: The tool's folder (or, for Alembic, ``alembic.ini`` or the script directory).
        prefix: Put before every schema name (default: the tool's own, e.g. ``rev_``).
        render_sql: Alembic only: render the revisions that render offline as SQL steps for this
            dialect (``sqlite``, ``postgresql``, ``mysql``).

    Returns:
        The history.

    Raises:
        InputError: For an unknown tool or a folder that is not such a history.
    """
    module_name = TOOLS.get(tool)
    if module_name is None:
        raise InputError(f"unknown tool {tool!r}; expected one of {', '.join(TOOLS)}")
    if not path.exists():
        raise InputError(f"{path} does not exist; give the {tool} migrations folder")
    if render_sql is not None and tool != "alembic":
        raise InputError(f"--render-sql applies to Alembic histories only, not to {tool}")
    module = import_module(module_name)
    history: History = (
        module.read(path, prefix=prefix, render_sql=render_sql)
        if render_sql is not None
        else module.read(path, prefix=prefix)
    )
    return history
