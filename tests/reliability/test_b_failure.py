"""Reliability part B — failure atomicity on populated databases (RELIABILITY T11, T12, T16-T19).

Each test seeds ``products`` with FK children and an unrelated table, runs the failing operation
(the real CLI where the catalogue asks for exit codes and one-line errors, the Python API
otherwise), and asserts the effects in the real catalog and the ``timescape_*`` rows: what exists,
what the state says, that no lock or statement is left, and that unrelated and child tables are
unchanged.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.clirun import write_project
from tests.dbutil import TestDB, admin_connection
from tests.reliability._b_helpers import (
    T0,
    UNRELATED,
    assert_clean,
    cli,
    fingerprint,
    one_error_line,
    seed,
    spec_for,
    state_fingerprint,
    timescape_for,
    verify_report,
)
from tests.reliability.invariants import check_invariants
from timescape import Timescape
from timescape.errors import DefinitionError, DriftError, MigrationError
from timescape.model.schema import SchemaVersion, Step

pytestmark = pytest.mark.timeout(120)


def _transactional(db: TestDB) -> bool:
    return db.dialect != "mysql"


# -- T11: malformed SQL in step k of n ----------------------------------------------------------

T11_STEP2 = {
    # The failing statement is on line 3 of 002_bad.sql (after a comment and a blank line).
    "syntax": ("-- step two: a typo\n\nCREATE TABLE t11_b (id INTEGER,, x INTEGER);\n",
               {"sqlite": "syntax error", "postgresql": "syntax error", "mysql": "1064"}),
    "unique": (("-- step two: a duplicate on populated data\n\n"
               "INSERT INTO products (id, name, price) VALUES (9999, 'product 1', 0);\n"),
               {"sqlite": "UNIQUE constraint failed", "postgresql": "duplicate key",
                "mysql": "Duplicate entry"}),
}


def _t11_project(tmp_path: Any, step2: str) -> Any:
    root = tmp_path / "proj"
    write_project(root, f"""
[database]
migration_timeout = 20

[[schemas]]
name = "s1"
dir = "migrations/s1"

