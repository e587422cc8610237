"""Reliability part B — timeouts are cancelled on the server, per schema (RELIABILITY T20-T22).

Timings: ``migration_timeout = 2`` and ``ddl_lock_timeout = 1``; the assertions allow ±1 s /
+200 ms as the catalogue says. "Nothing from Timescape is running" is read from the server
(``pg_stat_activity`` for our database and application name; MariaDB's processlist for our
database), never from the client's belief.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any, Self

import pytest

from tests.dbutil import TestDB, admin_connection
from tests.reliability._b_helpers import (
    SLEEP,
    SQLITE_SPIN,
    T0,
    UNRELATED,
    assert_clean,
    fingerprint,
    running_statements,
    seed,
    spec_for,
    timescape_for,
    wait_for,
)
from tests.reliability.invariants import check_invariants
from timescape import Timescape
from timescape.errors import MigrationError, MigrationTimeoutError, StateError

pytestmark = pytest.mark.timeout(90)


def _long(db: TestDB) -> str:
    return SQLITE_SPIN if db.dialect == "sqlite" else SLEEP[db.dialect].format(s=60)


def _t20_spec(db: TestDB, step2: str) -> dict[str, Any]:
    return spec_for(db, [{"name": "s20", "migrations": [
        "CREATE TABLE t20_a (id INTEGER)", step2, "CREATE TABLE t20_c (id INTEGER)"],
        "rollback": ["DROP TABLE t20_a", "SELECT 1", "DROP TABLE t20_c"],
        "objects": [["t20_a"], [], ["t20_c"]]}],
        [{"alias": "V1", "handler": "/api/products", "timestamp": T0, "schema": "s20"}],
        migration_timeout=2)


def _assert_cancelled(db: TestDB, spec: dict[str, Any], run: Callable[[], Any]) -> MigrationError:
    started = time.monotonic()
    with pytest.raises(MigrationTimeoutError) as info:
        run()
    elapsed = time.monotonic() - started
    assert 1.0 <= elapsed <= 3.0, f"failed after {elapsed:.2f} s, not 2 ± 1 s"
    # Within 1 s the server runs nothing of Timescape's (a client-side read timeout would leave
    # the SLEEP/INSERT running there).
    assert wait_for(lambda: not running_statements(db), 1.0), running_statements(db)
    message = str(info.value)
    assert "timed out after 2 s in step 2" in message, message
    assert "\n" not in message
    assert db.active_versions() == set()
    row = db.schema_row("s20")
    assert row is not None, row
    assert row["status"] == "failed", row
    if db.dialect == "mysql":
        assert "t20_a" in db.tables()
        assert (row["steps_done"], row["step_in_flight"]) == (1, None)
    else:
        assert "t20_a" not in db.tables()
        assert row["steps_done"] == 0
    assert "t20_c" not in db.tables()
    assert_clean(db)
    check_invariants(db, spec, api=True)
    return info.value


def test_t20_step_sleeping_past_timeout__cancelled_on_the_server(db: TestDB) -> None:
    seed(db)
    before = fingerprint(db)
    spec = _t20_spec(db, _long(db))
    with timescape_for(spec) as ts:
        tsv = ts.resolve("latest")
        _assert_cancelled(db, spec, lambda: ts.activate(tsv))
    assert fingerprint(db) == before


@pytest.mark.dialects("mysql")
def test_t20_mariadb_heavy_insert_select_cross_join__killed_and_rolled_back(db: TestDB) -> None:
    """A killed INSERT … SELECT fails with 1317 and InnoDB rolls the statement back: the step is
    honestly ``failed`` (not uncertain) with ``steps_done = 1``."""
    seed(db)
    db.execute("CREATE TABLE t20_sink (n BIGINT)")
    spec = _t20_spec(db, "INSERT INTO t20_sink SELECT a.seq FROM seq_1_to_100000 a, "
                         "seq_1_to_100000 b WHERE a.seq + b.seq < 0 OR a.seq * b.seq = 1")
    with timescape_for(spec) as ts:
        _assert_cancelled(db, spec, lambda: ts.apply_schema("s20"))
    assert db.count("t20_sink") == 0


@pytest.mark.dialects("mysql")
def test_t20_mariadb_killed_statement_returning_normally__timer_is_the_failure(
    db: TestDB,
) -> None:
    """MariaDB 10.11: a killed ``SELECT SLEEP()`` fails with 1317, but a killed ``DO SLEEP()``
    returns normally. Timescape treats its own timer firing as the failure, whatever the driver
    returns: the step is not counted, step 3 never runs."""
    seed(db)
    spec = _t20_spec(db, "DO SLEEP(60)")
    with timescape_for(spec) as ts:
        _assert_cancelled(db, spec, lambda: ts.apply_schema("s20"))


@pytest.mark.dialects("mysql")
def test_t20_mariadb_write_after_the_timer_fired__uncertain_never_a_guess(db: TestDB) -> None:
    """A step that goes on writing after the timer fired (its SLEEP killed and returning normally)
    has effects Timescape cannot rule out: the step is recorded ``uncertain`` (steps_done stays
    at the certain prefix, never above the truth) until an operator resolves it."""
    seed(db)

    def slow_then_write(conn: Any) -> None:
        conn.execute("DO SLEEP(3)")
        conn.execute("INSERT INTO t20_a VALUES (42)")

    ts = Timescape(db.url, migration_timeout=2, infer_compatibility=False)
    ts.add_schema("s20", ["CREATE TABLE t20_a (id INTEGER)", slow_then_write],
                  ["DROP TABLE t20_a", "DELETE FROM t20_a"])
    with pytest.raises(MigrationTimeoutError) as info:
        ts.apply_schema("s20")
    row = db.schema_row("s20")
    assert (row["status"], row["steps_done"], row["step_in_flight"]) == ("uncertain", 1, 2), row
    assert db.query("SELECT id FROM t20_a") == [(42,)]  # the truth is 2 steps: 1 <= 2
    assert "schema resolve s20" in str(info.value)
    assert_clean(db)
    ts.resolve_schema("s20", steps_done=2)
    assert db.schema_row("s20")["status"] == "applied"
    ts.close()


# -- T21: the budget is per schema --------------------------------------------------------------


def _half_second_steps(db: TestDB, count: int) -> list[Any]:
    if db.dialect == "sqlite":
        # SQLite has no sleep(); a Python step sleeps (the watchdog cannot interrupt Python code,
        # so the overrun is noticed when the step returns: still the 4th or 5th step).
        def nap(conn: Any) -> None:
            time.sleep(0.5)

        return [nap] * count
    return [SLEEP[db.dialect].format(s=0.5)] * count


def test_t21_ten_half_second_steps_timeout_2__fails_in_step_4_or_5(db: TestDB) -> None:
    ts = Timescape(db.url, migration_timeout=2, infer_compatibility=False)
    ts.add_schema("s21", _half_second_steps(db, 10), ["SELECT 1"] * 10)
    started = time.monotonic()
    with pytest.raises(MigrationTimeoutError) as info:
        ts.apply_schema("s21")
    elapsed = time.monotonic() - started
    ts.close()
    assert 1.8 <= elapsed <= 3.0, f"{elapsed:.2f} s: the budget must be per schema, not per step"
    assert info.value.step in (4, 5), str(info.value)
    assert info.value.schema == "s21"
    assert wait_for(lambda: not running_statements(db), 1.0)
    assert_clean(db)


def test_t21_two_schemas_in_one_activation__each_has_its_own_budget(db: TestDB) -> None:
    ts = Timescape(db.url, migration_timeout=2, infer_compatibility=False)
    ts.add_schema("s21a", _half_second_steps(db, 3), ["SELECT 1"] * 3)
    ts.add_schema("s21b", _half_second_steps(db, 3), ["SELECT 1"] * 3, parent="s21a")
    ts.add_schema("s21c", _half_second_steps(db, 5), ["SELECT 1"] * 5, parent="s21b",
                  breaking=False)
    ok = ts.add_version("/api/products", T0, "s21b")
    too_long = ts.add_version("/api/products", "2025-02-01T00:00:00Z", "s21c")
    started = time.monotonic()
    ts.activate(ok)  # 3 s in all, under 2 s per schema
    assert time.monotonic() - started >= 2.9
    assert {db.schema_row(n)["status"] for n in ("s21a", "s21b")} == {"applied"}
    with pytest.raises(MigrationTimeoutError) as info:
        ts.activate(too_long)
    ts.close()
    assert info.value.schema == "s21c"
    assert "schema 's21c'" in str(info.value)
    assert "timed out after 2 s" in str(info.value)
    assert db.schema_row("s21c")["status"] == "failed"
    assert db.active_versions() == {ok}
    assert_clean(db)


# -- T22: DDL does not starve the app -----------------------------------------------------------


class _App:
    """An app thread running ``SELECT count(*) FROM products`` every 10 ms, recording latency."""

    def __init__(self, db: TestDB) -> None:
        if db.dialect == "sqlite":
            self._holder = None
            self.conn = sqlite3.connect(db.name, isolation_level=None, timeout=10,
                                        check_same_thread=False)
        else:
            self._holder = admin_connection(db.dialect, db.name)
            self.conn = self._holder.__enter__()
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                cur = self.conn.cursor()
                cur.execute("SELECT count(*) FROM products")
                cur.fetchall()
                cur.close()
            except Exception as exc:
                self.errors.append(repr(exc))
            self.latencies.append(time.monotonic() - started)
            time.sleep(0.01)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        if self._holder is None:
            self.conn.close()
        else:
            self._holder.__exit__(None, None, None)


def test_t22_reader_holds_products__ddl_gives_up_within_ddl_lock_timeout(
    db: TestDB,
) -> None:
    """Session R reads products in an open transaction. The migration's ALTER must not queue for
    long in front of the app: it fails cleanly after ``ddl_lock_timeout`` (documented choice: no
    retry), nothing applied, and the app never waits longer than that + 200 ms."""
    seed(db)
    before = fingerprint(db, UNRELATED)
    spec = spec_for(db, [
        {"name": "s0", "migrations": ["CREATE TABLE t22_z (id INTEGER)"]},
        {"name": "s22", "migrations": ["CREATE TABLE t22_a (id INTEGER)",
                                       "ALTER TABLE products ADD COLUMN t22_col INTEGER"],
         "rollback": ["DROP TABLE t22_a", "ALTER TABLE products DROP COLUMN t22_col"],
         "objects": [["t22_a"], ["products.t22_col"]]}],
        ddl_lock_timeout=1, migration_timeout=20)
    with timescape_for(spec) as ts:
        ts.apply_schema("s0")  # state tables exist before R starts reading
    if db.dialect == "sqlite":
        reader = sqlite3.connect(db.name, isolation_level=None)
        reader.execute("BEGIN")
        reader.execute("SELECT * FROM products").fetchall()
    else:
        holder = admin_connection(db.dialect, db.name)
        reader = holder.__enter__()
        cur = reader.cursor()
        cur.execute("BEGIN")
        cur.execute("SELECT * FROM products")
        cur.fetchall()
    try:
        with _App(db) as app, timescape_for(spec) as ts:
            time.sleep(0.1)
            started = time.monotonic()
            expected = StateError if db.dialect == "sqlite" else MigrationError
            with pytest.raises(expected) as info:
                ts.apply_schema("s22")
            elapsed = time.monotonic() - started
            time.sleep(0.2)
    finally:
        if db.dialect == "sqlite":
            reader.execute("ROLLBACK")
            reader.close()
        else:
            reader.rollback()
            holder.__exit__(None, None, None)
    message = str(info.value)
    assert elapsed <= 1 + 1.0, f"gave up after {elapsed:.2f} s"
    assert not app.errors, app.errors
    assert max(app.latencies) <= 1 + 0.2, f"app waited {max(app.latencies):.3f} s"
    assert len(app.latencies) > 10
    if db.dialect == "sqlite":
        # The write transaction cannot commit while R reads (rollback journal): busy_timeout.
        assert "database is locked" in message, message
        assert db.schema_row("s22") is None
    else:
        assert "could not get a table lock within 1 s" in message, message
        assert db.schema_row("s22")["status"] == "failed"
    assert "t22_col" not in db.columns("products")
    assert ("t22_a" in db.tables()) is (db.dialect == "mysql")
    assert fingerprint(db, UNRELATED) == before
    assert_clean(db)
    # With R gone the same activation goes through.
    with timescape_for(spec) as ts:
        ts.apply_schema("s22")
    assert "t22_col" in db.columns("products")
    check_invariants(db, spec, api=True)
