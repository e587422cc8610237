"""From Alembic: import the revisions, adopt what ``alembic_version`` records, continue with
Timescape.

Run it with ``python docs_src/migrating_alembic.py`` (needs the ``alembic`` extra:
``pip install 'timescape-db[alembic]'``); it makes an Alembic project with ``alembic init`` in a
temporary folder, upgrades a SQLite database with Alembic, then hands over to Timescape.
``docs/migrating.md`` walks through it.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config

REVISIONS = {
    "create products": (
        (
            '    op.create_table("products", sa.Column("id", sa.Integer, primary_key=True),\n'
            '                    sa.Column("name", sa.String(100), nullable=False))\n'
        ),
        '    op.drop_table("products")\n',
    ),
    "add price": (
        (
            '    with op.batch_alter_table("products") as batch:\n'
            '        batch.add_column(sa.Column("price", sa.String(20)))\n'
        ),
        '    with op.batch_alter_table("products") as batch:\n        batch.drop_column("price")\n',
    ),
}

NEXT = """
# Written by hand after the import: the first change made with Timescape.
[[schemas]]
name = "price_in_cents"
parent = "rev_0002"
migrations = ["ALTER TABLE products ADD COLUMN price_cents INTEGER"]
rollback = ["ALTER TABLE products DROP COLUMN price_cents"]

[[versions]]
handler = "/api/products"
timestamp = "2025-06-01T00:00:00Z"
schema = "price_in_cents"
tags = ["v2"]
"""


def make_alembic_project(folder: Path) -> Path:
    """``alembic init`` and two revisions; ``alembic upgrade head`` on app.db."""
    ini = folder / "alembic.ini"
    with contextlib.redirect_stdout(io.StringIO()):
        command.init(Config(str(ini)), str(folder / "alembic"))
        config = Config(str(ini))
        for number, (message, (up, down)) in enumerate(REVISIONS.items(), start=1):
            script = command.revision(config, message, rev_id=f"{number:04d}")
            path = Path(script.path)  # type: ignore[union-attr]
            text = path.read_text()
            text = text.replace('    """Upgrade schema."""\n    pass\n', up)
            path.write_text(text.replace('    """Downgrade schema."""\n    pass\n', down))
    text = ini.read_text().replace("driver://user:pass@localhost/dbname", "sqlite:///app.db")
    ini.write_text(text)
    subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=folder,
        check=True,
        capture_output=True,
    )
    return ini


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
        make_alembic_project(folder)
        (folder / "timescape.toml").write_text('[database]\nurl = "sqlite:///app.db"\n')
        # One schema per revision, each running the revision's upgrade()/downgrade(); then the
        # revisions alembic_version says the database has are recorded as applied.
        timescape(folder, "import", "alembic", "alembic.ini", "--adopt")
        print((folder / "timescape.toml").read_text())
        with (folder / "timescape.toml").open("a") as project:
            project.write(NEXT)
        timescape(folder, "version", "activate", "v2", "--handler", "/api/products")
        timescape(folder, "schema", "list")


if __name__ == "__main__":
    main()
