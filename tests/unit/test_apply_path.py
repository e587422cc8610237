"""The SQLite apply path sends what it sent before, and its cheaper checks decide as before (#14).

Each statement's text is read once and serves the driver, the session test and the commit check;
the commit check's classifications no longer use case-insensitive patterns; statements go through
one reused cursor. These tests pin what must not change: the statements each schema sends (read
from SQLite's own trace), the classifications over the analyser's corpus and the split tests'
statements, and the effects a reused cursor or the kept texts could get wrong.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.analysis_corpus import CORPUS
from timescape import MigrationError, Timescape
from timescape.model._sha import sha256
from timescape.model.schema import normalise_sql, text_digest
from timescape.store.backends.sqlite import _may_declare_foreign_key, _only_creates
from timescape.store.session import may_change_session, session_check
from timescape.store.state.codec import json_list

# What the commit check matched with before (#14): case-insensitive patterns.
_OLD_ONLY_CREATES = re.compile(
    r"(?:\s+|--[^\n]*+(?:\n|\Z)|/\*.*?\*/)*+"
    r"CREATE\s+(?:(?:TEMP|TEMPORARY|UNIQUE)\s+)?(?:TABLE|INDEX|VIEW|TRIGGER)\b",
    re.IGNORECASE | re.DOTALL,
)
_OLD_REFERENCES = re.compile("references", re.IGNORECASE)

_EXTRA = (
    "create temporary table x (a)",
    "Create Unique Index i On t (a)",
    "CREATE\tVIEW v AS SELECT 1",
    "/* note */ create trigger tr after insert on t begin select 1; end",
    "-- note\nCREATE TABLE t (a)",
    "CREATE TABLES",
    "CREATE VIRTUAL TABLE v USING fts5(a)",
    "ALTER TABLE t ADD COLUMN p INTEGER REFERENCES p (id)",
    "insert into t values ('REFERENCES')",
    "DROP TABLE t",
    "PRAGMA foreign_keys = ON",
)
_STATEMENTS = tuple(dict.fromkeys([case.sql for case in CORPUS] + list(_EXTRA)))


@pytest.mark.parametrize("statement", _STATEMENTS)
def test_commit_check_classifications__ascii_corpus__same_as_case_insensitive_patterns(
    statement: str,
) -> None:
    assert _only_creates(statement) is (_OLD_ONLY_CREATES.match(statement) is not None)
    assert _may_declare_foreign_key(statement) is (_OLD_REFERENCES.search(statement) is not None)


def test_commit_check_classifications__non_ascii_look_alike__check_runs() -> None:
    # U+0130 lowers to "i" for a case-insensitive pattern; SQLite reads no keyword in it.
    assert not _only_creates("CREATE \u0130NDEX i ON t (a)")
    assert _may_declare_foreign_key("CREATE TABLE c (a REFERENCES p)")


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql", "mysql"])
@pytest.mark.parametrize("statement", _STATEMENTS)
def test_session_check__one_statement__same_as_may_change_session(
    dialect: str, statement: str
) -> None:
    assert session_check(dialect)(statement) is may_change_session([statement], dialect)  # type: ignore[arg-type]


@given(st.lists(st.text(alphabet='ab", \\\té', max_size=6), max_size=4))
def test_json_list__no_none_quotes_and_separators__same_as_json_dumps(items: list[str]) -> None:
    import json  # noqa: PLC0415 - only here

    assert json_list(items) == json.dumps(items)
    assert json_list(tuple(items)) == json.dumps(items)


@given(st.text(alphabet="ab \t\r\n\u2003\ufeff;", max_size=40))
def test_text_digest__short_script__digest_of_normalised_text(script: str) -> None:
    assert text_digest(script) == sha256(normalise_sql(script).encode()).hexdigest()


def test_text_digest__script_over_a_slice__same_as_short_path() -> None:
    body = "INSERT INTO t VALUES (1);\n" * 50_000  # 1.3 MB: hashed in slices
    assert text_digest(body + " \n\u2003") == sha256(normalise_sql(body).encode()).hexdigest()


# -- on a real SQLite file ------------------------------------------------------------------------


def _chain(tmp_path: Path, n: int) -> tuple[Timescape, str]:
    ts = Timescape(f"sqlite:///{tmp_path / 'app.db'}", base_dir=tmp_path)
    previous = None
    for i in range(n):
        ts.add_schema(
            f"s{i}",
            [
                (
                    f"CREATE TABLE t_{i} (id INTEGER PRIMARY KEY, name TEXT);\n"
                    f"CREATE INDEX ix_t_{i} ON t_{i} (name);\n"
                    f"INSERT INTO t_{i} (id, name) VALUES (1, 'row {i}');"
                )
            ],
            [f"DROP TABLE t_{i};"],
            parent=previous,
        )
        previous = f"s{i}"
    return ts, ts.add_version("/api/x", "2025-01-01T00:00:00Z", previous or "")


def test_sqlite_chain__statements_per_schema__eight_as_traced(tmp_path: Path) -> None:
    ts, tsv = _chain(tmp_path, 3)
    sent: list[str] = []
    ts.backend.raw_connection.set_trace_callback(sent.append)
    ts.activate(tsv)
    ts.close()
    start = sent.index("CREATE TABLE t_1 (id INTEGER PRIMARY KEY, name TEXT)") - 1
    one_schema = [s.split(" (")[0] for s in sent[start : start + 8]]
    assert one_schema == [
        "BEGIN IMMEDIATE",
        "CREATE TABLE t_1",
        "CREATE INDEX ix_t_1 ON t_1",
        "INSERT INTO t_1",
        'INSERT INTO "main".timescape_schemas',
        'INSERT INTO "main".timescape_events',
        "PRAGMA data_version",
        "COMMIT",
    ]
    assert sent[start + 8] == "BEGIN IMMEDIATE"  # the next schema's transaction


def test_sqlite_step_ending_on_a_select__next_schema_drops_its_table(tmp_path: Path) -> None:
    # The reused cursor still holds the SELECT's rows after the step: the state writes and the
    # COMMIT must end it, or the next schema's DROP finds the table locked.
    ts = Timescape(f"sqlite:///{tmp_path / 'app.db'}", base_dir=tmp_path)
    ts.add_schema("a", ["CREATE TABLE x (a); INSERT INTO x VALUES (1), (2); SELECT a FROM x"])
    ts.add_schema("b", ["DROP TABLE x; CREATE TABLE y (a)"], parent="a")
    ts.activate(ts.add_version("/api/x", "2025-01-01T00:00:00Z", "b"))
    ts.close()
    with sqlite3.connect(tmp_path / "app.db") as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "y" in names
    assert "x" not in names


def test_sqlite_sql_logged_at_debug__each_migration_statement_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ts, tsv = _chain(tmp_path, 2)
    with caplog.at_level(logging.DEBUG, logger="timescape.sql"):
        ts.activate(tsv)
    ts.close()
    logged = [r.getMessage() for r in caplog.records if r.name == "timescape.sql"]
    assert "CREATE INDEX ix_t_1 ON t_1 (name)" in logged
    assert "INSERT INTO t_0 (id, name) VALUES (1, 'row 0')" in logged


def test_sqlite_unit_over_the_kept_text__orphan_still_refused(tmp_path: Path) -> None:
    # More statement text than a unit keeps for its commit check: the check reads the plan's
    # statements again, and still finds the orphan the first statement made.
    ts = Timescape(f"sqlite:///{tmp_path / 'app.db'}", base_dir=tmp_path)
    ts.add_schema("p", ["CREATE TABLE p (id INTEGER PRIMARY KEY); INSERT INTO p VALUES (1)"])
    filler = "INSERT INTO f VALUES ('" + "x" * 60_000 + "');\n"
    ts.add_schema(
        "c",
        [
            "CREATE TABLE c (p_id INTEGER REFERENCES p (id)); INSERT INTO c VALUES (42);\n"
            "CREATE TABLE f (v TEXT);\n" + filler * 20
        ],
        parent="p",
    )
    with pytest.raises(MigrationError, match="foreign key violations"):
        ts.activate(ts.add_version("/api/x", "2025-01-01T00:00:00Z", "c"))
    ts.close()
    with sqlite3.connect(tmp_path / "app.db") as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "c" not in names
    assert "p" in names
