"""Issue 11, part 5: the smaller promises, each through the real CLI in a subprocess.

- A deactivation that rolls back a ``transactional = false`` schema is not atomic, on any
  database: the version goes out of service first, schemas rolled back before the failing one
  stay rolled back, the failing one is ``failed`` with its steps in place.
- Activating a schema without rollback scripts warns (stderr, a logged warning, ``irreversible``
  in ``--json``), and ``schema list`` flags it.
- A live version whose schema's state row was deleted: ``verify`` reports it, and activation
  refuses (never "already active") until ``schema resolve`` states the truth.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.clirun import Result, run_process, write_project
from tests.dbutil import TestDB
from timescape import StateError, Timescape

pytestmark = pytest.mark.timeout(120)

T0 = "2025-01-01T00:00:00Z"


def cli(folder: Path, *args: str) -> Result:
    return run_process(*args, cwd=folder)


# -- deactivation with transactional = false ---------------------------------------------------

NON_ATOMIC = f"""
[database]
url = "{{url}}"

[[schemas]]
name = "base"
transactional = false
migrations = ["CREATE TABLE na_base (id INTEGER)"]
rollback = ["DROP TABLE na_missing"]

[[schemas]]
name = "child"
parent = "base"
migrations = ["CREATE TABLE na_child (id INTEGER)"]
rollback = ["DROP TABLE na_child"]

[[versions]]
handler = "/api/products"
timestamp = "{T0}"
schema = "child"
"""


def test_deactivate__transactional_false_rollback_fails__not_atomic_exactly_as_documented(
    db: TestDB, tmp_path: Path
) -> None:
    write_project(tmp_path, NON_ATOMIC, url=db.url)
    assert cli(tmp_path, "version", "activate", "latest").exit_code == 0
    (tsv,) = db.active_versions()

    failed = cli(tmp_path, "version", "deactivate", tsv)
    assert failed.exit_code == 1, failed.describe()
    assert "na_missing" in failed.stderr, failed.describe()
    # What holds: the version went out of service first; the descendant rolled back before
    # the failure stays rolled back; the failing schema keeps its steps, recorded as failed.
    assert db.active_versions() == set()
    assert "na_child" not in db.tables()
    assert db.schema_row("child")["status"] == "rolled_back"  # type: ignore[index]
    base = db.schema_row("base")
    assert base is not None
    assert (base["status"], base["steps_done"]) == ("failed", 1), base
    assert "na_base" in db.tables()
    verify = cli(tmp_path, "--json", "verify")
    assert verify.exit_code == 1
    assert any(p["subject"] == "base" and p["kind"] == "failed" for p in verify.json()["problems"])

    # Fixed (an edited rollback script is drift: --force says it is meant), the rollback
    # resumes where it stopped.
    write_project(tmp_path, NON_ATOMIC.replace("na_missing", "na_base"), url=db.url)
    done = cli(tmp_path, "schema", "rollback", "base", "--force")
    assert done.exit_code == 0, done.describe()
    assert "na_base" not in db.tables()
    assert db.schema_row("base")["status"] == "rolled_back"  # type: ignore[index]


@pytest.mark.dialects("sqlite", "postgresql")
def test_deactivate__all_transactional_rollback_fails__atomic(db: TestDB, tmp_path: Path) -> None:
    write_project(tmp_path, NON_ATOMIC.replace("transactional = false\n", ""), url=db.url)
    assert cli(tmp_path, "version", "activate", "latest").exit_code == 0
    (tsv,) = db.active_versions()
    assert cli(tmp_path, "version", "deactivate", tsv).exit_code == 1
    assert db.active_versions() == {tsv}
    assert {"na_base", "na_child"} <= db.tables()
    assert db.schema_row("child")["status"] == "applied"  # type: ignore[index]
    assert db.schema_row("base")["status"] == "applied"  # type: ignore[index]


# -- irreversible schemas -----------------------------------------------------------------------

IRREVERSIBLE = f"""
[database]
url = "{{url}}"

[[schemas]]
name = "once"
migrations = ["CREATE TABLE ir_once (id INTEGER)"]

[[schemas]]
name = "undoable"
migrations = ["CREATE TABLE ir_undo (id INTEGER)"]
rollback = ["DROP TABLE ir_undo"]

