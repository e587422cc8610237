"""Reliability part B — bad input through the real CLI (RELIABILITY T29, T31, T38, T39).

Contract checked everywhere: bad input exits 2 and an operational failure exits 1, each with one
``Error:`` line on stderr (no traceback) that names what is wrong; nothing is written. Definition
errors must be found before any connection opens: those tests point the database URL at a closed
port, so a connection attempt would show up as a connection error instead.

Documented here: the connect timeout defaults to 10 s (``timescape.store.urls.
DEFAULT_CONNECT_TIMEOUT``); the blackhole test passes ``?connect_timeout=2``. PostgreSQL runs with
``trust`` on loopback in this environment, so a wrong *password* cannot fail there: the PostgreSQL
wrong-credentials case uses a role that does not exist; MariaDB checks a real wrong password.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.clirun import write_project
from tests.dbutil import TestDB, admin_connection
from tests.reliability._b_helpers import (
    T0,
    T1,
    cli,
    one_error_line,
    state_fingerprint,
)

pytestmark = pytest.mark.timeout(120)

CLOSED = "postgresql://tsb@127.0.0.1:1/nowhere"  # nothing listens on port 1

GOOD = f"""
[database]
url = "{CLOSED}"

[[schemas]]
name = "s1"
migrations = ["CREATE TABLE t29_a (id INTEGER)"]
rollback = ["DROP TABLE t29_a"]

[[schemas]]
name = "s2"
parent = "s1"
migrations = ["CREATE TABLE t29_b (id INTEGER)"]
rollback = ["DROP TABLE t29_b"]

[[versions]]
handler = "/api/products"
timestamp = "{T0}"
schema = "s1"
tags = ["v1"]
"""


# -- T29: malformed project file ----------------------------------------------------------------

T29_CASES: dict[str, tuple[str, dict[str, str | bytes], tuple[str, ...]]] = {
    "invalid TOML": (GOOD.replace('[[schemas]]\nname = "s2"', '[[schemas]\nname = "s2"'), {},
                     ("timescape.toml:", "invalid TOML")),
    "unknown key": (GOOD.replace('rollback = ["DROP TABLE t29_a"]',
                                 'rollbak = ["DROP TABLE t29_a"]'), {},
                    ("timescape.toml", "schemas[0].rollbak", "unknown key", "did you mean")),
    "unknown parent": (GOOD.replace('parent = "s1"', 'parent = "s9"'), {},
                       ("timescape.toml", "s9")),
    "cycle": (GOOD.replace('name = "s1"\nmigrations', 'name = "s1"\nparent = "s2"\nmigrations'),
              {}, ("timescape.toml", "cycle")),
    "duplicate schema": (GOOD.replace('name = "s2"', 'name = "s1"').replace(
        'parent = "s1"\n', ""), {}, ("timescape.toml", "duplicate schema 's1'")),
    "duplicate version": (GOOD + f"""
[[versions]]
handler = "/api/products"
timestamp = "{T0}"
schema = "s2"
""", {}, ("timescape.toml", "versions[1]", "timestamp")),
    "duplicate tag": (GOOD + f"""
