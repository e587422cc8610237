"""A small SQL tokenizer for the checks that must not trust the parser.

The analyser reads statement text directly in three places: keyword inspection when sqlglot could
not understand a statement, the round-trip check that the parser kept every dangerous keyword, and
``timescape:ignore`` comments. All three need the same thing: words outside comments and string
literals, and quoted identifiers kept apart from keywords. This module does only that; it never
splits statements.
"""

from __future__ import annotations

import re
from collections import Counter
from enum import StrEnum
from functools import lru_cache
from typing import NamedTuple

__all__ = ["Cursor", "Kind", "Token", "ignored_rules", "keyword_counts", "tokenize"]

_IGNORE = re.compile(
    r"timescape:ignore\s+([A-Za-z]+[0-9]+(?:\s*,\s*[A-Za-z]+[0-9]+|\s+[A-Za-z]+[0-9]+)*)"
)
_DOLLAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_SPACE = re.compile(r"\s+")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]*)?")


class Kind(StrEnum):
    """What a token is."""

    WORD = "word"
    QUOTED = "quoted"
    STRING = "string"
    NUMBER = "number"
    SYMBOL = "symbol"


class Token(NamedTuple):
    """One token of statement text (a named tuple: tokenizing builds thousands of them).

    Attributes:
        kind: The token's kind.
        text: For words, the word upper-cased; for quoted identifiers, the name without quotes;
            for strings, the literal's content; otherwise the text itself.
        start: Offset of the token's first character in the statement.
        end: Offset just past its last character.
    """

    kind: Kind
    text: str
    start: int
    end: int

    def is_word(self, *words: str) -> bool:
        """Return whether this token is an unquoted keyword among ``words`` (upper-case)."""
        return self.kind is Kind.WORD and self.text in words


@lru_cache(maxsize=8192)
def tokenize(sql: str, dialect: str) -> tuple[list[Token], list[str]]:  # noqa: C901, PLR0912, PLR0915 - one branch per kind of character reads best
    """Split statement text into tokens, dropping comments.

    The result is cached and shared: callers must not modify it.

    Args:
        sql: One statement.
        dialect: ``"postgresql"``, ``"mysql"`` or ``"sqlite"``; decides what ``"`` and ``#`` mean.

    Returns:
        The tokens, and the text of every comment (for ``timescape:ignore``). Unterminated
        strings and comments run to the end of the text rather than raising.
    """
    tokens: list[Token] = []
    comments: list[str] = []
    i, n = 0, len(sql)
    is_mysql = dialect == "mysql"
    while i < n:
        # Words first, then runs of whitespace: most of any statement. No other branch below can
        # start with a letter, an underscore or a space, so the order changes no result.
        if m := _WORD.match(sql, i):
            tokens.append(Token(Kind.WORD, m.group(0).upper(), i, m.end()))
            i = m.end()
            continue
        ch = sql[i]
        if ch.isspace():
            space = _SPACE.match(sql, i)  # \s is what str.isspace() accepts: it matches here
            i = space.end() if space else i + 1
        elif sql.startswith("--", i) or (is_mysql and ch == "#"):
            end = sql.find("\n", i)
            end = n if end < 0 else end
            comments.append(sql[i:end])
            i = end
        elif sql.startswith("/*", i):
            if is_mysql and sql.startswith("/*!", i):
                # MySQL runs the text of /*! ... */ comments: read it as code, minus the version.
                i += 3
                while i < n and sql[i].isdigit():
                    i += 1
                continue
            end = sql.find("*/", i + 2)
            end = n if end < 0 else end + 2
            comments.append(sql[i:end])
            i = end
        elif is_mysql and sql.startswith("*/", i):
            i += 2
        elif ch == "'" or (ch == '"' and is_mysql):
            i = _quoted(sql, i, ch, Kind.STRING, tokens, backslash=is_mysql)
        elif ch in {'"', "`"}:
            i = _quoted(sql, i, ch, Kind.QUOTED, tokens, backslash=False)
        elif ch == "[" and dialect == "sqlite":
            end = sql.find("]", i + 1)
            end = n if end < 0 else end
            tokens.append(Token(Kind.QUOTED, sql[i + 1 : end], i, end + 1))
            i = end + 1
        elif ch == "$" and (m := _DOLLAR.match(sql, i)) and dialect == "postgresql":
            tag = m.group(0)
            end = sql.find(tag, m.end())
            end = n if end < 0 else end
            tokens.append(Token(Kind.STRING, sql[m.end() : end], i, end + len(tag)))
            i = end + len(tag)
        elif m := _WORD.match(sql, i):
            tokens.append(Token(Kind.WORD, m.group(0).upper(), i, m.end()))
            i = m.end()
        elif m := _NUMBER.match(sql, i):
            tokens.append(Token(Kind.NUMBER, m.group(0), i, m.end()))
            i = m.end()
        else:
            tokens.append(Token(Kind.SYMBOL, ch, i, i + 1))
            i += 1
    return tokens, comments


