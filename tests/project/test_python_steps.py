"""Python steps named in the project file: ``{ python = "module:function" }`` on every database."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import run_cli
from tests.clirun import assert_one_line_error, write_project
from tests.dbutil import TestDB

PROJECT = """\
[database]
url = "{url}"
migration_timeout = 20

[[schemas]]
name = "s1"
migrations = [\"\"\"
CREATE TABLE products (id INTEGER PRIMARY KEY, price VARCHAR(20) NOT NULL);
INSERT INTO products (id, price) VALUES (1, '9.99'), (2, '5.00'), (3, '0.10')
\"\"\"]
rollback = ["DROP TABLE products"]

[[schemas]]
name = "s2"
parent = "s1"
migrations = [
    "ALTER TABLE products ADD COLUMN price_in_cents INTEGER",
    { python = "backfill:to_cents" },
]
rollback = [
    "ALTER TABLE products DROP COLUMN price_in_cents",
    { python = "backfill:clear_cents" },
]

[[versions]]
handler = "/api/products"
timestamp = "2025-01-01T00:00:00Z"
schema = "s2"
tags = ["v2"]
"""

BACKFILL = '''\
"""Backfill price (text) into price_in_cents."""
from decimal import Decimal


def to_cents(connection):
    rows = connection.query("SELECT id, price FROM products ORDER BY id")
    for product_id, price in rows:
        cents = int(Decimal(price) * 100)
        connection.execute("UPDATE products SET price_in_cents = ? WHERE id = ?", (cents, product_id))


def clear_cents(connection):
    connection.execute("UPDATE products SET price_in_cents = NULL")
'''


def _project(tmp_path: Path, db: TestDB, backfill: str = BACKFILL) -> tuple[str, str]:
    path = write_project(tmp_path / "p", PROJECT, {"backfill.py": backfill}, url=db.url)
    return "--project", str(path)


def test_python_step__activate__backfills_price_in_cents(tmp_path: Path, db: TestDB) -> None:
    ts = _project(tmp_path, db)
    result = run_cli(*ts, "version", "activate", "v2", "--handler", "/api/products")
    assert result.exit_code == 0, result.output
    assert db.query("SELECT id, price_in_cents FROM products ORDER BY id") == [
        (1, 999),
        (2, 500),
        (3, 10),
    ]
    row = db.schema_row("s2")
    assert row is not None
    assert row["status"] == "applied"
    assert run_cli(*ts, "verify").exit_code == 0


def test_python_step__dry_run__shows_the_function_by_name_and_changes_nothing(
    tmp_path: Path, db: TestDB
) -> None:
    ts = _project(tmp_path, db)
    result = run_cli(*ts, "schema", "migrate", "s2", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "python:backfill.to_cents" in result.stdout
    assert "backfill.py" in result.stdout
    assert "products" not in db.user_tables()
    plan = run_cli(*ts, "--json", "schema", "migrate", "s2", "--dry-run").json()
    assert "python:backfill.to_cents" in str(plan)


def test_python_step__fails__schema_failed_and_nothing_of_it_remains_where_ddl_is_transactional(
    tmp_path: Path, db: TestDB
) -> None:
    broken = BACKFILL.replace("int(Decimal(price) * 100)", "1 // 0")
    ts = _project(tmp_path, db, broken)
    assert run_cli(*ts, "schema", "migrate", "s1").exit_code == 0
    result = run_cli(*ts, "schema", "migrate", "s2")
    assert result.exit_code == 1, result.output
    assert "by zero" in result.stderr
    assert "Traceback" not in result.output
    row = db.schema_row("s2")
    assert row is not None
    assert row["status"] == "failed"
    if db.dialect != "mysql":
        assert "price_in_cents" not in db.columns("products")


def test_python_step__function_edited_after_apply__verify_reports_drift(
    tmp_path: Path, db: TestDB
) -> None:
    ts = _project(tmp_path, db)
    assert run_cli(*ts, "schema", "migrate", "s2").exit_code == 0
    module = tmp_path / "p" / "backfill.py"
    # Editing the rest of the module is not drift: only the step's function is checksummed.
    module.write_text(module.read_text() + "\n\nHELPER = 1\n")
    assert run_cli(*ts, "verify").exit_code == 0
    module.write_text(module.read_text().replace("* 100", "* 1000"))
    drift = run_cli(*ts, "--json", "verify")
    assert drift.exit_code == 1, drift.output
    assert "s2" in drift.stdout


def test_python_step__rollback__runs_the_rollback_function(tmp_path: Path, db: TestDB) -> None:
    ts = _project(tmp_path, db)
    assert run_cli(*ts, "schema", "migrate", "s2").exit_code == 0
    result = run_cli(*ts, "schema", "rollback", "s2")
    assert result.exit_code == 0, result.output
    assert "price_in_cents" not in db.columns("products")
    row = db.schema_row("s2")
    assert row is not None
    assert row["status"] == "rolled_back"


def test_python_step__bad_targets__one_line_definition_error(tmp_path: Path, db: TestDB) -> None:
    for item, problem in (
        ('{ python = "backfill" }', "must look like 'module:function'"),
        ('{ python = "nowhere:f" }', "module 'nowhere' not found"),
        ('{ python = "backfill:missing" }', "defines no function 'missing'"),
        ('{ shell = "rm -rf /" }', "must be SQL text"),
    ):
        text = PROJECT.replace('{ python = "backfill:to_cents" }', item)
        path = write_project(tmp_path / "bad", text, {"backfill.py": BACKFILL}, url=db.url)
        result = run_cli("--project", str(path), "schema", "list")
        assert result.exit_code == 2, result.output
        assert_one_line_error(result, problem)
        assert "schemas[1].migrations[1]" in result.stderr


DIR_PROJECT = """\
[database]
url = "{url}"

[[schemas]]
name = "s1"
dir = "migrations/s1"
"""

DIR_FILES = {
    "migrations/s1/001_products.sql": (
        "CREATE TABLE products (id INTEGER PRIMARY KEY, price VARCHAR(20) NOT NULL, "
        "price_in_cents INTEGER);\nINSERT INTO products (id, price) VALUES (1, '2.50');\n"
    ),
    "migrations/s1/001_products.rollback.sql": "DROP TABLE products;\n",
    "migrations/s1/002_backfill.py": (
        "from decimal import Decimal\n\n\n"
        "def apply(connection):\n"
        "    for product_id, price in connection.query('SELECT id, price FROM products'):\n"
        "        cents = int(Decimal(price) * 100)\n"
        "        connection.execute(\n"
        "            'UPDATE products SET price_in_cents = ? WHERE id = ?', (cents, product_id)\n"
        "        )\n\n\n"
        "def rollback(connection):\n"
        "    connection.execute('UPDATE products SET price_in_cents = NULL')\n"
    ),
}


def test_python_step_file_in_dir__apply_drift_and_rollback(tmp_path: Path, db: TestDB) -> None:
    path = write_project(tmp_path / "p", DIR_PROJECT, DIR_FILES, url=db.url)
    ts = ("--project", str(path))
    dry = run_cli(*ts, "schema", "migrate", "s1", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "python:migrations/s1/002_backfill.py:apply" in dry.stdout
    result = run_cli(*ts, "schema", "migrate", "s1")
    assert result.exit_code == 0, result.output
    assert db.query("SELECT price_in_cents FROM products") == [(250,)]
    assert run_cli(*ts, "verify").exit_code == 0
    step_file = tmp_path / "p" / "migrations" / "s1" / "002_backfill.py"
    original = step_file.read_text()
    step_file.write_text(original.replace("* 100", "* 1000"))
    assert run_cli(*ts, "verify").exit_code == 1
    step_file.write_text(original)
    back = run_cli(*ts, "schema", "rollback", "s1")
    assert back.exit_code == 0, back.output
    assert "products" not in db.user_tables()


def test_python_step_file_in_dir__no_apply_function__definition_error(tmp_path: Path) -> None:
    files = dict(DIR_FILES)
    files["migrations/s1/002_backfill.py"] = "def upgrade(connection):\n    pass\n"
    path = write_project(tmp_path / "p", DIR_PROJECT, files, url="sqlite:///x.db")
    result = run_cli("--project", str(path), "schema", "list")
    assert_one_line_error(result, "002_backfill.py", "must define apply(connection)", exit_code=2)
