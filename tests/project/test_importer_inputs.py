"""Importers and adoption's statement player on bad or unusual input; no database."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import run_cli
from tests.clirun import assert_one_line_error
from timescape.engine.adoption import expected_objects
from timescape.errors import InputError
from timescape.model.schema import SchemaVersion
from timescape.project.importers import read_history, write_history
from timescape.project.importers.history import schema_name


def _folder(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def test_read_history__unknown_tool_missing_path_and_render_sql_elsewhere(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown tool 'liquibase'"):
        read_history("liquibase", tmp_path)
    with pytest.raises(InputError, match="does not exist"):
        read_history("flyway", tmp_path / "nope")
    with pytest.raises(InputError, match="Alembic histories only"):
        read_history("flyway", tmp_path, render_sql="sqlite")


@pytest.mark.parametrize("tool", ["flyway", "golang-migrate", "dbmate", "sql"])
def test_read_history__a_file_or_an_empty_folder__input_error(tool: str, tmp_path: Path) -> None:
    file = tmp_path / "x.sql"
    file.write_text("SELECT 1")
    with pytest.raises(InputError, match="is not a folder"):
        read_history(tool, file)
    empty = _folder(tmp_path / "empty", {"README.md": "notes"})
    with pytest.raises(InputError, match="holds no"):
        read_history(tool, empty)


def test_read_history__foreign_files__skipped_and_listed(tmp_path: Path) -> None:
    golang = read_history(
        "golang-migrate",
        _folder(tmp_path / "g", {"1_a.up.sql": "SELECT 1", "notes.sql": "SELECT 2"}),
    )
    assert golang.skipped == ("notes.sql: not a golang-migrate file name (<n>_<title>.up.sql)",)
    dbmate = read_history(
        "dbmate",
        _folder(tmp_path / "d", {"1_a.sql": "-- migrate:up\nSELECT 1\n", "2_b.sql": "SELECT 2"}),
    )
    assert [s.name for s in dbmate.schemas] == ["m1_a"]
    assert "2_b.sql" in dbmate.skipped[0]
    plain = read_history(
        "sql", _folder(tmp_path / "s", {"a.sql": "SELECT 1", "1_b.sql": "SELECT 1"})
    )
    assert plain.skipped == ("a.sql: not a numbered SQL file (NNN_name.sql)",)
    flyway = read_history("flyway", _folder(tmp_path / "f", {"V1__a.sql": "SELECT 1", "x.sql": ""}))
    assert "x.sql: not a Flyway file name" in flyway.skipped[0]


def test_read_history__two_files_one_version_or_orphan_undo__input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="two files for version 1"):
        read_history(
            "sql", _folder(tmp_path / "a", {"1_a.sql": "SELECT 1", "01_b.sql": "SELECT 2"})
        )
    with pytest.raises(InputError, match="undoes no migration"):
        read_history("flyway", _folder(tmp_path / "b", {"V1__a.sql": "SELECT 1", "U2__b.sql": "x"}))


def test_schema_name__unsafe_characters_replaced_and_digit_prefix_refused() -> None:
    assert schema_name("", "V1.1__add price!") == "V1.1__add_price_"
    with pytest.raises(InputError, match="--prefix"):
        schema_name("", "0001_init")


def test_read_history__alembic_not_a_project__input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is not an Alembic project"):
        read_history("alembic", tmp_path)
    ini = tmp_path / "alembic.ini"
    ini.write_text("[alembic]\n")
    with pytest.raises(InputError, match="sets no script_location"):
        read_history("alembic", ini)
    ini.write_text("[alembic]\nscript_location = %(here)s/missing\n")
    with pytest.raises(InputError, match="missing"):
        read_history("alembic", ini)


def test_write_history__dir_folder_exists__refused_before_writing(tmp_path: Path) -> None:
    history = read_history("sql", _folder(tmp_path / "src", {"1_a.sql": "SELECT 1"}))
    project = tmp_path / "app" / "timescape.toml"
    (tmp_path / "app" / "migrations" / "m1_a").mkdir(parents=True)
    with pytest.raises(InputError, match="already exists"):
        write_history(history, project)
    assert not project.exists()


def test_cli_import__prefix_starting_with_a_digit__exit_2(tmp_path: Path) -> None:
    source = _folder(tmp_path / "src", {"1_a.sql": "SELECT 1"})
    result = run_cli(
        "--project", str(tmp_path / "app"), "import", "sql", str(source), "--prefix", "9"
    )
    assert_one_line_error(result, "--prefix", exit_code=2)


def test_expected_objects__create_table_as_views_drops_and_unparsable() -> None:
    schema = SchemaVersion.from_scripts(
        "a",
        [
            "CREATE TABLE copy AS SELECT 1 AS x",
            "CREATE VIEW v AS SELECT 1 AS x; DROP VIEW v",
            "CREATE TABLE t (id INTEGER); CREATE INDEX ix_t ON t (id); DROP TABLE t",
            "CREATE SEQUENCE s; DROP SEQUENCE s",
            "ALTER TABLE copy ADD CONSTRAINT c CHECK (x > 0)",
            "SELECT 1",
            "THIS IS NOT SQL AT ALL (",
        ],
    )
    expected, unchecked = expected_objects([schema], "postgresql")
    assert expected["a"] == ["table copy"]
    notes = "\n".join(unchecked["a"])
    assert "CREATE TABLE ... AS" in notes
    assert "sequence: not checked" in notes
    assert "not checked: AddConstraint" in notes
    assert "THIS IS NOT SQL" in notes
    assert not any(line.startswith("step 6:") for line in unchecked["a"])  # a SELECT is fine
