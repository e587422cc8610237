"""Properties of statement splitting, checked with Hypothesis (pure)."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from timescape.errors import SQLSplitError
from timescape.store.split import Dialect, Statement, _Splitter, split_statements

DIALECTS: tuple[Dialect, ...] = ("sqlite", "postgresql", "mysql")
SETTINGS = settings(max_examples=50, deadline=None)

# Plain words and operators: never a block keyword, never DELIMITER, never two dashes or `/*`.
WORDS = st.sampled_from(
    [
        "SELECT",
        "x",
        "t1",
        "42",
        "3.5",
        "FROM",
        "WHERE",
        "AND",
        "=",
        "+",
        ",",
        "(",
        ")",
        "*",
        "-",
        "/",
    ]
)
# Text inside quotes and comments: every character that could end or start something.
INNER = st.text(alphabet=";'\"`$-/*#[]\\\nE aé", max_size=10)


def _doubled(quote: str, inner: str) -> str:
    return quote + inner.replace(quote, quote + quote) + quote


def _escaped(opening: str, inner: str) -> str:
    quote = opening[-1]
    return opening + inner.replace("\\", "\\\\").replace(quote, "\\" + quote) + quote


def _dollar_quoted(tag: str, body: str) -> str:
    close = f"${tag}$"
    return f"{close}{body}{close}" if (body + close).find(close) == len(body) else "$$ $$"


def _quoted(dialect: Dialect) -> st.SearchStrategy[str]:
    """Strings and quoted identifiers of ``dialect``, holding any character."""
    if dialect == "mysql":
        return st.one_of(
            INNER.map(lambda inner: _escaped("'", inner)),
            INNER.map(lambda inner: _escaped('"', inner)),
            INNER.map(lambda inner: _doubled("'", inner.replace("\\", "\\\\"))),
            INNER.map(lambda inner: _doubled("`", inner)),
        )
    standard = [
        INNER.map(lambda inner: _doubled("'", inner)),
        INNER.map(lambda inner: _doubled('"', inner)),
    ]
    if dialect == "sqlite":
        return st.one_of(
            *standard,
            INNER.map(lambda inner: _doubled("`", inner)),
            INNER.map(lambda inner: "[" + inner.replace("]", "") + "]"),
        )
    return st.one_of(
        *standard,
        INNER.map(lambda inner: _escaped("E'", inner)),
        st.builds(_dollar_quoted, st.sampled_from(["", "fn", "a_1"]), INNER),
    )


def _comments(dialect: Dialect) -> st.SearchStrategy[str]:
    """Comments of ``dialect`` holding any character (a space breaks up ``*/`` and ``/*``)."""
    line = INNER.map(lambda inner: "-- " + inner.replace("\n", " ") + "\n")
    block = INNER.map(lambda inner: f"/* {inner.replace('*/', '* /').replace('/*', '/ *')} */")
    if dialect == "mysql":
        return line | block | INNER.map(lambda inner: "# " + inner.replace("\n", " ") + "\n")
    return line | block


def _statement(first: str, rest: list[tuple[str, str]]) -> str:
    return " ".join([first, *(part for pair in rest for part in pair if part)])


# A statement as split_statements returns it: content first and last, comments only between.
STATEMENT = {
    dialect: st.builds(
        _statement,
        WORDS,
        st.lists(st.tuples(st.just("") | _comments(dialect), WORDS | _quoted(dialect)), max_size=5),
    )
    for dialect in DIALECTS
}
STATEMENTS = {dialect: st.lists(STATEMENT[dialect], max_size=4) for dialect in DIALECTS}
SEPARATORS = st.sampled_from([";", ";\n", " ;; ", ";\n-- c;\n", "; /* ; */", "\n;\n\n;"])


def _lines(sql: str, texts: list[str]) -> list[int]:
    lines, pos = [], 0
    for text in texts:
        pos = sql.index(text, pos)
        lines.append(sql.count("\n", 0, pos) + 1)
        pos += len(text)
    return lines


@pytest.mark.parametrize("dialect", DIALECTS)
@SETTINGS
@given(data=st.data())
def test_split__joined_statements__same_texts_and_lines(
    dialect: Dialect, data: st.DataObject
) -> None:
    texts = data.draw(STATEMENTS[dialect], label="texts")
    sql = ";\n".join(texts)
    statements = split_statements(sql, dialect)
    assert [s.text for s in statements] == texts
    assert [s.line for s in statements] == _lines(sql, texts)


@pytest.mark.parametrize("dialect", DIALECTS)
@SETTINGS
@given(data=st.data())
def test_split__rejoined_output__splits_the_same(dialect: Dialect, data: st.DataObject) -> None:
    texts = data.draw(STATEMENTS[dialect], label="texts")
    sql = "".join(text + data.draw(SEPARATORS, label="separator") for text in texts)
    once = [s.text for s in split_statements(sql, dialect)]
    assert once == texts
    assert [s.text for s in split_statements(";\n".join(once), dialect)] == once


@SETTINGS
@given(texts=STATEMENTS["sqlite"])
def test_split__sqlite_statements__complete_only_with_their_semicolon(texts: list[str]) -> None:
    for statement in split_statements(";\n".join(texts), "sqlite"):
        assert sqlite3.complete_statement(statement.text + ";")
        assert not sqlite3.complete_statement(statement.text)


# Fragments that reach every branch: quotes, comment marks, block keywords, directives.
FRAGMENTS = (
    *("'", '"', "`", "[", "]", "$", "$$", "$a$", "E'", "\\", "--", "-", "/*", "*/", "/*!", "/"),
    *("#", ";", ";;", "//", "\n", "\r", " ", "\t", "x", "(", ")", ":", "=", "@", "1", "é"),
    *("BEGIN", "END", "CASE", "IF", "ATOMIC", "NOT", "THEN", "ELSE", "LOOP", "WHILE", "DO"),
    *("REPEAT", "CREATE", "ALTER", "OR REPLACE", "TEMP", "TRIGGER", "PROCEDURE", "FUNCTION"),
    *("EVENT", "TABLE", "RETURN", "\nDELIMITER ", "DELIMITER //\n", "DELIMITER ;\n"),
)
SQLISH = st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join)


