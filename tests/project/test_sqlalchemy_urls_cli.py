"""The application's SQLAlchemy URL works as the CLI's ``--database``, on every database."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import run_cli
from tests.clirun import assert_one_line_error, write_project
from tests.dbutil import TestDB

PROJECT = """\
[[schemas]]
name = "s1"
migrations = ["CREATE TABLE products (id INTEGER PRIMARY KEY)"]
rollback = ["DROP TABLE products"]
"""

FORMS = {
    "sqlite": ("sqlite+pysqlite", "sqlite+aiosqlite"),
    "postgresql": ("postgresql+psycopg2", "postgresql+asyncpg"),
    "mysql": ("mysql+mysqldb", "mariadb+pymysql"),
}


def test_cli__sqlalchemy_driver_urls__reach_the_database(tmp_path: Path, db: TestDB) -> None:
    project = write_project(tmp_path / "p", PROJECT)
    rest = db.url.partition("://")[2]
    first, second = FORMS[db.dialect]
    result = run_cli(
        "--project", str(project), "--database", f"{first}://{rest}", "schema", "migrate", "s1"
    )
    assert result.exit_code == 0, result.output
    assert "products" in db.user_tables()
    listing = run_cli(
        "--project",
        str(project),
        "--json",
        "schema",
        "list",
        env={"TIMESCAPE_DATABASE_URL": f"{second}://{rest}"},
    )
    assert listing.exit_code == 0, listing.output
    assert listing.json()["schemas"][0]["status"] == "applied"


def test_cli__unknown_driver__exit_2_naming_forms_password_hidden(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", PROJECT)
    result = run_cli(
        "--project",
        str(project),
        "--database",
        "postgresql+oracledb://app:hunter2@db/app",
        "schema",
        "list",
    )
    line = assert_one_line_error(
        result, "unsupported driver 'oracledb'", "postgresql+psycopg2", exit_code=2
    )
    assert "hunter2" not in result.output
    assert "app:***@db" in line
