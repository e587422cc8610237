"""The lexer of :mod:`timescape.store.split`: where each dialect's tokens end.

Strings, quoted identifiers, dollar quotes and comments, as the splitter's module docstring lists
them per dialect, and the significant lexemes of a statement (words upper-cased, quotes as their
opening). Nothing here knows statements or compound bodies: :mod:`timescape.store._compound` and
the splitter build on it. Pure: standard library only, no I/O.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from timescape.errors import SQLSplitError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from timescape.store.split import Dialect

__all__ = ["lexemes"]

_SPACE: Final = " \t\n\r\f\v"
_WORD: Final = re.compile(r"\w[\w$]*")
# One significant token after optional whitespace: a word (identifiers, keywords, numbers; `$` may
# follow the first character, as in PostgreSQL and MySQL identifiers) or any other character.
_TOKEN: Final = re.compile(r"[ \t\n\r\f\v]*+(?:(\w[\w$]*)|(.))", re.DOTALL)
# https://www.postgresql.org/docs/current/sql-syntax-lexical.html#SQL-SYNTAX-DOLLAR-QUOTING
# A tag is a letter, `_` or any non-ASCII character, then those or digits. Spelt as negated ASCII
# classes: the equivalent `[A-Za-z_\x80-\U0010ffff]` takes ~3 ms to compile, at every start.
_DOLLAR_TAG: Final = re.compile(
    r"\$(?:[^\x00-\x40\x5b-\x5e\x60\x7b-\x7f][^\x00-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]*)?\$"
)
_PG_LINE_END: Final = re.compile(r"[\r\n]")
_PG_COMMENT_MARK: Final = re.compile(r"/\*|\*/")
_ESCAPED_QUOTE_STOP: Final = {"'": re.compile(r"[\\']"), '"': re.compile(r'[\\"]')}
_QUOTES: Final[dict[str, str]] = {"sqlite": "'\"`[", "postgresql": "'\"", "mysql": "'\"`"}
# Doubled quotes belong to the token, so that an unclosed one is reported where it opens.
_SIMPLE_QUOTED: Final = {
    "sqlite": (r"'(?:[^']++|'')*+'", r'"(?:[^"]++|"")*+"', r"`(?:[^`]++|``)*+`", r"\[[^\]]*+\]"),
    "postgresql": (r"'(?:[^']++|'')*+'", r'"(?:[^"]++|"")*+"'),
    "mysql": (
        r"'(?:[^'\\]++|\\.|'')*+'",
        r'"(?:[^"\\]++|\\.|"")*+"',
        r"`(?:[^`]++|``)*+`",
    ),
}


def _lexemes(sql: str, pos: int, dialect: Dialect) -> Iterator[tuple[str, int, int]]:
    """Yield ``(lexeme, start, end)`` for each significant lexeme of ``sql`` from ``pos`` on.

    Words come upper-cased; a string or quoted identifier comes as its opening (``'``, ``"``,
    ``$tag$``, ...) and a mysql ``/*! */`` comment as ``/*!``; other comments are skipped; any other
    character comes as itself.
    """
    while (match := _TOKEN.match(sql, pos)) is not None:
        word = match.group(1)
        start = match.start(1) if word is not None else match.start(2)
        if word is not None and not (word in {"E", "e"} and sql.startswith("'", match.end())):
            pos = match.end()
            yield word.upper(), start, pos
            continue
        end = _comment_end(sql, start, dialect)
        if end >= 0:
            if dialect == "mysql" and sql.startswith("/*!", start):
                yield "/*!", start, end
            pos = end
            continue
        quote = _quote_at(sql, start, dialect)
        pos = _end_quoted(sql, start, quote, dialect) if quote else start + 1
        yield quote or sql[start], start, pos


def _content_end(sql: str, start: int, stop: int, previous: int) -> int:
    """Return where ``sql[start:stop]`` ends without trailing blanks, or ``previous`` if blank."""
    end = stop
    while end > start and sql[end - 1] in _SPACE:
        end -= 1
    return end if end > start else previous


def _line(sql: str, pos: int) -> int:
    return sql.count("\n", 0, pos) + 1


def _is_identifier_char(char: str) -> bool:
    return char.isalnum() or char in "_$" or char >= "\x80"


def _quote_at(sql: str, pos: int, dialect: Dialect) -> str:
    """Return the opening of the string or quoted identifier at ``pos``, or ``""`` if none."""
    char = sql[pos]
    if char in _QUOTES[dialect]:
        return char
    if dialect != "postgresql" or (pos and _is_identifier_char(sql[pos - 1])):
        return ""
    if char in "eE" and sql.startswith("'", pos + 1):
        return "E'"
    tag = _DOLLAR_TAG.match(sql, pos) if char == "$" else None
    return tag.group() if tag else ""


def _end_quoted(sql: str, start: int, quote: str, dialect: Dialect) -> int:
    """Return the index just past the quoted token opened by ``quote`` at ``start``."""
    if quote == "E'":
        return _end_escaped(sql, start + 1, "'", "escape string literal")
    if dialect == "mysql" and quote in {"'", '"'}:
        return _end_escaped(sql, start, quote, "string literal")
    if quote.startswith("$"):
        end = sql.find(quote, start + len(quote))
        if end < 0:
            raise _unterminated(sql, start, "dollar-quoted string", quote)
        return end + len(quote)
    if quote == "[":
        end = sql.find("]", start + 1)
        if end < 0:
            raise _unterminated(sql, start, "bracketed identifier", quote)
        return end + 1
    what = "string literal" if quote == "'" else "quoted identifier"
    pos = start + 1
    while True:
        end = sql.find(quote, pos)
        if end < 0:
            raise _unterminated(sql, start, what, quote)
        if not sql.startswith(quote, end + 1):
            return end + 1
        pos = end + 2


def _end_escaped(sql: str, start: int, quote: str, what: str) -> int:
    """Like ``_end_quoted``, for quotes where a backslash escapes the next character."""
    stop = _ESCAPED_QUOTE_STOP[quote].search
    pos = start + 1
    while (match := stop(sql, pos)) is not None:
        end = match.start()
        if sql[end] == "\\" or sql.startswith(quote, end + 1):
            pos = end + 2
        else:
            return end + 1
    raise _unterminated(sql, start, what, quote)


def _comment_end(sql: str, pos: int, dialect: Dialect) -> int:
    """Return the index just past the comment that starts at ``pos``, or -1 if none starts there."""
    pair = sql[pos : pos + 2]
    if pair == "/*":
        return _block_comment_end(sql, pos, nested=dialect == "postgresql")
    if pair == "--" and not (dialect == "mysql" and sql[pos + 2 : pos + 3] > " "):
        return _line_end(sql, pos + 2, dialect)
    if pair[:1] == "#" and dialect == "mysql":
        return _line_end(sql, pos + 1, dialect)
    return -1


def _line_end(sql: str, pos: int, dialect: Dialect) -> int:
    if dialect == "postgresql":  # PostgreSQL also ends a `--` comment at a lone \r
        match = _PG_LINE_END.search(sql, pos)
        return len(sql) if match is None else match.start()
    end = sql.find("\n", pos)
    return len(sql) if end < 0 else end


def _block_comment_end(sql: str, start: int, *, nested: bool) -> int:
    if not nested:
        end = sql.find("*/", start + 2)
        if end < 0:
            raise _unterminated(sql, start, "block comment", "/*")
        return end + 2
    depth, pos = 0, start
    while (match := _PG_COMMENT_MARK.search(sql, pos)) is not None:
        depth += 1 if match.group() == "/*" else -1
        pos = match.end()
        if depth == 0:
            return pos
    raise _unterminated(sql, start, "block comment", "/*")


def _unterminated(sql: str, start: int, what: str, opening: str) -> SQLSplitError:
    return SQLSplitError(
        f"unterminated {what}: the {opening} here is never closed", line=_line(sql, start)
    )


def lexemes(sql: str, dialect: Dialect) -> Iterator[tuple[str, int, int]]:
    """Yield ``(word, start, end)`` for the top-level words of ``sql``, skipping comments.

    Args:
        sql: One statement.
        dialect: Its dialect.

    Returns:
        An iterator over the lexemes (used by :mod:`timescape.store.breakers`).
    """
    return _lexemes(sql, 0, dialect)