def _quoted(
    sql: str, start: int, quote: str, kind: Kind, tokens: list[Token], *, backslash: bool
) -> int:
    i, n = start + 1, len(sql)
    parts: list[str] = []
    while i < n:
        ch = sql[i]
        if backslash and ch == "\\" and i + 1 < n:
            parts.append(sql[i + 1])
            i += 2
        elif ch == quote:
            if i + 1 < n and sql[i + 1] == quote:
                parts.append(quote)
                i += 2
            else:
                i += 1
                break
        else:
            parts.append(ch)
            i += 1
    tokens.append(Token(kind, "".join(parts), start, i))
    return i


def ignored_rules(sql: str, dialect: str) -> frozenset[str]:
    """Return the rule ids silenced by ``timescape:ignore`` comments in a statement.

    Both ``-- timescape:ignore PG001`` and ``/* timescape:ignore PG001,PG002 */`` work, anywhere in
    the statement; a directive inside a string literal does not count.

    Args:
        sql: One statement.
        dialect: The statement's dialect.

    Returns:
        The rule ids, upper-cased.
    """
    _, comments = tokenize(sql, dialect)
    found: set[str] = set()
    for comment in comments:
        for match in _IGNORE.finditer(comment):
            found.update(part.upper() for part in re.split(r"[\s,]+", match.group(1)) if part)
    return frozenset(found)


def keyword_counts(tokens: list[Token], keywords: frozenset[str]) -> Counter[str]:
    """Count how often each of ``keywords`` occurs as an unquoted word.

    Args:
        tokens: Tokens from :func:`tokenize`.
        keywords: Upper-case keywords to count.

    Returns:
        A counter keyed by keyword.
    """
    return Counter(t.text for t in tokens if t.kind is Kind.WORD and t.text in keywords)


class Cursor:
    """A position in a statement's tokens, for reading it keyword by keyword."""

    __slots__ = ("i", "sql", "tokens")

    def __init__(self, sql: str, tokens: list[Token], i: int = 0) -> None:
        """Start reading ``tokens`` (of ``sql``) at index ``i``."""
        self.sql = sql
        self.tokens = tokens
        self.i = i

    @property
    def is_done(self) -> bool:
        """Whether every token has been read."""
        return self.i >= len(self.tokens)

    def word(self, offset: int = 0) -> str:
        """Return the keyword ``offset`` tokens ahead (upper-case), or ``""`` if not a word."""
        j = self.i + offset
        if j < len(self.tokens) and self.tokens[j].kind is Kind.WORD:
            return self.tokens[j].text
        return ""

    def symbol(self, offset: int = 0) -> str:
        """Return the symbol ``offset`` tokens ahead, or ``""`` if not a symbol."""
        j = self.i + offset
        if j < len(self.tokens) and self.tokens[j].kind is Kind.SYMBOL:
            return self.tokens[j].text
        return ""

    def accept(self, *words: str) -> bool:
        """Advance past ``words`` if the next tokens are exactly those keywords."""
        if all(self.word(k) == w for k, w in enumerate(words)):
            self.i += len(words)
            return True
        return False

    def accept_any(self, *words: str) -> str:
        """Advance past one keyword among ``words`` and return it, or return ``""``."""
        found = self.word()
        if found and found in words:
            self.i += 1
            return found
        return ""

    def skip(self, count: int = 1) -> None:
        """Advance ``count`` tokens."""
        self.i += count

    def name(self) -> str:
        """Read a possibly qualified name (``a.b``, ``"A".b``) and return it normalised.

        Returns:
            The dotted name (unquoted parts lower-cased), or ``""`` when no name is next.
        """
        parts: list[str] = []
        while self.i < len(self.tokens):
            token = self.tokens[self.i]
            if token.kind is Kind.WORD:
                parts.append(self.sql[token.start : token.end].lower())
            elif token.kind is Kind.QUOTED:
                parts.append(token.text)
            else:
                break
            self.i += 1
            if self.symbol() != ".":
                break
            self.i += 1
        return ".".join(parts)

    def words(self) -> list[str]:
        """Return the remaining keywords, in order (quoted names and literals left out)."""
        return [t.text for t in self.tokens[self.i :] if t.kind is Kind.WORD]

    def text(self) -> str:
        """Return the remaining statement text, from the current token on."""
        if self.is_done:
            return ""
        return self.sql[self.tokens[self.i].start : self.tokens[-1].end]

    def split(self, symbol: str = ",") -> list[Cursor]:
        """Split the remaining tokens at ``symbol`` outside parentheses.

        Returns:
            One cursor per part, each over its own tokens.
        """
        parts: list[list[Token]] = [[]]
        depth = 0
        for token in self.tokens[self.i :]:
            if token.kind is Kind.SYMBOL and token.text == "(":
                depth += 1
            elif token.kind is Kind.SYMBOL and token.text == ")":
                depth -= 1
            elif token.kind is Kind.SYMBOL and token.text == symbol and depth == 0:
                parts.append([])
                continue
            parts[-1].append(token)
        return [Cursor(self.sql, part) for part in parts if part]

    def name_after(self, word: str) -> str:
        """Skip to keyword ``word`` and read the name after it (``ONLY`` skipped).

        Returns:
            The name, or ``""`` when ``word`` does not occur.
        """
        while not self.is_done and self.word() != word:
            self.i += 1
        if not self.accept(word):
            return ""
        self.accept("ONLY")
        return self.name()
