"""Real ``pg_dump`` / ``mysqldump`` files, made at test time, applied through Timescape (T41).

A populated source database (tables with foreign keys, indexes, a view, a function and a trigger,
a sequence, rows with tabs, backslashes, newlines, quotes, NULLs and non-ASCII text) is dumped with
the real client; the dump becomes the one migration file of a schema; ``timescape schema migrate``
applies it to a fresh database through the CLI; a fresh dump of the result, without Timescape's
own tables, must equal the original apart from the volatile lines (pg_dump's ``\\restrict`` keys;
mysqldump's database name in its header, with ``--skip-dump-date``). AUTO_INCREMENT counters are
not volatile: the dump sets them, and they must come out identical.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.clirun import run_process, write_project
from tests.dbutil import TestDB, create_database, drop_database
from timescape import MigrationTimeoutError, Timescape

PG_SOURCE = r"""
CREATE SEQUENCE order_no START 1000;
CREATE SCHEMA reporting;
CREATE TABLE customers (
    id serial PRIMARY KEY, name text NOT NULL, note text, created timestamptz NOT NULL
);
CREATE UNIQUE INDEX customers_name ON customers (lower(name));
CREATE TABLE orders (
    id bigserial PRIMARY KEY,
    customer_id int NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    no int NOT NULL DEFAULT nextval('order_no'),
    total numeric(10, 2), tags text[], payload jsonb
);
CREATE INDEX orders_customer ON orders (customer_id);
CREATE TABLE reporting.daily (day date PRIMARY KEY, n int NOT NULL);
CREATE VIEW big_orders AS
    SELECT o.id, c.name, o.total FROM orders o JOIN customers c ON c.id = o.customer_id
    WHERE o.total > 100;
CREATE FUNCTION touch_note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.note := coalesce(NEW.note, 'new; with a semicolon');
    RETURN NEW;
END
$$;
CREATE TRIGGER customers_touch BEFORE INSERT ON customers
    FOR EACH ROW EXECUTE FUNCTION touch_note();
COMMENT ON TABLE customers IS 'people; and their ''notes''';
INSERT INTO customers (name, note, created) VALUES
    ('Ann', E'tab\there', '2025-01-01T00:00:00Z'),
    ('Bob', E'back\\slash and\nnewline', '2025-01-02T00:00:00Z'),
    ('Çelik ünïcode', NULL, '2025-01-03T00:00:00Z'),
    ('Dot', E'\\.', '2025-01-04T00:00:00Z');
INSERT INTO orders (customer_id, total, tags, payload)
    SELECT 1 + i % 4, i * 7.5, ARRAY['a', 'b' || i], jsonb_build_object('i', i, 'q', 'x"y')
    FROM generate_series(1, 300) AS i;
INSERT INTO reporting.daily VALUES ('2025-01-01', 3), ('2025-01-02', 5);
"""

MYSQL_SOURCE = [
    "CREATE SEQUENCE order_no START WITH 1000",
    ("CREATE TABLE customers (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL, "
    "note TEXT, created DATETIME NOT NULL, UNIQUE KEY customers_name (name)) ENGINE=InnoDB"),
    ("CREATE TABLE orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, customer_id INT NOT NULL, "
    "total DECIMAL(10,2), note VARCHAR(200), KEY orders_customer (customer_id), "
    "CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id) "
    "ON DELETE CASCADE) ENGINE=InnoDB"),
    "CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(50)) ENGINE=MyISAM",
    ("CREATE VIEW big_orders AS SELECT o.id, c.name, o.total FROM orders o "
    "JOIN customers c ON c.id = o.customer_id WHERE o.total > 100"),
    ("CREATE FUNCTION order_label(n INT) RETURNS VARCHAR(20) DETERMINISTIC "
    "RETURN CONCAT('#', n, ';')"),
    ("CREATE PROCEDURE count_orders(OUT n INT) BEGIN SELECT COUNT(*) INTO n FROM orders; "
    "IF n > 0 THEN SET n = n + 0; END IF; END"),
    ("CREATE TRIGGER customers_touch BEFORE INSERT ON customers FOR EACH ROW "
    "SET NEW.note = COALESCE(NEW.note, 'new; with a semicolon')"),
    ("INSERT INTO customers (name, note, created) VALUES ('Ann', 'tab\\there', '2025-01-01'), "
    "('Bob', 'back\\\\slash and\\nnewline ''quoted''', '2025-01-02'), "
    "('Çelik ünïcode', NULL, '2025-01-03')"),
    ("INSERT INTO orders (customer_id, total, note) SELECT 1 + seq % 3, seq * 7.5, "
    "CONCAT('n', seq) FROM seq_1_to_300"),
    "INSERT INTO audit (what) VALUES ('created'), ('filled')",
    "DELETE FROM audit WHERE what = 'filled'",  # AUTO_INCREMENT stays ahead of the rows
]

PROJECT = """
[database]
url = "{url}"
migration_timeout = 120

