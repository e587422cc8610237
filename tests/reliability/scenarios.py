"""Spec builders and dialect snippets shared by the reliability tests.

- :func:`make_spec` — a driver spec for a test database.
- :func:`version` — a version entry with a stable timestamp per index.
- :func:`witness_schema` — three steps (table, index, a witness row): a double run is visible.
- :func:`four_step_schema` — DDL and DML mixed, for the kill-at-every-point test.
- :func:`sleep_sql` — a statement that runs ``seconds`` on the server (PG/MariaDB), or a
  calibrated CPU-bound recursive CTE on SQLite.
- :func:`count` — a repetition count: the CI value, or the soak value with ``TIMESCAPE_SOAK=1``.
"""

from __future__ import annotations

import os
import sqlite3
import time
from functools import cache
from typing import Any

from tests.dbutil import TestDB

__all__ = [
    "SOAK",
    "count",
    "create_witness",
    "cte_rate",
    "drop_index_sql",
    "four_step_schema",
    "make_spec",
    "sleep_sql",
    "version",
    "witness_schema",
]

SOAK = os.environ.get("TIMESCAPE_SOAK", "") in ("1", "true", "yes")


def count(ci: int, soak: int) -> int:
    """Repetitions: ``soak`` under ``TIMESCAPE_SOAK=1``, else ``ci``."""
    return soak if SOAK else ci


def make_spec(db: TestDB, schemas: list[dict[str, Any]], versions: list[dict[str, Any]],
              **options: Any) -> dict[str, Any]:
    """A driver spec for ``db`` (options: lock_timeout, migration_timeout, table_prefix …)."""
    spec: dict[str, Any] = {"url": db.url, "lock_timeout": 30, "migration_timeout": 30}
    spec.update(options)
    spec["schemas"] = schemas
    spec["versions"] = versions
    return spec


def version(alias: str, schema: str, index: int, *, handler: str = "/api/items",
            tags: tuple[str, ...] = ()) -> dict[str, Any]:
    """A version entry; ``index`` orders the timestamps (one day apart)."""
    day = 1 + index % 28
    month = 1 + index // 28
    return {"alias": alias, "handler": handler, "schema": schema, "tags": list(tags),
            "timestamp": f"2024-{month:02d}-{day:02d}T00:00:00Z"}


def drop_index_sql(dialect: str, index: str, table: str) -> str:
    """``DROP INDEX`` in the dialect's syntax."""
    return f"DROP INDEX {index} ON {table}" if dialect == "mysql" else f"DROP INDEX {index}"


def witness_schema(name: str, table: str, dialect: str, *, iteration: int = 1,
                   parent: str | None = None, **extra: Any) -> dict[str, Any]:
    """Three steps: create ``table``, index it, insert ``witness(iteration)``.

    ``witness (iter INTEGER, note VARCHAR(50))`` must exist beforehand (created outside
    Timescape), so a step run twice leaves two rows even though DDL would fail or be idempotent.
    """
    return {
        "name": name,
        "parent": parent,
        "migrations": [
            f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, v INTEGER)",
            f"CREATE INDEX {table}_v ON {table} (v)",
            f"INSERT INTO witness (iter, note) VALUES ({iteration}, '{name}')",
        ],
        "rollback": [
            f"DROP TABLE {table}",
            drop_index_sql(dialect, f"{table}_v", table),
            f"DELETE FROM witness WHERE iter = {iteration}",
        ],
        "objects": [[table], [f"{table}#{table}_v"], [f"witness?iter = {iteration}"]],
        **extra,
    }


def create_witness(db: TestDB) -> None:
    """The witness table, outside Timescape."""
    db.execute("CREATE TABLE witness (iter INTEGER, note VARCHAR(50))")


def four_step_schema(name: str, dialect: str, *, table: str = "k_items") -> dict[str, Any]:
    """Four steps mixing DDL and DML on a populated table, each with its rollback and objects.

    1. create ``table`` (DDL); 2. insert 50 rows (DML); 3. add a column and fill it (DDL + DML);
    4. create an index (DDL).
    """
    rows = ", ".join(f"({i}, 'item {i}')" for i in range(1, 51))
    return {
        "name": name,
        "migrations": [
            f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, label VARCHAR(40))",
            f"INSERT INTO {table} (id, label) VALUES {rows}",
            (f"ALTER TABLE {table} ADD COLUMN score INTEGER;\n"
             f"UPDATE {table} SET score = id * 2"),
            f"CREATE INDEX {table}_score ON {table} (score)",
        ],
        "rollback": [
            f"DROP TABLE {table}",
            f"DELETE FROM {table} WHERE id <= 50",
            f"ALTER TABLE {table} DROP COLUMN score",
            drop_index_sql(dialect, f"{table}_score", table),
        ],
        "objects": [[table], [f"{table}?id = 50"], [f"{table}.score"], [f"{table}#{table}_score"]],
    }


@cache
def cte_rate() -> float:
    """Rows per second of the recursive counting CTE on this machine (measured once)."""
    conn = sqlite3.connect(":memory:")
    n = 200_000
    started = time.perf_counter()
    conn.execute(_cte(n)).fetchall()
    elapsed = max(time.perf_counter() - started, 1e-3)
    conn.close()
    return n / elapsed


def _cte(n: int) -> str:
    return (f"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {n}) "
            "SELECT COUNT(*) FROM c")


def sleep_sql(dialect: str, seconds: float) -> str:
    """A read-only statement that keeps the server busy about ``seconds``."""
    if dialect == "postgresql":
        return f"SELECT pg_sleep({seconds})"
    if dialect == "mysql":
        return f"SELECT SLEEP({seconds})"
    return _cte(max(1, int(cte_rate() * seconds)))
