"""Small real apps of each framework, served by real servers in the tests."""

from __future__ import annotations

from pathlib import Path

PROJECT = """
[database]
url = "{url}"

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


def write_project(folder: Path, url: str) -> Path:
    """Write the two-version products project used by every framework test; return the file."""
    path = folder / "timescape.toml"
    path.write_text(PROJECT.format(url=url))
    return path