[[versions]]
handler = "/api/products"
timestamp = "{T0}"
schema = "s1"
tags = ["v1"]
""", {
        "migrations/s1/001_a.sql": "CREATE TABLE t11_a (id INTEGER);\nINSERT INTO t11_a VALUES (1);\n",
        "migrations/s1/001_a.rollback.sql": "DROP TABLE t11_a;\n",
        "migrations/s1/002_bad.sql": step2,
        "migrations/s1/002_bad.rollback.sql": "SELECT 1;\n",
        "migrations/s1/003_c.sql": "CREATE TABLE t11_c (id INTEGER);\n",
        "migrations/s1/003_c.rollback.sql": "DROP TABLE t11_c;\n",
    })
    return root


def _t11_spec(db: TestDB) -> dict[str, Any]:
    return spec_for(db, [{"name": "s1", "migrations": ["x", "y", "z"],
                          "objects": [["t11_a"], ["t11_b"], ["t11_c"]]}],
                    [{"alias": "V1", "handler": "/api/products", "timestamp": T0,
                      "schema": "s1", "tags": ["v1"]}])


@pytest.mark.parametrize("variant", sorted(T11_STEP2))
def test_t11_malformed_step_2_of_3__activate__fails_atomically_with_one_line(
    db: TestDB, tmp_path: Any, variant: str
) -> None:
    seed(db)
    before = fingerprint(db)
    step2, server_says = T11_STEP2[variant]
    root = _t11_project(tmp_path, step2)

    result = cli("--database", db.url, "version", "activate", "v1", cwd=root)

    one_error_line(result, 1, "schema 's1'", "step 2", "migrations/s1/002_bad.sql:3",
                   server_says[db.dialect])
    row = db.schema_row("s1")
    assert row is not None
    assert row["status"] == "failed", row
    assert row["error"]
    assert "step 2" in row["error"]
    if _transactional(db):
        # Step 1's objects are gone with the transaction; the failure was committed apart.
        assert "t11_a" not in db.tables()
        assert row["steps_done"] == 0
    else:
        assert "t11_a" in db.tables()
        assert row["steps_done"] == 1
        assert row["step_in_flight"] is None
    assert "t11_b" not in db.tables()
    assert "t11_c" not in db.tables()
    assert db.active_versions() == set()
    assert db.event_kinds() == ["schema_failed"]
    assert fingerprint(db) == before
    assert_clean(db)
    check_invariants(db, _t11_spec(db), api=True)
    stats = cli("--database", db.url, "--json", "stats", cwd=root)
    assert stats.exit_code == 0, stats.describe()
    assert json.loads(stats.stdout)["failed_schemas"] == 1

    if not _transactional(db):
        # MariaDB: `schema rollback` undoes the applied prefix with rollback[0].
        undo = cli("--database", db.url, "schema", "rollback", "s1", cwd=root)
        assert undo.exit_code == 0, undo.describe()
        assert "t11_a" not in db.tables()
        assert db.schema_row("s1")["status"] == "rolled_back"
        assert fingerprint(db) == before
        check_invariants(db, _t11_spec(db), api=True)


@pytest.mark.dialects("mysql")
def test_t11_mariadb_second_statement_of_step_fails__uncertain_names_the_step_once(
    db: TestDB,
) -> None:
    """A multi-statement step whose 2nd statement fails leaves its 1st committed on MariaDB:
    Timescape says exactly that (uncertain, resolve needed) — and says it once."""
    seed(db)
    spec = spec_for(db, [{"name": "s1", "migrations": [
        "CREATE TABLE t11_a (id INTEGER)",
        ("CREATE TABLE t11_b (id INTEGER); INSERT INTO products (id, name, price) "
        "VALUES (9999, 'product 1', 0)")], "rollback": ["DROP TABLE t11_a", "DROP TABLE t11_b"]}])
    ts = timescape_for(spec)
    with pytest.raises(MigrationError) as info:
        ts.apply_schema("s1")
    ts.close()
    message = str(info.value)
    assert message.count("failed:") == 1, message
    assert "Duplicate entry" in message
    assert "1 statement(s) of step 2 committed" in message
    assert "schema resolve s1" in message
    row = db.schema_row("s1")
    assert (row["status"], row["steps_done"], row["step_in_flight"]) == ("uncertain", 1, 2)


# -- T12: the state write fails after the DDL ran -----------------------------------------------

_BLOCK_EVENTS = {
    "sqlite": [("CREATE TRIGGER tsb_block BEFORE INSERT ON timescape_events WHEN "
               "NEW.subject = 's1' AND NEW.kind = 'schema_applied' BEGIN "
               "SELECT RAISE(ABORT, 'tsb: state write refused'); END")],
    "postgresql": [
        ("CREATE FUNCTION tsb_block() RETURNS trigger AS $$ BEGIN IF NEW.subject = 's1' AND "
        "NEW.kind = 'schema_applied' THEN RAISE EXCEPTION 'tsb: state write refused'; END IF; "
        "RETURN NEW; END $$ LANGUAGE plpgsql"),
        ("CREATE TRIGGER tsb_block BEFORE INSERT ON timescape_events FOR EACH ROW "
        "EXECUTE FUNCTION tsb_block()")],
    "mysql": [("CREATE TRIGGER tsb_block BEFORE INSERT ON timescape_events FOR EACH ROW BEGIN "
              "IF NEW.subject = 's1' AND NEW.kind = 'schema_applied' THEN SIGNAL SQLSTATE "
              "'45000' SET MESSAGE_TEXT = 'tsb: state write refused'; END IF; END")],
}


def _t12_spec(db: TestDB, url: str | None = None) -> dict[str, Any]:
    return spec_for(db, [
        {"name": "s0", "migrations": ["CREATE TABLE t12_z (id INTEGER)"],
         "rollback": ["DROP TABLE t12_z"], "objects": [["t12_z"]]},
        {"name": "s1", "migrations": ["CREATE TABLE t12_a (id INTEGER)",
                                      "CREATE TABLE t12_b (id INTEGER)"],
         "rollback": ["DROP TABLE t12_a", "DROP TABLE t12_b"],
         "objects": [["t12_a"], ["t12_b"]]},
    ], [{"alias": "V1", "handler": "/api/products", "timestamp": T0, "schema": "s1"}],
        **({"url": url} if url else {}))


def test_t12_event_trigger_rejects_the_success_row__nothing_half_recorded(db: TestDB) -> None:
    seed(db)
    before = fingerprint(db)
    spec = _t12_spec(db)
    ts = timescape_for(spec)
    ts.apply_schema("s0")  # the state tables exist, so the trigger can be installed
    for statement in _BLOCK_EVENTS[db.dialect]:
        db.execute(statement)
    tsv = ts.resolve("latest")

    with pytest.raises(MigrationError) as info:
        ts.activate(tsv)
    ts.close()

    message = str(info.value)
    assert "writing the state tables failed" in message, message
    assert "tsb: state write refused" in message
    assert "\n" not in message
    row = db.schema_row("s1")
    assert db.active_versions() == set()
    if _transactional(db):
        assert {"t12_a", "t12_b"}.isdisjoint(db.tables())
        assert row is not None
        assert row["status"] == "failed"
        assert row["steps_done"] == 0
        assert "nothing was committed" in message
    else:
        # MariaDB: both steps ran and committed; the state says exactly that, and verify flags it.
        assert {"t12_a", "t12_b"} <= db.tables()
        assert row is not None
        assert row["status"] == "failed"
        assert row["steps_done"] == 2
        assert "2 step(s) are in place" in message
    verify = verify_report(spec)
    assert not verify.ok
    assert any(p.subject == "s1" and p.kind == "failed" for p in verify.problems), verify
    assert fingerprint(db) == before
    check_invariants(db, spec)

    # Once the state can be written again, the next activation finishes honestly.
    db.execute("DROP TRIGGER tsb_block" + (" ON timescape_events" if db.dialect == "postgresql"
                                           else ""))
    ts = timescape_for(spec)
    ts.activate(tsv)
    ts.close()
    assert db.schema_row("s1")["status"] == "applied"
    assert {"t12_a", "t12_b"} <= db.tables()
    check_invariants(db, spec, api=True)


@pytest.mark.dialects("postgresql")
def test_t12_postgresql_revoked_insert_on_events__ddl_rolled_back(db: TestDB) -> None:
    """The migrating role may not INSERT into the event log: the schema's tables must not exist."""
    seed(db)
    before = fingerprint(db)
    role = f"tsb_role_{uuid.uuid4().hex[:8]}"
    spec = _t12_spec(db)
    ts = timescape_for(spec)
    ts.apply_schema("s0")  # state tables created (and owned) by the superuser
    ts.close()
    db.execute(f"CREATE ROLE {role} LOGIN")
    try:
        db.execute(f"GRANT CONNECT ON DATABASE {db.name} TO {role}")
        db.execute(f"GRANT USAGE, CREATE ON SCHEMA public TO {role}")
        db.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
        db.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}")
        db.execute(f"REVOKE INSERT ON timescape_events FROM {role}")
        role_url = db.url.replace("postgres@", f"{role}@", 1)
        assert role_url != db.url
        role_spec = _t12_spec(db, role_url)
        ts = timescape_for(role_spec)
        with pytest.raises(MigrationError) as info:
            ts.activate(ts.resolve("latest"))
        ts.close()
        message = str(info.value)
        assert "writing the state tables failed" in message
        assert "permission denied" in message
        assert {"t12_a", "t12_b"}.isdisjoint(db.tables())
        row = db.schema_row("s1")
        assert row is None or row["status"] != "applied"
        assert db.active_versions() == set()
        assert fingerprint(db) == before
        # The failure row could not be written either (same privilege): the run marker is left,
        # and verify reports the attempt instead of pretending nothing happened.
        report = verify_report(spec)
        assert any(p.kind == "interrupted" for p in report.problems), report
        check_invariants(db, spec)
    finally:
        db.execute(f"DROP OWNED BY {role}")
        with admin_connection("postgresql") as conn:
            conn.execute(f"DROP ROLE IF EXISTS {role}")


