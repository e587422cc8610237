"""An existing database with no history: describe it as schemas, adopt them, then move on.

Run it with ``python docs_src/migrating_existing_database.py``; it works in a temporary folder on
a SQLite database and prints each command with its output. ``docs/migrating.md`` walks through it.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

# The database as the team built it by hand, before Timescape.
EXISTING = """
CREATE TABLE products (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL);
CREATE INDEX ix_products_name ON products (name);
INSERT INTO products (id, name) VALUES (1, 'lamp'), (2, 'desk');
"""

# The project file: s1 describes what exists, s2 is the next change.
PROJECT = """\
[database]
url = "sqlite:///shop.db"

[[schemas]]
name = "s1"
migrations = [\"\"\"
CREATE TABLE products (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL);
CREATE INDEX ix_products_name ON products (name)
\"\"\"]
rollback = ["DROP TABLE products"]

[[schemas]]
name = "s2"
parent = "s1"
migrations = ["ALTER TABLE products ADD COLUMN price_cents INTEGER"]
rollback = ["ALTER TABLE products DROP COLUMN price_cents"]

[[versions]]
handler = "/api/products"
timestamp = "2025-03-01T00:00:00Z"
schema = "s2"
tags = ["v2"]
"""


def timescape(folder: Path, *args: str) -> int:
    """Run the timescape command in ``folder`` and show what it printed."""
    print(f"$ timescape {' '.join(args)}")
    done = subprocess.run(
        [sys.executable, "-m", "timescape", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    print(done.stdout + done.stderr)
    return done.returncode


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with sqlite3.connect(folder / "shop.db") as connection:
            connection.executescript(EXISTING)
        connection.close()
        (folder / "timescape.toml").write_text(PROJECT)
        # Adopting s2 is refused: its column is not in the database (exit 1, nothing recorded).
        assert timescape(folder, "schema", "adopt", "s2") == 1
        # s1 is there: check first, then record it as applied.
        assert timescape(folder, "schema", "adopt", "s1", "--dry-run") == 0
        assert timescape(folder, "schema", "adopt", "s1") == 0
        # Activating v2 now applies only s2.
        assert timescape(folder, "version", "activate", "v2", "--handler", "/api/products") == 0
        assert timescape(folder, "history", "--limit", "3") == 0


if __name__ == "__main__":
    main()
