"""Project files: discovery, precedence, and every kind of bad file (T29, T38, T39).

Bad files point at a closed port: the error must be about the file, so no connection was tried.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from tests.cli.conftest import run_cli, toml, write_project
from tests.clirun import assert_one_line_error
from timescape.errors import DefinitionError
from timescape.project.config import DEFAULT_URL, load_project


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


CLOSED = f"postgresql://nobody@127.0.0.1:{_closed_port()}/nothing"

GOOD_SCHEMA = """
[[schemas]]
name = "s1"
migrations = ["CREATE TABLE t (id INTEGER)"]
rollback = ["DROP TABLE t"]
"""


def _bad(tmp_path: Path, text: str, *fragments: str, args: tuple[str, ...] = ()) -> str:
    path = tmp_path / "timescape.toml"
    path.write_text(toml(text))
    result = run_cli("--project", str(path), *args, "schema", "list")
    assert result.exit_code == 2, result.output
    line = assert_one_line_error(result, *fragments)
    assert "connect" not in line
    return line


def test_load__malformed_toml__names_file_and_line(tmp_path: Path) -> None:
    _bad(
        tmp_path,
        f'[database]\nurl = "{CLOSED}"\nmigration_timeout = = 3\n',
        "timescape.toml:3",
        "invalid TOML",
    )


def test_load__unknown_keys__names_key_line_and_suggestion(tmp_path: Path) -> None:
    line = _bad(
        tmp_path,
        f"""
        [database]
        url = "{CLOSED}"
        {GOOD_SCHEMA}
        [[schemas]]
        name = "s2"
        parnet = "s1"
        """,
        "timescape.toml:11",
        "schemas[1].parnet",
        "did you mean 'parent'",
    )
    assert "unknown key" in line
    _bad(
        tmp_path,
        f'[database]\nurl = "{CLOSED}"\nmigration_timeot = 3\n',
        "database.migration_timeot",
        "timescape.toml:3",
    )
    _bad(
        tmp_path,
        f'[database]\nurl = "{CLOSED}"\n[[schema]]\nname = "x"\n',
        "unknown key 'schema'",
        "did you mean 'schemas'",
        "timescape.toml:3",
    )


def test_load__python_callable_key__refused_as_unknown_key(tmp_path: Path) -> None:
    _bad(
        tmp_path,
        f"""
        [database]
        url = "{CLOSED}"
        [[schemas]]
        name = "s1"
        callable = "os:system"
        """,
        "schemas[0].callable",
        "unknown key",
    )


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        (
            '[[schemas]]\nname = "a"\nparent = "b"\n[[schemas]]\nname = "b"\nparent = "a"\n',
            ("cycle", "schemas["),
        ),
        ('[[schemas]]\nname = "bad name;"\n', ("schemas[0].name", "invalid schema name")),
        (
            '[[schemas]]\nname = "a"\nparent = "ghost"\n',
            ("schemas[0].parent", "unknown parent 'ghost'", "timescape.toml:6"),
        ),
        ('[[schemas]]\nname = "a"\n[[schemas]]\nname = "a"\n', ("duplicate schema 'a'",)),
        (
            '[[schemas]]\nname = "a"\nmigrations = ["SELECT 1", "SELECT 2"]\nrollback = ["x"]\n',
            ("schemas[0].rollback", "2 migrations but 1 rollback"),
        ),
        (
            '[[schemas]]\nname = "a"\nbreaking = false\ncompatible_with = ["ghost"]\n',
            ("schemas[0].compatible_with", "unknown schema 'ghost'"),
        ),
        ('[[schemas]]\nname = "a"\ndir = "nowhere"\n', ("schemas[0].dir", "does not exist")),
        (
            '[[schemas]]\nname = "a"\ndir = "m"\nmigrations = ["SELECT 1"]\n',
            ("schemas[0].dir", "not both"),
        ),
        ('[[schemas]]\nname = "a"\nparent = 3\n', ("schemas[0].parent", "list of strings")),
        (
            '[[schemas]]\nname = "a"\ntransactional = "no"\n',
            ("schemas[0].transactional", "true or false"),
        ),
        (
            '[[versions]]\nhandler = "/api/p"\ntimestamp = "2025-01-01"\nschema = "ghost"\n',
            ("versions[0].schema", "unknown schema 'ghost'"),
        ),
        (
            '[[versions]]\nhandler = "api/p"\ntimestamp = "2025-01-01"\nschema = "a"\n',
            ("versions[0].handler", "invalid handler"),
        ),
        (
            '[[versions]]\nhandler = "/p"\ntimestamp = "yesterday"\nschema = "a"\n',
            ("versions[0].timestamp", "ISO-8601"),
        ),
        (
            '[[versions]]\nhandler = "/p"\ntimestamp = 2025-01-01\nschema = "a"\n',
            ("versions[0].timestamp", "date and a time"),
        ),
        ('[[versions]]\nhandler = "/p"\nschema = "a"\n', ("versions[0]", "needs timestamp")),
        ("[lint]\ndisabled = [1]\n", ("lint.disabled", "list of strings")),
        ('[lint]\ndisabled = ["PG999"]\n', ("lint.disabled", "unknown lint rule 'PG999'")),
        ('[lint]\nenabled = ["sty01"]\n', ("lint.enabled", "did you mean 'STY001'")),
        ('[lint]\nenabled = ["PG001"]\n', ("lint.enabled", "on by default", "STY007")),
    ],
    ids=[
        "cycle",
        "bad-identifier",
        "unknown-parent",
        "duplicate",
        "rollback-length",
        "compatible-unknown",
        "dir-missing",
        "dir-and-migrations",
        "parent-type",
        "transactional-type",
        "version-unknown-schema",
        "bad-handler",
        "bad-timestamp",
        "date-only",
        "missing-timestamp",
        "lint-type",
        "lint-unknown-rule",
        "lint-enabled-typo",
        "lint-enabled-default-rule",
    ],
)
def test_load__bad_definitions__exit_2_naming_file_and_key(
    tmp_path: Path, body: str, fragments: tuple[str, ...]
) -> None:
    text = f'[database]\nurl = "{CLOSED}"\n\n{body}'
    line = _bad(tmp_path, text, "timescape.toml", *fragments)
    assert "Traceback" not in line


def test_load__duplicate_tags_and_timestamps__refused(tmp_path: Path) -> None:
    base = f'[database]\nurl = "{CLOSED}"\n{GOOD_SCHEMA}'
    version = '[[versions]]\nhandler = "/api/p"\ntimestamp = "{t}"\nschema = "s1"\ntags = ["x"]\n'
    _bad(
        tmp_path,
        base + version.format(t="2025-01-01T00:00:00Z") + version.format(t="2025-02-01T00:00:00Z"),
        "tag 'x' is on both",
    )
    _bad(
        tmp_path,
        base
        + version.format(t="2025-01-01T00:00:00Z").replace('["x"]', "[]")
        + version.format(t="2025-01-01T00:00:00Z"),
        "two versions of /api/p",
    )


@pytest.mark.parametrize("value", ["-1", '"abc"', "true", "0"])
def test_load__bad_migration_timeout__exit_2(tmp_path: Path, value: str) -> None:
    _bad(
        tmp_path,
        f'[database]\nurl = "{CLOSED}"\nmigration_timeout = {value}\n',
        "database.migration_timeout",
        "positive number of seconds",
        "timescape.toml:3",
    )


def test_load__bad_table_prefix__exit_2(tmp_path: Path) -> None:
    _bad(
        tmp_path,
        f'[database]\nurl = "{CLOSED}"\ntable_prefix = "x; DROP TABLE y"\n',
        "database.table_prefix",
        "invalid table_prefix",
    )


def test_load__deep_nesting__bounded_error(tmp_path: Path) -> None:
    depth = 5000
    _bad(tmp_path, "x = " + "[" * depth + "]" * depth + "\n", "nested too deeply")


# -- dir: files, paths and special files ------------------------------------------------------


def _dir_project(tmp_path: Path, folder: str = "migrations/s1", extra: str = "") -> Path:
    path = tmp_path / "timescape.toml"
    path.write_text(
        f'[database]\nurl = "{CLOSED}"\n{extra}\n[[schemas]]\nname = "s1"\ndir = "{folder}"\n'
    )
    return path


def _dir_error(path: Path, *fragments: str) -> str:
    result = run_cli("--project", str(path), "schema", "list")
    assert result.exit_code == 2, result.output
    return assert_one_line_error(result, *fragments)


def test_dir__outside_project__refused_naming_the_path(tmp_path: Path) -> None:
    project = tmp_path / "project"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "001_x.sql").write_text("SELECT 1;\n")
    project.mkdir()
    _dir_error(
        _dir_project(project, "../outside"),
        "schemas[0].dir",
        "outside the project",
        "allow_outside_project",
    )
    _dir_error(_dir_project(project, str(outside)), "outside the project")
    allowed = _dir_project(project, "../outside", extra="allow_outside_project = true")
    assert load_project(allowed).schemas[0].steps[0].migration == "SELECT 1;\n"


def test_dir__symlink_to_outside_file__refused(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "migrations" / "s1").mkdir(parents=True)
    secret = tmp_path / "secret.sql"
    secret.write_text("SELECT 'secret';\n")
    (project / "migrations" / "s1" / "001_x.sql").symlink_to(secret)
    line = _dir_error(_dir_project(project), "001_x.sql", "outside the project")
    assert "secret';" not in line


@pytest.mark.timeout(20)
def test_dir__fifo_device_and_directory__refused_without_blocking(tmp_path: Path) -> None:
    folder = tmp_path / "migrations" / "s1"
    folder.mkdir(parents=True)
    fifo = folder / "001_x.sql"
    os.mkfifo(fifo)
    path = _dir_project(tmp_path)
    _dir_error(path, "001_x.sql", "is a FIFO")
    fifo.unlink()
    (folder / "001_x.sql").symlink_to("/dev/zero")
    _dir_error(path, "outside the project")
    allowed = _dir_project(tmp_path, extra="allow_outside_project = true")
    _dir_error(allowed, "001_x.sql", "is a device")
    (folder / "001_x.sql").unlink()
    (folder / "001_x.sql").mkdir()
    _dir_error(path, "001_x.sql", "is a directory")


def test_dir__latin1_and_nul_files__refused_naming_file_and_line(tmp_path: Path) -> None:
    folder = tmp_path / "migrations" / "s1"
    folder.mkdir(parents=True)
    sql = folder / "001_x.sql"
    sql.write_bytes("SELECT 1;\n-- café\n".encode("latin-1"))
    path = _dir_project(tmp_path)
    _dir_error(path, "migrations/s1/001_x.sql:2", "not valid UTF-8")
    sql.write_bytes(b"SELECT 1;\nSELECT\x00 2;\n")
    _dir_error(path, "migrations/s1/001_x.sql:2", "NUL byte")


def test_dir__naming_rules__orphan_rollback_bad_name_mixed_widths(tmp_path: Path) -> None:
    folder = tmp_path / "migrations" / "s1"
    folder.mkdir(parents=True)
    path = _dir_project(tmp_path)
    (folder / "001_a.rollback.sql").write_text("DROP TABLE a;\n")
    _dir_error(path, "rollback file without a migration")
    (folder / "001_a.sql").write_text("CREATE TABLE a (id INTEGER);\n")
    (folder / "notes.sql").write_text("-- nothing\n")
    _dir_error(path, "notes.sql", "NNN_name.sql")
    (folder / "notes.sql").unlink()
    (folder / "10_b.sql").write_text("CREATE TABLE b (id INTEGER);\n")
    _dir_error(path, "different widths")
    (folder / "10_b.sql").rename(folder / "002_b.sql")
    _dir_error(path, "rollback scripts for some steps")
    (folder / "002_b.rollback.sql").write_text("DROP TABLE b;\n")
    (folder / "README.md").write_text("ignored\n")
    steps = load_project(path).schemas[0].steps
    assert [s.file for s in steps] == ["migrations/s1/001_a.sql", "migrations/s1/002_b.sql"]
    assert steps[1].rollback_file == "migrations/s1/002_b.rollback.sql"


def test_dir__bom_and_irreversible_step__accepted(tmp_path: Path) -> None:
    folder = tmp_path / "migrations" / "s1"
    folder.mkdir(parents=True)
    (folder / "001_a.sql").write_bytes(b"\xef\xbb\xbfCREATE TABLE a (id INTEGER);\r\n")
    schema = load_project(_dir_project(tmp_path)).schemas[0]
    assert schema.steps[0].migration.startswith("CREATE TABLE a")
    assert not schema.is_reversible


# -- discovery, pyproject, precedence ---------------------------------------------------------


def test_discovery__from_a_subfolder__finds_the_file_above(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_project(tmp_path, "sqlite:///found.db")
    inner = tmp_path / "src" / "app"
    inner.mkdir(parents=True)
    monkeypatch.chdir(inner)
    result = run_cli("schema", "list", "--json")
    assert result.exit_code == 0, result.output
    assert [s["name"] for s in result.json()["schemas"]] == ["s1", "s2", "s3"]
    assert (tmp_path / "found.db").exists()


def test_discovery__no_project__exit_2_with_a_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_cli("version", "list")
    assert result.exit_code == 2
    assert_one_line_error(result, "no timescape.toml", "timescape init")


def test_pyproject__tool_table__loaded_with_prefixed_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        toml(f"""
        [project]
        name = "app"

        [tool.timescape.database]
        url = "{CLOSED}"

        [[tool.timescape.schemas]]
        name = "s1"
        migrations = ["CREATE TABLE t (id INTEGER)"]

        [[tool.timescape.schemas]]
        name = "s2"
        parent = "nope"
        """)
    )
    monkeypatch.chdir(tmp_path)
    result = run_cli("schema", "list")
    assert result.exit_code == 2
    assert_one_line_error(result, "pyproject.toml:13", "tool.timescape.schemas[1].parent")
    text = (tmp_path / "pyproject.toml").read_text().replace('"nope"', '"s1"')
    (tmp_path / "pyproject.toml").write_text(text)
    project = load_project(None, start=tmp_path)
    assert [s.name for s in project.schemas] == ["s1", "s2"]


def test_precedence__option_env_file_default__in_that_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_project(tmp_path, "sqlite:///from-file.db")
    project = load_project(path)
    monkeypatch.delenv("TIMESCAPE_DATABASE_URL", raising=False)
    assert project.database_url() == ("sqlite:///from-file.db", "project file")
    monkeypatch.setenv("TIMESCAPE_DATABASE_URL", "sqlite:///from-env.db")
    assert project.database_url() == ("sqlite:///from-env.db", "TIMESCAPE_DATABASE_URL")
    assert project.database_url("sqlite:///opt.db") == ("sqlite:///opt.db", "--database")
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "timescape.toml").write_text(toml(GOOD_SCHEMA))
    monkeypatch.delenv("TIMESCAPE_DATABASE_URL")
    assert load_project(bare).database_url() == (DEFAULT_URL, "default")

    result = run_cli(
        "--project",
        str(path),
        "schema",
        "migrate",
        "s1",
        env={"TIMESCAPE_DATABASE_URL": "sqlite:///from-env.db"},
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "from-env.db").exists()
    assert not (tmp_path / "from-file.db").exists()
    result = run_cli("--project", str(bare), "schema", "migrate", "s1")
    assert result.exit_code == 0, result.output
    assert (bare / "timescape.db").exists()


def test_no_expansion__env_var_syntax__stays_literal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIMESCAPE_EVIL", "sqlite:///evil.db")
    path = tmp_path / "timescape.toml"
    path.write_text(
        toml("""
        [database]
        url = "${TIMESCAPE_EVIL}"

        [[schemas]]
        name = "s1"
        migrations = ["CREATE TABLE t (note VARCHAR(20) DEFAULT '${HOME}')"]
        """)
    )
    project = load_project(path)
    assert "${HOME}" in str(project.schemas[0].steps[0].migration)
    result = run_cli("--project", str(path), "schema", "list")
    assert result.exit_code == 2
    assert_one_line_error(result, "unsupported database URL", "${TIMESCAPE_EVIL}")
    assert not (tmp_path / "evil.db").exists()
    plan = run_cli(
        "--project",
        str(path),
        "--database",
        f"sqlite:///{tmp_path / 'x.db'}",
        "schema",
        "migrate",
        "s1",
        "--dry-run",
    )
    assert "DEFAULT '${HOME}'" in plan.stdout


def test_closed_port__valid_file__operational_error_exit_1(tmp_path: Path) -> None:
    path = write_project(tmp_path, CLOSED)
    result = run_cli("--project", str(path), "version", "list")
    assert result.exit_code == 1
    assert_one_line_error(result, "cannot connect", "nobody@127.0.0.1")


def test_definition_error__python_api__carries_file_key_and_line(tmp_path: Path) -> None:
    path = tmp_path / "timescape.toml"
    path.write_text('[[schemas]]\nname = "a"\nparent = "b"\n')
    with pytest.raises(DefinitionError) as caught:
        load_project(path)
    assert caught.value.key == "schemas[0].parent"
    assert caught.value.line == 3
    assert caught.value.file is not None
    assert caught.value.file.endswith("timescape.toml")


@pytest.mark.parametrize("key", ["heartbeat_interval", "stale_after", "poll_interval",
                                 "drain_timeout"])
@pytest.mark.parametrize("value", ["-1", '"abc"', "0"])
def test_load__bad_serving_seconds__exit_2(tmp_path: Path, key: str, value: str) -> None:
    _bad(
        tmp_path,
        f'[database]\nurl = "{CLOSED}"\n{key} = {value}\n',
        f"database.{key}",
        "positive number of seconds",
        "timescape.toml:3",
    )


def test_load__stale_after_not_above_heartbeat_interval__exit_2(tmp_path: Path) -> None:
    _bad(
        tmp_path,
        f'[database]\nurl = "{CLOSED}"\nheartbeat_interval = 5\nstale_after = 5\n',
        "database.stale_after",
        "longer than heartbeat_interval",
    )


def test_load__serving_keys__reach_the_facade(tmp_path: Path) -> None:
    path = tmp_path / "timescape.toml"
    path.write_text(
        '[database]\nurl = "sqlite:///app.db"\nheartbeat_interval = 0.5\n'
        "poll_interval = 0.2\ndrain_timeout = 7\n" + GOOD_SCHEMA
    )
    ts = load_project(path).timescape()
    assert ts.serving.heartbeat_interval == 0.5
    assert ts.serving.effective_stale_after == 1.5
    assert ts.serving.poll_interval == 0.2
    assert ts.serving.drain_timeout == 7.0
