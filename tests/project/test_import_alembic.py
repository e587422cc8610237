"""Importing a real Alembic history (made at test time with Alembic) and applying it with
Timescape: the catalog equals ``alembic upgrade heads`` on another fresh database; on every
database. Also adoption from ``alembic_version``, failures, drift and dry runs of revision steps.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.cli.conftest import run_cli
from tests.clirun import assert_one_line_error, imported_modules, run_process, write_project
from tests.dbutil import TestDB
from tests.project.alembic_history import build_history, upgrade
from tests.project.conftest import catalog, sqlalchemy_url


def _import(tmp_path: Path, db: TestDB, *extra: str) -> tuple[tuple[str, str], Path, dict]:
    ini = build_history(tmp_path / "app")
    project = write_project(tmp_path / "app", '[database]\nurl = "{url}"\n', url=db.url)
    ts = ("--project", str(project))
    result = run_cli(*ts, "--json", "import", "alembic", str(ini), *extra)
    assert result.exit_code == 0, result.output
    return ts, ini, result.json()


def test_import_alembic__graph__parents_from_down_revision_branches_and_merge(
    tmp_path: Path, db: TestDB
) -> None:
    ts, _, document = _import(tmp_path, db)
    parents = {s["name"]: s["parent"] for s in document["schemas"]}
    assert parents == {
        "rev_a1": [],
        "rev_b2": ["rev_a1"],
        "rev_c3": ["rev_b2"],
        "rev_d4": ["rev_c3"],
        "rev_e4": ["rev_c3"],
        "rev_m5": ["rev_d4", "rev_e4"],
    }
    assert document["heads"] == ["rev_m5"]
    assert any("rev_e4" in note and "irreversible" in note for note in document["notes"])
    text = (tmp_path / "app" / "timescape.toml").read_text()
    assert 'migrations = [{ alembic = "alembic/versions/a1_create_products.py" }]' in text
    assert "timescape_schemas" not in db.tables()
    listing = run_cli(*ts, "--json", "schema", "list").json()
    assert len(listing["schemas"]) == 6


def test_import_alembic__apply_with_timescape__same_catalog_as_alembic_upgrade(
    tmp_path: Path, db: TestDB, other_db: TestDB
) -> None:
    ts, ini, _ = _import(tmp_path, db)
    result = run_cli(*ts, "schema", "migrate", "rev_m5")
    assert result.exit_code == 0, result.output
    upgrade(ini, sqlalchemy_url(other_db))
    mine, theirs = catalog(db), catalog(other_db)
    assert set(mine) == {"products", "orders", "tags", "__views__"}
    assert mine == theirs
    # The data step read the rows inside Timescape's transaction.
    assert db.query("SELECT id, price_cents FROM products ORDER BY id") == [(1, 999), (2, 12050)]
    assert run_cli(*ts, "verify").exit_code == 0
    # Rolling back runs the revisions' downgrade() through Alembic's operations.
    back = run_cli(*ts, "schema", "rollback", "rev_d4", "--force")
    assert back.exit_code == 0, back.output
    assert "orders" not in db.user_tables()


def test_import_alembic__adopt_from_alembic_version__applies_only_the_missing_branch(
    tmp_path: Path, db: TestDB
) -> None:
    ini = build_history(tmp_path / "app")
    upgrade(ini, sqlalchemy_url(db), "d4")  # one branch only: e4 and the merge are missing
    project = write_project(tmp_path / "app", '[database]\nurl = "{url}"\n', url=db.url)
    ts = ("--project", str(project))
    result = run_cli(*ts, "--json", "import", "alembic", str(ini), "--adopt")
    assert result.exit_code == 0, result.output
    adoption = result.json()["adoption"]
    assert adoption["adopted"] == ["rev_a1", "rev_b2", "rev_c3", "rev_d4"]
    # Revision steps run Python: adoption says it could not check them.
    assert all("Python step" in s["unchecked"][0] for s in adoption["schemas"])
    migrate = run_cli(*ts, "--json", "schema", "migrate", "rev_m5")
    assert migrate.exit_code == 0, migrate.output
    assert [a["schema"] for a in migrate.json()["plan"]["actions"]] == ["rev_e4", "rev_m5"]
    assert "ix_orders_quantity" in db.indexes("orders")


def test_import_alembic__dry_run_failure_and_drift__like_any_step(
    tmp_path: Path, db: TestDB
) -> None:
    ts, _, _ = _import(tmp_path, db)
    dry = run_cli(*ts, "schema", "migrate", "rev_b2", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "alembic/versions/b2_add_price.py" in dry.stdout
    assert "upgrade" in dry.stdout
    assert "products" not in db.user_tables()
    revision = tmp_path / "app" / "alembic" / "versions" / "c3_price_in_cents.py"
    original = revision.read_text()
    revision.write_text(original.replace("round(float(price) * 100)", "1 // 0"))
    failed = run_cli(*ts, "schema", "migrate", "rev_c3")
    assert failed.exit_code == 1, failed.output
    assert "by zero" in failed.stderr
    assert "Traceback" not in failed.output
    row = db.schema_row("rev_c3")
    assert row is not None
    assert row["status"] == "failed"
    if db.dialect != "mysql":
        assert "price_cents" not in db.columns("products")
        assert "price" in db.columns("products")
    revision.write_text(original)
    retry = run_cli(*ts, "schema", "migrate", "rev_c3")
    if db.dialect == "mysql":
        # DDL commits on MariaDB: the column the failed run added is there, and the revision,
        # like under Alembic, cannot run twice; the operator resolves it.
        assert retry.exit_code == 1, retry.output
        assert "price_cents" in db.columns("products")
    else:
        assert retry.exit_code == 0, retry.output
        assert db.schema_row("rev_c3")["status"] == "applied"  # type: ignore[index]
        revision.write_text(original + "\n# edited after it was applied\n")
        assert run_cli(*ts, "verify").exit_code == 1


def test_alembic_steps__listing_and_dry_run__import_neither_alembic_nor_sqlalchemy(
    tmp_path: Path, db: TestDB
) -> None:
    ts, _, _ = _import(tmp_path, db)
    for args in (("schema", "list"), ("schema", "migrate", "rev_m5", "--dry-run")):
        command = (sys.executable, "-X", "importtime", "-m", "timescape")
        done = run_process(*ts, *args, command=command)
        assert done.exit_code == 0, done.stderr[-2000:]
        heavy = {m for m in imported_modules(done) if m.split(".")[0] in ("alembic", "sqlalchemy")}
        assert not heavy, (args, sorted(heavy)[:5])


def test_import_alembic__render_sql__offline_revisions_become_sql_the_rest_run_alembic(
    tmp_path: Path, db: TestDB, other_db: TestDB
) -> None:
    ts, ini, document = _import(tmp_path, db, "--render-sql", db.dialect)
    not_rendered = sorted(n.split(":")[0] for n in document["notes"] if "render offline" in n)
    # c3 reads rows (a data step); on SQLite, b2's downgrade and c3 need batch mode's reflection.
    assert not_rendered == (["rev_b2", "rev_c3"] if db.dialect == "sqlite" else ["rev_c3"])
    text = (tmp_path / "app" / "timescape.toml").read_text()
    assert 'dir = "migrations/rev_a1"' in text
    assert 'migrations = [{ alembic = "alembic/versions/c3_price_in_cents.py" }]' in text
    a1 = (tmp_path / "app" / "migrations" / "rev_a1" / "001_a1.sql").read_text()
    assert "CREATE TABLE products" in a1
    assert "CREATE INDEX ix_products_name" in a1
    check = run_cli(*ts, "--json", "schema", "adopt", "rev_a1", "--dry-run")
    assert check.json()["schemas"][0]["missing"] == [
        "table products",
        "column products.id",
        "column products.name",
        "index ix_products_name",
    ]
    result = run_cli(*ts, "schema", "migrate", "rev_m5")
    assert result.exit_code == 0, result.output
    upgrade(ini, sqlalchemy_url(other_db))
    assert catalog(db) == catalog(other_db)
    back = run_cli(*ts, "schema", "rollback", "rev_d4", "--force")
    assert back.exit_code == 0, back.output
    assert "orders" not in db.user_tables()


def test_import_alembic__history_outside_the_project__nothing_written(
    tmp_path: Path, db: TestDB
) -> None:
    ini = build_history(tmp_path / "tool")
    project = write_project(tmp_path / "app", '[database]\nurl = "{url}"\n', url=db.url)
    before = project.read_text()
    result = run_cli(
        "--project", str(project), "import", "alembic", str(ini), "--render-sql", db.dialect
    )
    line = assert_one_line_error(result, "nothing imported", "allow_outside_project", exit_code=2)
    assert "outside the project folder" in line
    assert project.read_text() == before
    assert not (tmp_path / "app" / "migrations").exists()
    allowed = '[database]\nurl = "{url}"\nallow_outside_project = true\n'
    write_project(tmp_path / "app", allowed, url=db.url)
    again = run_cli("--project", str(project), "import", "alembic", str(ini))
    assert again.exit_code == 0, again.output
    assert "../tool/alembic/versions/a1_create_products.py" in project.read_text()
    assert run_cli("--project", str(project), "schema", "migrate", "rev_m5").exit_code == 0
