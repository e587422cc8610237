"""``timescape init [DIR]``: scaffold a commented ``timescape.toml`` and a first schema."""

from __future__ import annotations

from pathlib import Path

import click

from timescape.cli._context import App, global_options, pass_app
from timescape.errors import InputError

__all__ = ["PROJECT_TEMPLATE", "init_command"]

PROJECT_TEMPLATE = """\
# Timescape project file. Reference: docs/project-file.md
# Relative paths are relative to this file's folder.

[database]
# Overridden by --database, then by the TIMESCAPE_DATABASE_URL environment variable.
# Examples: "postgresql://app@localhost/app", "mysql://app@localhost/app".
# Keep passwords out of this file: put them in TIMESCAPE_DATABASE_URL.
url = "sqlite:///timescape.db"
migration_timeout = 30                # seconds per schema, cancelled on the server
lock_timeout = 30                     # seconds to wait for another Timescape run
rollback_on_deactivate = true         # roll back schemas no live version needs
protected_tags = ["stable", "production", "latest"]   # need --force to deactivate

# A schema version is an ordered list of steps on top of an optional parent.
# Each NNN_name.sql file in `dir` is a step; NNN_name.rollback.sql undoes it.
[[schemas]]
name = "schema_v1"
dir = "migrations/schema_v1"
description = "products table"

# The next schema builds on the first. Inline SQL works too:
# [[schemas]]
# name = "schema_v2"
# parent = "schema_v1"
# migrations = ["ALTER TABLE products ADD COLUMN email TEXT"]
# rollback   = ["ALTER TABLE products DROP COLUMN email"]
# compatible_with = ["schema_v1"]    # v1 code keeps working: the gate lets it in while v1 is live

# An API version of a handler, and the schema it needs. Its id (TSV) is derived from
# the timestamp and the handler: see `timescape version list`.
[[versions]]
handler = "/api/products"
timestamp = "2025-01-01T00:00:00Z"
schema = "schema_v1"
tags = ["v1.0.0"]
"""

_FIRST_MIGRATION = """\
-- Step 1 of schema_v1. Runs in one transaction with the rest of the schema where the database
-- allows it (PostgreSQL, SQLite).
CREATE TABLE products (
    id INTEGER PRIMARY KEY,
    name VARCHAR(200) NOT NULL,
    price_cents INTEGER NOT NULL DEFAULT 0
);
"""

_FIRST_ROLLBACK = """\
-- Undoes 001_create_products.sql.
DROP TABLE products;
"""


@click.command("init")
@click.argument(
    "directory", required=False, default=".", type=click.Path(file_okay=False, path_type=Path)
)
@global_options
@pass_app
def init_command(app: App, directory: Path) -> None:
    """Scaffold timescape.toml and migrations/.

    In DIR (default: the current folder). Never overwrites an existing file.
    """
    project = directory / "timescape.toml"
    first = directory / "migrations" / "schema_v1"
    files = {
        project: PROJECT_TEMPLATE,
        first / "001_create_products.sql": _FIRST_MIGRATION,
        first / "001_create_products.rollback.sql": _FIRST_ROLLBACK,
    }
    existing = [str(p) for p in files if p.exists() or p.is_symlink()]
    if existing:
        raise InputError(
            f"{', '.join(existing)} already exist(s); timescape init never overwrites. "
            "Pick an empty folder: timescape init DIR"
        )
    first.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        with path.open("x", encoding="utf-8") as handle:
            handle.write(text)
    if app.json:
        app.emit_json({"created": [str(p) for p in files], "project": str(project)})
        return
    style = app.style
    app.echo(style(f"Created {project}", "green"))
    for path in list(files)[1:]:
        app.echo(f"  {path}")
    app.echo("")
    app.echo("Next:")
    if directory != Path():
        app.echo(f"  cd {directory}")
    app.echo("  timescape schema list                  # what is defined, and its status")
    app.echo("  timescape version activate --dry-run   # the exact SQL it would run")
    app.echo("  timescape version activate             # apply schema_v1, make v1.0.0 live")