# -- T16: statements that break atomicity -------------------------------------------------------

T16_BREAKERS = {
    "postgresql": {
        "CREATE INDEX CONCURRENTLY t16_idx ON products (price)": "CREATE INDEX CONCURRENTLY",
        "VACUUM products": "VACUUM",
        "COMMIT": "COMMIT",
        "BEGIN": "BEGIN",
    },
    "sqlite": {
        "PRAGMA foreign_keys = OFF": "PRAGMA foreign_keys",
        "VACUUM": "VACUUM",
        "COMMIT": "COMMIT",
    },
    "mysql": {
        "COMMIT": "COMMIT",
    },
}


def test_t16_transaction_breakers__refused_before_anything_runs(db: TestDB) -> None:
    """Each breaker sits in step 2 after a CREATE TABLE; step 1 creates a table too. Dry run and
    real run are both refused (exit 2) naming the statement, before anything executes."""
    seed(db)
    before = fingerprint(db)
    for statement, named in T16_BREAKERS[db.dialect].items():
        spec = spec_for(db, [{"name": "s16", "migrations": [
            "CREATE TABLE t16_a (id INTEGER)",
            f"CREATE TABLE t16_b (id INTEGER);\n{statement};\nCREATE TABLE t16_c (id INTEGER)"],
            "rollback": ["DROP TABLE t16_a", "DROP TABLE t16_b"]}])
        with timescape_for(spec) as ts:
            for dry_run in (True, False):
                with pytest.raises(DefinitionError) as info:
                    ts.apply_schema("s16", dry_run=dry_run)
                message = str(info.value)
                assert info.value.exit_code == 2
                assert named.lower() in message.lower(), message
                assert statement[:20] in message, message
                assert "s16.step2" in message, message
                assert "transactional = false" in message, message
        assert {"t16_a", "t16_b", "t16_c"}.isdisjoint(db.tables()), statement
        assert db.schema_row("s16") is None
        assert db.event_kinds() == []
    assert fingerprint(db) == before
    assert_clean(db)


