"""From Django: paste ``python manage.py sqlmigrate`` output as SQL steps.

Run it with ``python docs_src/migrating_django.py``; it works in a temporary folder on a SQLite
database. Django itself is not needed: the output below is what ``sqlmigrate shop 0001`` and
``sqlmigrate shop 0001 --backwards`` print on SQLite. ``docs/migrating.md`` walks through it.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

CREATE_PRODUCT = (
    'CREATE TABLE "shop_product" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, '
    '"name" varchar(100) NOT NULL, "price" decimal NOT NULL);'
)
SQLMIGRATE = f"""\
BEGIN;
--
-- Create model Product
--
{CREATE_PRODUCT}
--
-- Add index shop_product_name_idx on field(s) name of model product
--
CREATE INDEX "shop_product_name_idx" ON "shop_product" ("name");
COMMIT;
"""
SQLMIGRATE_BACKWARDS = """\
BEGIN;
--
-- Remove index shop_product_name_idx from model product
--
DROP INDEX "shop_product_name_idx";
--
-- Delete model Product
--
DROP TABLE "shop_product";
COMMIT;
"""

PROJECT = """\
[database]
url = "sqlite:///app.db"

[[schemas]]
name = "shop_0001_initial"
dir = "migrations/shop_0001_initial"

[[versions]]
handler = "/api/products"
timestamp = "2025-01-01T00:00:00Z"
schema = "shop_0001_initial"
tags = ["v1"]
"""


def without_transaction(sql: str) -> str:
    """Drop the BEGIN;/COMMIT; lines: Timescape runs each schema in its own transaction."""
    return "".join(
        line for line in sql.splitlines(keepends=True) if line.strip() not in ("BEGIN;", "COMMIT;")
    )


def timescape(folder: Path, *args: str) -> None:
    """Run the timescape command in ``folder``, show its output, stop on failure."""
    print(f"$ timescape {' '.join(args)}")
    done = subprocess.run(
        [sys.executable, "-m", "timescape", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    print(done.stdout + done.stderr)
    assert done.returncode == 0


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        steps = folder / "migrations" / "shop_0001_initial"
        steps.mkdir(parents=True)
        (steps / "001_initial.sql").write_text(without_transaction(SQLMIGRATE))
        (steps / "001_initial.rollback.sql").write_text(without_transaction(SQLMIGRATE_BACKWARDS))
        (folder / "timescape.toml").write_text(PROJECT)
        timescape(folder, "version", "activate", "v1", "--handler", "/api/products")
        timescape(folder, "schema", "status", "shop_0001_initial")
        timescape(folder, "schema", "rollback", "shop_0001_initial", "--force", "--dry-run")


if __name__ == "__main__":
    main()
