"""Reliability part B — statement-splitting torture, executed for real (RELIABILITY T30).

Each construct is applied on its own database; the dry run must list exactly the statements that
then run, and the effects (rows, a working function / procedure / trigger) prove each construct
ran as the intended number of statements. Unterminated constructs fail with a parse error that
names schema, step and line before anything runs.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.dbutil import TestDB
from tests.reliability._b_helpers import spec_for, timescape_for
from timescape.errors import InputError

pytestmark = pytest.mark.timeout(120)

CREATE = "CREATE TABLE t30 (id INTEGER PRIMARY KEY, v VARCHAR(100))"

# Shared by every dialect: ';' inside strings and comments, empty statements, a trailing comment.
COMMON = (
    f"{CREATE};\n"
    "-- a line comment; with a semicolon\n"
    "INSERT INTO t30 (id, v) VALUES (1, 'a;b');;\n"
    "/* a block; comment */ INSERT INTO t30 (id, v) VALUES (2, 'it''s; fine');\n"
    ";\n"
    "INSERT INTO t30 (id, v) VALUES (3, '--not a comment;')\n"
    ";INSERT INTO t30 (id, v) VALUES (4, 'last') -- trailing comment; no final semicolon"
)
COMMON_STATEMENTS = [
    CREATE,
    "INSERT INTO t30 (id, v) VALUES (1, 'a;b')",
    "INSERT INTO t30 (id, v) VALUES (2, 'it''s; fine')",
    "INSERT INTO t30 (id, v) VALUES (3, '--not a comment;')",
    "INSERT INTO t30 (id, v) VALUES (4, 'last')",
]
COMMON_ROWS = [(1, "a;b"), (2, "it's; fine"), (3, "--not a comment;"), (4, "last")]

PG_FUNCTIONS = (
    "CREATE FUNCTION t30_f() RETURNS integer AS $$\nBEGIN\n  RETURN 1; -- inner ;\nEND;\n$$ "
    "LANGUAGE plpgsql;\n"
    "CREATE FUNCTION t30_g(x integer) RETURNS text AS $body$\nDECLARE s text := 'a;$$;b';\n"
    "BEGIN\n  RETURN s || x;\nEND;\n$body$ LANGUAGE plpgsql;\n"
    "INSERT INTO t30 (id, v) VALUES (5, E'esc\\';aped');\n"
    "CREATE FUNCTION t30_h() RETURNS integer LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 42; END;"
)
PG_ROWS = [(5, "esc';aped")]

MYSQL_ROUTINES = (
    "# a hash comment; with a semicolon\n"
    "INSERT INTO t30 (id, v) VALUES (5, 'back\\';slash');\n"
    "CREATE PROCEDURE t30_p()\nBEGIN\n  INSERT INTO t30 (id, v) VALUES (6, 'p;1');\n"
    "  IF (SELECT COUNT(*) FROM t30) > 0 THEN\n    INSERT INTO t30 (id, v) VALUES (7, 'p2');\n"
    "  END IF;\nEND;\n"
    "DELIMITER //\n"
    "CREATE PROCEDURE t30_q()\nBEGIN\n  INSERT INTO t30 (id, v) VALUES (8, 'q;1');\nEND//\n"
    "DELIMITER ;\n"
    "INSERT INTO t30 (id, v) VALUES (9, 'after delimiter');"
)
MYSQL_ROWS = [(5, "back';slash"), (9, "after delimiter")]

SQLITE_TRIGGER = (
    "CREATE TABLE t30_log (v TEXT);\n"
    "CREATE TRIGGER t30_tr AFTER INSERT ON t30 BEGIN\n"
    "  INSERT INTO t30_log VALUES (NEW.v || ';logged');\n"
    "  UPDATE t30_log SET v = CASE WHEN v = 'x' THEN 'y' ELSE v END;\nEND;\n"
    "INSERT INTO t30 (id, v) VALUES (5, 'fires');"
)


def _apply(db: TestDB, script: str) -> list[str]:
    spec = spec_for(db, [{"name": "s30", "migrations": [script]}])
    with timescape_for(spec) as ts:
        planned = ts.apply_schema("s30", dry_run=True).plan.statements()
        assert "timescape_schemas" not in db.tables()  # a dry run writes nothing
        ts.apply_schema("s30")
    assert db.schema_row("s30")["status"] == "applied"
    return planned


def test_t30_strings_comments_empty_statements_trailing_comment(db: TestDB) -> None:
    assert _apply(db, COMMON) == COMMON_STATEMENTS
    assert db.query("SELECT id, v FROM t30 ORDER BY id") == COMMON_ROWS


@pytest.mark.dialects("postgresql")
def test_t30_postgresql_dollar_quoted_bodies_and_begin_atomic(db: TestDB) -> None:
    planned = _apply(db, f"{COMMON}\n;\n{PG_FUNCTIONS}")
    assert len(planned) == len(COMMON_STATEMENTS) + 4
    assert planned[-4].startswith("CREATE FUNCTION t30_f()")
    assert planned[-4].endswith("plpgsql")
    assert db.query("SELECT t30_f(), t30_g(7), t30_h()") == [(1, "a;$$;b7", 42)]
    assert db.query("SELECT id, v FROM t30 ORDER BY id") == COMMON_ROWS + PG_ROWS


@pytest.mark.dialects("mysql")
def test_t30_mysql_procedures_with_and_without_delimiter(db: TestDB) -> None:
    planned = _apply(db, f"{COMMON}\n;\n{MYSQL_ROUTINES}")
    assert len(planned) == len(COMMON_STATEMENTS) + 4
    assert planned[-3].startswith("CREATE PROCEDURE t30_p()")
    assert planned[-3].endswith("END")
    assert planned[-2].startswith("CREATE PROCEDURE t30_q()")
    assert planned[-2].endswith("END")
    db.execute("CALL t30_p()")
    db.execute("CALL t30_q()")
    assert db.query("SELECT id, v FROM t30 ORDER BY id") == sorted(
        [*COMMON_ROWS, *MYSQL_ROWS, (6, "p;1"), (7, "p2"), (8, "q;1")])


@pytest.mark.dialects("sqlite")
def test_t30_sqlite_trigger_body(db: TestDB) -> None:
    planned = _apply(db, f"{COMMON}\n;\n{SQLITE_TRIGGER}")
    assert len(planned) == len(COMMON_STATEMENTS) + 3
    assert planned[-2].startswith("CREATE TRIGGER t30_tr")
    assert planned[-2].endswith("END")
    db.execute("INSERT INTO t30 (id, v) VALUES (6, 'again')")
    assert db.query("SELECT v FROM t30_log ORDER BY v") == [("again;logged",), ("fires;logged",)]


UNTERMINATED: dict[str, list[tuple[str, str]]] = {
    "all": [
        ("INSERT INTO t30_y VALUES ('never closed);", "unterminated string"),
        ("/* never closed; INSERT INTO t30_y VALUES (1);", "unterminated block comment"),
    ],
    "postgresql": [
        ("CREATE FUNCTION t30_z() RETURNS int AS $$ BEGIN RETURN 1; END;", "dollar-quoted"),
    ],
    "mysql": [
        ("CREATE PROCEDURE t30_z()\nBEGIN\n  INSERT INTO t30_y VALUES (1);\n", "BEGIN ... END"),
        ("DELIMITER\nSELECT 1;", "DELIMITER"),
    ],
    "sqlite": [
        ("CREATE TRIGGER t30_z AFTER INSERT ON t30_y BEGIN\n SELECT 1;\n", "BEGIN ... END"),
    ],
}


def test_t30_unterminated_constructs__parse_error_before_anything_runs(db: TestDB) -> None:
    for script, fragment in UNTERMINATED["all"] + UNTERMINATED[db.dialect]:
        spec = spec_for(db, [{"name": "s30", "migrations": [
            "CREATE TABLE t30_x (id INTEGER)", f"CREATE TABLE t30_y (id INTEGER);\n{script}"]}])
        with timescape_for(spec) as ts:
            for dry_run in (True, False):
                with pytest.raises(InputError) as info:
                    ts.apply_schema("s30", dry_run=dry_run)
                message = str(info.value)
                assert info.value.exit_code == 2
                assert fragment.lower() in message.lower(), message
                assert "s30.step2" in message, message
                assert re.search(r"line [23]\b", message), message
        assert {"t30_x", "t30_y"}.isdisjoint(db.tables()), script
        assert "timescape_schemas" not in db.tables() or db.schema_row("s30") is None


def test_t30_cli_dry_run_prints_exactly_the_statements(db: TestDB, tmp_path: Any) -> None:
    """The CLI's --dry-run shows each statement that will run, and nothing else runs."""
    from tests.clirun import write_project  # noqa: PLC0415
    from tests.reliability._b_helpers import cli  # noqa: PLC0415

    root = tmp_path / "proj"
    write_project(root, '[[schemas]]\nname = "s30"\ndir = "m"\n',
                  {"m/001_torture.sql": COMMON})
    result = cli("--database", db.url, "--json", "schema", "migrate", "s30", "--dry-run",
                 cwd=root)
    assert result.exit_code == 0, result.describe()
    assert "t30" not in db.tables()
    import json  # noqa: PLC0415

    shown = json.dumps(json.loads(result.stdout))
    for statement in COMMON_STATEMENTS:
        assert json.dumps(statement)[1:-1] in shown, statement
    assert "trailing comment" not in shown
    assert "a line comment" not in shown
