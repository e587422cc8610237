"""``timescape init`` and ``timescape demo``: what a new user runs first."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import run_cli
from tests.clirun import assert_one_line_error
from tests.dbutil import TestDB


def test_init__empty_folder__scaffolds_a_project_that_loads(tmp_path: Path) -> None:
    target = tmp_path / "app"
    result = run_cli("init", str(target))
    assert result.exit_code == 0, result.output
    assert "Created" in result.stdout
    assert (target / "timescape.toml").read_text().startswith("# Timescape project file")
    assert (target / "migrations" / "schema_v1" / "001_create_products.sql").is_file()
    assert (target / "migrations" / "schema_v1" / "001_create_products.rollback.sql").is_file()

    listing = run_cli("--project", str(target), "schema", "list", "--json")
    assert listing.exit_code == 0, listing.output
    assert [(s["name"], s["status"]) for s in listing.json()["schemas"]] == [
        ("schema_v1", "pending")
    ]
    activated = run_cli("--project", str(target), "version", "activate")
    assert activated.exit_code == 0, activated.output
    assert (target / "timescape.db").is_file()


def test_init__existing_project__refuses_and_changes_nothing(tmp_path: Path) -> None:
    assert run_cli("init", str(tmp_path)).exit_code == 0
    project = tmp_path / "timescape.toml"
    project.write_text(project.read_text() + "# my edits\n")
    again = run_cli("init", str(tmp_path))
    assert again.exit_code == 2
    assert_one_line_error(again, "already exist", "never overwrites")
    assert project.read_text().endswith("# my edits\n")


def test_init__current_folder_json__lists_created_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_cli("init", "--json")
    assert result.exit_code == 0, result.output
    assert result.json()["project"] == "timescape.toml"
    assert len(result.json()["created"]) == 3


def test_init__scaffold_on_every_database__activates_and_deactivates(
    db: TestDB, tmp_path: Path
) -> None:
    assert run_cli("init", str(tmp_path)).exit_code == 0
    ts = ("--project", str(tmp_path), "--database", db.url)
    assert run_cli(*ts, "version", "activate", "v1.0.0").exit_code == 0
    assert db.user_tables() == {"products"}
    assert run_cli(*ts, "version", "deactivate", "v1.0.0").exit_code == 0
    assert db.user_tables() == set()


def test_demo__in_process__five_scenarios_exit_0() -> None:
    result = run_cli("demo")
    assert result.exit_code == 0, result.output
    for title in (
        "1. Basic",
        "2. Shared schema",
        "3. A multi-table",
        "4. The compatibility",
        "5. Statistics",
    ):
        assert title in result.stdout
    assert "refused" in result.stdout
    assert result.stderr == ""
