"""``schema list`` / ``version list`` without click: byte-identical to the click CLI, or not taken.

Each command line runs twice as a user would run it, once through the console script's entry
point (:mod:`timescape.cli._entry`, which serves the listings in :mod:`timescape.cli._fast`) and
once through the click CLI itself, and exit code, stdout and stderr must match byte for byte:
over fresh, applied, failed and uncertain databases, bad project files, unreachable servers,
``--json``, ``-v``, options before and after the command, a masked password, a broken stdout.
The entry point reports whether it imported click, so a command line meant for the click-free
path that silently fell back to click fails here too (speed is bench/coldstart.py's business).
"""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import PROJECT, S1_FILES, toml
from tests.clirun import write_project
from tests.dbutil import TestDB
from timescape.cli import _fast

# The entry point, writing whether click was imported to $LISTING_PROBE at exit (atexit runs
# on the click-free path's quick exit too).
_ENTRY = """
import atexit, os, sys

@atexit.register
def probe():
    with open(os.environ["LISTING_PROBE"], "w") as probe:
        probe.write("click" if "click" in sys.modules else "no click")

from timescape.cli._entry import main
main()
"""
FAST = (sys.executable, "-c", _ENTRY)
CLICK = (sys.executable, "-c", "from timescape.cli.main import main; main()")

SERVED = (
    ("schema", "list"),
    ("version", "list"),
    ("schema", "list", "--json"),
    ("version", "list", "--json"),
    ("--json", "schema", "list", "-v"),
    ("-v", "version", "list", "--json"),
    ("version", "list", "--status", "warm"),
    ("version", "list", "--status=inactive", "--json"),
    ("version", "list", "--handler", "/api/products", "--json"),
    ("version", "list", "--handler=/api/nothing"),
)
# Each must go to click (and still print what click prints).
FALLBACK = (
    ("schema", "list", "--help"),
    ("schema", "list", "--bogus"),
    ("schema", "list", "extra"),
    ("version", "list", "--status", "lukewarm"),
    ("version", "list", "--status"),
    ("schema", "list", "--handler", "/api/products"),
    ("schema", "--json", "list"),
    ("-vv", "schema", "list"),
    ("-v", "schema", "list", "--verbose"),
    ("schema", "list", "--json=yes"),
    ("schema", "list", "--", "--json"),
    ("schema", "list", "--database", ""),
)

# s3 cannot apply: no table "nosuch".
FAILING = PROJECT.replace(
    'migrations = ["ALTER TABLE products ADD COLUMN sku VARCHAR(20)"]',
    'migrations = ["ALTER TABLE nosuch ADD COLUMN sku VARCHAR(20)"]',
)


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TIMESCAPE_") and k not in {"_TIMESCAPE_COMPLETE", "NO_COLOR"}
    }
    env.update(extra)
    return env


def _run(
    command: tuple[str, ...], argv: tuple[str, ...], cwd: Path, env: dict[str, str]
) -> tuple[int, bytes, bytes]:
    done = subprocess.run(
        [*command, *argv], cwd=cwd, env=env, capture_output=True, timeout=120, check=False
    )
    return done.returncode, done.stdout, done.stderr


def _compare(
    tmp_path: Path, cwd: Path, argv: tuple[str, ...], **extra: str
) -> tuple[int, bytes, bytes]:
    """Run ``argv`` both ways; assert identical results and the path taken. Returns the result."""
    probe = tmp_path / "probe.txt"
    env = _env(**extra)
    clicked = _run(CLICK, argv, cwd, env)
    fast = _run(FAST, argv, cwd, {**env, "LISTING_PROBE": str(probe)})
    assert fast == clicked, argv
    served = argv not in FALLBACK
    assert probe.read_text() == ("no click" if served else "click"), argv
    return fast


def _project(tmp_path: Path, url: str, text: str = PROJECT) -> Path:
    return write_project(tmp_path / "project", text, S1_FILES, url=url).parent


def _timescape(cwd: Path, *argv: str) -> int:
    return _run(CLICK, argv, cwd, _env())[0]