@pytest.mark.dialects("postgresql")
def test_t16_create_index_concurrently_with_transactional_false__applies(db: TestDB) -> None:
    seed(db)
    before = fingerprint(db, UNRELATED)
    spec = spec_for(db, [{"name": "s16", "transactional": False, "migrations": [
        "CREATE INDEX CONCURRENTLY t16_price_idx ON products (price)"],
        "rollback": ["DROP INDEX CONCURRENTLY t16_price_idx"],
        "objects": [["products#t16_price_idx"]]}])
    ts = timescape_for(spec)
    plan = ts.apply_schema("s16", dry_run=True).plan
    assert plan.statements() == ["CREATE INDEX CONCURRENTLY t16_price_idx ON products (price)"]
    ts.apply_schema("s16")
    assert "t16_price_idx" in db.indexes("products")
    assert db.schema_row("s16")["status"] == "applied"
    check_invariants(db, spec, api=True)
    ts.rollback_schema("s16")
    ts.close()
    assert "t16_price_idx" not in db.indexes("products")
    assert fingerprint(db, UNRELATED) == before
    check_invariants(db, spec, api=True)


@pytest.mark.dialects("sqlite")
def test_t16_sqlite_third_statement_fails__statements_1_and_2_leave_nothing(db: TestDB) -> None:
    """Proves Timescape does not use executescript() or autocommit DDL (bpo-30593)."""
    seed(db)
    before = fingerprint(db)
    spec = spec_for(db, [{"name": "s16", "migrations": [
        ("CREATE TABLE t16_x (id INTEGER);\nINSERT INTO audit (id, note) VALUES (900, 'x');\n"
        "INSERT INTO products (id, name, price) VALUES (9999, 'product 1', 0);")]}])
    ts = timescape_for(spec)
    with pytest.raises(MigrationError) as info:
        ts.apply_schema("s16")
    ts.close()
    assert "UNIQUE constraint failed" in str(info.value)
    assert "t16_x" not in db.tables()
    assert fingerprint(db) == before
    assert db.schema_row("s16")["status"] == "failed"


