"""Expand and contract: replace products.price (text) with products.price_cents (integer).

Run it with ``python docs_src/compatibility_price_cents.py``; it uses a temporary SQLite database
and prints each step. ``docs/compatibility.md`` walks through it.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from timescape import CompatibilityError, Timescape
from timescape.analysis import classify

HANDLER = "/api/products"

# s1: the shape version 1 of the API reads and writes.
CREATE_PRODUCTS = "CREATE TABLE products (id INTEGER PRIMARY KEY, price VARCHAR(20))"
SEED_PRODUCTS = "INSERT INTO products (id, price) VALUES (1, '9.99'), (2, '5.00')"

# s2, expand: add the new column beside the old one and fill it. Older code keeps working.
ADD_PRICE_CENTS = "ALTER TABLE products ADD COLUMN price_cents INTEGER"
BACKFILL_PRICE_CENTS = "UPDATE products SET price_cents = CAST(ROUND(price * 100) AS INTEGER)"

# s2, contract: drop the old column, once no live version reads it.
DROP_PRICE = "ALTER TABLE products DROP COLUMN price"
# ... and its rollback: bring the old column back, derived from the new one.
ADD_PRICE = "ALTER TABLE products ADD COLUMN price VARCHAR(20)"
BACKFILL_PRICE = "UPDATE products SET price = printf('%.2f', price_cents / 100.0)"


def define(url: str) -> tuple[Timescape, str, str]:
    """Define s1, s2 and one version of the API on each; nothing connects yet."""
    ts = Timescape(url)
    ts.add_schema("s1", [f"{CREATE_PRODUCTS};\n{SEED_PRODUCTS}"], ["DROP TABLE products"])
    ts.add_schema(
        "s2",
        [f"{ADD_PRICE_CENTS};\n{BACKFILL_PRICE_CENTS}"],
        ["ALTER TABLE products DROP COLUMN price_cents"],
        parent="s1",
        contract=[DROP_PRICE],
        contract_rollback=[f"{ADD_PRICE};\n{BACKFILL_PRICE}"],
    )
    v1 = ts.add_version(HANDLER, "2025-01-01T00:00:00Z", "s1", tags=["v1"])
    v2 = ts.add_version(HANDLER, "2025-02-01T00:00:00Z", "s2", tags=["v2"])
    return ts, v1, v2


def show(path: Path, title: str, message: str) -> list[str]:
    """Print what an operation did and the products table after it; return its columns."""
    with sqlite3.connect(path) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(products)")]
        rows = conn.execute("SELECT * FROM products ORDER BY id").fetchall()
    conn.close()
    print(f"{title}\n  did:     {message}\n  columns: {columns}\n  rows:    {rows}")
    return columns


def drop_in_one_go(url: str) -> None:
    """Show the gate refusing s2 when it drops price in its own steps instead of a contract."""
    ts = Timescape(url)
    ts.add_schema("s1", [f"{CREATE_PRODUCTS};\n{SEED_PRODUCTS}"], ["DROP TABLE products"])
    ts.add_schema(
        "s2",
        [f"{ADD_PRICE_CENTS};\n{BACKFILL_PRICE_CENTS};\n{DROP_PRICE}"],
        [f"{ADD_PRICE};\n{BACKFILL_PRICE};\nALTER TABLE products DROP COLUMN price_cents"],
        parent="s1",
    )
    v1 = ts.add_version(HANDLER, "2025-01-01T00:00:00Z", "s1")
    v2 = ts.add_version(HANDLER, "2025-02-01T00:00:00Z", "s2")
    with ts:
        ts.activate(v1)
        try:
            ts.activate(v2)
        except CompatibilityError as exc:
            refusal = exc
        else:
            raise AssertionError("the gate let a dropped column through")
    print(f"without a contract, activate v2 is refused:\n  {refusal}")
    assert refusal.broken_versions == [v1]


def main() -> None:
    # What the gate reads: the analyser's verdict on each statement of s2, knowing s1.
    findings = classify(
        [ADD_PRICE_CENTS, BACKFILL_PRICE_CENTS],
        "sqlite",
        applied=[CREATE_PRODUCTS, SEED_PRODUCTS],
    )
    findings += classify([DROP_PRICE], "sqlite", applied=[CREATE_PRODUCTS])
    for finding in findings:
        print(f"{finding.effect.value:>8}  {finding.statement}  ({finding.reason})")
    assert [f.effect.value for f in findings] == ["additive", "data", "breaking"]

    with tempfile.TemporaryDirectory() as folder:
        drop_in_one_go(f"sqlite:///{Path(folder) / 'refused.db'}")

        path = Path(folder) / "shop.db"
        ts, v1, v2 = define(f"sqlite:///{path}")
        with ts:
            # 1. Version 1 goes live on s1.
            result = ts.activate(v1)
            assert show(path, "1. activate v1", result.message) == ["id", "price"]

            # 2. Version 2 goes live beside it: s2 is undeclared, but its SQL is additive.
            result = ts.activate(v2)
            columns = show(path, "2. activate v2 (v1 still live)", result.message)
            assert columns == ["id", "price", "price_cents"]

            # 3. Version 1 retires: every live version is on s2 now, so the contract runs, once.
            result = ts.deactivate(v1)
            assert show(path, "3. deactivate v1", result.message) == ["id", "price_cents"]

            # 4. Version 1 comes back: the contract rollback runs first, restoring price.
            planned = ts.activate(v1, dry_run=True)
            print(f"4. activate v1 again, dry run\n  plan:    {planned.message}")
            result = ts.activate(v1)
            columns = show(path, "5. activate v1 again", result.message)
            assert columns == ["id", "price_cents", "price"]

            events = [event.kind for event in reversed(ts.history())]
            print(f"events: {events}")
            assert events.count("schema_contracted") == 1
            assert events.count("schema_uncontracted") == 1


if __name__ == "__main__":
    main()
