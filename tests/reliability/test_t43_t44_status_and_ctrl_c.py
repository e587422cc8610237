"""One effective status everywhere (T43), and Ctrl-C that stops the statement on the server (T44).

Every case runs the real ``timescape`` command in a subprocess and reads the result from the server
(``pg_stat_activity``, MariaDB's processlist) and from every surface: ``schema list`` (text and
``--json``), ``schema status --json``, ``stats --json``, ``verify --json`` and the Python API
(``Timescape.schema_info``, ``Timescape.stats``). Issue 11 saw ``schema list`` say ``rolled_back``
while ``verify`` said ``uncertain`` (kill -9 on MariaDB) or ``interrupted`` (Ctrl-C on PostgreSQL).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.clirun import write_project
from tests.dbutil import TestDB
from tests.reliability import faults
from tests.reliability._b_helpers import (
    SLEEP,
    SQLITE_SPIN,
    assert_clean,
    cli,
    running_statements,
    wait_for,
)
from timescape.config import load_project

pytestmark = pytest.mark.timeout(120)

PROJECT = """
[database]
url = "{url}"
migration_timeout = 60

[[schemas]]
name = "s44"
migrations = ["CREATE TABLE t44_a (id INTEGER)", "STEP2"]
rollback = ["DROP TABLE t44_a", "SELECT 1"]

