"""Reliability part B — drift and checksums (RELIABILITY T25, T26; decision 3).

Policy under test (RELIABILITY decision 3, documented in ``timescape.model.schema``): SHA-256 per
migration and per rollback script over the text with line endings normalised to LF, a UTF-8 BOM
dropped and trailing whitespace at the end removed; **comments count**. File *names* are not part
of a checksum: renaming a step file without changing the order of the steps is not drift, while
renaming it into another position is (the steps are reordered).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tests.clirun import write_project
from tests.dbutil import TestDB
from tests.reliability._b_helpers import (
    T0,
    T1,
    cli,
    fingerprint,
    one_error_line,
    seed,
    state_fingerprint,
)
from timescape import recovery as recovery_module
from timescape.errors import DriftError
from timescape.model import schema as schema_module
from timescape.project.config import load_project
from timescape.store.state import reader as state_reader_module

pytestmark = pytest.mark.timeout(180)

STEP1 = "-- products get a colour\nCREATE TABLE t25_a (id INTEGER, colour VARCHAR(20));\n"
STEP1_UNDO = "DROP TABLE t25_a;\n"
STEP2 = "CREATE INDEX t25_a_colour ON t25_a (colour);\n"
STEP2_UNDO = {"mysql": "DROP INDEX t25_a_colour ON t25_a;\n"}
FILES = {
    "migrations/s1/001_create.sql": STEP1,
    "migrations/s1/001_create.rollback.sql": STEP1_UNDO,
    "migrations/s1/002_index.sql": STEP2,
}


def _toml(*, with_s2: bool = True, s2_sql: str = "CREATE TABLE t25_b (id INTEGER)") -> str:
    text = """
[[schemas]]
name = "s1"
dir = "migrations/s1"
"""
    if with_s2:
        text += f"""
[[schemas]]
name = "s2"
parent = "s1"
migrations = ["{s2_sql}"]
rollback = ["DROP TABLE t25_b"]

[[schemas]]
name = "s3"
parent = "s2"
breaking = false
migrations = ["CREATE TABLE t25_c (id INTEGER)"]
rollback = ["DROP TABLE t25_c"]

[[versions]]
handler = "/api/products"
timestamp = "{T0}"
schema = "s2"
tags = ["v1"]

