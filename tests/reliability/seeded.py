"""Populated user tables for every reliability test (T17 principle: never test on an empty DB).

``seed(db)`` creates three tables Timescape's test schemas never touch, with rows:

- ``products`` (id, name, price),
- ``orders`` (id, product_id → products ON DELETE CASCADE, qty) — a child that a careless table
  rebuild or cascade would empty,
- ``audit`` (id, note) — unrelated.

``fingerprint(db)`` returns ``table → (row count, SHA-256 of the rows in id order)``;
``assert_unchanged(before, db)`` compares a later fingerprint with an earlier one.
"""

from __future__ import annotations

import hashlib
from typing import Any

from tests.dbutil import TestDB

__all__ = ["SEEDED_TABLES", "assert_unchanged", "fingerprint", "seed"]

SEEDED_TABLES = ("products", "orders", "audit")


def seed(db: TestDB, *, rows: int = 200) -> dict[str, tuple[int, str]]:
    """Create and fill the seeded tables; return their fingerprint."""
    money = "NUMERIC(10,2)" if db.dialect != "sqlite" else "NUMERIC"
    db.execute(f"CREATE TABLE products (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL, "
               f"price {money})")
    db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, product_id INTEGER NOT NULL, "
               "qty INTEGER NOT NULL, FOREIGN KEY (product_id) REFERENCES products (id) "
               "ON DELETE CASCADE)")
    db.execute("CREATE TABLE audit (id INTEGER PRIMARY KEY, note VARCHAR(200))")
    product_values = ", ".join(f"({i}, 'product {i}', {i}.50)" for i in range(1, rows + 1))
    db.execute(f"INSERT INTO products (id, name, price) VALUES {product_values}")
    order_values = ", ".join(f"({i}, {(i % rows) + 1}, {i % 7 + 1})" for i in range(1, 2 * rows + 1))
    db.execute(f"INSERT INTO orders (id, product_id, qty) VALUES {order_values}")
    audit_values = ", ".join(f"({i}, 'note {i} ''quoted'' ;--')" for i in range(1, rows + 1))
    db.execute(f"INSERT INTO audit (id, note) VALUES {audit_values}")
    return fingerprint(db)


def _normal(value: Any) -> str:
    return str(value)


def fingerprint(db: TestDB, tables: tuple[str, ...] = SEEDED_TABLES) -> dict[str, tuple[int, str]]:
    """``table → (row count, checksum of all rows ordered by id)``."""
    out: dict[str, tuple[int, str]] = {}
    for table in tables:
        rows = db.query(f"SELECT * FROM {table} ORDER BY id")
        digest = hashlib.sha256()
        for row in rows:
            digest.update("\x1f".join(_normal(v) for v in row).encode())
            digest.update(b"\x1e")
        out[table] = (len(rows), digest.hexdigest())
    return out


def assert_unchanged(before: dict[str, tuple[int, str]], db: TestDB) -> None:
    """Assert the seeded tables still hold exactly the rows they held ``before``."""
    after = fingerprint(db, tuple(before))
    changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
    assert not changed, f"seeded data changed: {changed}"