# -- T17: migrate and roll back a populated database --------------------------------------------

_REBUILD = {
    # SQLite's documented create-copy-drop-rename rebuild of the parent of CASCADE/SET NULL FKs.
    "sqlite": (
        ("CREATE TABLE products_new (id INTEGER PRIMARY KEY, name VARCHAR(60) NOT NULL UNIQUE, "
        "price INTEGER NOT NULL, sku VARCHAR(20));\n"
        "INSERT INTO products_new (id, name, price, sku) SELECT id, name, price, 'sku-' || id "
        "FROM products;\nDROP TABLE products;\nALTER TABLE products_new RENAME TO products;"),
        ("CREATE TABLE products_old (id INTEGER PRIMARY KEY, name VARCHAR(60) NOT NULL UNIQUE, "
        "price INTEGER NOT NULL);\nINSERT INTO products_old (id, name, price) SELECT id, name, "
        "price FROM products;\nDROP TABLE products;\nALTER TABLE products_old RENAME TO products;"),
    ),
    # A table rewrite on PostgreSQL; a copying rebuild on MariaDB.
    "postgresql": (
        ("ALTER TABLE products ADD COLUMN sku VARCHAR(20);\nUPDATE products SET sku = 'sku-' || id;"
        "\nALTER TABLE products ALTER COLUMN price TYPE BIGINT"),
        ("ALTER TABLE products ALTER COLUMN price TYPE INTEGER;\n"
        "ALTER TABLE products DROP COLUMN sku"),
    ),
    "mysql": (
        ("ALTER TABLE products ADD COLUMN sku VARCHAR(20), ALGORITHM=COPY;\n"
        "UPDATE products SET sku = CONCAT('sku-', id)"),
        "ALTER TABLE products DROP COLUMN sku, ALGORITHM=COPY",
    ),
}


def test_t17_rebuild_parent_of_cascading_children__children_unchanged_each_way(
    db: TestDB,
) -> None:
    seed(db)
    children = fingerprint(db, UNRELATED)
    products = db.count("products")
    forward, backward = _REBUILD[db.dialect]
    spec = spec_for(db, [{"name": "s17", "migrations": [forward], "rollback": [backward],
                          "objects": [["products.sku"]]}],
                    [{"alias": "V1", "handler": "/api/products", "timestamp": T0,
                      "schema": "s17"}])
    ts = timescape_for(spec)
    tsv = ts.resolve("latest")
    previous = None
    for _ in range(2):
        ts.activate(tsv)
        assert "sku" in db.columns("products")
        assert db.count("products") == products
        assert db.query("SELECT sku FROM products WHERE id = 7") == [("sku-7",)]
        assert fingerprint(db, UNRELATED) == children
        previous = check_invariants(db, spec, previous=previous, api=True)
        ts.deactivate(tsv)
        assert "sku" not in db.columns("products")
        assert db.count("products") == products
        assert fingerprint(db, UNRELATED) == children
        previous = check_invariants(db, spec, previous=previous, api=True)
    ts.close()
    if db.dialect == "sqlite":
        conn = db.connect()
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_t17_step_that_would_orphan_or_cascade__fails_and_rolls_back(db: TestDB) -> None:
    seed(db)
    before = fingerprint(db)
    statement = {
        # Timescape migrates with foreign_keys off (so a rebuild cannot cascade); deleting a
        # parent row then orphans children, which foreign_key_check catches before commit.
        "sqlite": "DELETE FROM products WHERE id = 3",
        # The servers enforce the FK: dropping the parent is refused outright.
        "postgresql": "DROP TABLE products",
        "mysql": "DROP TABLE products",
    }[db.dialect]
    spec = spec_for(db, [{"name": "s17", "migrations": ["CREATE TABLE t17_a (id INTEGER)",
                                                        statement]}])
    ts = timescape_for(spec)
    with pytest.raises(MigrationError) as info:
        ts.apply_schema("s17")
    ts.close()
    if db.dialect == "sqlite":
        assert "foreign key violations" in str(info.value)
        assert "orders" in str(info.value)
    assert fingerprint(db) == before
    assert db.schema_row("s17")["status"] == "failed"
    assert ("t17_a" in db.tables()) is (db.dialect == "mysql")


