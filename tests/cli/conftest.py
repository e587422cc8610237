"""CLI test helpers: the standard project on disk and the entry point run in-process.

Subprocess runs, project files and the error contract are in :mod:`tests.clirun`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests import clirun
from tests.clirun import Result
from timescape.cli.main import cli

TSV1 = "tsv:1735689600-products-001"
TSV2 = "tsv:1738368000-products-002"
TSV3 = "tsv:1740787200-products-003"

# s1 from files, s2 inline and compatible with s1, s3 declared breaking.
PROJECT = """\
[database]
url = "{url}"
migration_timeout = 20
lock_timeout = 10

[[schemas]]
name = "s1"
dir = "migrations/s1"

[[schemas]]
name = "s2"
parent = "s1"
compatible_with = ["s1"]
migrations = [
    "CREATE TABLE reviews (id INTEGER PRIMARY KEY, product_id INTEGER NOT NULL)",
    "ALTER TABLE reviews ADD COLUMN rating INTEGER",
]
rollback = ["DROP TABLE reviews", "ALTER TABLE reviews DROP COLUMN rating"]

[[schemas]]
name = "s3"
parent = "s2"
breaking = true
migrations = ["ALTER TABLE products ADD COLUMN sku VARCHAR(20)"]
rollback = ["ALTER TABLE products DROP COLUMN sku"]

[[versions]]
handler = "/api/products"
timestamp = "2025-01-01T00:00:00Z"
schema = "s1"
tags = ["v1"]

[[versions]]
handler = "/api/products"
timestamp = 2025-02-01T00:00:00Z
schema = "s2"
tags = ["v2"]

[[versions]]
handler = "/api/products"
timestamp = "2025-03-01T00:00:00Z"
schema = "s3"
tags = ["v3"]
"""

S1_SQL = (
    "-- the products table\nCREATE TABLE products (\n    id INTEGER PRIMARY KEY,\n"
    "    name VARCHAR(100) NOT NULL\n);\n"
)
S1_ROLLBACK = "DROP TABLE products;\n"
S1_FILES = {
    "migrations/s1/001_products.sql": S1_SQL,
    "migrations/s1/001_products.rollback.sql": S1_ROLLBACK,
}


def write_project(folder: Path, url: str, text: str = PROJECT) -> Path:
    """Write the standard project (or ``text``) with its migration files; return the file."""
    return clirun.write_project(folder, text, S1_FILES, url=url)


def toml(text: str) -> str:
    return textwrap.dedent(text).lstrip()


def run_cli(*args: str, env: dict[str, str | None] | None = None) -> Result:
    """Run ``timescape ARGS`` in-process through click's runner (stdout and stderr apart)."""
    runner = CliRunner()
    environment: dict[str, str | None] = {"TIMESCAPE_DATABASE_URL": None, "NO_COLOR": "1"}
    environment.update(env or {})
    result = runner.invoke(cli, list(args), env=environment)
    return Result(result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def cli_run() -> Callable[..., Result]:
    return run_cli
