"""SQLite's foreign-key check before each schema commit: skipped only where no row can be orphaned."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from timescape import MigrationError, Timescape
from timescape.store.backends.sqlite import _only_creates


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
