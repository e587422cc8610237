"""Compound bodies for :mod:`timescape.store.split`: which statements open one, and where it ends.

A ``;`` inside a trigger, a ``BEGIN ATOMIC`` function or a MySQL/MariaDB stored program does not end
the statement. These are each dialect's rules for it, as the splitter's module docstring lists them:
which leading words may open a body, and the blocks (``BEGIN ... END``, ``CASE ... END``, MariaDB's
``IF|LOOP|WHILE|REPEAT ... END ...``) counted one significant token at a time over the lexer
(:mod:`timescape.store._lexer`). Pure: standard library only, no I/O.
"""

from __future__ import annotations

import functools
import re
from itertools import islice
from typing import TYPE_CHECKING, Final

from timescape.errors import SQLSplitError
from timescape.store._lexer import (
    _SIMPLE_QUOTED,
    _WORD,
    _comment_end,
    _content_end,
    _end_quoted,
    _lexemes,
    _line,
    _quote_at,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from timescape.store.split import Dialect

_BLOCK_KEYWORDS: Final = {
    "sqlite": ("BEGIN", "CASE", "END"),
    "postgresql": ("BEGIN", "ATOMIC", "CASE", "END"),
    "mysql": ("BEGIN", "CASE", "END", "IF", "LOOP", "WHILE", "REPEAT"),
}
_COMPOUND_LEADS: Final[dict[str, frozenset[str]]] = {
    "sqlite": frozenset({"CREATE"}),
    "postgresql": frozenset({"CREATE"}),
    "mysql": frozenset({"CREATE", "ALTER", "BEGIN", "IF", "CASE", "LOOP", "WHILE", "REPEAT"}),
}
_MYSQL_ROUTINES: Final = frozenset({"PROCEDURE", "FUNCTION", "TRIGGER", "EVENT"})
_MYSQL_OTHER_OBJECTS: Final = frozenset(
    {"TABLE", "VIEW", "INDEX", "UNIQUE", "FULLTEXT", "SPATIAL", "DATABASE", "SCHEMA", "USER"}
    | {"ROLE", "SERVER", "TABLESPACE", "LOGFILE", "SEQUENCE", "TEMPORARY", "PACKAGE", "RESOURCE"}
)
_MYSQL_BLOCK_OPENERS: Final = frozenset({"BEGIN", "CASE", "CASE_EXPR"})
_MYSQL_END_KINDS: Final = {
    "IF": ("IF",),
    "CASE": ("CASE", "CASE_EXPR"),
    "LOOP": ("LOOP",),
    "WHILE": ("WHILE",),
    "REPEAT": ("REPEAT",),
}
# Tokens after which a statement starts inside a compound body: IF or REPEAT there opens a block.
_MYSQL_STATEMENT_LEADS: Final = frozenset({";", ":", "BEGIN", "ATOMIC", "DO", "LOOP", "REPEAT"})
# Words after which IF or REPEAT is a function call or part of IF [NOT] EXISTS, even between the
# header of a routine and its body.
_MYSQL_EXPRESSION_LEADS: Final = frozenset(
    {"RETURN", "SELECT", "WHERE", "AND", "OR", "XOR", "NOT", "WHEN", "THEN", "ELSE", "ON", "BY"}
    | {"HAVING", "DISTINCT", "ALL", "ANY", "SOME", "INTERVAL", "IN", "IS", "LIKE", "BETWEEN", "DIV"}
    | {"MOD", "REGEXP", "RLIKE", "SET", "VALUES", "VALUE", "AS", "EXISTS", "LIMIT", "USING", "INTO"}
    | {"DEFAULT", "AT", "EVERY", "STARTS", "ENDS", "RETURNS"}
    | _MYSQL_ROUTINES
    | _MYSQL_OTHER_OBJECTS
)
_MYSQL_BEFORE_BODY: Final = frozenset({")", "'", '"', "`"})
_BLOCK_NAMES: Final = {
    "BEGIN": "BEGIN ... END block",
    "CASE": "CASE ... END CASE statement",
    "CASE_EXPR": "CASE ... END expression",
    "IF": "IF ... END IF statement",
    "LOOP": "LOOP ... END LOOP statement",
    "WHILE": "WHILE ... END WHILE statement",
    "REPEAT": "REPEAT ... END REPEAT statement",
}


def _scan_compound(sql: str, start: int, dialect: Dialect) -> tuple[int, int]:
    """Find the end of a statement that may hold compound bodies: ``(resume_at, text_end)``."""
    run, size = _compound_run(dialect).match, len(sql)
    blocks = _Blocks(dialect)
    feed = blocks.feed
    pos = text_end = start
    while True:
        match = run(sql, pos)
        stop = match.end()  # type: ignore[union-attr]  # `*+` always matches
        if stop > pos:
            text_end = _content_end(sql, pos, stop, text_end)
            last = match.group(1)  # type: ignore[union-attr]
            if last is not None:  # the run held tokens: only the last one matters
                feed(last.upper() if last[0].isalnum() or last[0] == "_" else last[0], pos)
        pos = stop
        if pos >= size:
            break
        if sql[pos] == ";":
            feed(";", pos)
            if not blocks.frames:
                return pos + 1, text_end
            pos = text_end = pos + 1
            continue
        quote = _quote_at(sql, pos, dialect)
        word = None if quote else _WORD.match(sql, pos)
        if word is not None:  # a block keyword
            feed(word.group().upper(), pos)
            pos = text_end = word.end()
            continue
        end = _comment_end(sql, pos, dialect)
        if end >= 0 and not (dialect == "mysql" and sql.startswith("/*!", pos)):
            pos = end
            continue
        # A quote the run could not take, a mysql /*! */ comment, or a `$` that quotes nothing.
        lexeme = quote[:1] or ("/*!" if end >= 0 else sql[pos])
        if end < 0:
            end = _end_quoted(sql, pos, quote, dialect) if quote else pos + 1
        feed(lexeme, pos)
        pos = text_end = end
    blocks.finish(sql)
    return size, text_end


class _Blocks:
    """The compound blocks open in one statement, fed one significant token at a time."""

    __slots__ = ("dialect", "feed", "frames", "pending", "prev")

    def __init__(self, dialect: Dialect) -> None:
        self.dialect: Dialect = dialect
        self.frames: list[tuple[str, int]] = []  # (kind, position of its opening keyword)
        self.pending: int | None = None  # a BEGIN or END whose meaning the next token decides
        self.prev = ";"  # the previous token (mysql)
        feeds = {"sqlite": self.feed_sqlite, "postgresql": self.feed_postgresql}
        self.feed: Callable[[str, int], None] = feeds.get(dialect, self.feed_mysql)

    def finish(self, sql: str) -> None:
        """Close what a final END closes, then refuse any block still open at the end of ``sql``."""
        if self.pending is not None and self.dialect == "sqlite":
            self.frames.pop()
        elif self.pending is not None and self.dialect == "mysql":
            self.close_bare_end()
        if self.frames:
            kind, pos = self.frames[0]
            opener = "CASE" if kind == "CASE_EXPR" else kind
            reason = f"unterminated {_BLOCK_NAMES[kind]}: the {opener} here has no matching END"
            raise SQLSplitError(reason, line=_line(sql, pos))

    def feed_sqlite(self, lexeme: str, pos: int) -> None:
        pending, self.pending = self.pending, None
        if pending is not None and lexeme == ";":
            self.frames.pop()  # END ; closes the trigger body
        elif lexeme in {"BEGIN", "CASE"}:
            self.frames.append((lexeme, pos))
        elif lexeme == "END" and self.frames:
            if self.frames[-1][0] == "CASE":
                self.frames.pop()
            else:
                self.pending = pos

    def feed_postgresql(self, lexeme: str, pos: int) -> None:
        pending, self.pending = self.pending, None
        if pending is not None and lexeme == "ATOMIC":
            self.frames.append(("BEGIN", pending))
        elif lexeme == "BEGIN":
            self.pending = pos
        elif lexeme == "CASE" and self.frames:
            self.frames.append((lexeme, pos))
        elif lexeme == "END" and self.frames:
            self.frames.pop()

    def feed_mysql(self, lexeme: str, pos: int) -> None:
        pending, self.pending = self.pending is not None, None
        if pending and lexeme in _MYSQL_END_KINDS:
            if self.frames and self.frames[-1][0] in _MYSQL_END_KINDS[lexeme]:
                self.frames.pop()
            self.prev = lexeme
            return
        if pending:
            self.close_bare_end()
        if lexeme == "BEGIN":
            self.frames.append((lexeme, pos))
        elif lexeme == "CASE":
            self.frames.append(("CASE" if self.at_statement_start() else "CASE_EXPR", pos))
        elif lexeme in {"LOOP", "WHILE"} or (
            lexeme in {"IF", "REPEAT"} and self.at_statement_start()
        ):
            self.frames.append((lexeme, pos))
        elif lexeme == "END":
            self.pending = pos
        self.prev = lexeme

    def close_bare_end(self) -> None:
        """Close the innermost BEGIN or CASE; IF/LOOP/WHILE/REPEAT above it were not statements."""
        while self.frames:
            if self.frames.pop()[0] in _MYSQL_BLOCK_OPENERS:
                return

    def at_statement_start(self) -> bool:
        """Tell whether a mysql statement may start at the current token."""
        prev = self.prev
        if prev in _MYSQL_STATEMENT_LEADS:
            return True
        if prev in {"THEN", "ELSE"}:
            return bool(self.frames) and self.frames[-1][0] in {"IF", "CASE"}
        if self.frames or prev in _MYSQL_EXPRESSION_LEADS:
            return False
        # Between a routine's header and its body: after `)`, a string or a word.
        return prev in _MYSQL_BEFORE_BODY or prev[0].isalnum() or prev[0] == "_"


def _opens_compound(sql: str, start: int, dialect: Dialect) -> bool:
    """Tell whether the statement at ``start`` may hold a compound body (trigger, routine...)."""
    word = _WORD.match(sql, start)
    if word is None or word.group().upper() not in _COMPOUND_LEADS[dialect]:
        return False
    if dialect == "sqlite":  # CREATE [TEMP|TEMPORARY] TRIGGER
        head = [lexeme for lexeme, _, _ in islice(_lexemes(sql, start, dialect), 3)]
        return "TRIGGER" in head[1:3] and head[1] in {"TRIGGER", "TEMP", "TEMPORARY"}
    if dialect == "postgresql":  # CREATE [OR REPLACE] FUNCTION|PROCEDURE
        head = [lexeme for lexeme, _, _ in islice(_lexemes(sql, start, dialect), 4)]
        kind = head[3:4] if head[1:3] == ["OR", "REPLACE"] else head[1:2]
        return kind in (["FUNCTION"], ["PROCEDURE"])
    return _mysql_opens_compound(sql, start)


def _mysql_opens_compound(sql: str, start: int) -> bool:
    head = (lexeme for lexeme, _, _ in islice(_lexemes(sql, start, "mysql"), 18))
    first = next(head)
    if first == "BEGIN":
        return list(islice(head, 2)) == ["NOT", "ATOMIC"]
    if first not in {"CREATE", "ALTER"}:
        return True  # MariaDB runs IF, CASE, LOOP, WHILE and REPEAT outside stored programs
    # CREATE [OR REPLACE] [DEFINER = user] [AGGREGATE] PROCEDURE|FUNCTION|TRIGGER|EVENT
    kind = next((word for word in head if word in _MYSQL_ROUTINES | _MYSQL_OTHER_OBJECTS), "")
    return kind in _MYSQL_ROUTINES


@functools.cache
def _compound_run(dialect: Dialect) -> re.Pattern[str]:
    """Build the pattern of token runs holding no block keyword; group 1 is the run's last token."""
    keywords = "|".join(_BLOCK_KEYWORDS[dialect])
    e_string = "(?![eE]')" if dialect == "postgresql" else ""  # E'...' is for Python to decide
    word = rf"(?!(?:{keywords})(?![\w$])){e_string}\w[\w$]*+"
    stops = re.escape({"sqlite": "'\"`[", "postgresql": "'\"$", "mysql": "'\"`#"}[dialect] + ";-/")
    dash = r"-(?!-(?:[\x00-\x20]|\Z))" if dialect == "mysql" else "-(?!-)"
    tokens = "|".join(
        [word, *_SIMPLE_QUOTED[dialect], dash, r"/(?!\*)", rf"[^\w \t\n\r\f\v{stops}]"]
    )
    return re.compile(rf"(?:[ \t\n\r\f\v]++|({tokens}))*+", re.DOTALL | re.IGNORECASE)