[[versions]]
handler = "/api/products"
timestamp = "{T1}"
schema = "s2"
tags = ["v1"]
""", {}, ("timescape.toml", "tag 'v1'")),
    "rollback length": (GOOD.replace('rollback = ["DROP TABLE t29_b"]',
                                     'rollback = ["DROP TABLE t29_b", "SELECT 1"]'), {},
                        ("timescape.toml", "schemas[1].rollback", "2 rollback")),
    "missing dir": (GOOD.replace('migrations = ["CREATE TABLE t29_b (id INTEGER)"]\n'
                                 'rollback = ["DROP TABLE t29_b"]', 'dir = "migrations/nope"'),
                    {}, ("timescape.toml", "schemas[1].dir", "does not exist")),
    "latin-1 file": (GOOD.replace('migrations = ["CREATE TABLE t29_b (id INTEGER)"]\n'
                                  'rollback = ["DROP TABLE t29_b"]', 'dir = "m"'),
                     {"m/001_a.sql": "-- caf\u00e9\nCREATE TABLE t29_b (id INTEGER);\n".encode(
                         "latin-1")}, ("m/001_a.sql:1", "not valid UTF-8")),
    "NUL byte": (GOOD.replace('migrations = ["CREATE TABLE t29_b (id INTEGER)"]\n'
                              'rollback = ["DROP TABLE t29_b"]', 'dir = "m"'),
                 {"m/001_a.sql": b"CREATE TABLE t29_b (id INTEGER);\n\x00\n"},
                 ("m/001_a.sql:2", "NUL")),
    "negative timeout": (GOOD.replace("[database]\n", "[database]\nmigration_timeout = -1\n"), {},
                         ("timescape.toml", "database.migration_timeout", "positive number")),
    "string timeout": (GOOD.replace("[database]\n", '[database]\nmigration_timeout = "abc"\n'),
                       {}, ("timescape.toml", "database.migration_timeout", "'abc'")),
    "compatible_with a missing schema": (
        GOOD.replace('parent = "s1"\n', 'parent = "s1"\nbreaking = false\n'
                                        'compatible_with = ["s7"]\n'), {},
        ("timescape.toml", "compatible_with", "s7")),
}


def test_t29_malformed_project_files__exit_2_one_line_no_connection(tmp_path: Path) -> None:
    for label, (toml, files, fragments) in T29_CASES.items():
        root = tmp_path / label.replace(" ", "_")
        write_project(root, toml, files)
        before = sorted(p.name for p in root.rglob("*"))
        result = cli("verify", cwd=root)
        line = one_error_line(result, 2, *fragments)
        assert "cannot connect" not in line, (label, line)
        assert "127.0.0.1:1" not in line, (label, line)
        assert result.stdout.strip() == "", (label, result.describe())
        assert sorted(p.name for p in root.rglob("*")) == before, label  # nothing written
    # The same project without the fault gets as far as the (closed) database: exit 1.
    write_project(tmp_path / "good", GOOD)
    one_error_line(cli("verify", cwd=tmp_path / "good"), 1, "cannot connect")


# -- T31: bad refs, URLs and unreachable servers ------------------------------------------------

REFS = f"""
[[schemas]]
name = "s1"
migrations = ["CREATE TABLE t31_a (id INTEGER)"]
rollback = ["DROP TABLE t31_a"]

[[versions]]
handler = "/api/products"
timestamp = "{T0}"
schema = "s1"
tags = ["v1", "stable"]

[[versions]]
handler = "/api/orders"
timestamp = "{T0}"
schema = "s1"
tags = ["v1"]
"""


def test_t31_bad_refs__exit_2_nothing_changed(db: TestDB, tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write_project(root, REFS)
    ok = cli("--database", db.url, "version", "activate", "stable", cwd=root)
    assert ok.exit_code == 0, ok.describe()
    before = state_fingerprint(db), db.user_tables()
    cases = {
        ("version", "activate", "tsv:1735689600-products-009"): ("tsv:1735689600-products-009",
                                                                 "no such TSV"),
        ("version", "activate", "v1"): ("'v1'", "several handlers", "--handler"),
        ("version", "activate", "2025-13-45T00:00:00Z"): ("2025-13-45T00:00:00Z",),
        ("version", "activate", "2000-01-01T00:00:00Z", "--handler", "/api/products"): (
            "before the first version",),
        ("version", "deactivate", "v1", "--handler", "/api/nope"): ("/api/nope",),
    }
    for argv, fragments in cases.items():
        one_error_line(cli("--database", db.url, *argv, cwd=root), 2, *fragments)
    assert (state_fingerprint(db), db.user_tables()) == before


def test_t31_bad_urls__exit_2_password_never_shown(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write_project(root, REFS)
    cases = {
        "oracle://scott:tiger@127.0.0.1/orcl": ("unsupported database URL", "oracle://scott:***@"),
        "postgresql://postgres:tiger@127.0.0.1:5432/": ("names no database",),
        "mysql://root:tiger@127.0.0.1:3306": ("names no database",),
        "postgresql://postgres:tiger@127.0.0.1:99999/db": ("malformed",),
        "postgresql://postgres@127.0.0.1/db?connect_timeout=abc": ("connect_timeout",),
    }
    for url, fragments in cases.items():
        line = one_error_line(cli("--database", url, "verify", cwd=root), 2, *fragments)
        assert "tiger" not in line, line


@pytest.fixture
def blackhole() -> Iterator[int]:
    """A loopback port whose listener completes TCP handshakes and never says a word."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