# -- T18: out of space (SQLite) -----------------------------------------------------------------


@pytest.mark.dialects("sqlite")
def test_t18_sqlite_disk_full__nothing_remains_and_file_is_sound(db: TestDB) -> None:
    """``PRAGMA max_page_count`` is per connection and Timescape opens its own, so the limit is
    set by the migration's first statement (inside its transaction); it stays in force on that
    connection, which is why a fresh facade does the retry."""
    seed(db)
    before = fingerprint(db)
    base = spec_for(db, [{"name": "s0", "migrations": ["CREATE TABLE t18_z (id INTEGER)"]}])
    with timescape_for(base) as ts:
        ts.apply_schema("s0")  # bootstrap the state tables first
    pages = db.query("PRAGMA page_count")[0][0]
    fill = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) "
            "INSERT INTO t18_big SELECT randomblob(2000) FROM n")
    schemas = [
        {"name": "s0", "migrations": ["CREATE TABLE t18_z (id INTEGER)"]},
        {"name": "s18", "migrations": [
            f"PRAGMA max_page_count = {pages + 40};\nCREATE TABLE t18_big (b BLOB)",
            fill]},
    ]
    ts = timescape_for(spec_for(db, schemas))
    with pytest.raises(MigrationError) as info:
        ts.apply_schema("s18")
    ts.close()
    assert info.value.exit_code == 1
    assert "database or disk is full" in str(info.value)
    assert "step 2" in str(info.value)
    assert "t18_big" not in db.tables()
    assert fingerprint(db) == before
    row = db.schema_row("s18")
    assert row is not None, row
    assert row["status"] == "failed", row
    conn = db.connect()
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert verify_report(spec_for(db, schemas[:1])).ok is False  # the failed s18 row
    # With the cause fixed (no limit), the retry applies cleanly.
    fixed = [schemas[0], {"name": "s18", "migrations": ["CREATE TABLE t18_big (b BLOB)",
                                                        fill.replace("20000", "50")]}]
    ts = timescape_for(spec_for(db, fixed))
    ts.apply_schema("s18")
    ts.close()
    assert db.count("t18_big") == 50
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


# -- T19: fix and resume; the applied prefix is immutable ---------------------------------------


def _t19_schema(step1: str, step2: str) -> dict[str, Any]:
    return {"name": "s19", "migrations": [step1, step2, "CREATE TABLE t19_c (id INTEGER)"],
            "rollback": ["DROP TABLE t19_a", "DELETE FROM audit WHERE id = 777",
                         "DROP TABLE t19_c"],
            "objects": [["t19_a"], ["audit?id = 777"], ["t19_c"]]}


T19_STEP1 = "CREATE TABLE t19_a (id INTEGER);\nINSERT INTO t19_witness VALUES (1)"
T19_BAD = "INSERT INTO audit (id, note) VALUES (1, 'duplicate key')"
T19_GOOD = "INSERT INTO audit (id, note) VALUES (777, 'fixed')"


