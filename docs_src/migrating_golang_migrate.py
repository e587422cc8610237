"""From golang-migrate and dbmate: use the folders as they are, or import one schema per file.

Run it with ``python docs_src/migrating_golang_migrate.py``; it works in a temporary folder on a
SQLite database. ``docs/migrating.md`` walks through it.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

GOLANG_MIGRATE = {
    "000001_create_users.up.sql": "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);\n",
    "000001_create_users.down.sql": "DROP TABLE users;\n",
    "000002_users_by_email.up.sql": "CREATE UNIQUE INDEX ux_users_email ON users (email);\n",
    "000002_users_by_email.down.sql": "DROP INDEX ux_users_email;\n",
}
DBMATE = {
    "20250101120000_create_tags.sql": (
        "-- migrate:up\nCREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT NOT NULL);\n\n"
        "-- migrate:down\nDROP TABLE tags;\n"
    ),
}

# golang-migrate's folder as one schema's dir: its files are the schema's steps, in order.
PROJECT = """\
[database]
url = "sqlite:///app.db"

[[schemas]]
name = "users"
dir = "migrations"

[[versions]]
handler = "/api/users"
timestamp = "2025-01-01T00:00:00Z"
schema = "users"
tags = ["v1"]
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
        for sub, files in (("migrations", GOLANG_MIGRATE), ("db/migrations", DBMATE)):
            (folder / sub).mkdir(parents=True)
            for name, text in files.items():
                (folder / sub / name).write_text(text)
        (folder / "timescape.toml").write_text(PROJECT)
        timescape(folder, "schema", "migrate", "users", "--dry-run")
        timescape(folder, "version", "activate", "v1", "--handler", "/api/users")
        # dbmate's folder, imported: one schema per file, the file copied as it is.
        timescape(folder, "import", "dbmate", "db/migrations")
        timescape(folder, "schema", "migrate", "m20250101120000_create_tags")
        timescape(folder, "schema", "list")


if __name__ == "__main__":
    main()