[[versions]]
handler = "/api/products"
timestamp = "{T0}"
schema = "once"
"""


def test_activate__irreversible_schema__warned_everywhere_and_flagged_in_list(
    db: TestDB, tmp_path: Path
) -> None:
    write_project(tmp_path, IRREVERSIBLE, url=db.url)
    dry = cli(tmp_path, "--json", "version", "activate", "latest", "--dry-run")
    assert dry.exit_code == 0, dry.describe()
    assert dry.json()["irreversible"] == ["once"]

    done = cli(tmp_path, "version", "activate", "latest")
    assert done.exit_code == 0, done.describe()
    assert "WARNING" in done.stderr, done.describe()
    assert "schema once has no rollback scripts" in done.stderr, done.describe()

    migrated = cli(tmp_path, "--json", "schema", "migrate", "undoable")
    assert migrated.json()["irreversible"] == []
    assert "WARNING" not in migrated.stderr, migrated.describe()

    listed = cli(tmp_path, "schema", "list")
    lines = {line.split()[0]: line for line in listed.stdout.splitlines()[1:]}
    assert "(no rollback)" in lines["once"], listed.stdout
    assert "(no rollback)" not in lines["undoable"], listed.stdout
    documents = cli(tmp_path, "--json", "schema", "list").json()["schemas"]
    assert {d["name"]: d["reversible"] for d in documents} == {"once": False, "undoable": True}


def test_api_activate__irreversible_schema__logs_a_warning(
    db: TestDB, caplog: pytest.LogCaptureFixture
) -> None:
    with Timescape(db.url) as ts:
        ts.add_schema("once", ["CREATE TABLE ir_api (id INTEGER)"])
        tsv = ts.add_version("/api/products", T0, "once")
        with caplog.at_level(logging.WARNING, logger="timescape"):
            result = ts.activate(tsv)
    assert result.irreversible == ("once",)
    assert any(
        r.levelno == logging.WARNING and "once has no rollback scripts" in r.getMessage()
        for r in caplog.records
    ), caplog.records


# -- a deleted state row --------------------------------------------------------------------------

LIVE = f"""
[database]
url = "{{url}}"

[[schemas]]
name = "s1"
migrations = ["CREATE TABLE dr_a (id INTEGER)", "INSERT INTO dr_a VALUES (1)"]
rollback = ["DROP TABLE dr_a", "DELETE FROM dr_a"]

[[versions]]
handler = "/api/products"
timestamp = "{T0}"
schema = "s1"
"""


def test_activate__live_version_whose_schema_row_was_deleted__refused_until_resolved(
    db: TestDB, tmp_path: Path
) -> None:
    write_project(tmp_path, LIVE, url=db.url)
    assert cli(tmp_path, "version", "activate", "latest").exit_code == 0
    db.execute("DELETE FROM timescape_schemas WHERE name = 's1'")

    verify = cli(tmp_path, "--json", "verify")
    assert verify.exit_code == 1, verify.describe()
    unmet = [p for p in verify.json()["problems"] if p["kind"] == "live_version_unmet"]
    assert unmet, verify.stdout
    assert unmet[0]["facts"]["missing_rows"] == ["s1"]
    assert "schema resolve s1" in unmet[0]["message"]

    for _ in range(2):
        again = cli(tmp_path, "version", "activate", "latest")
        assert again.exit_code == 1, again.describe()
        assert "already active" not in again.output, again.describe()
        assert "state row of schema(s) s1 is missing" in again.stderr, again.describe()
        assert "timescape verify" in again.stderr, again.describe()
        assert "timescape schema resolve s1 --steps-done K (2 if" in again.stderr
    assert db.count("dr_a") == 1  # nothing ran twice
    assert db.schema_row("s1") is None

    resolved = cli(tmp_path, "schema", "resolve", "s1", "--steps-done", "2")
    assert resolved.exit_code == 0, resolved.describe()
    noop = cli(tmp_path, "version", "activate", "latest")
    assert noop.exit_code == 0, noop.describe()
    assert "already active" in noop.stdout, noop.describe()
    assert cli(tmp_path, "verify").exit_code == 0
    assert db.count("dr_a") == 1


def test_api_activate__live_version_whose_schema_row_was_deleted__state_error(
    db: TestDB, tmp_path: Path
) -> None:
    with Timescape(db.url) as ts:
        ts.add_schema("s1", ["CREATE TABLE dr_b (id INTEGER)"], ["DROP TABLE dr_b"])
        tsv = ts.add_version("/api/products", T0, "s1")
        ts.activate(tsv)
    db.execute("DELETE FROM timescape_schemas WHERE name = 's1'")
    with Timescape(db.url) as ts:
        ts.add_schema("s1", ["CREATE TABLE dr_b (id INTEGER)"], ["DROP TABLE dr_b"])
        ts.add_version("/api/products", T0, "s1")
        with pytest.raises(StateError, match="state row of schema"):
            ts.activate(tsv)
