"""What pg_dump and mysqldump write: psql meta-commands, COPY data, and session-changing statements."""

from __future__ import annotations

import pytest

from timescape.errors import SQLSplitError
from timescape.store.session import may_change_session
from timescape.store.split import Statement, split_statements

PG_DUMP_HEAD = """--
-- PostgreSQL database dump
--

\\restrict TZjsTvUiehAXptu8oNcC2AzzWJbPePyENsMNVJZHkLZ7LgBg3UWeR9px6fHs0tW

SET statement_timeout = 0;
SELECT pg_catalog.set_config('search_path', '', false);

COPY public.t (id, v) FROM stdin;
1\ta;b
2\tb\\\\c
3\t\\N
\\.


SELECT pg_catalog.setval('public.t_id_seq', 3, true);

\\unrestrict TZjsTvUiehAXptu8oNcC2AzzWJbPePyENsMNVJZHkLZ7LgBg3UWeR9px6fHs0tW
"""


def test_pg_dump__restrict_lines_skipped_copy_data_attached() -> None:
    assert split_statements(PG_DUMP_HEAD, "postgresql") == [
        Statement("SET statement_timeout = 0", 7),
        Statement("SELECT pg_catalog.set_config('search_path', '', false)", 8),
        Statement("COPY public.t (id, v) FROM stdin", 10, "1\ta;b\n2\tb\\\\c\n3\t\\N\n"),
        Statement("SELECT pg_catalog.setval('public.t_id_seq', 3, true)", 17),
    ]


def test_copy_from_stdin__crlf_terminator_and_empty_data__accepted() -> None:
    text = "copy t from STDIN with (format csv);\r\n\\.\r\nSELECT 1"
    assert split_statements(text, "postgresql") == [
        Statement("copy t from STDIN with (format csv)", 1, ""),
        Statement("SELECT 1", 3),
    ]


def test_copy_to_stdout_or_from_file__no_data_taken() -> None:
    text = "COPY t TO stdout;\nCOPY t FROM '/tmp/x';\nSELECT 1"
    assert [s.data for s in split_statements(text, "postgresql")] == [None, None, None]


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("SELECT 1;\n\n\\connect other\nSELECT 2;", 3, "psql meta-command \\connect"),
        ("\\set ON_ERROR_STOP on\n", 1, "psql meta-command \\set"),
        ("SELECT 1;\nSELECT 2 \\gset\n", 2, "\\gset inside a statement"),
        ("COPY t FROM stdin;\n1\n2\n", 1, "never ends: add a line holding only \\."),
        ("COPY t FROM stdin; SELECT 1;\n\\.\n", 1, "must end its line"),
    ],
)
def test_client_side_meta_commands__refused_with_name_and_line(
    text: str, line: int, fragment: str
) -> None:
    with pytest.raises(SQLSplitError) as info:
        split_statements(text, "postgresql")
    assert info.value.line == line
    assert fragment in info.value.reason


def test_backslash_inside_strings_and_comments__not_a_meta_command() -> None:
    text = "SELECT E'a\\\\b', 'c\\d', $$\\x$$ /* \\q */; -- \\connect\nSELECT 2"
    assert [s.text for s in split_statements(text, "postgresql")] == [
        "SELECT E'a\\\\b', 'c\\d', $$\\x$$",  # a trailing comment is not part of it
        "SELECT 2",
    ]


@pytest.mark.parametrize(
    ("dialect", "statements", "expected"),
    [
        ("postgresql", ["CREATE TABLE a (id int)", "INSERT INTO a VALUES (1)"], False),
        ("postgresql", ["COPY a FROM stdin", "ALTER TABLE a OWNER TO x"], False),
        ("postgresql", ["SELECT pg_catalog.set_config('search_path', '', false)"], True),
        ("postgresql", ["SET ROLE app"], True),
        ("postgresql", ["RESET ALL"], True),
        ("postgresql", ["DO $$ BEGIN PERFORM 1; END $$"], True),
        ("postgresql", ["-- note\nCALL p()"], True),
        ("mysql", ["/*!40000 ALTER TABLE `c` DISABLE KEYS */", "INSERT INTO c VALUES (1)"], False),
        ("mysql", ["/*!40101 SET NAMES utf8mb4 */"], True),
        ("mysql", ["USE other"], True),
        ("mysql", ["LOCK TABLES c WRITE"], True),
        ("mysql", ["/*M!100616 SET NOTE_VERBOSITY=0 */"], True),
        ("sqlite", ["CREATE TABLE a (id)", "SELECT 1"], False),
        ("sqlite", ["PRAGMA query_only = ON"], True),
    ],
)
def test_may_change_session__by_leading_keyword(
    dialect: str, statements: list[str], *, expected: bool
) -> None:
    assert may_change_session(statements, dialect) is expected  # type: ignore[arg-type]


def test_analysis__dump_data_statements__judged_data_without_parsing() -> None:
    from timescape.analysis import Effect, classify  # noqa: PLC0415 - sqlglot loads on demand

    rows = ",\n".join(f"({i}, 'row {i}; with ''quotes''')" for i in range(5000))
    statements = [
        "CREATE TABLE public.big (id int, note text)",
        f'INSERT INTO "public"."big" (id, note) VALUES\n{rows}',
        "COPY public.big (id, note) FROM stdin",
    ]
    findings = classify(statements, "postgresql")
    assert [f.effect for f in findings] == [Effect.ADDITIVE, Effect.DATA, Effect.DATA]
    assert findings[1].objects == ("public.big",)
    assert findings[2].reason == "copies rows into public.big (changes rows only)"