@pytest.mark.dialects("postgresql", "mysql")
def test_t31_unreachable_servers__exit_1_within_the_connect_timeout(
    db: TestDB, tmp_path: Path, blackhole: int
) -> None:
    root = tmp_path / "proj"
    write_project(root, REFS)
    scheme = "postgresql" if db.dialect == "postgresql" else "mysql"
    user = "postgres" if db.dialect == "postgresql" else "root"
    closed = cli("--database", f"{scheme}://{user}@127.0.0.1:1/{db.name}", "verify", cwd=root)
    one_error_line(closed, 1, "cannot connect", "127.0.0.1:1")
    hole = cli("--database", f"{scheme}://{user}@127.0.0.1:{blackhole}/{db.name}"
                             "?connect_timeout=2", "verify", cwd=root, timeout=30)
    one_error_line(hole, 1, "cannot connect")
    assert 1.5 <= hole.elapsed <= 8, f"blackhole gave up after {hole.elapsed:.1f} s, not ~2 s"
    assert "timescape_meta" not in (db.tables())


@pytest.mark.dialects("postgresql", "mysql")
def test_t31_wrong_credentials__exit_1_one_line(db: TestDB, tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write_project(root, REFS)
    name = f"tsb_{uuid.uuid4().hex[:8]}"
    if db.dialect == "postgresql":
        # Loopback is `trust` here: an unknown role is the credential failure PostgreSQL reports.
        url = f"postgresql://{name}:wrong@127.0.0.1:5432/{db.name}"
        one_error_line(cli("--database", url, "verify", cwd=root), 1, "cannot connect", name)
        return
    with admin_connection("mysql") as conn:
        conn.cursor().execute(f"CREATE USER '{name}'@'%' IDENTIFIED BY 'right-pass'")
    try:
        url = f"mysql://{name}:wrong-pass@127.0.0.1:3306/{db.name}"
        line = one_error_line(cli("--database", url, "verify", cwd=root), 1, "cannot connect",
                              "Access denied")
        assert "wrong-pass" not in line
    finally:
        with admin_connection("mysql") as conn:
            conn.cursor().execute(f"DROP USER IF EXISTS '{name}'@'%'")


@pytest.mark.dialects("sqlite")
def test_t31_sqlite_path_in_read_only_directory__exit_1_no_file(
    db: TestDB, tmp_path: Path
) -> None:
    """Root ignores permission bits, so as root the read-only directory is /proc (nobody can
    create files there); otherwise a chmod 555 folder."""
    root = tmp_path / "proj"
    write_project(root, REFS)
    if os.geteuid() == 0:
        folder = Path("/proc")
    else:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o555)
    target = folder / f"tsb_{uuid.uuid4().hex[:8]}.db"
    result = cli("--database", f"sqlite:///{target}", "version", "activate", "stable", cwd=root)
    one_error_line(result, 1, "cannot connect", str(target))
    assert not target.exists()


# -- T38: path traversal and special files ------------------------------------------------------


def _dir_project(root: Path, folder: str, *, allow: bool = False) -> None:
    extra = "allow_outside_project = true\n" if allow else ""
    write_project(root, f"""
[database]
url = "{CLOSED}"
{extra}
[[schemas]]
name = "s1"
dir = "{folder}"
""")


def test_t38_paths_outside_the_project__refused_unless_opted_in(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "m").mkdir(parents=True)
    (outside / "m/001_a.sql").write_text("CREATE TABLE t38 (id INTEGER);\n")
    root = tmp_path / "a" / "b" / "proj"
    cases = {"../../../outside/m": "outside the project folder",
             str(outside / "m"): "outside the project folder"}
    for folder, fragment in cases.items():
        _dir_project(root, folder)
        one_error_line(cli("verify", cwd=root), 2, "timescape.toml", "schemas[0].dir", fragment)
        _dir_project(root, folder, allow=True)
        # Opted in: the definitions load, so the run gets as far as the (closed) database.
        one_error_line(cli("verify", cwd=root), 1, "cannot connect")
    # A symlink inside migrations/ pointing outside the project is refused too, naming it.
    (root / "m").mkdir(parents=True)
    (root / "m/001_a.sql").write_text("CREATE TABLE t38 (id INTEGER);\n")
    (root / "m/002_b.sql").symlink_to(outside / "m/001_a.sql")
    _dir_project(root, "m")
    one_error_line(cli("verify", cwd=root), 2, "m/002_b.sql", "outside the project folder")


