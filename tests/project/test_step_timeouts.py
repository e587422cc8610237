"""Python and Alembic steps run under the schema's ``migration_timeout``: the statement they are
running is cancelled on the server, as for SQL steps; on every database."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import run_cli
from tests.clirun import write_project
from tests.dbutil import TestDB

pytestmark = pytest.mark.timeout(120)

PROJECT = """\
[database]
url = "{url}"
migration_timeout = 1

[[schemas]]
name = "s1"
migrations = ["CREATE TABLE marker (id INTEGER PRIMARY KEY)", STEP]
"""


def _slow_sql(dialect: str) -> str:
    if dialect == "postgresql":
        return "SELECT pg_sleep(60)"
    if dialect == "mysql":
        return "SELECT SLEEP(60)"
    return (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000000000) "
        "SELECT COUNT(*) FROM c"
    )


@pytest.mark.parametrize("kind", ["python", "alembic"])
def test_step__runs_past_migration_timeout__cancelled_and_schema_failed(
    kind: str, tmp_path: Path, db: TestDB
) -> None:
    sql = _slow_sql(db.dialect)
    if kind == "python":
        files = {"slow.py": f"def run(connection):\n    connection.query({sql!r})\n"}
        step = '{ python = "slow:run" }'
    else:
        files = {
            "rev.py": (
                "from alembic import op\n\nrevision = 'r1'\ndown_revision = None\n\n\n"
                f"def upgrade():\n    op.execute({sql!r})\n"
            )
        }
        step = '{ alembic = "rev.py" }'
    project = write_project(tmp_path / "p", PROJECT.replace("STEP", step), files, url=db.url)
    result = run_cli("--project", str(project), "schema", "migrate", "s1")
    assert result.exit_code == 1, result.output
    assert "timed out after 1 s in step 2" in result.stderr
    row = db.schema_row("s1")
    assert row is not None
    assert row["status"] in ("failed", "uncertain")
    if db.dialect != "mysql":
        assert "marker" not in db.user_tables()


def test_alembic_step__database_error__reported_as_the_drivers_error(
    tmp_path: Path, db: TestDB
) -> None:
    files = {
        "rev.py": (
            "from alembic import op\n\nrevision = 'r1'\ndown_revision = None\n\n\n"
            "def upgrade():\n    op.execute('INSERT INTO no_such_table VALUES (1)')\n"
        )
    }
    text = PROJECT.replace("migration_timeout = 1", "migration_timeout = 20").replace(
        "STEP", '{ alembic = "rev.py" }'
    )
    project = write_project(tmp_path / "p", text, files, url=db.url)
    result = run_cli("--project", str(project), "schema", "migrate", "s1")
    assert result.exit_code == 1, result.output
    assert "no_such_table" in result.stderr
    assert "sqlalche.me" not in result.stderr
    assert "Traceback" not in result.output
    row = db.schema_row("s1")
    assert row is not None
    assert row["status"] == "failed"
