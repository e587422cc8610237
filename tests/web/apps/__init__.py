"""Small real apps of each framework, served by real servers in the tests."""

from __future__ import annotations

from pathlib import Path

PROJECT = """{database}
[[schemas]]
name = "s1"
migrations = ["CREATE TABLE products (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL)"]
rollback = ["DROP TABLE products"]

[[schemas]]
name = "s2"
parent = "s1"
migrations = ["ALTER TABLE products ADD COLUMN price_cents INTEGER"]
rollback = ["ALTER TABLE products DROP COLUMN price_cents"]
compatible_with = ["s1"]

[[versions]]
handler = "/api/products"
timestamp = "2025-01-01T00:00:00Z"
schema = "s1"
tags = ["v1"]

[[versions]]
handler = "/api/products"
timestamp = "2025-02-01T00:00:00Z"
schema = "s2"
tags = ["v2"]
"""


def write_project(folder: Path, url: str | None) -> Path:
    """Write the two-version products project used by every framework test; return the file.

    With ``url`` None the file names no database (Django takes it from its settings).
    """
    path = folder / "timescape.toml"
    database = f'\n[database]\nurl = "{url}"\n' if url else "\n"
    path.write_text(PROJECT.format(database=database))
    return path