def test_t38_special_files__refused_without_blocking(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    (root / "m").mkdir(parents=True)
    (root / "m/001_a.sql").write_text("CREATE TABLE t38 (id INTEGER);\n")
    special = root / "m/002_b.sql"
    os.mkfifo(special)
    _dir_project(root, "m")
    # A FIFO nobody writes to would block a plain open() forever: the timeout is the test.
    one_error_line(cli("verify", cwd=root, timeout=20), 2, "m/002_b.sql", "FIFO")
    special.unlink()
    special.symlink_to("/dev/zero")
    one_error_line(cli("verify", cwd=root, timeout=20), 2, "m/002_b.sql", "outside")
    _dir_project(root, "m", allow=True)
    one_error_line(cli("verify", cwd=root, timeout=20), 2, "m/002_b.sql", "device")
    special.unlink()
    special.mkdir()
    _dir_project(root, "m")
    one_error_line(cli("verify", cwd=root, timeout=20), 2, "m/002_b.sql", "directory")


def test_t38_project_option_pointing_elsewhere(tmp_path: Path) -> None:
    """``--project`` may name a project in another tree; its own folder is then the root, and its
    ``dir`` may not climb out of it. A file that is not a project is reported by path, and none
    of its content is echoed."""
    here = tmp_path / "here"
    here.mkdir()
    other = tmp_path / "elsewhere" / "proj"
    (tmp_path / "elsewhere" / "victim").mkdir(parents=True)
    (tmp_path / "elsewhere" / "victim" / "001_x.sql").write_text("SELECT 1;\n")
    _dir_project(other, "../victim")
    result = cli("--project", str(other / "timescape.toml"), "verify", cwd=here)
    one_error_line(result, 2, "schemas[0].dir", "outside the project folder")
    secret = tmp_path / "elsewhere" / "notes.txt"
    secret.write_text("SECRET_TOKEN = = abc123\n[[[\n")
    result = cli("--project", str(secret), "verify", cwd=here)
    line = one_error_line(result, 2, "notes.txt", "invalid TOML")
    assert "abc123" not in result.stderr + result.stdout, line


# -- T39: loading definitions executes nothing unexpected ---------------------------------------


def test_t39_callables_payloads_and_bounds(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    cases = {
        "callable key": (('[[schemas]]\nname = "s1"\ncallable = "os:system"\nmigrations = '
                         '["SELECT 1"]\n'), ("schemas[0].callable", "unknown key")),
        "callable in migrations": ((f'[[schemas]]\nname = "s1"\nmigrations = [{{callable = '
                                   f'"os:system", args = ["touch {marker}"]}}]\n'),
                                   ("schemas[0].migrations[0]", "must be SQL text")),
        "python step outside the project": (
            '[[schemas]]\nname = "s1"\nmigrations = [{python = "os:system"}]\n',
            ("schemas[0].migrations[0]", "not found in the project", "allow_outside_project"),
        ),
        "deep nesting": ("x = " + "[" * 5000 + "]" * 5000 + "\n", ("timescape.toml",)),
    }
    for label, (toml, fragments) in cases.items():
        root = tmp_path / label.replace(" ", "_")
        write_project(root, f'[database]\nurl = "{CLOSED}"\n' + toml)
        one_error_line(cli("verify", cwd=root, timeout=30), 2, *fragments)
    assert not marker.exists()
    # A project file over the size bound is refused from its size alone (never read).
    root = tmp_path / "huge"
    write_project(root, "")
    with (root / "timescape.toml").open("wb") as handle:
        handle.truncate(65 * 1024 * 1024)
    one_error_line(cli("verify", cwd=root, timeout=30), 2, "timescape.toml", "bytes")


def test_t39_pyproject_dollar_payloads_are_never_expanded(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text("""
[project]
name = "victim"

[tool.timescape.database]
url = "${TSB_URL}"

[[tool.timescape.schemas]]
name = "s1"
migrations = ["SELECT '${HOME}' AS h, '$(id)' AS i"]
""")
    env = {"TSB_URL": "sqlite:///should-not-be-used.db", "HOME": "/root-expanded"}
    result = cli("verify", cwd=root, env=env)
    one_error_line(result, 2, "unsupported database URL", "${TSB_URL}")
    db_file = root / "plain.db"
    result = cli("--database", f"sqlite:///{db_file}", "--json", "schema", "migrate", "s1",
                 "--dry-run", cwd=root, env=env)
    assert result.exit_code == 0, result.describe()
    assert "SELECT '${HOME}' AS h, '$(id)' AS i" in result.stdout
    assert "/root-expanded" not in result.stdout
    assert not (root / "should-not-be-used.db").exists()
