"""Importing file-based histories (Flyway, golang-migrate, dbmate, numbered SQL) and reading their
folders directly as a schema's ``dir``; on every database.

The original tools are not Python packages, so their result is reproduced as they produce it: each
up file's statements run in version order on another fresh database. The catalogs must be equal.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import run_cli
from tests.clirun import assert_one_line_error, write_project
from tests.dbutil import TestDB
from tests.project.conftest import catalog
from timescape.store.split import split_statements

FLYWAY = {
    "V1__create_products.sql": (
        "CREATE TABLE products (\n  id INTEGER PRIMARY KEY,\n  name VARCHAR(100) NOT NULL\n);\n"
        "INSERT INTO products (id, name) VALUES (1, 'lamp');\n"
    ),
    "U1__create_products.sql": "DROP TABLE products;\n",
    "V1.1__add_price.sql": "ALTER TABLE products ADD COLUMN price INTEGER;\n",
    "U1.1__add_price.sql": "ALTER TABLE products DROP COLUMN price;\n",
    "V2__index_name.sql": "CREATE UNIQUE INDEX ux_products_name ON products (name);\n",
    "U2__index_name.sql": "DROP INDEX ux_products_name{on_products};\n",
    "V10__orders.sql": (
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, product_id INTEGER NOT NULL "
        "REFERENCES products (id));\n"
    ),
    "U10__orders.sql": "DROP TABLE orders;\n",
    "R__report_view.sql": "CREATE VIEW report AS SELECT id FROM products;\n",
}
GOLANG = {
    "000001_create_users.up.sql": "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(200));\n",
    "000001_create_users.down.sql": "DROP TABLE users;\n",
    "000002_users_email_index.up.sql": "CREATE INDEX ix_users_email ON users (email);\n",
    "000002_users_email_index.down.sql": "DROP INDEX ix_users_email{on_users};\n",
    "000010_add_name.up.sql": "ALTER TABLE users ADD COLUMN name VARCHAR(50);\n",
    "000010_add_name.down.sql": "ALTER TABLE users DROP COLUMN name;\n",
}
DBMATE = {
    "20240101000000_create_tags.sql": (
        "-- migrate:up\nCREATE TABLE tags (id INTEGER PRIMARY KEY, label VARCHAR(40) NOT NULL);\n\n"
        "-- migrate:down\nDROP TABLE tags;\n"
    ),
    "20240202000000_tag_color.sql": (
        "-- migrate:up\nALTER TABLE tags ADD COLUMN color VARCHAR(7);\n\n"
        "-- migrate:down\nALTER TABLE tags DROP COLUMN color;\n"
    ),
}
SQL = {
    "001_init.sql": "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);\n",
    "002_title.sql": "ALTER TABLE notes ADD COLUMN title VARCHAR(80);\n",
    "002_title.rollback.sql": "ALTER TABLE notes DROP COLUMN title;\n",
}
TOOLS = {"flyway": FLYWAY, "golang-migrate": GOLANG, "dbmate": DBMATE, "sql": SQL}
FLYWAY_TABLE = (
    "CREATE TABLE flyway_schema_history (installed_rank INTEGER PRIMARY KEY, version VARCHAR(50), "
    "description VARCHAR(200) NOT NULL, type VARCHAR(20) NOT NULL, script VARCHAR(1000) NOT NULL, "
    "success BOOLEAN NOT NULL)"
)
HEADS = {
    "flyway": "V10__orders",
    "golang-migrate": "m000010_add_name",
    "dbmate": "m20240202000000_tag_color",
    "sql": "m002_title",
}


def _files(files: dict[str, str], dialect: str) -> dict[str, str]:
    on = {
        "on_products": " ON products" if dialect == "mysql" else "",
        "on_users": " ON users" if dialect == "mysql" else "",
    }
    return {name: text.format(**on) for name, text in files.items()}


def _up_sql(tool: str, name: str, text: str) -> str | None:
    """The SQL the original tool runs for ``name`` when migrating up, or None."""
    if name.startswith(("U", "R__")) or name.endswith((".down.sql", ".rollback.sql")):
        return None
    if tool == "dbmate":
        return text.split("-- migrate:down", maxsplit=1)[0].replace("-- migrate:up", "")
    return text


def _run_like_the_tool(tool: str, files: dict[str, str], db: TestDB) -> None:
    def order(name: str) -> tuple[int, ...]:
        head = (
            name.split("__", maxsplit=1)[0][1:]
            if tool == "flyway"
            else name.split("_", maxsplit=1)[0]
        )
        return tuple(int(p) for p in head.split("."))

    ups = [n for n in files if _up_sql(tool, n, files[n]) is not None]
    for name in sorted(ups, key=order):
        sql = _up_sql(tool, name, files[name])
        assert sql is not None
        for statement in split_statements(sql, db.dialect):  # type: ignore[arg-type]
            db.execute(statement.text)


def _project(tmp_path: Path, db: TestDB) -> Path:
    return write_project(tmp_path / "app", '[database]\nurl = "{url}"\n', url=db.url)


@pytest.mark.parametrize("tool", list(TOOLS))
def test_import__file_tool__same_catalog_as_the_tool_and_rollback_works(
    tool: str, tmp_path: Path, db: TestDB, other_db: TestDB
) -> None:
    files = _files(TOOLS[tool], db.dialect)
    source = tmp_path / "source"
    write_project(source, "", files)
    (source / "timescape.toml").unlink()
    project = _project(tmp_path, db)
    ts = ("--project", str(project))
    dry = run_cli(*ts, "import", tool, str(source), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "[[schemas]]" in dry.stdout
    assert "[[schemas]]" not in project.read_text()
    result = run_cli(*ts, "--json", "import", tool, str(source))
    assert result.exit_code == 0, result.output
    document = result.json()
    assert document["format"] == 1
    assert document["heads"] == [HEADS[tool]]
    if tool == "flyway":
        assert [s["name"] for s in document["schemas"]] == [
            "V1__create_products",
            "V1.1__add_price",
            "V2__index_name",
            "V10__orders",
        ]
        assert any("R__report_view.sql" in line for line in document["skipped"])
    assert "timescape_schemas" not in db.tables()  # importing never touches the database
    migrate = run_cli(*ts, "schema", "migrate", HEADS[tool])
    assert migrate.exit_code == 0, migrate.output
    _run_like_the_tool(tool, files, other_db)
    assert catalog(db) == catalog(other_db)
    assert run_cli(*ts, "verify").exit_code == 0
    # The last migration has a rollback everywhere: it runs and the catalog goes back.
    rollback = run_cli(*ts, "schema", "rollback", HEADS[tool])
    assert rollback.exit_code == 0, rollback.output
    assert catalog(db) != catalog(other_db)


def test_import__twice__refused_before_writing_anything(tmp_path: Path, db: TestDB) -> None:
    source = tmp_path / "source"
    write_project(source, "", SQL)
    (source / "timescape.toml").unlink()
    ts = ("--project", str(_project(tmp_path, db)))
    assert run_cli(*ts, "import", "sql", str(source)).exit_code == 0
    before = (tmp_path / "app" / "timescape.toml").read_text()
    again = run_cli(*ts, "import", "sql", str(source))
    assert_one_line_error(again, "already defines schema 'm001_init'", exit_code=2)
    assert (tmp_path / "app" / "timescape.toml").read_text() == before


@pytest.mark.parametrize("tool", ["flyway", "golang-migrate", "dbmate"])
def test_import__adopt__reads_the_tools_table_and_applies_only_what_is_missing(
    tool: str, tmp_path: Path, db: TestDB
) -> None:
    files = _files(TOOLS[tool], db.dialect)
    source = tmp_path / "source"
    write_project(source, "", files)
    (source / "timescape.toml").unlink()
    # The database as the tool left it after all but the last migration, with its table.
    names = sorted(n for n in files if _up_sql(tool, n, files[n]) is not None)
    if tool == "flyway":
        partial = {n: files[n] for n in files if not n.startswith("V10")}
        _run_like_the_tool(tool, partial, db)
        db.execute(FLYWAY_TABLE)
        for rank, version in enumerate(["1", "1.1", "2"], start=1):
            db.execute(
                "INSERT INTO flyway_schema_history VALUES (?, ?, ?, 'SQL', ?, ?)",
                (rank, version, "x", f"V{version}__x.sql", True),
            )
        db.execute(
            "INSERT INTO flyway_schema_history VALUES "
            "(4, NULL, 'report view', 'SQL', 'R__report_view.sql', 1 = 1)"
        )
        last = "V10__orders"
    elif tool == "golang-migrate":
        partial = {n: files[n] for n in files if not n.startswith("000010")}
        _run_like_the_tool(tool, partial, db)
        db.execute(
            "CREATE TABLE schema_migrations (version BIGINT NOT NULL, dirty BOOLEAN NOT NULL)"
        )
        db.execute("INSERT INTO schema_migrations VALUES (2, 1 = 0)")
        last = "m000010_add_name"
    else:
        partial = {names[0]: files[names[0]]}
        _run_like_the_tool(tool, partial, db)
        db.execute("CREATE TABLE schema_migrations (version VARCHAR(128) PRIMARY KEY)")
        db.execute("INSERT INTO schema_migrations VALUES ('20240101000000')")
        last = "m20240202000000_tag_color"
    ts = ("--project", str(_project(tmp_path, db)))
    result = run_cli(*ts, "--json", "import", tool, str(source), "--adopt")
    assert result.exit_code == 0, result.output
    adoption = result.json()["adoption"]
    assert adoption["ok"] is True
    assert last not in adoption["adopted"]
    assert len(adoption["adopted"]) == len(result.json()["schemas"]) - 1
    migrate = run_cli(*ts, "--json", "schema", "migrate", last)
    assert migrate.exit_code == 0, migrate.output
    assert [a["schema"] for a in migrate.json()["plan"]["actions"]] == [last]


def test_import__flyway_baseline_and_undo__adopts_what_the_history_leaves_applied(
    tmp_path: Path, db: TestDB
) -> None:
    files = _files(FLYWAY, db.dialect)
    source = tmp_path / "source"
    write_project(source, "", files)
    (source / "timescape.toml").unlink()
    # Baselined at 1 (the products table was there before Flyway), then 1.1 and 2 ran, and 2 was
    # undone: the database has V1 and V1.1.
    _run_like_the_tool("flyway", {n: files[n] for n in ("V1__create_products.sql",)}, db)
    _run_like_the_tool("flyway", {n: files[n] for n in ("V1.1__add_price.sql",)}, db)
    db.execute(FLYWAY_TABLE)
    for row in (
        (1, "1", "<< Flyway Baseline >>", "BASELINE", "<< Flyway Baseline >>", True),
        (2, "1.1", "add price", "SQL", "V1.1__add_price.sql", True),
        (3, "2", "index name", "SQL", "V2__index_name.sql", True),
        (4, "2", "index name", "UNDO_SQL", "U2__index_name.sql", True),
        (5, "10", "orders", "SQL", "V10__orders.sql", False),
    ):
        db.execute("INSERT INTO flyway_schema_history VALUES (?, ?, ?, ?, ?, ?)", row)
    ts = ("--project", str(_project(tmp_path, db)))
    result = run_cli(*ts, "--json", "import", "flyway", str(source), "--adopt")
    assert result.exit_code == 0, result.output
    assert result.json()["adoption"]["adopted"] == ["V1__create_products", "V1.1__add_price"]
    migrate = run_cli(*ts, "--json", "schema", "migrate", "V10__orders")
    assert migrate.exit_code == 0, migrate.output
    assert [a["schema"] for a in migrate.json()["plan"]["actions"]] == [
        "V2__index_name",
        "V10__orders",
    ]


def test_import__golang_migrate_dirty__refused(tmp_path: Path, db: TestDB) -> None:
    source = tmp_path / "source"
    write_project(source, "", _files(GOLANG, db.dialect))
    (source / "timescape.toml").unlink()
    db.execute("CREATE TABLE schema_migrations (version BIGINT NOT NULL, dirty BOOLEAN NOT NULL)")
    db.execute("INSERT INTO schema_migrations VALUES (2, 1 = 1)")
    ts = ("--project", str(_project(tmp_path, db)))
    result = run_cli(*ts, "import", "golang-migrate", str(source), "--adopt")
    assert_one_line_error(result, "dirty at version 2", exit_code=2)


@pytest.mark.parametrize("tool", ["flyway", "golang-migrate", "dbmate"])
def test_dir__tool_folder_as_one_schema__steps_in_version_order_with_rollbacks(
    tool: str, tmp_path: Path, db: TestDB, other_db: TestDB
) -> None:
    files = {k: v for k, v in _files(TOOLS[tool], db.dialect).items() if not k.startswith("R__")}
    text = (
        '[database]\nurl = "{url}"\n\n[[schemas]]\nname = "legacy"\ndir = "db"\n\n'
        '[[versions]]\nhandler = "/api/x"\ntimestamp = "2025-01-01T00:00:00Z"\nschema = "legacy"\n'
    )
    path = write_project(
        tmp_path / "app", text, {f"db/{k}": v for k, v in files.items()}, url=db.url
    )
    ts = ("--project", str(path))
    status = run_cli(*ts, "--json", "schema", "migrate", "legacy", "--dry-run")
    assert status.exit_code == 0, status.output
    steps = status.json()["plan"]["actions"][0]["steps"]
    assert len(steps) == len([n for n in files if _up_sql(tool, n, files[n]) is not None])
    if tool == "flyway":
        assert [s["file"].split("/")[-1] for s in steps][-1] == "V10__orders.sql"
    assert run_cli(*ts, "schema", "migrate", "legacy").exit_code == 0
    _run_like_the_tool(tool, files, other_db)
    assert catalog(db) == catalog(other_db)
    assert run_cli(*ts, "schema", "rollback", "legacy").exit_code == 0
    assert catalog(db) == {"__views__": []}


def test_dir__flyway_repeatable__definition_error(tmp_path: Path, db: TestDB) -> None:
    files = {f"db/{k}": v for k, v in FLYWAY.items()}
    text = '[database]\nurl = "{url}"\n\n[[schemas]]\nname = "legacy"\ndir = "db"\n'
    path = write_project(tmp_path / "app", text, files, url=db.url)
    result = run_cli("--project", str(path), "schema", "list")
    assert_one_line_error(result, "R__report_view.sql", "repeatable", exit_code=2)


def test_import__adopt_without_a_tool_table__refused_before_writing(
    tmp_path: Path, db: TestDB
) -> None:
    source = tmp_path / "source"
    write_project(source, "", SQL)
    (source / "timescape.toml").unlink()
    project = _project(tmp_path, db)
    before = project.read_text()
    result = run_cli("--project", str(project), "import", "sql", str(source), "--adopt")
    assert_one_line_error(result, "keeps no history table", "schema adopt", exit_code=2)
    assert project.read_text() == before
    assert not (tmp_path / "app" / "migrations").exists()


def test_import__adopt_but_the_table_is_missing__says_the_import_was_written(
    tmp_path: Path, db: TestDB
) -> None:
    source = tmp_path / "source"
    write_project(source, "", _files(FLYWAY, db.dialect))
    (source / "timescape.toml").unlink()
    project = _project(tmp_path, db)
    result = run_cli("--project", str(project), "import", "flyway", str(source), "--adopt")
    assert_one_line_error(result, "are written to", "no flyway_schema_history table", exit_code=2)
    assert "V10__orders" in project.read_text()


def test_import__into_pyproject__tool_timescape_tables_that_load(tmp_path: Path) -> None:
    source = tmp_path / "source"
    write_project(source, "", SQL)
    (source / "timescape.toml").unlink()
    app = tmp_path / "app"
    app.mkdir()
    pyproject = app / "pyproject.toml"
    pyproject.write_text(
        '[project]\nname = "shop"\n\n[tool.timescape.database]\nurl = "sqlite:///x.db"\n'
    )
    # --project names the folder: the pyproject.toml in it is the project file.
    result = run_cli("--project", str(app), "import", "sql", str(source))
    assert result.exit_code == 0, result.output
    assert not (app / "timescape.toml").exists()
    listing = run_cli("--project", str(app), "--json", "schema", "list")
    assert listing.exit_code == 0, listing.output
    assert [s["name"] for s in listing.json()["schemas"]] == ["m001_init", "m002_title"]