def _age(db: TestDB) -> None:
    """Move every recorded time back to 2024: tables print dates, not "36 s ago", for them."""
    for table, key, column in (
        ("timescape_schemas", "name", "applied_at"),
        ("timescape_versions", "tsv", "activated_at"),
    ):
        for name, moment in db.query(f"SELECT {key}, {column} FROM {table}"):
            if moment:
                db.execute(
                    f"UPDATE {table} SET {column} = ? WHERE {key} = ?",
                    ("2024-01-02" + moment[10:], name),
                )


def test_parse__plain_streams__serves_exactly_the_listings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("_TIMESCAPE_COMPLETE", raising=False)
    for name in ("stdout", "stderr"):
        monkeypatch.setattr(sys, name, io.TextIOWrapper(io.BytesIO(), encoding="utf-8"))
    for argv in SERVED:
        assert _fast.parse(argv) is not None, argv
    for argv in FALLBACK:
        assert _fast.parse(argv) is None, argv
    listing = _fast.parse(("--project", "a", "-v", "schema", "list", "--project=b", "--json"))
    assert listing is not None
    assert (listing.project, listing.verbose, listing.json) == (["a", "b"], 1, True)
    unreadable = tmp_path / "secret.toml"
    unreadable.write_text("")
    unreadable.chmod(0)
    if not os.access(unreadable, os.R_OK):  # root reads anything
        assert _fast.parse(("schema", "list", "--project", str(unreadable))) is None
    monkeypatch.setenv("_TIMESCAPE_COMPLETE", "bash_complete")
    assert _fast.parse(("schema", "list")) is None
    monkeypatch.delenv("_TIMESCAPE_COMPLETE")
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.BytesIO(), encoding="ascii"))
    assert _fast.parse(("schema", "list")) is None  # click would re-wrap it
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert _fast.parse(("schema", "list")) is None


def test_listings__fresh_database__identical_to_click(db: TestDB, tmp_path: Path) -> None:
    cwd = _project(tmp_path, db.url)
    for argv in (*SERVED, *FALLBACK):
        _compare(tmp_path, cwd, argv)


def test_listings__applied_failed_and_uncertain__identical_to_click(
    db: TestDB, tmp_path: Path
) -> None:
    cwd = _project(tmp_path, db.url, FAILING)
    assert _timescape(cwd, "version", "activate", "v2") == 0
    assert _timescape(cwd, "version", "activate", "v3") == 1  # s3 fails
    _age(db)
    for argv in SERVED:
        assert _compare(tmp_path, cwd, argv)[0] == 0
    # What a failed or an uncertain run leaves (on SQLite a failure rolls s3 back whole).
    for status in ("failed", "uncertain"):
        db.execute(
            "UPDATE timescape_schemas SET status = ?, steps_done = 1, error = ? WHERE name = 's2'",
            (status, f"{status} for the test"),
        )
        assert status.encode() in _compare(tmp_path, cwd, ("schema", "list"))[1]
        for argv in SERVED[1:4]:
            _compare(tmp_path, cwd, argv)


@pytest.mark.dialects("sqlite")
def test_listings__bad_project_file__identical_exit_2(tmp_path: Path) -> None:
    broken = {
        "syntax": "[database\n",
        "unknown key": toml("""
            [[schemas]]
            name = "s1"
            migrations = ["CREATE TABLE t (id INT)"]
            colour = "blue"
        """),
        "bad parent": toml("""
            [[schemas]]
            name = "s1"
            parent = "s0"
            migrations = ["CREATE TABLE t (id INT)"]
        """),
    }
    for name, text in broken.items():
        cwd = tmp_path / name.replace(" ", "-")
        cwd.mkdir()
        (cwd / "timescape.toml").write_text(text)
        for argv in (("schema", "list"), ("version", "list", "--json"), ("schema", "list", "-v")):
            code, _, err = _compare(tmp_path, cwd, argv)
            assert code == 2, (name, argv, err)
    empty = tmp_path / "no-project"
    empty.mkdir()
    for argv in (("schema", "list"), ("schema", "list", "--json")):
        _compare(tmp_path, empty, argv)
    _compare(tmp_path, empty, ("--project", str(tmp_path / "missing.toml"), "schema", "list"))