def _split_or_error(sql: str, dialect: Dialect) -> list[Statement] | SQLSplitError:
    try:
        return split_statements(sql, dialect)
    except SQLSplitError as error:
        return error


@pytest.mark.parametrize("dialect", DIALECTS)
@settings(max_examples=120, deadline=None)
@given(sql=st.one_of(st.text(max_size=60), SQLISH))
def test_split__any_text__statements_or_split_error(dialect: Dialect, sql: str) -> None:
    last_line = sql.count("\n") + 1
    result = _split_or_error(sql, dialect)  # anything else raised fails the test
    if isinstance(result, SQLSplitError):
        assert 1 <= result.line <= last_line
        return
    lines = [statement.line for statement in result]
    assert lines == sorted(lines)
    for statement in result:
        assert statement.text
        assert statement.text == statement.text.strip(" \t\n\r\f\v")
        assert statement.text in sql
        assert 1 <= statement.line <= last_line


class _GeneralOnly(_Splitter):
    """The splitter without its one-match-per-statement shortcut (the reference)."""

    __slots__ = ()

    def plain_statements(self, pos: int) -> int:
        return pos


def _outcome(splitter: _Splitter) -> list[tuple[str, int, str | None]] | str:
    try:
        return [(s.text, s.line, s.data) for s in splitter.run()]
    except SQLSplitError as exc:
        return f"SQLSplitError line {exc.line}: {exc.reason}"


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
@SETTINGS
@given(
    pieces=st.lists(
        st.one_of(
            WORDS,
            st.sampled_from([";", " ", "\n", ";\n", "-- c\n", "/* c */", "COPY t FROM stdin", "\\"]),
            st.sampled_from(["'a;b'", "'it''s'", '"q;"', "[x]", "`y`", "E'\\''", "$$;$$", "'open"]),
            INNER,
        ),
        max_size=30,
    )
)
def test_shortcut__any_text__same_statements_and_errors_as_the_general_loop(
    dialect: Dialect, pieces: list[str]
) -> None:
    """Issue 14: plain statements are taken one pattern match each; nothing else changes."""
    text = " ".join(pieces)
    assert _outcome(_Splitter(text, dialect)) == _outcome(_GeneralOnly(text, dialect))
