"""Refusals and failures: the gate, failing steps, timeouts, failed rollbacks, drift."""

from __future__ import annotations

import time

import pytest

from tests.dbutil import TestDB
from tests.integration.apps import (
    LONG_STATEMENT,
    PRODUCT_ROWS,
    PRODUCTS,
    PRODUCTS_TABLE,
)
from timescape import (
    CompatibilityError,
    DriftError,
    MigrationError,
    MigrationTimeoutError,
    RollbackRefusedError,
    Timescape,
)

DROP_NAME = "ALTER TABLE products DROP COLUMN name"
ADD_NAME = "ALTER TABLE products ADD COLUMN name VARCHAR(100)"


def _gate_app(db: TestDB, **s2: object) -> tuple[Timescape, str, str]:
    """v1 live on s1 (populated products); v2 on s2, which drops a column v1 reads."""
    ts = Timescape(db.url, infer_compatibility=False)
    ts.add_schema("s1", [f"{PRODUCTS_TABLE}; {PRODUCT_ROWS}"], ["DROP TABLE products"])
    ts.add_schema("s2", [DROP_NAME], [ADD_NAME], parent="s1", **s2)  # type: ignore[arg-type]
    v1 = ts.add_version(PRODUCTS, "2025-01-01T00:00:00Z", "s1")
    v2 = ts.add_version(PRODUCTS, "2025-02-01T00:00:00Z", "s2")
    ts.activate(v1)
    return ts, v1, v2


# -- (d) the compatibility gate ----------------------------------------------------------------


def test_gate__breaking_or_undeclared_while_v1_live__refused_naming_v1_nothing_applied(
    db: TestDB,
) -> None:
    ts, v1, v2 = _gate_app(db, breaking=True)
    ts.add_schema("s3", [DROP_NAME], [ADD_NAME], parent="s1")  # undeclared: counts as breaking
    v3 = ts.add_version(PRODUCTS, "2025-03-01T00:00:00Z", "s3")
    events = db.event_kinds()
    for tsv, reason in ((v2, "declared breaking"), (v3, "undeclared")):
        with pytest.raises(CompatibilityError, match=reason) as info:
            ts.activate(tsv)
        assert info.value.broken_versions == [v1]
        assert v1 in info.value.message
    assert db.columns("products") == ["id", "name"]
    assert db.count("products") == 3
    assert db.schema_row("s2") is None
    assert db.schema_row("s3") is None
    assert db.active_versions() == {v1}
    assert db.event_kinds() == events
    ts.close()


def test_gate__compatible_with_or_breaking_false__allowed(db: TestDB) -> None:
    ts, v1, v2 = _gate_app(db, compatible_with=["s1"])
    ts.add_schema("s3", ["ALTER TABLE products ADD COLUMN price INTEGER"],
                  ["ALTER TABLE products DROP COLUMN price"], parent="s2", breaking=False)
    v3 = ts.add_version(PRODUCTS, "2025-03-01T00:00:00Z", "s3")
    ts.activate(v2)
    assert db.columns("products") == ["id"]
    ts.activate(v3)  # checked against v1 (s1) and v2 (s2): declared non-breaking
    assert db.columns("products") == ["id", "price"]
    assert db.count("products") == 3
    assert db.active_versions() == {v1, v2, v3}
    ts.close()


def test_gate__forced__applied_and_forced_entry_in_event_detail(db: TestDB) -> None:
    ts, v1, v2 = _gate_app(db, breaking=True)
    result = ts.activate(v2, force=True)
    assert result.plan.forced == (f"compatibility gate overridden: s2 vs {v1}",)
    assert db.columns("products") == ["id"]
    assert db.active_versions() == {v1, v2}
    rows = db.query("SELECT detail FROM timescape_events WHERE kind = 'version_activated' "
                    "AND subject = ?", (v2,))
    assert "compatibility gate overridden" in rows[0][0]
    ts.close()


# -- a failing step ----------------------------------------------------------------------------


def _failing_app(db: TestDB) -> tuple[Timescape, str]:
    ts = Timescape(db.url)
    ts.add_schema(
        "s1",
        [f"{PRODUCTS_TABLE}; {PRODUCT_ROWS}",
         "INSERT INTO no_such_table (id) VALUES (1)",
         "CREATE TABLE third_t (id INTEGER PRIMARY KEY)"],
        ["DROP TABLE products", "SELECT 1", "DROP TABLE third_t"],
    )
    return ts, ts.add_version(PRODUCTS, "2025-01-01T00:00:00Z", "s1")