[[schemas]]
name = "restored"
dir = "migrations/restored"
"""


def _pg_dump(db: TestDB, *extra: str) -> str:
    parts = urlsplit(db.url)
    return subprocess.run(
        [
            "pg_dump",
            "--no-password",
            "-h",
            parts.hostname or "127.0.0.1",
            "-p",
            str(parts.port or 5432),
            "-U",
            parts.username or "postgres",
            *extra,
            db.name,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout


def _mysqldump(db: TestDB, *extra: str) -> str:
    parts = urlsplit(db.url)
    return subprocess.run(
        [
            "mysqldump",
            "-h",
            parts.hostname or "127.0.0.1",
            "-P",
            str(parts.port or 3306),
            "-u",
            parts.username or "root",
            *([f"-p{parts.password}"] if parts.password else []),
            "--routines",
            "--triggers",
            "--skip-dump-date",
            *extra,
            db.name,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout


def _apply_dump(tmp_path: Path, target: TestDB, dump: str) -> None:
    """Apply ``dump`` as the one migration file of schema ``restored``, through the CLI."""
    project = write_project(
        tmp_path / "project",
        PROJECT,
        {"migrations/restored/001_dump.sql": dump},
        url=target.url,
    )
    result = run_process("--project", str(project), "schema", "migrate", "restored", timeout=180)
    assert result.exit_code == 0, result.describe()
    row = target.schema_row("restored")
    assert row is not None
    assert row["status"] == "applied"


def _pg_comparable(dump: str) -> list[str]:
    return [line for line in dump.splitlines() if not line.startswith(("\\restrict", "\\unrestrict"))]


@pytest.mark.dialects("postgresql")
def test_pg_dump_with_copy_data__applied_then_dumped_again__identical(
    db: TestDB, tmp_path: Path
) -> None:
    assert shutil.which("pg_dump"), "pg_dump is installed with the test environment"
    db.execute(PG_SOURCE)
    original = _pg_dump(db)
    assert "\\restrict " in original
    assert "FROM stdin;" in original
    target = create_database("postgresql", tmp_path)
    try:
        _apply_dump(tmp_path, target, original)
        again = _pg_dump(target, "--exclude-table=public.timescape_*")
        assert _pg_comparable(again) == _pg_comparable(original)
        assert target.query("SELECT count(*) FROM public.orders") == [(300,)]
        assert target.query("SELECT note FROM public.customers WHERE name = 'Dot'") == [("\\.",)]
    finally:
        drop_database(target)


@pytest.mark.dialects("postgresql")
def test_pg_dump_inserts_form__applied_identically(db: TestDB, tmp_path: Path) -> None:
    db.execute(PG_SOURCE)
    original = _pg_dump(db, "--inserts", "--rows-per-insert=50")
    target = create_database("postgresql", tmp_path)
    try:
        _apply_dump(tmp_path, target, original)
        again = _pg_dump(target, "--inserts", "--rows-per-insert=50", "-T", "public.timescape_*")
        assert _pg_comparable(again) == _pg_comparable(original)
    finally:
        drop_database(target)


@pytest.mark.dialects("postgresql")
def test_pg_dump_create_connect_meta_command__refused_naming_it_file_and_line(
    db: TestDB, tmp_path: Path
) -> None:
    db.execute("CREATE TABLE a (id int)")
    dump = _pg_dump(db, "--create")  # writes \connect to the new database
    line = next(i for i, text in enumerate(dump.splitlines(), 1) if text.startswith("\\connect"))
    project = write_project(
        tmp_path / "project", PROJECT, {"migrations/restored/001_dump.sql": dump}, url=db.url
    )
    before = db.tables()
    result = run_process("--project", str(project), "schema", "migrate", "restored")
    assert result.exit_code == 2, result.describe()
    assert "\\connect" in result.stderr
    assert "001_dump.sql" in result.stderr
    assert f"line {line}" in result.stderr
    assert "Traceback" not in result.stderr
    assert {t for t in db.tables() if not t.startswith("timescape_")} == before
    assert db.schema_row("restored") is None


def _mysql_comparable(dump: str, name: str) -> list[str]:
    return [line.replace(name, "DB") for line in dump.splitlines()]


@pytest.mark.dialects("mysql")
def test_mysqldump__conditional_comments_lock_tables_delimiter__applied_identically(
    db: TestDB, tmp_path: Path
) -> None:
    assert shutil.which("mysqldump"), "mysqldump is installed with the test environment"
    for statement in MYSQL_SOURCE:
        db.execute(statement)
    original = _mysqldump(db)
    for feature in ("/*!40101 SET", "LOCK TABLES", "DELIMITER ;;", "AUTO_INCREMENT="):
        assert feature in original, feature
    target = create_database("mysql", tmp_path)
    try:
        _apply_dump(tmp_path, target, original)
        ignored = [
            f"--ignore-table={target.name}.{t}"
            for t in sorted(target.tables())
            if t.startswith("timescape_")
        ]
        again = _mysqldump(target, *ignored)
        assert _mysql_comparable(again, target.name) == _mysql_comparable(original, db.name)
        assert target.query("SELECT COUNT(*) FROM orders") == [(300,)]
        # The dump's SET NAMES, TIME_ZONE and FOREIGN_KEY_CHECKS=0 did not stay on: a second
        # schema sees Timescape's own session.
        assert target.query("SELECT @@foreign_key_checks") == [(1,)]
    finally:
        drop_database(target)


def test_dump_file_with_session_changes__state_in_configured_place(
    db: TestDB, tmp_path: Path
) -> None:
    """The same project shape on every database, with each dialect's dump-style preamble."""
    preamble = {
        "postgresql": "\\restrict k\nSET client_encoding = 'UTF8';\n"
        "SELECT pg_catalog.set_config('search_path', '', false);\n"
        "CREATE TABLE public.a (id int);\nCOPY public.a (id) FROM stdin;\n1\n2\n\\.\n"
        "\\unrestrict k\n",
        "mysql": "/*!40101 SET NAMES utf8mb4 */;\n/*!40014 SET FOREIGN_KEY_CHECKS=0 */;\n"
        "CREATE TABLE a (id int);\nLOCK TABLES `a` WRITE;\nINSERT INTO a VALUES (1),(2);\n"
        "UNLOCK TABLES;\n",
        "sqlite": "PRAGMA recursive_triggers = ON;\nCREATE TABLE a (id int);\n"
        "INSERT INTO a VALUES (1),(2);\n",
    }[db.dialect]
    _apply_dump(tmp_path, db, preamble)
    assert db.count("a") == 2


