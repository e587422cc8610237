"""T50: a reader that cached the state while a run was going must not act on that stale view.

A run moves the generation counter at its first commit (the run marker) and its last, not once
per schema (issue 14). A reader that loaded the state in between holds a snapshot whose
generation still matches while the run commits more schemas. These scenarios make such a reader
act: after the run dies (it must plan from the rows as they are, not re-apply what the dead run
committed), and while a schema is being rolled back step by step (it must stop calling the
schema applied as soon as its first rollback step is marked).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.dbutil import TestDB
from tests.reliability.driver import build_timescape, tsv_of, write_spec
from tests.reliability.faults import start
from tests.reliability.scenarios import make_spec, version
from timescape import InterruptedMigrationError, Timescape

pytestmark = [pytest.mark.timeout(180)]


def _chain(db: TestDB) -> dict[str, Any]:
    schemas = []
    parent = None
    for name in ("A", "B", "C"):
        table = f"t50_{name.lower()}"
        schemas.append({"name": name, "parent": parent, "breaking": False,
                        "migrations": [f"CREATE TABLE {table} (id INTEGER PRIMARY KEY)"],
                        "rollback": [f"DROP TABLE {table}"], "objects": [[table]]})
        parent = name
    return make_spec(db, schemas, [version("VC", "C", 0)])


def _setup(db: TestDB, tmp_path: Path) -> tuple[Path, str, Timescape]:
    """The chain's spec file, the version on C, and the reader (a Timescape of its own)."""
    spec = _chain(db)
    return write_spec(spec, tmp_path / "spec.json"), tsv_of(spec, "VC"), build_timescape(spec)


def test_t50_reader_cached_mid_run_then_the_run_dies(db: TestDB, tmp_path: Path) -> None:
    path, vc, reader = _setup(db, tmp_path)
    try:
        assert not reader.is_schema_active("A")
        proc = start(path, "activate", "VC",
                     faults="pause:before_schema:B,kill:before_schema:C")
        proc.wait_ready("before_schema:B")
        # The run marker is committed, and A (PostgreSQL/SQLite; on MariaDB A's last step is
        # marked in flight): the reader loads the state now, at the marker's generation.
        assert reader.refresh()
        proc.release("before_schema:B")
        killed = proc.wait()
        assert killed.exit_code == -9, killed.describe()
        transactional = db.dialect in ("sqlite", "postgresql")
        if transactional:
            # B committed before the kill, without moving the generation.
            assert db.schema_row("B")["status"] == "applied"
        # Reports re-read the rows of a dead run, whatever the reader cached.
        shown = {s.name: s.status for s in reader.schemas()}
        assert shown["B"] == ("applied" if transactional else "uncertain"), shown
        if transactional:
            # Planning under the lock must start from the rows: C only, never B again.
            result = reader.activate(vc)
            assert [a.name for a in result.plan.actions] == ["C"], result.plan.actions
        else:
            # MariaDB: B's last step ran and its final row died with the process: B is
            # uncertain, exactly as a fresh process finds it (never re-applied blindly).
            with pytest.raises(InterruptedMigrationError, match="uncertain"):
                reader.activate(vc)
            assert db.schema_row("B")["status"] == "uncertain"
            reader.resolve_schema("B", steps_done=1)
            result = reader.activate(vc)
            assert [a.name for a in result.plan.actions] == ["C"], result.plan.actions
        assert reader.is_schema_active("B")
        assert reader.is_version_active(vc)
        assert reader.verify().ok, reader.verify().problems
    finally:
        reader.close()


def test_t50_reader_sees_a_schema_leave_as_its_rollback_starts(db: TestDB, tmp_path: Path) -> None:
    path, vc, reader = _setup(db, tmp_path)
    try:
        reader.activate(vc)
        proc = start(path, "deactivate", "VC",
                     faults="pause:after_run_marker,pause:during_rollback:1")
        proc.wait_ready("after_run_marker")
        # The run marker is committed: the reader loads the state at that generation.
        reader.refresh()
        assert reader.is_schema_active("C")
        proc.release("after_run_marker")
        proc.wait_ready("during_rollback:1")
        reader.refresh()
        if db.dialect == "mysql":
            # C's rollback step is marked in flight (committed): C is no longer whole, and a
            # reader refreshing now must not call it applied.
            assert db.schema_row("C")["status"] == "rolled_back"
            assert not reader.is_schema_active("C")
        else:
            # One transaction: nothing of the rollback is visible until it commits.
            assert reader.is_schema_active("C")
        proc.release("during_rollback:1")
        assert proc.wait().exit_code == 0
        reader.refresh()
        assert not reader.is_schema_active("A")
        assert not reader.is_version_active(vc)
    finally:
        reader.close()
