"""Loading step sources without a database: other tools' dir conventions, Python step targets and
the parsed-project cache with Python steps."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.clirun import write_project
from timescape.errors import DefinitionError
from timescape.project.config import load_project
from timescape.project.sqlfile import load_steps


def _load(root: Path, files: dict[str, str]) -> tuple:
    for name, text in files.items():
        (root / "d").mkdir(exist_ok=True)
        (root / "d" / name).write_text(text)
    return load_steps(
        root.resolve(), "d", allow_outside=False, key="schemas[0].dir", project_file="t"
    )


def test_dir__flyway_versions__numeric_order_and_undo_pairs(tmp_path: Path) -> None:
    steps, contract = _load(
        tmp_path,
        {
            "V1.10__c.sql": "SELECT 3",
            "V1.9__b.sql": "SELECT 2",
            "V1__a.sql": "SELECT 1",
            "U1.9__b.sql": "SELECT -2",
            "V1_11__d.sql": "SELECT 4",
        },
    )
    assert [s.name for s in steps] == ["V1__a", "V1.9__b", "V1.10__c", "V1_11__d"]
    assert [s.rollback for s in steps] == [None, "SELECT -2", None, None]
    assert contract == ()


def test_dir__golang_migrate__numeric_order_down_files_paired(tmp_path: Path) -> None:
    steps, _ = _load(
        tmp_path,
        {
            "10_c.up.sql": "SELECT 10",
            "9_b.up.sql": "SELECT 9",
            "9_b.down.sql": "SELECT -9",
            "10_c.down.sql": "SELECT -10",
        },
    )
    assert [(s.name, s.rollback) for s in steps] == [("9_b", "SELECT -9"), ("10_c", "SELECT -10")]


def test_dir__dbmate_file__split_keeping_line_numbers(tmp_path: Path) -> None:
    text = "-- a comment\n-- migrate:up\nCREATE TABLE t (id INTEGER);\n\n-- migrate:down\nDROP TABLE t;\n"
    (step,), _ = _load(tmp_path, {"20240101_t.sql": text})
    assert step.migration.strip() == "CREATE TABLE t (id INTEGER);"
    before = step.migration[: step.migration.index("CREATE")]
    assert before.count("\n") == 2  # CREATE TABLE stays on line 3 of the file
    assert step.rollback is not None
    assert step.rollback.strip() == "DROP TABLE t;"
    assert step.rollback[: step.rollback.index("DROP")].count("\n") == 5
    assert step.rollback_file == step.file


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        ({"V1__a.sql": "SELECT 1", "002_b.sql": "SELECT 2"}, "V<version>__name.sql"),
        ({"1_a.up.sql": "SELECT 1", "2_b.down.sql": "SELECT 2"}, "rollback file without"),
        ({"V1__a.sql": "SELECT 1", "V1.0__b.sql": "SELECT 2"}, "two migrations with version"),
        ({"1_a.sql": "-- migrate:down\nDROP TABLE t;\n-- migrate:up\nSELECT 1\n"}, "comes before"),
        ({"1_a.sql": "-- migrate:up\n\n-- migrate:down\nSELECT 1\n"}, "section is empty"),
        ({"R__v.sql": "SELECT 1", "V1__a.sql": "SELECT 1"}, "repeatable"),
    ],
)
def test_dir__bad_tool_folders__definition_error(
    tmp_path: Path, files: dict[str, str], problem: str
) -> None:
    with pytest.raises(DefinitionError, match=problem):
        _load(tmp_path, files)


PROJECT = """\
[[schemas]]
name = "s1"
migrations = [{ python = "pkg.steps:Backfill.run" }]
rollback = [{ python = "pkg.steps:undo" }]
"""
MODULE = """\
class Backfill:
    @staticmethod
    def run(connection):
        connection.execute("SELECT 1")


def undo(connection):
    connection.execute("SELECT 2")
