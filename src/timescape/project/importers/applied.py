"""What another tool recorded as applied in the database: its history table, read for ``--adopt``.

Only read, never written: ``alembic_version`` (the current heads), ``flyway_schema_history``
(successful versioned migrations), golang-migrate's ``schema_migrations`` (one version and a dirty
flag) and dbmate's ``schema_migrations`` (one row per applied version).
"""

from __future__ import annotations

from typing import Any

from timescape.errors import InputError
from timescape.project.importers.history import History
from timescape.store.introspect import read_objects

__all__ = ["TABLES", "applied_tool_ids", "schemas_for"]

TABLES = {
    "alembic": ("alembic_version", "SELECT version_num FROM alembic_version"),
    "flyway": (
        "flyway_schema_history",
        (
            "SELECT version, type FROM flyway_schema_history "
            "WHERE version IS NOT NULL AND success ORDER BY installed_rank"
        ),
    ),
    "golang-migrate": ("schema_migrations", "SELECT version, dirty FROM schema_migrations"),
    "dbmate": ("schema_migrations", "SELECT version FROM schema_migrations"),
}
"""Tool → (its table, the query listing what it applied)."""


def applied_tool_ids(backend: Any, tool: str) -> list[str]:
    """The tool's identifiers of what it applied, read from its table.

    Args:
        backend: A connected Timescape backend.
        tool: A key of :data:`TABLES`.

    Returns:
        Identifiers (Alembic heads, Flyway versions, golang-migrate's version, dbmate versions).

    Raises:
        InputError: When the tool has no table, the table is missing, or golang-migrate's is dirty.
    """
    if tool not in TABLES:
        raise InputError(
            f"{tool} keeps no history table to adopt from; run 'timescape schema adopt NAME' "
            "with the last schema the database has"
        )
    table, sql = TABLES[tool]
    if table not in read_objects(backend).tables:
        raise InputError(f"the database has no {table} table: nothing recorded by {tool}")
    try:
        rows = backend.query(sql)
    except Exception as exc:
        if not backend.is_driver_error(exc):
            raise
        if backend.in_transaction:
            backend.rollback()
        raise InputError(
            f"cannot read {table} ({backend.describe_error(exc)}): is this the database {tool} "
            "migrated?"
        ) from None
    if tool == "golang-migrate":
        dirty = [version for version, flag in rows if flag]
        if dirty:
            raise InputError(
                f"golang-migrate's schema_migrations is dirty at version {dirty[0]}: a migration "
                "failed half-way; fix the database and run 'migrate force' first"
            )
        return [str(int(version)) for version, _ in rows]
    if tool == "flyway":
        return _flyway_applied(rows)
    return [str(value) for (value,) in rows]


def _flyway_applied(rows: list[tuple[Any, ...]]) -> list[str]:
    """Replay ``flyway_schema_history`` in rank order.

    Migrations add their version, undo (and repair's ``DELETE``) rows take it away, and a
    ``BASELINE`` row stands for every version up to it (``<=version``).
    """
    applied: dict[str, None] = {}
    for version, kind in rows:
        name = str(kind or "SQL").upper()
        if name in ("UNDO_SQL", "UNDO_JDBC", "UNDO_SCRIPT", "DELETE"):
            applied.pop(str(version), None)
        elif name == "BASELINE":
            applied[f"<={version}"] = None
        else:
            applied[str(version)] = None
    return list(applied)


def _version_key(version: str) -> tuple[int, ...]:
    parts = [int(p) for p in version.replace("_", ".").split(".") if p.isdigit()]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def schemas_for(ids: list[str], history: History) -> tuple[list[str], list[str]]:
    """Map the tool's identifiers to schema names.

    A Flyway baseline (``<=1.5``, from :func:`applied_tool_ids`) stands for the last imported
    version at or below it.

    Args:
        ids: What :func:`applied_tool_ids` returned.
        history: The imported history.

    Returns:
        ``(schema names, identifiers not in the history)``.
    """
    by_id = history.by_tool_id()
    names: list[str] = []
    unknown: list[str] = []
    for tool_id in ids:
        if tool_id.startswith("<="):
            bound = _version_key(tool_id[2:])
            below = [s.name for s in history.schemas if _version_key(s.tool_id) <= bound]
            names.extend(below[-1:])
        elif tool_id in by_id:
            names.append(by_id[tool_id])
        else:
            unknown.append(tool_id)
    return names, unknown