@pytest.mark.dialects("postgresql")
def test_copy_from_stdin__slower_than_the_budget__cancelled_on_the_server_nothing_left(
    db: TestDB,
) -> None:
    slow = (
        "CREATE TABLE a (id int); "
        "CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN PERFORM pg_sleep(0.05); RETURN NEW; END $$; "
        "CREATE TRIGGER a_slow BEFORE INSERT ON a FOR EACH ROW EXECUTE FUNCTION slow();\n"
        "COPY a (id) FROM stdin;\n" + "".join(f"{i}\n" for i in range(200)) + "\\.\n"
    )
    ts = Timescape(db.url, infer_compatibility=False, migration_timeout=1)
    ts.add_schema("s1", [slow])
    with pytest.raises(MigrationTimeoutError):
        ts.apply_schema("s1")
    ts.close()
    assert "a" not in db.tables()
    row = db.schema_row("s1")
    assert row is not None
    assert row["status"] == "failed"
    busy = db.query(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND query LIKE 'COPY a%' AND state = 'active'"
    )
    assert busy == [(0,)]


@pytest.mark.dialects("postgresql")
def test_dry_run_of_a_dump_with_copy__shows_the_data_size_changes_nothing(
    db: TestDB, tmp_path: Path
) -> None:
    dump = "\\restrict k\nCREATE TABLE public.a (id int);\nCOPY public.a (id) FROM stdin;\n1\n2\n\\.\n"
    project = write_project(
        tmp_path / "project", PROJECT, {"migrations/restored/001_dump.sql": dump}, url=db.url
    )
    result = run_process("--project", str(project), "schema", "migrate", "restored", "--dry-run")
    assert result.exit_code == 0, result.describe()
    assert "COPY public.a (id) FROM stdin;" in result.stdout
    assert "-- then 2 line(s) of COPY data" in result.stdout
    assert "\\restrict" not in result.stdout
    assert "a" not in db.tables()
