"""From Flyway: import ``V<version>__<name>.sql`` files and adopt what ``flyway_schema_history``
records.

Run it with ``python docs_src/migrating_flyway.py``; it works in a temporary folder on a SQLite
database. ``docs/migrating.md`` walks through it.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

FILES = {
    "V1__create_products.sql": "CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT);\n",
    "V1.1__add_price.sql": "ALTER TABLE products ADD COLUMN price INTEGER;\n",
    "U1.1__add_price.sql": "ALTER TABLE products DROP COLUMN price;\n",
    "V2__products_by_name.sql": "CREATE INDEX ix_products_name ON products (name);\n",
    "U2__products_by_name.sql": "DROP INDEX ix_products_name;\n",
    "R__price_list.sql": "CREATE VIEW price_list AS SELECT name, price FROM products;\n",
}

# What Flyway left in the database: V1 and V1.1 ran, V2 did not.
FLYWAY_DID = """
CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
ALTER TABLE products ADD COLUMN price INTEGER;
CREATE TABLE flyway_schema_history (
    installed_rank INTEGER PRIMARY KEY, version VARCHAR(50), description VARCHAR(200),
    type VARCHAR(20), script VARCHAR(1000), success BOOLEAN NOT NULL
);
INSERT INTO flyway_schema_history VALUES
    (1, '1', 'create products', 'SQL', 'V1__create_products.sql', 1),
    (2, '1.1', 'add price', 'SQL', 'V1.1__add_price.sql', 1);
"""


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
        migrations = folder / "src" / "main" / "resources" / "db" / "migration"
        migrations.mkdir(parents=True)
        for name, text in FILES.items():
            (migrations / name).write_text(text)
        with sqlite3.connect(folder / "app.db") as connection:
            connection.executescript(FLYWAY_DID)
        connection.close()
        (folder / "timescape.toml").write_text('[database]\nurl = "sqlite:///app.db"\n')
        timescape(folder, "import", "flyway", "src/main/resources/db/migration", "--dry-run")
        timescape(folder, "import", "flyway", "src/main/resources/db/migration", "--adopt")
        # V2 is the only schema left to apply.
        timescape(folder, "schema", "migrate", "V2__products_by_name")
        timescape(folder, "schema", "list")


if __name__ == "__main__":
    main()