def test_failing_step__activate_then_rollback__recorded_failed_then_undone(db: TestDB) -> None:
    ts, tsv = _failing_app(db)
    with pytest.raises(MigrationError) as info:
        ts.activate(tsv)
    assert info.value.schema == "s1"
    assert info.value.step == 2
    assert "no_such_table" in info.value.message
    row = db.schema_row("s1")
    assert row is not None
    assert row["status"] == "failed"
    assert "no_such_table" in row["error"]
    assert db.active_versions() == set()
    assert "third_t" not in db.tables()
    assert ts.stats().failed_schemas == 1
    assert "schema_failed" in db.event_kinds()
    report = ts.verify()
    assert not report.ok
    assert [(p.kind, p.subject) for p in report.problems] == [("failed", "s1")]
    if ts.backend.transactional_ddl:
        # PostgreSQL / SQLite: one transaction, nothing of step 1 remains.
        assert "products" not in db.tables()
        assert row["steps_done"] == 0
    else:
        # MariaDB: DDL committed step by step; progress says exactly how far it got.
        assert db.count("products") == 3
        assert row["steps_done"] == 1
        assert row["step_in_flight"] is None
    assert ts.backend.lock_is_free()

    result = ts.rollback_schema("s1")
    if ts.backend.transactional_ddl:
        assert result.plan.is_noop
        assert db.schema_row("s1")["status"] == "failed"
    else:
        assert [s.index for s in result.plan.actions[0].steps] == [1]
        assert db.schema_row("s1")["status"] == "rolled_back"
    assert "products" not in db.tables()
    assert db.schema_row("s1")["steps_done"] == 0
    ts.close()


def test_failing_step__fixed_definition__retry_completes(db: TestDB) -> None:
    ts, tsv = _failing_app(db)
    with pytest.raises(MigrationError):
        ts.activate(tsv)
    fixed = Timescape(db.url)
    fixed.add_schema(
        "s1",
        [f"{PRODUCTS_TABLE}; {PRODUCT_ROWS}", "CREATE TABLE second_t (id INTEGER PRIMARY KEY)",
         "CREATE TABLE third_t (id INTEGER PRIMARY KEY)"],
        ["DROP TABLE products", "DROP TABLE second_t", "DROP TABLE third_t"],
    )
    fixed.add_version(PRODUCTS, "2025-01-01T00:00:00Z", "s1")
    result = fixed.activate(tsv)
    expected_steps = [1, 2, 3] if ts.backend.transactional_ddl else [2, 3]
    assert [s.index for s in result.plan.actions[0].steps] == expected_steps
    assert db.schema_row("s1")["status"] == "applied"
    assert {"products", "second_t", "third_t"} <= db.tables()
    assert db.count("products") == 3
    assert fixed.verify().ok
    ts.close()
    fixed.close()


# -- timeouts ----------------------------------------------------------------------------------


def _statement_running(db: TestDB) -> list[tuple[object, ...]]:
    """Timescape statements still running on the server for this test's database."""
    if db.dialect == "postgresql":
        return db.query(
            "SELECT pid, state, query FROM pg_stat_activity WHERE application_name = 'timescape' "
            "AND datname = ? AND state <> 'idle' AND pid <> pg_backend_pid()", (db.name,))
    if db.dialect == "mysql":
        return db.query(
            "SELECT id, info FROM information_schema.processlist WHERE db = ? "
            "AND info LIKE '%%SLEEP(30)%%' AND id <> CONNECTION_ID()", (db.name,))
    return []


def test_timeout__statement_outlives_migration_timeout__cancelled_on_server(db: TestDB) -> None:
    ts = Timescape(db.url, migration_timeout=1.0)
    ts.add_schema("slow", ["CREATE TABLE slow_t (id INTEGER PRIMARY KEY)",
                           LONG_STATEMENT[db.dialect]],
                  ["DROP TABLE slow_t", "SELECT 1"])
    tsv = ts.add_version(PRODUCTS, "2025-01-01T00:00:00Z", "slow")
    started = time.monotonic()
    with pytest.raises(MigrationTimeoutError, match=r"timed out after 1 s") as info:
        ts.activate(tsv)
    elapsed = time.monotonic() - started
    assert elapsed < 1.0 + 1.5, f"took {elapsed:.2f} s"
    assert info.value.step == 2
    assert _statement_running(db) == []
    row = db.schema_row("slow")
    assert row["status"] == "failed"
    assert "timed out" in row["error"]
    assert db.active_versions() == set()
    if ts.backend.transactional_ddl:
        assert "slow_t" not in db.tables()
    else:
        assert row["steps_done"] == 1
    # The connection is usable and the lock free: a later operation works at once.
    assert ts.backend.lock_is_free()
    ts.add_schema("quick", ["CREATE TABLE quick_t (id INTEGER PRIMARY KEY)"],
                  ["DROP TABLE quick_t"], breaking=False)
    ts.apply_schema("quick")
    assert "quick_t" in db.tables()
    ts.close()


def test_timeout__budget_is_per_schema__steps_share_it(db: TestDB) -> None:
    def nap(conn: object) -> None:
        del conn
        time.sleep(0.4)

    ts = Timescape(db.url, migration_timeout=1.0)
    ts.add_schema("naps", [nap, nap, nap, nap], [nap, nap, nap, nap])
    tsv = ts.add_version(PRODUCTS, "2025-01-01T00:00:00Z", "naps")
    started = time.monotonic()
    with pytest.raises(MigrationTimeoutError) as info:
        ts.activate(tsv)
    assert time.monotonic() - started < 1.0 + 1.5
    # Each step alone is well inside the budget: only a per-schema budget runs out (at step 3,
    # or step 2 when the state writes between steps are slow).
    assert info.value.step in (2, 3)
    assert db.active_versions() == set()
    ts.close()


