"""A migration's session settings never reach Timescape's bookkeeping, nor the next schema (T40).

Each test applies ``s0`` (a probe that records the session it runs in), ``s1`` (the change under
test) and ``s2`` (the same probe) in one run, then asserts that ``s1`` was recorded ``applied`` in
the configured schema/database, that no state table appeared anywhere else, and that ``s2`` saw the
session ``s0`` saw.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.dbutil import TestDB, admin_connection
from timescape import MigrationError, Timescape

PROBES = {
    "postgresql": (
        "CREATE TABLE {table} AS SELECT current_setting('search_path') AS search_path, "
        "current_user::text AS who, session_user::text AS session_who, "
        "current_setting('TimeZone') AS tz, current_setting('statement_timeout') AS st, "
        "current_setting('lock_timeout') AS lt, current_setting('client_encoding') AS enc, "
        "current_setting('check_function_bodies') AS cfb, current_setting('row_security') AS rs"
    ),
    "mysql": (
        "CREATE TABLE {table} AS SELECT DATABASE() AS db, @@character_set_client AS cs, "
        "@@character_set_results AS cr, @@collation_connection AS cc, @@sql_mode AS mode, "
        "@@time_zone AS tz, @@foreign_key_checks AS fk, @@unique_checks AS uc, "
        "@@autocommit AS ac, @@lock_wait_timeout AS lwt"
    ),
    "sqlite": (
        "CREATE TABLE {table} AS SELECT (SELECT query_only FROM pragma_query_only) AS q, "
        "(SELECT recursive_triggers FROM pragma_recursive_triggers) AS r, "
        "(SELECT foreign_keys FROM pragma_foreign_keys) AS f, "
        "(SELECT ignore_check_constraints FROM pragma_ignore_check_constraints) AS icc, "
        "(SELECT count(*) FROM pragma_database_list WHERE name NOT IN ('main', 'temp')) AS att, "
        "('a' LIKE 'A') AS ci_like"
    ),
}


def _probe(db: TestDB, table: str) -> list[tuple[object, ...]]:
    return db.query(f"SELECT * FROM {table}")


def _run(db: TestDB, change: list[str], *, transactional: bool = True) -> Timescape:
    """Apply probe s0, the change s1 and probe s2 in one run; return the facade (open)."""
    ts = Timescape(db.url, infer_compatibility=False, migration_timeout=20)
    ts.add_schema("s0", [PROBES[db.dialect].format(table="seen_0")])
    ts.add_schema("s1", change, parent="s0", transactional=transactional)
    ts.add_schema("s2", [PROBES[db.dialect].format(table="seen_2")], parent="s1")
    ts.apply_schema("s2")
    return ts


def _assert_isolated(db: TestDB, ts: Timescape) -> None:
    for name in ("s0", "s1", "s2"):
        row = db.schema_row(name)
        assert row is not None, name
        assert row["status"] == "applied", (name, row)
    assert _probe(db, "seen_2") == _probe(db, "seen_0")
    assert [s.name for s in ts.schemas() if s.status == "applied"] == ["s0", "s1", "s2"]


@pytest.fixture
def pg_role(db: TestDB) -> Iterator[str]:
    """A throwaway login role (cluster-wide), dropped after the test."""
    role = f"tsw11_{uuid.uuid4().hex[:8]}"
    db.execute(f"CREATE ROLE {role}")
    try:
        yield role
    finally:
        db.close()
        with admin_connection("postgresql") as admin:
            admin.cursor().execute(f"DROP ROLE IF EXISTS {role}")


# -- the minimal reproducers of issue 11 --------------------------------------------------------


@pytest.mark.dialects("postgresql")
def test_pg_dump_search_path__set_config_empty__state_written_and_next_schema_restored(
    db: TestDB,
) -> None:
    ts = _run(
        db,
        [
            ("SELECT pg_catalog.set_config('search_path', '', false); "
            "CREATE TABLE public.a (id int)")
        ],
    )
    _assert_isolated(db, ts)
    assert "a" in db.tables()
    ts.close()


@pytest.mark.dialects("postgresql")
def test_search_path_to_other_schema__no_state_table_there(db: TestDB) -> None:
    ts = _run(db, ["CREATE SCHEMA other; SET search_path = other; CREATE TABLE a (id int)"])
    _assert_isolated(db, ts)
    there = db.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'other'"
    )
    assert there == [("a",)]
    ts.close()


@pytest.mark.dialects("mysql")
def test_use_other_database__table_there_state_here_next_schema_back(db: TestDB) -> None:
    other = f"{db.name}_other"
    db.execute(f"CREATE DATABASE {other}")
    try:
        ts = _run(db, [f"USE {other}; CREATE TABLE a (id int)"])
        _assert_isolated(db, ts)
        there = db.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ?", (other,)
        )
        assert there == [("a",)]
        assert "a" not in db.tables()
        ts.close()
    finally:
        db.execute(f"DROP DATABASE {other}")


# -- each setting of the list -----------------------------------------------------------


@pytest.mark.dialects("postgresql")
def test_set_role__state_written_as_session_user_next_schema_back(
    db: TestDB, pg_role: str
) -> None:
    # The role may not even read the state tables: the state writes must run after RESET ROLE.
    ts = _run(db, [f"SET ROLE {pg_role}; SELECT 1"])
    _assert_isolated(db, ts)
    assert _probe(db, "seen_2")[0][1] == "postgres"
    ts.close()


@pytest.mark.dialects("postgresql")
def test_set_session_authorization__reset_before_state_writes(db: TestDB, pg_role: str) -> None:
    ts = _run(db, [f"SET SESSION AUTHORIZATION {pg_role}; SELECT 1"])
    _assert_isolated(db, ts)
    assert _probe(db, "seen_2")[0][2] == "postgres"
    ts.close()


@pytest.mark.dialects("postgresql")
def test_time_zone_timeouts_and_dump_settings__restored(db: TestDB) -> None:
    ts = _run(
        db,
        [
            ("SET TIME ZONE 'Asia/Tokyo'; SET statement_timeout = 0; SET lock_timeout = 0; "
            "SET client_encoding = 'LATIN1'; SET check_function_bodies = false; "
            "SET row_security = off; CREATE TABLE a (id int)")
        ],
    )
    _assert_isolated(db, ts)
    ts.close()


@pytest.mark.dialects("postgresql")
def test_short_statement_timeout__state_writes_and_next_schema_keep_timescapes_own(
    db: TestDB,
) -> None:
    # Without the restore, the state writes sent with the COMMIT would run under 50 ms, and the
    # next schema would see it (the probe).
    ts = _run(db, ["CREATE TABLE a (id int); SET lock_timeout = 50; SET statement_timeout = 50"])
    _assert_isolated(db, ts)
    ts.close()


@pytest.mark.dialects("postgresql")
def test_non_transactional_schema__search_path_and_time_zone_restored(db: TestDB) -> None:
    ts = _run(
        db,
        [
            "SELECT pg_catalog.set_config('search_path', '', false)",
            "SET TIME ZONE 'Asia/Tokyo'; CREATE TABLE public.a (id int)",
        ],
        transactional=False,
    )
    _assert_isolated(db, ts)
    ts.close()


@pytest.mark.dialects("mysql")
def test_names_sql_mode_time_zone_checks__restored_before_state_and_next_schema(
    db: TestDB,
) -> None:
    ts = _run(
        db,
        [
            "CREATE TABLE a (id int)",
            ("SET NAMES latin1; SET sql_mode = 'ANSI_QUOTES,NO_BACKSLASH_ESCAPES'; "
            "SET time_zone = '+09:00'; SET foreign_key_checks = 0; SET unique_checks = 0; "
            "SET lock_wait_timeout = 1; SET character_set_results = NULL"),
        ],
    )
    _assert_isolated(db, ts)
    ts.close()


@pytest.mark.dialects("mysql")
def test_lock_tables_left_held__state_written(db: TestDB) -> None:
    # LOCK TABLES makes every other table unreadable to the session: UNLOCK TABLES comes first.
    ts = _run(db, ["CREATE TABLE a (id int); LOCK TABLES a WRITE; INSERT INTO a VALUES (1)"])
    _assert_isolated(db, ts)
    assert db.count("a") == 1
    ts.close()


@pytest.mark.dialects("mysql")
def test_conditional_comments__mysqldump_style_set__restored(db: TestDB) -> None:
    ts = _run(
        db,
        [
            ("/*!40101 SET NAMES latin1 */; /*!40103 SET TIME_ZONE='+00:00' */; "
            "/*!40014 SET FOREIGN_KEY_CHECKS=0 */; CREATE TABLE a (id int)")
        ],
    )
    _assert_isolated(db, ts)
    ts.close()


@pytest.mark.dialects("sqlite")
def test_pragmas__query_only_and_friends__state_written_next_schema_restored(db: TestDB) -> None:
    # query_only would make the state writes in the same transaction fail.
    ts = _run(
        db,
        [
            ("CREATE TABLE a (id int); PRAGMA recursive_triggers = ON; "
            "PRAGMA ignore_check_constraints = ON; PRAGMA case_sensitive_like = ON; "
            "PRAGMA query_only = ON")
        ],
    )
    _assert_isolated(db, ts)
    ts.close()


@pytest.mark.dialects("sqlite")
def test_non_transactional_schema__foreign_keys_and_attach_restored(db: TestDB) -> None:
    assert db.path is not None
    aux = db.path.with_name(db.path.stem + "_aux.db")
    ts = _run(
        db,
        [f"PRAGMA foreign_keys = ON; ATTACH DATABASE '{aux}' AS aux; CREATE TABLE aux.a (id int)"],
        transactional=False,
    )
    _assert_isolated(db, ts)
    ts.close()


def test_python_step__session_change__restored(db: TestDB) -> None:
    changes = {
        "postgresql": "SET search_path = pg_catalog",
        "mysql": "SET sql_mode = 'ANSI_QUOTES'",
        "sqlite": "PRAGMA recursive_triggers = ON",
    }

    def step(conn: object) -> None:
        conn.execute(changes[db.dialect])  # type: ignore[attr-defined]

    ts = _run(db, [step])  # type: ignore[list-item]
    _assert_isolated(db, ts)
    ts.close()


def test_failed_step_after_session_change__failure_recorded_next_run_clean(db: TestDB) -> None:
    changes = {
        "postgresql": "SELECT pg_catalog.set_config('search_path', '', false)",
        "mysql": "SET NAMES latin1",
        "sqlite": "PRAGMA query_only = ON",
    }
    ts = Timescape(db.url, infer_compatibility=False)
    ts.add_schema("s0", [PROBES[db.dialect].format(table="seen_0")])
    ts.add_schema("s1", [f"{changes[db.dialect]}; SELECT * FROM no_such_table"], parent="s0")
    ts.add_schema("s2", [PROBES[db.dialect].format(table="seen_2")], parent="s0")
    with pytest.raises(MigrationError, match="no_such_table"):
        ts.apply_schema("s1")
    row = db.schema_row("s1")
    assert row is not None
    # Without transactional DDL the SET before the failing statement committed: uncertain.
    assert row["status"] == ("failed" if ts.backend.transactional_ddl else "uncertain")
    ts.apply_schema("s2")
    assert _probe(db, "seen_2") == _probe(db, "seen_0")
    ts.close()


@pytest.mark.dialects("postgresql")
def test_state_schema_from_connect_search_path__kept_when_migration_moves_it(db: TestDB) -> None:
    db.execute("CREATE SCHEMA app_state")
    url = db.url + "?options=-csearch_path%3Dapp_state"
    ts = Timescape(url, infer_compatibility=False)
    ts.add_schema("s1", ["SET search_path = public; CREATE TABLE a (id int)"])
    ts.add_schema("s2", ["CREATE TABLE b (id int)"], parent="s1")
    ts.apply_schema("s2")
    ts.close()
    tables = set(
        db.query(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            "WHERE table_schema IN ('public', 'app_state')"
        )
    )
    assert ("public.a",) in tables
    assert ("app_state.b",) in tables  # the next schema is back on the connection's search_path
    assert ("app_state.timescape_schemas",) in tables
    assert not any(t[0].startswith("public.timescape_") for t in tables)
    rows = db.query("SELECT name, status FROM app_state.timescape_schemas ORDER BY name")
    assert rows == [("s1", "applied"), ("s2", "applied")]