def test_t19_fix_step_2_and_resume__prefix_runs_once_history_keeps_failure(db: TestDB) -> None:
    seed(db)
    db.execute("CREATE TABLE t19_witness (n INTEGER)")
    versions = [{"alias": "V1", "handler": "/api/products", "timestamp": T0, "schema": "s19"}]
    broken = spec_for(db, [_t19_schema(T19_STEP1, T19_BAD)], versions)
    ts = timescape_for(broken)
    with pytest.raises(MigrationError):
        ts.apply_schema("s19")
    ts.close()
    failed_row = db.schema_row("s19")
    assert failed_row["status"] == "failed"
    assert failed_row["steps_done"] == (0 if _transactional(db) else 1)

    fixed = spec_for(db, [_t19_schema(T19_STEP1, T19_GOOD)], versions)
    ts = timescape_for(fixed)
    result = ts.apply_schema("s19")
    planned = [s.index for a in result.plan.actions for s in a.steps]
    # MariaDB resumes at step 2; PostgreSQL/SQLite re-apply everything (nothing had remained).
    assert planned == ([1, 2, 3] if _transactional(db) else [2, 3])
    assert db.count("t19_witness") == 1  # step 1 ran exactly once in effect
    info = ts.schema_info("s19")
    assert info.status == "applied"
    assert info.stored_checksums == info.step_checksums  # the final definitions' checksums
    assert ts.stats().pending_schemas == 0
    assert ts.verify().ok
    again = ts.activate(ts.resolve("latest"))
    assert not again.plan.actions  # the schema is in place: nothing to apply
    noop = ts.activate(ts.resolve("latest"))
    assert noop.plan.is_noop
    assert "already active" in " ".join(noop.plan.notes)
    kinds = [e.kind for e in reversed(ts.history(limit=20))]
    ts.close()
    assert kinds[0] == "schema_failed"
    assert "schema_applied" in kinds
    check_invariants(db, fixed, api=True)


@pytest.mark.dialects("mysql")
def test_t19_mariadb_edit_applied_step_1_after_failure__refused_unless_forced(
    db: TestDB,
) -> None:
    seed(db)
    db.execute("CREATE TABLE t19_witness (n INTEGER)")
    ts = timescape_for(spec_for(db, [_t19_schema(T19_STEP1, T19_BAD)]))
    with pytest.raises(MigrationError):
        ts.apply_schema("s19")
    ts.close()
    stored = db.query("SELECT checksums FROM timescape_schemas WHERE name = 's19'")[0][0]
    state = state_fingerprint(db)

    edited = spec_for(db, [_t19_schema(T19_STEP1 + " -- edited", T19_GOOD)])
    ts = timescape_for(edited)
    with pytest.raises(DriftError) as info:
        ts.apply_schema("s19")
    message = str(info.value)
    old = json.loads(stored)[0]
    new = ts.catalog.schema("s19").checksums[0]
    assert f"step 1 was applied with checksum {old}, definition now {new}" in message
    assert info.value.exit_code == 1
    assert state_fingerprint(db) == state  # refused: nothing written
    report = ts.verify()
    assert any(p.kind == "drift" and p.subject == "s19" for p in report.problems), report

    ts.apply_schema("s19", force=True)
    events = ts.history(limit=5)
    ts.close()
    applied = next(e for e in events if e.kind == "schema_applied")
    assert applied.detail.get("forced") == ["drift ignored: s19 step 1"], applied
    assert db.count("t19_witness") == 1
    assert db.schema_row("s19")["status"] == "applied"


def test_t11_python_api_step_from_file__error_names_file_and_line(db: TestDB) -> None:
    """The same facts reach Python callers: the exception carries file, line and statement."""
    seed(db)
    schema = SchemaVersion.build("s1", [
        Step("CREATE TABLE t11_a (id INTEGER)", "DROP TABLE t11_a", "001_a", "m/001_a.sql"),
        Step("-- comment\n\nINSERT INTO products (id, name, price) VALUES (1, 'x', 1)",
             "SELECT 1", "002_b", "m/002_b.sql"),
    ])
    ts = Timescape(db.url, schemas=[schema], infer_compatibility=False)
    with pytest.raises(MigrationError) as info:
        ts.apply_schema("s1")
    ts.close()
    error = info.value
    assert (error.schema, error.step, error.file, error.line) == ("s1", 2, "m/002_b.sql", 3)
    assert error.statement.startswith("INSERT INTO products")
    assert "(m/002_b.sql:3)" in str(error)