# -- failed and refused rollbacks --------------------------------------------------------------


def test_deactivate__rollback_step_fails__error_raised_nothing_half_done(db: TestDB) -> None:
    ts = Timescape(db.url)
    ts.add_schema(
        "s1",
        [f"{PRODUCTS_TABLE}; {PRODUCT_ROWS}", "CREATE TABLE extra_t (id INTEGER PRIMARY KEY)"],
        ["DROP TABLE products", "DROP TABLE no_such_table"],
    )
    tsv = ts.add_version(PRODUCTS, "2025-01-01T00:00:00Z", "s1")
    ts.activate(tsv)
    deactivated: list[object] = []
    ts.on_version_deactivated(lambda **kw: deactivated.append(kw["tsv"]))
    with pytest.raises(MigrationError) as info:
        ts.deactivate(tsv)
    # Callbacks report what was committed, whichever way the database went.
    assert deactivated == ([] if tsv in db.active_versions() else [tsv])
    assert info.value.phase == "rollback"
    assert info.value.step == 2
    row = db.schema_row("s1")
    assert "no_such_table" in row["error"]
    assert db.count("products") == 3
    if ts.backend.transactional_ddl:
        # Atomic: the version stays live and its schema fully applied.
        assert db.active_versions() == {tsv}
        assert row["status"] == "applied"
        assert row["steps_done"] == 2
        assert "extra_t" in db.tables()
        assert ts.is_version_active(tsv)
    else:
        # MariaDB: taken out of service first; the rollback stopped before step 2 was undone.
        assert db.active_versions() == set()
        assert row["status"] == "failed"
        assert row["steps_done"] == 2
    assert "rollback_failed" in db.event_kinds()
    ts.close()


def test_deactivate__irreversible_schema__refused_before_anything_runs(db: TestDB) -> None:
    ts = Timescape(db.url)
    ts.add_schema("s1", [f"{PRODUCTS_TABLE}; {PRODUCT_ROWS}"])
    tsv = ts.add_version(PRODUCTS, "2025-01-01T00:00:00Z", "s1")
    ts.activate(tsv)
    events = db.event_kinds()
    with pytest.raises(RollbackRefusedError, match="irreversible"):
        ts.deactivate(tsv)
    with pytest.raises(RollbackRefusedError, match="irreversible"):
        ts.rollback_schema("s1", force=True)
    assert db.active_versions() == {tsv}
    assert db.count("products") == 3
    assert db.event_kinds() == events
    ts.deactivate(tsv, keep_schema=True)
    assert db.active_versions() == set()
    assert db.count("products") == 3
    ts.close()


# -- drift -------------------------------------------------------------------------------------


def _drift_app(db: TestDB, first_step: str) -> tuple[Timescape, str, str]:
    ts = Timescape(db.url)
    ts.add_schema("s1", [first_step], ["DROP TABLE products"])
    ts.add_schema("s2", ["CREATE TABLE reviews (id INTEGER PRIMARY KEY)"],
                  ["DROP TABLE reviews"], parent="s1", breaking=False)
    v1 = ts.add_version(PRODUCTS, "2025-01-01T00:00:00Z", "s1")
    v2 = ts.add_version(PRODUCTS, "2025-02-01T00:00:00Z", "s2")
    return ts, v1, v2


def test_drift__applied_step_edited__verify_names_step_and_activation_refused(db: TestDB) -> None:
    original, v1, _ = _drift_app(db, f"{PRODUCTS_TABLE}; {PRODUCT_ROWS}")
    original.activate(v1)
    original.close()

    edited, _, v2 = _drift_app(db, f"{PRODUCTS_TABLE}; {PRODUCT_ROWS} -- edited later")
    report = edited.verify()
    assert not report.ok
    (problem,) = report.problems
    assert (problem.kind, problem.subject, problem.facts["step"]) == ("drift", "s1", 1)
    assert "step 1" in problem.message
    with pytest.raises(DriftError, match="'s1' migration step 1") as info:
        edited.activate(v2)
    assert info.value.step == 1
    assert "reviews" not in db.tables()

    result = edited.activate(v2, force=True)
    assert result.plan.forced == ("drift ignored: s1 step 1",)
    assert "reviews" in db.tables()
    detail = db.query("SELECT detail FROM timescape_events WHERE kind = 'version_activated' "
                      "AND subject = ?", (v2,))[0][0]
    assert "drift ignored: s1 step 1" in detail
    edited.close()


def test_drift__only_line_endings_and_trailing_space_changed__no_drift(db: TestDB) -> None:
    original, v1, _ = _drift_app(db, f"{PRODUCTS_TABLE};\n{PRODUCT_ROWS}")
    original.activate(v1)
    original.close()
    same, _, v2 = _drift_app(db, f"\ufeff{PRODUCTS_TABLE};\r\n{PRODUCT_ROWS}  \r\n")
    assert same.verify().ok
    same.activate(v2)
    assert "reviews" in db.tables()
    same.close()
