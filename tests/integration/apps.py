"""Small Timescape applications for the integration tests, shared with their subprocesses.

Each builder returns a configured :class:`Timescape` and the TSVs it defined. The definitions are
plain data and module-level functions, so a subprocess that imports this module builds exactly the
same schemas (same checksums, same TSVs) as the test that spawned it.

Run as a script (``python -m tests.integration.apps APP URL OPERATION [REF]``) it performs one
operation and prints one JSON line, for the tests that need real, separate processes.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from timescape import Timescape, TimescapeError

PRODUCTS = "/api/products"
ORDERS = "/api/orders"

# Statements that outlive any test timeout, cancelled only by the server-side mechanism.
LONG_STATEMENT = {
    "postgresql": "SELECT pg_sleep(30)",
    "mysql": "SELECT SLEEP(30)",
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
    "SELECT count(*) FROM c",
}

PRODUCTS_TABLE = "CREATE TABLE products (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL)"
PRODUCT_ROWS = "INSERT INTO products (id, name) VALUES (1, 'lamp'), (2, 'desk'), (3, 'chair')"


def products_app(url: str, **options: Any) -> tuple[Timescape, str, str]:
    """Schema ``s1`` (a populated ``products`` table) and two versions of /api/products on it."""
    ts = Timescape(url, **options)
    ts.add_schema("s1", [f"{PRODUCTS_TABLE}; {PRODUCT_ROWS}"], ["DROP TABLE products"])
    v1 = ts.add_version(PRODUCTS, "2025-01-01T00:00:00Z", "s1")
    v2 = ts.add_version(PRODUCTS, "2025-02-01T00:00:00Z", "s1")
    return ts, v1, v2


def pause(conn: object) -> None:
    """A Python step that holds the lock a little, so concurrent activators really overlap."""
    del conn
    time.sleep(0.3)


def witness_app(url: str, **options: Any) -> tuple[Timescape, str]:
    """One version whose schema creates a table, pauses, and counts its runs in ``witness``.

    ``witness`` is created by the test beforehand, outside Timescape, so a second execution of the
    schema would show as a second row even though the DDL would fail or be idempotent.
    """
    ts = Timescape(url, **options)
    ts.add_schema(
        "counted",
        ["CREATE TABLE counted_t (id INTEGER PRIMARY KEY)", pause,
         "INSERT INTO witness (n) VALUES (1)"],
        ["DROP TABLE counted_t", pause, "DELETE FROM witness"],
    )
    tsv = ts.add_version(PRODUCTS, "2025-01-01T00:00:00Z", "counted")
    return ts, tsv


def two_step_app(url: str, **options: Any) -> tuple[Timescape, str]:
    """One version on a two-step schema: step 1 creates ``first_t``, step 2 ``second_t``."""
    ts = Timescape(url, **options)
    ts.add_schema(
        "two",
        ["CREATE TABLE first_t (id INTEGER PRIMARY KEY); INSERT INTO first_t (id) VALUES (1)",
         "CREATE TABLE second_t (id INTEGER PRIMARY KEY)"],
        ["DROP TABLE first_t", "DROP TABLE second_t"],
    )
    tsv = ts.add_version(PRODUCTS, "2025-01-01T00:00:00Z", "two")
    return ts, tsv


APPS: dict[str, Callable[..., tuple[Any, ...]]] = {
    "witness": witness_app,
    "two_step": two_step_app,
}


def main(argv: list[str]) -> int:
    """Run one operation on one app and print ``{"ok", "changed", "message"}`` as JSON."""
    app, url, operation = argv[:3]
    go = Path(argv[3]) if len(argv) > 3 else None
    ts, tsv = APPS[app](url, lock_timeout=20.0)
    if go is not None:  # a barrier: start together once the test creates the file
        deadline = time.monotonic() + 20
        while not go.exists() and time.monotonic() < deadline:
            time.sleep(0.005)
    try:
        result = getattr(ts, operation)(tsv)
    except TimescapeError as exc:
        print(json.dumps({"ok": False, "error": exc.message, "type": type(exc).__name__}))
        return 1
    finally:
        ts.close()
    print(json.dumps({"ok": True, "changed": result.changed, "message": result.message}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