"""


def test_python_step__dotted_module_and_method__found_without_import(tmp_path: Path) -> None:
    path = write_project(tmp_path, PROJECT, {"pkg/__init__.py": "", "pkg/steps.py": MODULE})
    (step,) = load_project(path).schemas[0].steps
    assert step.file == "pkg/steps.py"
    assert "def run(connection)" in step.migration.source  # type: ignore[union-attr]
    assert step.migration.step_label == "python:pkg.steps.Backfill.run"  # type: ignore[union-attr]
    assert "pkg.steps" not in sys.modules


def test_python_step__cached_project__function_edit_changes_the_checksum(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TIMESCAPE_NO_CACHE", raising=False)
    path = write_project(tmp_path, PROJECT, {"pkg/__init__.py": "", "pkg/steps.py": MODULE})
    first = load_project(path, cache=True).schemas[0].checksums
    assert load_project(path, cache=True).schemas[0].checksums == first
    module = tmp_path / "pkg" / "steps.py"
    module.write_text(module.read_text() + "\n\nUNRELATED = 1\n")
    assert load_project(path, cache=True).schemas[0].checksums == first
    module.write_text(module.read_text().replace("SELECT 1", "SELECT 10"))
    assert load_project(path, cache=True).schemas[0].checksums != first


@pytest.mark.parametrize(
    "target", ["os:system", "shutil:rmtree", "subprocess:run", "json:loads", "pkg.steps:undo"]
)
def test_python_step__module_outside_the_project__refused_naming_the_key(
    tmp_path: Path, target: str
) -> None:
    """RELIABILITY T39: a reference to a module outside the project is refused, and loading runs
    nothing (the package's __init__ below would write a file if it were imported)."""
    outside = tmp_path / "outside"
    (outside / "pkg").mkdir(parents=True)
    (outside / "pkg" / "__init__.py").write_text(f"open({str(tmp_path / 'ran')!r}, 'w').close()\n")
    (outside / "pkg" / "steps.py").write_text(MODULE)
    project = tmp_path / "project"
    text = f'[[schemas]]\nname = "s1"\nmigrations = [{{ python = "{target}" }}]\n'
    path = write_project(project, text)
    sys.path.insert(0, str(outside))
    try:
        with pytest.raises(DefinitionError) as info:
            load_project(path)
    finally:
        sys.path.remove(str(outside))
    assert "not found in the project" in info.value.message
    assert "allow_outside_project" in info.value.message
    assert info.value.key == "schemas[0].migrations[0]"
    assert not (tmp_path / "ran").exists()
    assert "pkg" not in sys.modules


def test_python_step__outside_allowed__found_on_sys_path_without_importing(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "pkg").mkdir(parents=True)
    (outside / "pkg" / "__init__.py").write_text(f"open({str(tmp_path / 'ran')!r}, 'w').close()\n")
    (outside / "pkg" / "steps.py").write_text(MODULE)
    text = (
        "[database]\nallow_outside_project = true\n\n"
        '[[schemas]]\nname = "s1"\nmigrations = [{ python = "pkg.steps:undo" }]\n'
    )
    path = write_project(tmp_path / "project", text)
    sys.path.insert(0, str(outside))
    try:
        (step,) = load_project(path).schemas[0].steps
    finally:
        sys.path.remove(str(outside))
    assert "def undo(connection)" in step.migration.source  # type: ignore[union-attr]
    assert not (tmp_path / "ran").exists()


def test_alembic_step__revision_outside_the_project__refused(tmp_path: Path) -> None:
    (tmp_path / "elsewhere.py").write_text("def upgrade():\n    pass\n")
    text = '[[schemas]]\nname = "s1"\nmigrations = [{ alembic = "../elsewhere.py" }]\n'
    path = write_project(tmp_path / "project", text)
    with pytest.raises(DefinitionError, match="outside the project folder"):
        load_project(path)


def test_old_import_path__timescape_config__is_the_moved_module() -> None:
    import timescape.config as old  # noqa: PLC0415 - the old path is what is under test
    import timescape.project.config as new  # noqa: PLC0415

    assert old is new
    assert old.load_project is new.load_project
