"""The lint rules' claims, checked on the real databases (issue 16).

The corpus test (``tests/unit``) is pure and fast; here each claim a rule makes is run for real:
a statement TX001 calls impossible in a transaction fails inside one, TX002's enum value is
refused before commit, and on MySQL/MariaDB a statement flagged as copying the table (or blocking
writes) is refused by ``ALGORITHM=INPLACE, LOCK=NONE`` while the one left quiet is accepted.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from tests.dbutil import TestDB
from tests.unit.analysis_corpus import CORPUS
from timescape.analysis import lint

_PG_SETUP = (
    "CREATE TABLE orders (id bigint PRIMARY KEY, ref text)",
    "CREATE INDEX idx_orders_ref ON orders (ref)",
    "CREATE TABLE orders_p (id bigint, day date) PARTITION BY RANGE (day)",
    "CREATE TABLE orders_2019 PARTITION OF orders_p FOR VALUES FROM ('2019-01-01') TO ('2020-01-01')",
    "CREATE TYPE mood AS ENUM ('sad')",
)


def _rules(sql: str, dialect: str, **options: Any) -> set[str]:
    return {issue.rule for issue in lint([sql], dialect, **options)}


def _pg_in_transaction(db: TestDB, statements: list[str]) -> str | None:
    """Run ``statements`` in one transaction, rolled back; return the SQLSTATE of a failure."""
    import psycopg  # noqa: PLC0415 - a PostgreSQL-only test

    conn = db.connect()
    try:
        with conn.transaction(force_rollback=True), conn.cursor() as cur:
            for sql in statements:
                cur.execute(sql)
    except psycopg.Error as exc:
        return str(exc.sqlstate)
    return None


@pytest.mark.dialects("postgresql")
def test_tx001__postgresql_corpus_statements__fail_inside_a_transaction(db: TestDB) -> None:
    for sql in _PG_SETUP:
        db.execute(sql)
    flagged = [
        c.sql.replace("orders_2019", "orders_2019").replace(
            "ALTER TABLE orders DETACH", "ALTER TABLE orders_p DETACH"
        )
        for c in CORPUS
        if c.dialect == "postgresql" and "TX001" in (c.rules or ())
    ]
    assert len(flagged) >= 5
    for sql in flagged:
        # 25001 active_sql_transaction: "... cannot run inside a transaction block"
        assert _pg_in_transaction(db, [sql]) == "25001", sql
    for sql in ("CREATE INDEX idx_ok ON orders (id)", "ANALYZE orders"):
        assert "TX001" not in _rules(sql, "postgresql")
        assert _pg_in_transaction(db, [sql]) is None, sql


@pytest.mark.dialects("postgresql")
def test_tx002__new_enum_value_used_in_same_transaction__refused(db: TestDB) -> None:
    for sql in _PG_SETUP:
        db.execute(sql)
    add = "ALTER TYPE mood ADD VALUE 'glad'"
    use = "SELECT 'glad'::mood"
    assert "TX002" in {i.rule for i in lint([add, use], "postgresql")}
    assert _pg_in_transaction(db, [add, use]) == "55P04"  # unsafe_new_enum_value_usage
    assert not [i for i in lint([add], "postgresql") if i.rule == "TX002"]
    assert _pg_in_transaction(db, [add]) is None


@pytest.mark.dialects("postgresql")
def test_tx003__commit_in_a_step__commits_what_should_roll_back(db: TestDB) -> None:
    for sql in _PG_SETUP:
        db.execute(sql)
    assert "TX003" in _rules("COMMIT", "postgresql")
    conn = db.connect()
    with conn.transaction(force_rollback=True), conn.cursor() as cur:
        cur.execute("INSERT INTO orders VALUES (1, 'a')")
        cur.execute("COMMIT")  # a step's COMMIT ends the schema's transaction early
    # The transaction was to be rolled back, yet the row stayed: the schema lost its atomicity.
    assert db.query("SELECT count(*) FROM orders") == [(1,)]


@pytest.mark.dialects("sqlite")
def test_tx001__sqlite_statements__fail_inside_a_transaction(db: TestDB) -> None:
    conn = db.connect()
    conn.execute("CREATE TABLE t (a INTEGER)")
    for sql, message in (
        ("VACUUM", "within a transaction"),
        ("PRAGMA journal_mode = WAL", "from within a transaction"),
    ):
        assert "TX001" in _rules(sql, "sqlite"), sql
        conn.execute("BEGIN")
        try:
            with pytest.raises(sqlite3.OperationalError, match=message):
                conn.execute(sql)
        finally:
            conn.execute("ROLLBACK")
    assert "TX001" not in _rules("CREATE INDEX i ON t (a)", "sqlite")


# (statement, rules lint must raise: a MySQL/MariaDB rule means "not online")
_MY_SETUP = (
    "CREATE TABLE c (id INT PRIMARY KEY) ENGINE=InnoDB",
    (
        "CREATE TABLE t (id INT PRIMARY KEY, label VARCHAR(50) NOT NULL, "
        "code VARCHAR(20) CHARACTER SET latin1 NOT NULL, body TEXT, cid INT, price INT, qty INT, "
        "s ENUM('a','b') NOT NULL DEFAULT 'a') "
        "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
    ),
)
_MY_ONLINE = [
    ("ALTER TABLE t MODIFY label VARCHAR(60) NOT NULL", set()),
    ("ALTER TABLE t MODIFY label VARCHAR(100) NOT NULL", {"MY001"}),
    ("ALTER TABLE t MODIFY code VARCHAR(200) CHARACTER SET latin1 NOT NULL", set()),
    ("ALTER TABLE t MODIFY code VARCHAR(300) CHARACTER SET latin1 NOT NULL", {"MY001"}),
    ("ALTER TABLE t ADD INDEX i_label (label)", set()),
    ("ALTER TABLE t ADD UNIQUE KEY u_label (label)", set()),
    ("ALTER TABLE t ADD FULLTEXT INDEX ft_body (body)", {"MY003"}),
    ("ALTER TABLE t ADD COLUMN ref CHAR(36) DEFAULT (UUID())", {"MY005"}),
    ("ALTER TABLE t ADD COLUMN seq BIGINT NOT NULL AUTO_INCREMENT UNIQUE", {"MY006"}),
    ("ALTER TABLE t ADD COLUMN tot INT AS (price * qty) STORED", {"MY007"}),
    ("ALTER TABLE t ADD COLUMN totv INT AS (price * qty) VIRTUAL", set()),
    ("ALTER TABLE t ADD CONSTRAINT fk_c FOREIGN KEY (cid) REFERENCES c (id)", {"MY008"}),
    ("ALTER TABLE t ADD COLUMN note VARCHAR(20) NULL", set()),
    ("ALTER TABLE t MODIFY s ENUM('a','b','c') NOT NULL DEFAULT 'a'", set()),
    ("ALTER TABLE t MODIFY qty BIGINT", {"MY001"}),
    ("ALTER TABLE t FORCE", set()),
]


def _error_code(db: TestDB, sql: str, error: type[Exception]) -> int | None:
    try:
        db.execute(sql)
    except error as exc:
        return int(exc.args[0])
    return None


@pytest.mark.dialects("mysql")
def test_my_rules__flagged_exactly_when_the_server_refuses_online_ddl(db: TestDB) -> None:
    import pymysql  # noqa: PLC0415 - a MySQL-only test

    for sql in _MY_SETUP:
        db.execute(sql)
    applied = list(_MY_SETUP)
    disagreements = []
    for sql, expected in _MY_ONLINE:
        fired = {r for r in _rules(sql, "mysql", applied=applied) if r.startswith("MY")}
        assert fired == expected, sql
        code = _error_code(db, f"{sql}, ALGORITHM=INPLACE, LOCK=NONE", pymysql.MySQLError)
        # 1845/1846: ALGORITHM=INPLACE / LOCK=NONE is not supported for this operation
        assert code in {None, 1845, 1846}, (sql, code)
        online = code is None
        if online == bool(fired):
            disagreements.append((sql, fired, online))
    assert disagreements == []
