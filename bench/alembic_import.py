"""Time ``timescape import alembic`` on a generated 500-revision Alembic history.

``python -m bench.alembic_import [--revisions 500] [--rounds 3]``. The history is made with
``alembic init`` and revision files in Alembic's own format (a linear chain with a branch and a
merge every 50 revisions, each revision an ``op.create_table`` and an ``op.add_column``). Timed,
side by side in one run: Alembic's own walk of the history (``ScriptDirectory`` loading every
revision module, what ``alembic history`` does: the floor), Timescape reading it (that walk plus the
``downgrade()`` check), writing ``timescape.toml``, loading the written project (every revision
file read and checksummed), and the whole ``timescape import alembic`` command in a subprocess.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEMPLATE = '''"""revision {n}

Revision ID: {rev}
Revises: {down}
"""
from alembic import op
import sqlalchemy as sa

revision = {rev!r}
down_revision = {down_value}
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("t_{n}", sa.Column("id", sa.Integer, primary_key=True))
    op.add_column("t_{n}", sa.Column("name", sa.String(50)))


def downgrade():
    op.drop_table("t_{n}")
'''


def generate(folder: Path, count: int) -> Path:
    from alembic import command
    from alembic.config import Config

    ini = folder / "alembic.ini"
    with contextlib.redirect_stdout(io.StringIO()):
        command.init(Config(str(ini)), str(folder / "alembic"))
    versions = folder / "alembic" / "versions"
    previous: str | None = None
    for n in range(1, count + 1):
        rev = f"r{n:04d}"
        if n % 50 == 0 and n > 2:
            # A merge of the chain and a side branch made two revisions back.
            down_value = repr((previous, f"r{n - 2:04d}b"))
        elif n % 50 == 48:
            down_value = repr(previous)
            side = f"{rev}b"
            (versions / f"{side}_side.py").write_text(
                TEMPLATE.format(n=f"{n}b", rev=side, down=previous, down_value=repr(previous))
            )
        else:
            down_value = repr(previous)
        (versions / f"{rev}_rev.py").write_text(
            TEMPLATE.format(n=n, rev=rev, down=previous, down_value=down_value)
        )
        previous = rev
    return ini


def timed(call, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--revisions", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from timescape.project.config import load_project
    from timescape.project.importers import read_history, write_history

    work = Path(tempfile.mkdtemp(prefix="tsbench_alembic_"))
    try:
        ini = generate(work, args.revisions)
        walk = timed(
            lambda: list(ScriptDirectory.from_config(Config(str(ini))).walk_revisions()),
            args.rounds,
        )
        history = read_history("alembic", ini)
        read = timed(lambda: read_history("alembic", ini), args.rounds)
        project = work / "timescape.toml"

        def write() -> None:
            project.unlink(missing_ok=True)
            write_history(history, project)

        written = timed(write, args.rounds)
        load = timed(lambda: load_project(project), args.rounds)

        def command() -> None:
            project.unlink(missing_ok=True)
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "timescape",
                    "--project",
                    str(project),
                    "import",
                    "alembic",
                    str(ini),
                ],
                check=True,
                capture_output=True,
            )

        cli = timed(command, args.rounds)
        schemas = len(history.schemas)
        print(f"Alembic history: {schemas} revisions (heads: {', '.join(history.heads)})")
        print(f"{'step':<44}{'seconds':>10}{'x alembic walk':>16}")
        for label, value in (
            ("alembic: ScriptDirectory walk (floor)", walk),
            ("timescape: read the history", read),
            ("timescape: write timescape.toml", written),
            ("timescape: load the written project", load),
            ("timescape import alembic (whole command)", cli),
        ):
            print(f"{label:<44}{value:>10.3f}{value / walk:>16.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
