"""What the database's catalog holds: tables, their columns, indexes and views.

Read by ``schema adopt`` to check that the objects a schema's migrations create are really there.
One query per kind of object and dialect, in the current schema (PostgreSQL: the schemas on the
``search_path``; MariaDB: the current database; SQLite: ``main``). Names are folded to lower case:
the comparison is case-insensitive, as unquoted identifiers are on every supported database.
Timescape's own tables are left out.

The SQL lives here rather than in the backend classes: it is read only by adoption, and keeping it
in one place leaves the backends (edited by every change to connections and timeouts) untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from timescape.store.base import Backend

__all__ = ["DatabaseObjects", "read_objects"]

_QUERIES: dict[str, dict[str, str]] = {
    "sqlite": {
        "relations": (
            "SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        ),
        "columns": (
            "SELECT m.name, p.name FROM sqlite_master AS m, pragma_table_info(m.name) AS p "
            "WHERE m.type IN ('table', 'view')"
        ),
        "indexes": "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index'",
    },
    "postgresql": {
        "relations": (
            "SELECT table_name, CASE table_type WHEN 'VIEW' THEN 'view' ELSE 'table' END "
            "FROM information_schema.tables WHERE table_schema = ANY (current_schemas(false))"
        ),
        "columns": (
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = ANY (current_schemas(false))"
        ),
        "indexes": (
            "SELECT indexname, tablename FROM pg_indexes "
            "WHERE schemaname = ANY (current_schemas(false))"
        ),
    },
    "mysql": {
        "relations": (
            "SELECT table_name, CASE table_type WHEN 'VIEW' THEN 'view' ELSE 'table' END "
            "FROM information_schema.tables WHERE table_schema = DATABASE()"
        ),
        "columns": (
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = DATABASE()"
        ),
        "indexes": (
            "SELECT DISTINCT index_name, table_name FROM information_schema.statistics "
            "WHERE table_schema = DATABASE()"
        ),
    },
}


@dataclass(frozen=True, slots=True)
class DatabaseObjects:
    """The catalog, names in lower case.

    Attributes:
        tables: Table name → its column names.
        views: View names.
        indexes: Index name → its table.
    """

    tables: dict[str, frozenset[str]] = field(default_factory=dict)
    views: frozenset[str] = frozenset()
    indexes: dict[str, str] = field(default_factory=dict)


def read_objects(backend: Backend, *, exclude_prefix: str = "timescape_") -> DatabaseObjects:
    """Read tables, columns, views and indexes of the current schema.

    A read-only operation on the backend's connection (call it inside a transaction, or not).

    Args:
        backend: A connected backend.
        exclude_prefix: Prefix of tables to leave out (Timescape's own).

    Returns:
        The objects.
    """
    queries = _QUERIES[backend.dialect]
    prefix = exclude_prefix.lower()
    kinds: dict[str, str] = {}
    for name, kind in backend.query(queries["relations"]):
        lowered = str(name).lower()
        if not lowered.startswith(prefix):
            kinds[lowered] = str(kind)
    columns: dict[str, set[str]] = {name: set() for name, kind in kinds.items() if kind == "table"}
    for table, column in backend.query(queries["columns"]):
        found = columns.get(str(table).lower())
        if found is not None:
            found.add(str(column).lower())
    indexes = {
        str(index).lower(): str(table).lower()
        for index, table in backend.query(queries["indexes"])
        if str(table).lower() in columns
    }
    return DatabaseObjects(
        tables={name: frozenset(cols) for name, cols in columns.items()},
        views=frozenset(name for name, kind in kinds.items() if kind == "view"),
        indexes=indexes,
    )
