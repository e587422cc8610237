"""SQLite's foreign-key check before each schema commit: skipped only where no row can be orphaned."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from timescape import MigrationError, Timescape
from timescape.store.backends.sqlite import _may_declare_foreign_key, _only_creates


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("CREATE TABLE t (id INTEGER REFERENCES p (id))", True),
        ("create unique index i on t (a)", True),
        ("CREATE TEMP VIEW v AS SELECT 1", True),
        ("/* c */ CREATE TRIGGER tr AFTER INSERT ON t BEGIN DELETE FROM p; END", True),
        ("INSERT INTO t VALUES (1)", False),
        ("DROP TABLE p", False),
        ("ALTER TABLE p RENAME TO q", False),
        ("CREATE VIRTUAL TABLE x USING fts5(a)", False),
        ("CREATE", False),
    ],
)
def test_only_creates__statement__classified(statement: str, expected: bool) -> None:
    assert _only_creates(statement) is expected


def _timescape(tmp_path: Path, migrations: list[str]) -> tuple[Timescape, str]:
    ts = Timescape(f"sqlite:///{tmp_path / 'app.db'}", base_dir=tmp_path)
    ts.add_schema("parent", ["CREATE TABLE p (id INTEGER PRIMARY KEY)"], ["DROP TABLE p"])
    ts.add_schema("child", migrations, ["DROP TABLE c"], parent="parent")
    return ts, ts.add_version("/api/x", "2025-01-01T00:00:00Z", "child")


def test_create_only_schema__references_a_parent__applied(tmp_path: Path) -> None:
    ts, tsv = _timescape(tmp_path, ["CREATE TABLE c (id INTEGER, p_id INTEGER REFERENCES p (id))"])
    ts.activate(tsv)
    ts.close()
    with sqlite3.connect(tmp_path / "app.db") as conn:
        assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'c'").fetchone() == (
            1,
        )


def test_schema_inserting_an_orphan__refused_and_rolled_back(tmp_path: Path) -> None:
    ts, tsv = _timescape(
        tmp_path,
        [
            (
                "CREATE TABLE c (id INTEGER, p_id INTEGER REFERENCES p (id));\n"
                "INSERT INTO c VALUES (1, 42)"
            )
        ],
    )
    with pytest.raises(MigrationError, match="foreign key violations"):
        ts.activate(tsv)
    ts.close()
    with sqlite3.connect(tmp_path / "app.db") as conn:
        assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'c'").fetchone() == (
            0,
        )


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("-- note\n  CREATE INDEX i ON t (a)", True),
        ("/* multi\nline */ create temporary table x (a)", True),
        ("CREATE /* c */ TABLE t (a)", False),  # a comment between the words: the check runs
        ("CREATE TABLES", False),
        ("-- CREATE TABLE t (a)", False),
        ("/* never closed CREATE TABLE t (a)", False),
    ],
)
def test_only_creates__comments_around_words__conservative(statement: str, expected: bool) -> None:
    assert _only_creates(statement) is expected


# -- the check is skipped while no table declares a foreign key (issue 14) -----------------------


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _chain(tmp_path: Path, *schemas: tuple[str, list[Any]]) -> tuple[Timescape, list[str]]:
    """``a`` (a table and a row, so the check runs and finds no foreign key), then ``schemas``."""
    ts = Timescape(f"sqlite:///{tmp_path / 'app.db'}", base_dir=tmp_path)
    ts.add_schema("a", ["CREATE TABLE a (id INTEGER PRIMARY KEY); INSERT INTO a VALUES (1)"])
    previous, versions = "a", [ts.add_version("/api/x", "2025-01-01T00:00:00Z", "a")]
    for i, (name, migrations) in enumerate(schemas):
        ts.add_schema(name, migrations, parent=previous, breaking=False)
        versions.append(ts.add_version("/api/x", f"2025-01-0{i + 2}T00:00:00Z", name))
        previous = name
    return ts, versions


def test_no_foreign_key_yet__later_schema_declares_one_and_orphans__refused(
    tmp_path: Path,
) -> None:
    ts, versions = _chain(
        tmp_path,
        ("b", ["INSERT INTO a VALUES (2)"]),
        ("c", ["CREATE TABLE c (a_id INTEGER REFERENCES a (id)); INSERT INTO c VALUES (99)"]),
    )
    ts.activate(versions[1])  # a and b applied, the check skipped for b
    with pytest.raises(MigrationError, match="foreign key violations"):
        ts.activate(versions[2])
    ts.close()
    assert "c" not in _tables(tmp_path / "app.db")


def test_no_foreign_key_yet__another_connection_orphans_a_row__next_schema_refused(
    tmp_path: Path,
) -> None:
    ts, versions = _chain(tmp_path, ("b", ["INSERT INTO a VALUES (2)"]))
    ts.activate(versions[0])
    with sqlite3.connect(tmp_path / "app.db") as conn:  # not through Timescape: no REFERENCES seen
        conn.execute("CREATE TABLE other (a_id INTEGER REFERENCES a (id))")
        conn.execute("INSERT INTO other VALUES (77)")
    with pytest.raises(MigrationError, match="violations after the migration: other"):
        ts.activate(versions[1])
    ts.close()
    with sqlite3.connect(tmp_path / "app.db") as conn:
        assert conn.execute("SELECT id FROM a").fetchall() == [(1,)]


def test_no_foreign_key_yet__python_step_orphans_a_row__refused(tmp_path: Path) -> None:
    def orphan(conn: Any) -> None:
        conn.execute("CREATE TABLE c (a_id INTEGER REFERENCES a (id))")
        conn.execute("INSERT INTO c VALUES (5)")

    ts, versions = _chain(tmp_path, ("b", ["INSERT INTO a VALUES (2)"]), ("c", [orphan]))
    ts.activate(versions[1])
    with pytest.raises(MigrationError, match="foreign key violations"):
        ts.activate(versions[2])
    ts.close()
    assert "c" not in _tables(tmp_path / "app.db")


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("CREATE TABLE c (a INTEGER REFERENCES p (id))", True),
        ("alter table c add column b integer references p", True),
        ("CREATE TABLE c (a INTEGER, FOREIGN KEY (a) ReFeReNcEs p (id))", True),
        ("INSERT INTO a VALUES (1)", False),
        ("CREATE TABLE c (a INTEGER)", False),
        ("INSERT INTO a VALUES ('" + "x" * 70_000 + "')", True),  # too long to search: assumed
    ],
)
def test_may_declare_foreign_key__statement__classified(statement: str, expected: bool) -> None:
    assert _may_declare_foreign_key(statement) is expected
