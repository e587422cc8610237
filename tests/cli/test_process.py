"""The real entry points in real subprocesses: ``python -m timescape`` and the console script."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import TSV1, write_project
from tests.clirun import CONSOLE_SCRIPT, assert_one_line_error, imported_modules, run_process
from tests.dbutil import TestDB
from timescape import __version__

HEAVY = ("psycopg", "pymysql", "sqlglot", "rich", "timescape.analysis")


def _imported(*args: str, cwd: Path) -> set[str]:
    command = (sys.executable, "-X", "importtime", "-m", "timescape")
    done = run_process(*args, cwd=cwd, command=command)
    assert done.exit_code == 0, done.stderr[-2000:]
    return imported_modules(done)


def test_startup__help_and_schema_list__import_no_driver_nor_analyser(tmp_path: Path) -> None:
    write_project(tmp_path, "sqlite:///app.db")
    for args in (("--help",), ("schema", "list")):
        modules = _imported(*args, cwd=tmp_path)
        heavy = {m for m in modules if m.split(".")[0] in HEAVY or m.startswith(HEAVY)}
        assert not heavy, (args, heavy)


# What a read-only command never needs: the executor and its interrupt machinery, the cache
# writer's tempfile (and its random/shutil/bz2/lzma), getpass/termios and socket for the actor.
WRITE_ONLY = (
    "timescape.executor",
    "timescape.execution.executor",
    "timescape.execution.steps",
    "timescape.engine.interrupt",
    "tempfile",
    "getpass",
    "termios",
    "socket",
    "selectors",
)


def test_startup__read_only_commands__import_no_write_machinery(tmp_path: Path) -> None:
    write_project(tmp_path, "sqlite:///app.db")
    _imported("schema", "list", cwd=tmp_path)  # writes the parsed-project cache
    for args in (("schema", "list"), ("version", "list"), ("stats",)):
        modules = _imported(*args, cwd=tmp_path)
        heavy = {m for m in modules if m.split(".")[0] in HEAVY or m.startswith(HEAVY)}
        assert not heavy, (args, heavy)
        assert not modules.intersection(WRITE_ONLY), (args, modules.intersection(WRITE_ONLY))


def test_version_option__prints_the_version() -> None:
    result = run_process("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"timescape {__version__}"


def test_console_script__bad_project__exit_2_one_line(tmp_path: Path) -> None:
    script = Path(CONSOLE_SCRIPT[0])
    if not script.exists():  # pragma: no cover - the editable install always provides it
        pytest.fail(f"console script missing at {script}: run pip install -e .")
    (tmp_path / "timescape.toml").write_text('[[schemas]]\nname = "a"\nparent = "a"\n')
    done = run_process("schema", "list", cwd=tmp_path, command=CONSOLE_SCRIPT)
    assert done.exit_code == 2
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("Error: timescape.toml:3: schemas[0].parent:")
    assert "Traceback" not in done.stderr


def test_subprocess__activate_and_bad_file__exit_codes_on_every_database(
    db: TestDB, tmp_path: Path
) -> None:
    path = write_project(tmp_path, db.url)
    ok = run_process("--project", str(path), "version", "activate", "v1", "--json")
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["plan"]["activate"] == [TSV1]
    assert db.active_versions() == {TSV1}
    usage = run_process("--project", str(path), "version", "activate", "--bogus")
    assert usage.exit_code == 2
    path.write_text(path.read_text() + "\n[[schemas]]\nname = 'broken'\nparent = 'nope'\n")
    bad = run_process("--project", str(path), "version", "deactivate", "v1")
    assert bad.exit_code == 2
    assert_one_line_error(bad, "unknown parent 'nope'")
    assert db.active_versions() == {TSV1}


def test_demo__subprocess_json__one_document_five_scenarios(tmp_path: Path) -> None:
    result = run_process("demo", "--json", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["ok"] is True
    assert [s["number"] for s in document["scenarios"]] == [1, 2, 3, 4, 5]
    assert list(tmp_path.iterdir()) == []


_IRREVERSIBLE = """
schemas = [{{ name = "once", migrations = ["CREATE TABLE proc_once (id INTEGER)"] }}]
versions = [{{ handler = "/api/items", timestamp = "2025-01-01T00:00:00Z", schema = "once" }}]

[database]
url = "{url}"
"""


@pytest.mark.dialects("sqlite")
def test_console_script__warning_without_verbose__printed_by_the_masked_handler(
    db: TestDB, tmp_path: Path
) -> None:
    """The handler is installed only when a record comes (no ``-v``): the warning still shows."""
    (tmp_path / "timescape.toml").write_text(_IRREVERSIBLE.format(url=db.url))
    done = run_process("version", "activate", "latest", cwd=tmp_path, command=CONSOLE_SCRIPT)
    assert done.exit_code == 0, done.describe()
    assert "proc_once" in db.tables()
    warnings = [line for line in done.stderr.splitlines() if "WARNING" in line]
    assert warnings == [
        (
            "timescape: WARNING: schema once has no rollback scripts: once applied it cannot be "
            "rolled back (deactivating its versions will keep it)"
        )
    ], done.describe()
    listed = run_process("schema", "list", cwd=tmp_path, command=CONSOLE_SCRIPT)
    assert listed.exit_code == 0, listed.describe()
    assert listed.stderr == ""
