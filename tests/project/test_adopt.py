"""``timescape schema adopt``: an existing database with no history, on every database."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import run_cli
from tests.clirun import write_project
from tests.dbutil import TestDB
from timescape.engine.adoption import expected_objects
from timescape.model.schema import SchemaVersion

PROJECT = """\
[database]
url = "{url}"

[[schemas]]
name = "s1"
migrations = [\"\"\"
CREATE TABLE products (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL);
CREATE INDEX ix_products_name ON products (name);
INSERT INTO products (id, name) VALUES (1, 'lamp')
\"\"\"]
rollback = ["DROP TABLE products"]

[[schemas]]
name = "s2"
parent = "s1"
migrations = [
    "ALTER TABLE products ADD COLUMN price INTEGER",
    "CREATE VIEW v_prices AS SELECT id, price FROM products",
]
rollback = ["ALTER TABLE products DROP COLUMN price", "DROP VIEW v_prices"]

[[schemas]]
name = "s3"
parent = "s2"
migrations = ["ALTER TABLE products ADD COLUMN sku VARCHAR(20)"]
rollback = ["ALTER TABLE products DROP COLUMN sku"]

[[versions]]
handler = "/api/products"
timestamp = "2025-01-01T00:00:00Z"
schema = "s3"
tags = ["v3"]
"""

# What the team ran by hand before Timescape: s1 and the column of s2, but not its view.
EXISTING = [
    "CREATE TABLE products (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL)",
    "CREATE INDEX ix_products_name ON products (name)",
    "INSERT INTO products (id, name) VALUES (1, 'lamp')",
    "ALTER TABLE products ADD COLUMN price INTEGER",
]


def _setup(tmp_path: Path, db: TestDB) -> tuple[str, str]:
    for statement in EXISTING:
        db.execute(statement)
    return "--project", str(write_project(tmp_path / "p", PROJECT, url=db.url))


def test_adopt__objects_missing__refused_with_the_list_and_nothing_recorded(
    tmp_path: Path, db: TestDB
) -> None:
    ts = _setup(tmp_path, db)
    result = run_cli(*ts, "schema", "adopt", "s2", "--json")
    assert result.exit_code == 1, result.output
    report = result.json()
    assert report["format"] == 1
    assert report["ok"] is False
    assert report["adopted"] == []
    by_name = {s["name"]: s for s in report["schemas"]}
    assert by_name["s2"]["missing"] == ["view v_prices"]
    assert by_name["s1"]["missing"] == []
    assert "table products" in by_name["s1"]["found"]
    assert "index ix_products_name" in by_name["s1"]["found"]
    assert any("data change" in line for line in by_name["s1"]["unchecked"])
    assert db.schema_row("s1") is None
    assert db.schema_row("s2") is None
    text = run_cli(*ts, "schema", "adopt", "s2")
    assert text.exit_code == 1
    assert "missing: view v_prices" in text.stdout


def test_adopt__dry_run__reports_and_records_nothing(tmp_path: Path, db: TestDB) -> None:
    ts = _setup(tmp_path, db)
    result = run_cli(*ts, "schema", "adopt", "s1", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    assert result.json()["adopted"] == ["s1"]
    assert result.json()["dry_run"] is True
    assert "timescape_schemas" not in db.tables() or db.schema_row("s1") is None


def test_adopt__objects_present__applied_with_event_and_activation_applies_only_the_rest(
    tmp_path: Path, db: TestDB
) -> None:
    ts = _setup(tmp_path, db)
    db.execute("CREATE VIEW v_prices AS SELECT id, price FROM products")
    result = run_cli(*ts, "schema", "adopt", "s2")
    assert result.exit_code == 0, result.output
    assert "Adopted s1, s2" in result.stdout
    for name in ("s1", "s2"):
        row = db.schema_row(name)
        assert row is not None
        assert row["status"] == "applied"
    assert db.event_kinds().count("schema_adopted") == 2
    activate = run_cli(*ts, "--json", "version", "activate", "v3", "--handler", "/api/products")
    assert activate.exit_code == 0, activate.output
    applied = [a["schema"] for a in activate.json()["plan"]["actions"]]
    assert applied == ["s3"]
    assert "sku" in db.columns("products")
    assert db.count("products") == 1
    assert run_cli(*ts, "verify").exit_code == 0
    again = run_cli(*ts, "--json", "schema", "adopt", "s2")
    assert again.exit_code == 0
    assert again.json()["already_applied"] == ["s1", "s2"]


def test_adopt__unknown_schema__exit_2(tmp_path: Path, db: TestDB) -> None:
    ts = _setup(tmp_path, db)
    result = run_cli(*ts, "schema", "adopt", "nope")
    assert result.exit_code == 2, result.output


def test_expected_objects__renames_and_drops_played_forward() -> None:
    schemas = [
        SchemaVersion.from_scripts(
            "a",
            [
                "CREATE TABLE t (id INTEGER, old_name TEXT, gone TEXT); CREATE INDEX ix ON t (id)",
                "CREATE TABLE scratch (x INTEGER)",
            ],
        ),
        SchemaVersion.from_scripts(
            "b",
            [
                "ALTER TABLE t RENAME COLUMN old_name TO new_name",
                "ALTER TABLE t DROP COLUMN gone",
                "DROP TABLE scratch",
                "ALTER TABLE t RENAME TO items",
                "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql",
            ],
        ),
    ]
    expected, unchecked = expected_objects(schemas, "postgresql")
    assert sorted(expected["a"]) == ["column items.id", "index ix", "table items"]
    assert expected["b"] == ["column items.new_name"]
    assert len(unchecked["b"]) == 1
    assert "function" in unchecked["b"][0]