[[versions]]
handler = "/api/products"
timestamp = "{T1}"
schema = "s3"
tags = ["v2"]
"""
    return text


def _files(db: TestDB) -> dict[str, str]:
    return {**FILES, "migrations/s1/002_index.rollback.sql":
            STEP2_UNDO.get(db.dialect, "DROP INDEX t25_a_colour;\n")}


def _everything(db: TestDB) -> tuple[Any, Any]:
    return state_fingerprint(db), fingerprint(db, sorted(db.user_tables()))


def _verify_json(db: TestDB, root: Path) -> list[dict[str, Any]]:
    result = cli("--database", db.url, "--json", "verify", cwd=root)
    assert result.exit_code == 1, result.describe()
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout)["problems"]


def _drift_facts(problems: list[dict[str, Any]]) -> set[tuple[str, int, str]]:
    found = set()
    for p in problems:
        if p["kind"] == "drift":
            facts = p.get("facts") or p
            found.add((p["subject"], facts["step"], facts["script"]))
    return found


def test_t25_drift_kinds__verify_names_them_and_writes_refuse(db: TestDB, tmp_path: Path) -> None:
    seed(db)
    root = tmp_path / "proj"
    files = _files(db)
    write_project(root, _toml(), files)
    run = lambda *a: cli("--database", db.url, *a, cwd=root)  # noqa: E731
    assert run("version", "activate", "v1").exit_code == 0
    assert run("verify").exit_code == 0
    s1 = load_project(root / "timescape.toml").catalog.schema("s1")
    pristine = _everything(db)

    def restore() -> None:
        for name in list((root / "migrations/s1").iterdir()):
            name.unlink()
        write_project(root, _toml(), files)

    # (a) edit a statement: verify names schema, step, both checksums (text and --json)
    (root / "migrations/s1/002_index.sql").write_text(STEP2.replace("colour", "id"))
    new_sum = load_project(root / "timescape.toml").catalog.schema("s1").steps[1].checksum
    text = run("verify")
    assert text.exit_code == 1, text.describe()
    assert f"s1 migration step 2 was applied with checksum {s1.steps[1].checksum}" in text.stdout
    assert new_sum in text.stdout
    problems = _verify_json(db, root)
    assert _drift_facts(problems) == {("s1", 2, "migration")}
    facts = next(p.get("facts") or p for p in problems if p["kind"] == "drift")
    assert (facts["stored"], facts["current"]) == (s1.steps[1].checksum, new_sum)
    # building on the drifted schema is refused, and nothing changes
    refused = run("version", "activate", "v2")
    one_error_line(refused, 1, "s1", "step 2", s1.steps[1].checksum, "--force")
    assert _everything(db) == pristine
    # --force proceeds and leaves the override in the event log
    forced = run("version", "activate", "v2", "--force")
    assert forced.exit_code == 0, forced.describe()
    event = db.query("SELECT detail FROM timescape_events WHERE kind = 'version_activated' "
                     "ORDER BY id DESC")[0][0]
    assert "drift ignored: s1 step 2" in json.loads(event)["forced"]
    assert run("version", "deactivate", "v2").exit_code == 0
    restore()
    pristine = _everything(db)
    assert run("verify").exit_code == 0

    # (b) edit a rollback script: verify flags it; a deactivation needing it is refused
    (root / "migrations/s1/001_create.rollback.sql").write_text("DROP TABLE IF EXISTS t25_a;\n")
    assert _drift_facts(_verify_json(db, root)) == {("s1", 1, "rollback")}
    refused = run("version", "deactivate", "v1")
    one_error_line(refused, 1, "s1", "rollback step 1")
    assert _everything(db) == pristine
    restore()

    # (c) reorder two steps (renaming the files into each other's place)
    (root / "migrations/s1/001_create.sql").rename(root / "migrations/s1/002_create.sql")
    (root / "migrations/s1/001_create.rollback.sql").rename(
        root / "migrations/s1/002_create.rollback.sql")
    (root / "migrations/s1/002_index.sql").rename(root / "migrations/s1/001_index.sql")
    (root / "migrations/s1/002_index.rollback.sql").rename(
        root / "migrations/s1/001_index.rollback.sql")
    found = _drift_facts(_verify_json(db, root))
    assert {("s1", 1, "migration"), ("s1", 2, "migration")} <= found
    assert _everything(db) == pristine
    restore()

    # (e) renaming a file without moving it is not drift (names are not checksummed)
    (root / "migrations/s1/002_index.sql").rename(root / "migrations/s1/002_colour_index.sql")
    (root / "migrations/s1/002_index.rollback.sql").rename(
        root / "migrations/s1/002_colour_index.rollback.sql")
    assert run("verify").exit_code == 0
    restore()

    # (f) a comment-only change is drift (policy: comments count)
    (root / "migrations/s1/001_create.sql").write_text("-- products get a color\n" + STEP1[25:])
    assert _drift_facts(_verify_json(db, root)) == {("s1", 1, "migration")}
    restore()

    # inline migrations drift the same way
    write_project(root, _toml(s2_sql="CREATE TABLE t25_b (id BIGINT)"))
    assert _drift_facts(_verify_json(db, root)) == {("s2", 1, "migration")}
    restore()

    # (d) an applied schema deleted from the project: reported, and its rollback refused
    write_project(root, _toml(with_s2=False))
    problems = _verify_json(db, root)
    assert any(p["kind"] == "missing" and p["subject"] == "s2" for p in problems), problems
    refused = run("schema", "rollback", "s2", "--force")
    one_error_line(refused, 1, "s2", "no longer defined")
    assert _everything(db) == pristine
    restore()
    assert run("verify").exit_code == 0


def test_t26_transport_changes_are_not_drift__semantic_ones_are(
    db: TestDB, tmp_path: Path
) -> None:
    """CRLF, a BOM, a missing or extra trailing newline, and another TOML quoting style."""
    root = tmp_path / "proj"
    files = _files(db)
    toml = _toml()
    write_project(root, toml, files)
    project = load_project(root / "timescape.toml")
    with project.timescape(db.url) as ts:
        ts.activate(ts.resolve("v1"))
    sql = root / "migrations/s1/001_create.sql"

    def problems() -> list[Any]:
        with load_project(root / "timescape.toml").timescape(db.url) as ts:
            return list(ts.verify().problems)

    transports: dict[str, tuple[bytes, str]] = {
        "crlf": (STEP1.replace("\n", "\r\n").encode(), toml.replace("\n", "\r\n")),
        "bom": (b"\xef\xbb\xbf" + STEP1.encode(), toml),
        "no final newline": (STEP1.rstrip("\n").encode(), toml),
        "extra trailing blank lines": ((STEP1 + "\n\n  \n").encode(), toml),
        "literal TOML strings": (STEP1.encode(), toml.replace(
            '["CREATE TABLE t25_b (id INTEGER)"]', "['CREATE TABLE t25_b (id INTEGER)']")),
        "multi-line TOML string": (STEP1.encode(), toml.replace(
            '["CREATE TABLE t25_b (id INTEGER)"]', '["""\nCREATE TABLE t25_b (id INTEGER)"""]')),
    }
    for label, (content, project_text) in transports.items():
        sql.write_bytes(content)
        (root / "timescape.toml").write_text(project_text, newline="")
        assert problems() == [], label
    sql.write_bytes(STEP1.replace("colour", "color").replace("\n", "\r\n").encode())
    (root / "timescape.toml").write_text(toml)
    assert [(p.kind, p.subject) for p in problems()] == [("drift", "s1")]


def _v2(script: Any) -> str:
    """A stand-in "next" algorithm: SHA3-256 over the same normalised payload."""
    payload = script if isinstance(script, str) else repr(script)
    return hashlib.sha3_256(schema_module.normalise_sql(payload).encode()).hexdigest()


def test_t26_algorithm_change__old_rows_verified_with_their_own_then_upgraded(
    db: TestDB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows written as ``sha256-v1``, code now computing ``sha256-v2``: no false drift, real drift
    still found, matching rows upgraded under the lock (logged), drifted ones left as they are.
    Rows in an algorithm this Timescape does not know: one "unverifiable" problem per schema (not
    a wall of drift), and a change building on them is refused unless forced."""
    root = tmp_path / "proj"
    write_project(root, _toml(), _files(db))
    load = lambda: load_project(root / "timescape.toml").timescape(db.url)  # noqa: E731
    with load() as ts:
        ts.activate(ts.resolve("v1"))
    stored = {r[0]: json.loads(r[1]) for r in db.query("SELECT name, checksums FROM "
                                                       "timescape_schemas")}
    assert all(v.startswith("sha256-v1:") for sums in stored.values() for v in sums)

    monkeypatch.setitem(schema_module.CHECKSUM_ALGORITHMS, "sha256-v2", _v2)
    # "A new release": the constant changes wherever it was imported.
    for module in (schema_module, state_reader_module, recovery_module):
        monkeypatch.setattr(module, "CHECKSUM_ALGORITHM", "sha256-v2")
    with load() as ts:
        assert ts.verify().ok, ts.verify().problems  # v1 rows verified with v1
        assert ts.catalog.schema("s2").checksums[0].startswith("sha256-v2:")
    # real drift is still drift while the rows are v1
    (root / "migrations/s1/002_index.sql").write_text(STEP2.replace("colour", "id"))
    with load() as ts:
        assert [(p.kind, p.subject, p.facts["step"]) for p in ts.verify().problems] == [
            ("drift", "s1", 2)]
        # a write operation upgrades what still matches, and only that
        ts.activate(ts.resolve("v2"), force=True)
    rows = {r[0]: json.loads(r[1]) for r in db.query("SELECT name, checksums FROM "
                                                     "timescape_schemas")}
    assert [v.split(":")[0] for v in rows["s1"]] == ["sha256-v2", "sha256-v1"]
    assert rows["s2"][0].startswith("sha256-v2:")
    upgraded = db.query("SELECT subject FROM timescape_events WHERE kind = 'checksums_upgraded'")
    assert sorted(r[0] for r in upgraded) == ["s1", "s2"]
    (root / "migrations/s1/002_index.sql").write_text(STEP2)
    with load() as ts:
        assert ts.verify().ok  # v2 rows and the v1 row of the restored step all verify

    # an algorithm nobody here knows: refuse to guess either way
    db.execute("UPDATE timescape_schemas SET checksums = ? WHERE name = 's1'",
               (json.dumps(["sha3-v9:00", "sha3-v9:11"]),))
    before = state_fingerprint(db)
    with load() as ts:
        problems = ts.verify().problems
        assert [(p.kind, p.subject) for p in problems] == [("unverifiable", "s1")], problems
        assert "sha3-v9" in problems[0].message
        ts.deactivate(ts.resolve("v2"))  # rolls back s3 only: s1's checksums are not needed
        with pytest.raises(DriftError) as info:
            ts.activate(ts.resolve("v2"))
        assert "sha3-v9" in str(info.value)
        assert "cannot verify" in str(info.value)
        ts.activate(ts.resolve("v2"), force=True)
    assert state_fingerprint(db) != before
    kinds = [k for (k,) in db.query("SELECT kind FROM timescape_events ORDER BY id")]
    assert kinds[-1] == "version_activated"
