"""CLI test helpers: a project on disk, and the real entry point run in-process or as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

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


@dataclass
class Result:
    """What one CLI run produced."""

    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def write_project(folder: Path, url: str, text: str = PROJECT) -> Path:
    """Write the standard project (or ``text``) with its migration files; return the file."""
    folder.mkdir(parents=True, exist_ok=True)
    files = folder / "migrations" / "s1"
    files.mkdir(parents=True, exist_ok=True)
    (files / "001_products.sql").write_text(S1_SQL)
    (files / "001_products.rollback.sql").write_text(S1_ROLLBACK)
    path = folder / "timescape.toml"
    path.write_text(text.replace("{url}", url))
    return path


def toml(text: str) -> str:
    return textwrap.dedent(text).lstrip()


def run_cli(*args: str, env: dict[str, str | None] | None = None) -> Result:
    """Run ``timescape ARGS`` in-process through click's runner (stdout and stderr apart)."""
    runner = CliRunner()
    environment: dict[str, str | None] = {"TIMESCAPE_DATABASE_URL": None, "NO_COLOR": "1"}
    environment.update(env or {})
    result = runner.invoke(cli, list(args), env=environment)
    return Result(result.exit_code, result.stdout, result.stderr)


def run_process(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 60
) -> Result:
    """Run ``python -m timescape ARGS`` as a real subprocess."""
    environment = {k: v for k, v in os.environ.items() if k != "TIMESCAPE_DATABASE_URL"}
    environment.update(env or {})
    done = subprocess.run(
        [sys.executable, "-m", "timescape", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def assert_one_line_error(result: Result, *fragments: str) -> str:
    """The run failed with exactly one ``Error:`` line on stderr, no traceback, naming fragments."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), lines[0]
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


@pytest.fixture
def cli_run() -> Callable[..., Result]:
    return run_cli