@pytest.mark.dialects("sqlite")
@pytest.mark.parametrize(
    "url",
    [
        "postgresql://bob:s3cr3t-pw@127.0.0.1:1/app?connect_timeout=2",
        "mysql://bob:s3cr3t-pw@127.0.0.1:1/app",
        "sqlite:////nonexistent-folder/sub/app.db",
        "oracle://bob:s3cr3t-pw@db/app",
    ],
)
def test_listings__unreachable_database__identical_and_masked(tmp_path: Path, url: str) -> None:
    cwd = _project(tmp_path, "sqlite:///ignored.db")
    for argv in (
        ("schema", "list", "--database", url),
        (f"--database={url}", "version", "list", "--json", "-v"),
    ):
        code, out, err = _compare(tmp_path, cwd, argv)
        assert code != 0
        assert b"s3cr3t-pw" not in out + err
    code, out, err = _compare(tmp_path, cwd, ("schema", "list"), TIMESCAPE_DATABASE_URL=url)
    assert code != 0
    assert b"s3cr3t-pw" not in out + err


@pytest.mark.dialects("sqlite")
def test_listings__project_option_forms__identical(db: TestDB, tmp_path: Path) -> None:
    project = _project(tmp_path, db.url)
    assert _timescape(project, "version", "activate", "v1") == 0
    _age(db)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for argv in (
        ("--project", str(project), "schema", "list"),
        ("schema", "list", f"--project={project / 'timescape.toml'}"),
        ("--project", "nowhere", "version", "list", "--project", str(project), "--json"),
        ("version", "list", "--database", db.url, "--project", str(project)),
    ):
        _compare(tmp_path, elsewhere, argv)


@pytest.mark.dialects("sqlite")
def test_listings__stdout_closed__identical_exit_and_stderr(db: TestDB, tmp_path: Path) -> None:
    cwd = _project(tmp_path, db.url)
    assert _timescape(cwd, "version", "activate", "v3") == 0
    for argv in (("schema", "list"), ("version", "list", "--json")):
        results = []
        for command in (CLICK, FAST):
            read, write = os.pipe()
            os.close(read)  # every write to stdout fails with EPIPE
            env = {**_env(), "LISTING_PROBE": str(tmp_path / "probe.txt")}
            try:
                done = subprocess.run(
                    [*command, *argv],
                    cwd=cwd,
                    env=env,
                    stdout=write,
                    stderr=subprocess.PIPE,
                    timeout=120,
                    check=False,
                )
            finally:
                os.close(write)
            results.append((done.returncode, done.stderr))
        assert results[0] == results[1], argv
        assert results[0][0] == 1


@pytest.mark.dialects("sqlite")
def test_listings__terminal__identical_colours(db: TestDB, tmp_path: Path) -> None:
    cwd = _project(tmp_path, db.url)
    assert _timescape(cwd, "version", "activate", "v2") == 0
    _age(db)

    def run(command: tuple[str, ...], argv: tuple[str, ...]) -> tuple[int, bytes]:
        leader, follower = pty.openpty()  # stdout and stderr both a terminal: colour on
        env = {**_env(), "TERM": "xterm", "LISTING_PROBE": str(tmp_path / "probe.txt")}
        with subprocess.Popen(
            [*command, *argv], cwd=cwd, stdout=follower, stderr=follower, env=env
        ) as process:
            os.close(follower)
            out = b""
            while True:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # EIO: the child closed the terminal and nothing is left
                    break
                if not chunk:
                    break
                out += chunk
            process.wait(timeout=120)
        os.close(leader)
        return process.returncode, out

    for argv in (
        ("schema", "list"),
        ("version", "list"),
        ("schema", "list", "--json"),
        ("schema", "list", "--database", "oracle://bob:s3cr3t-pw@db/app"),
    ):
        fast, clicked = run(FAST, argv), run(CLICK, argv)
        assert fast == clicked, argv
        assert (tmp_path / "probe.txt").read_text() == "no click"
    assert b"\x1b[" in run(FAST, ("schema", "list"))[1]  # coloured indeed
