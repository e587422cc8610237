"""What another tool recorded as applied in the database: its history table, read for ``--adopt``.

Only read, never written: ``alembic_version`` (the current heads), ``flyway_schema_history``
(successful versioned migrations), golang-migrate's ``schema_migrations`` (one version and a dirty
flag) and dbmate's ``schema_migrations`` (one row per applied version).
"""

from __future__ import annotations

from typing import Any

from timescape.errors import InputError
from timescape.store.introspect import read_objects

__all__ = ["TABLES", "applied_tool_ids"]

TABLES = {
    "alembic": ("alembic_version", "SELECT version_num FROM alembic_version"),
    "flyway": (
        "flyway_schema_history",
        "SELECT version FROM flyway_schema_history WHERE version IS NOT NULL AND success",
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
        return [str(version) for (version,) in rows]
    return [str(value) for (value,) in rows]