[[versions]]
handler = "/api/products"
timestamp = "2025-01-01T00:00:00Z"
schema = "s44"
"""


def _long(db: TestDB) -> str:
    return SQLITE_SPIN if db.dialect == "sqlite" else SLEEP[db.dialect].format(s=20)


def surfaces(folder: Path, name: str) -> dict[str, Any]:
    """The status of ``name`` as each surface reports it, and the counts of ``stats``."""
    seen: dict[str, Any] = {}
    listed = cli("--json", "schema", "list", cwd=folder)
    seen["list_json"] = next(s["status"] for s in listed.json()["schemas"] if s["name"] == name)
    text = cli("schema", "list", cwd=folder).stdout
    seen["list_text"] = next(
        word
        for line in text.splitlines()
        if line.split()[:1] == [name]
        for word in line.split()
        if word in ("pending", "applied", "failed", "rolled_back", "interrupted", "uncertain")
    )
    seen["status_json"] = cli("--json", "schema", "status", name, cwd=folder).json()["status"]
    stats = cli("--json", "stats", cwd=folder).json()
    seen["stats"] = {k: v for k, v in stats.items() if k.endswith("_schemas") and v}
    verify = cli("--json", "verify", cwd=folder).json()
    seen["verify"] = sorted(
        p["kind"]
        for p in verify["problems"]
        if p["subject"] == name and p["kind"] in ("failed", "interrupted", "uncertain")
    )
    with load_project(folder / "timescape.toml").timescape() as ts:
        seen["api"] = str(ts.schema_info(name).status)
        api_stats = ts.stats()
        seen["api_stats"] = {
            "interrupted": api_stats.interrupted_schemas,
            "uncertain": api_stats.uncertain_schemas,
        }
    return seen


def assert_everywhere(folder: Path, name: str, status: str) -> None:
    seen = surfaces(folder, name)
    for key in ("list_json", "list_text", "status_json", "api"):
        assert seen[key] == status, seen
    assert seen["verify"] == [status], seen
    assert seen["stats"].get(f"{status}_schemas") == 1, seen
    assert seen["api_stats"][status] == 1, seen


def _start(folder: Path, *args: str, pause: str) -> faults.DriverProcess:
    proc = faults.start_cli(folder / "timescape.toml", *args, faults=f"pause:{pause}")
    proc.wait_ready(pause)
    return proc


def test_t44_ctrl_c_mid_statement__cancelled_on_the_server__exit_130__interrupted_everywhere(
    db: TestDB, tmp_path: Path
) -> None:
    write_project(tmp_path, PROJECT.replace("STEP2", _long(db)), url=db.url)
    proc = _start(tmp_path, "version", "activate", "latest", pause="before_step:2")
    proc.release("before_step:2")
    if db.dialect == "sqlite":
        time.sleep(0.5)  # the recursive CTE runs for minutes unless interrupted
    else:
        assert wait_for(lambda: bool(running_statements(db)), 10), "the sleep never started"
    sent = time.monotonic()
    os.kill(proc.pid, signal.SIGINT)
    if db.dialect != "sqlite":
        # Gone from the server within a second: cancelled there, not just abandoned.
        assert wait_for(lambda: not running_statements(db), 1.0), running_statements(db)
    result = proc.wait(30)
    elapsed = time.monotonic() - sent
    assert result.exit_code == 130, result.describe()
    assert elapsed < 5, f"exited {elapsed:.2f} s after Ctrl-C"
    assert "Traceback" not in result.stderr, result.describe()
    assert "interrupted (Ctrl-C) in step 2" in result.stderr, result.describe()
    assert "timescape verify" in result.stderr, result.describe()
    if db.dialect == "sqlite":
        assert elapsed < 1.0, f"SQLite honoured Ctrl-C only after {elapsed:.2f} s"

    row = db.schema_row("s44")
    assert row is not None
    assert row["status"] == "interrupted", row
    expected_done = 1 if db.dialect == "mysql" else 0  # MariaDB: step 1 committed on its own
    assert (row["steps_done"], row["step_in_flight"]) == (expected_done, None), row
    assert ("t44_a" in db.tables()) == (db.dialect == "mysql")
    assert db.active_versions() == set()
    assert_clean(db)
    assert_everywhere(tmp_path, "s44", "interrupted")

    # A plain retry goes on (the cancelled statement was a read: nothing to undo); a quick
    # statement stands in for the long one.
    write_project(tmp_path, PROJECT.replace("STEP2", "SELECT 1"), url=db.url)
    again = cli("version", "activate", "latest", cwd=tmp_path)
    assert again.exit_code == 0, again.describe()
    assert db.schema_row("s44")["status"] == "applied"  # type: ignore[index]


def test_t43_kill_9_mid_step__same_effective_status_everywhere(
    db: TestDB, tmp_path: Path
) -> None:
    """MariaDB: the step in flight is ``uncertain``; PostgreSQL/SQLite: ``interrupted``."""
    long = SQLITE_SPIN if db.dialect == "sqlite" else SLEEP[db.dialect].format(s=3)
    # Applied and rolled back once: the stored status the dying run leaves is ``rolled_back``.
    project = PROJECT.replace("STEP2", "SELECT 1").replace(
        '["CREATE TABLE t44_a (id INTEGER)"', f'["CREATE TABLE t44_a (id INTEGER); {long}"'
    )
    quick = PROJECT.replace("STEP2", "SELECT 1")
    write_project(tmp_path, quick, url=db.url)
    assert cli("schema", "migrate", "s44", cwd=tmp_path).exit_code == 0
    assert cli("schema", "rollback", "s44", cwd=tmp_path).exit_code == 0
    assert db.schema_row("s44")["status"] == "rolled_back"  # type: ignore[index]
    write_project(tmp_path, project, url=db.url)

    proc = _start(tmp_path, "version", "activate", "latest", pause="before_step:1")
    proc.release("before_step:1")
    if db.dialect == "sqlite":
        time.sleep(0.5)
    else:
        assert wait_for(lambda: any("sleep" in str(r[2]).lower() for r in running_statements(db)), 10)
    proc.sigkill()
    # The server ends the session once the sleep is over and the client is found gone.
    assert wait_for(lambda: not running_statements(db), 10), running_statements(db)
    assert wait_for(lambda: _lock_free(db), 10)
    row = db.schema_row("s44")
    assert row is not None
    mysql = db.dialect == "mysql"
    assert (row["status"], row["steps_done"]) == ("rolled_back", 0), row
    assert row["step_in_flight"] == (1 if mysql else None), row
    # MariaDB committed the step's CREATE TABLE; elsewhere the transaction died with it.
    assert ("t44_a" in db.tables()) == mysql

    assert_everywhere(tmp_path, "s44", "uncertain" if mysql else "interrupted")
    # Nothing above wrote: the stored row is still the dying run's.
    again = db.schema_row("s44")
    assert again == row, again


def _lock_free(db: TestDB) -> bool:
    from tests.reliability.invariants import leftover_problems  # noqa: PLC0415

    return not leftover_problems(db)
