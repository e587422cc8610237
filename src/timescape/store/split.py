r"""Split migration SQL into statements, and spot statements that break the migration transaction.

Timescape runs a step one statement at a time through ``Backend.execute()``, never through
``sqlite3.executescript`` or a multi-statement query, so it finds statement boundaries itself. A
wrong boundary can run the inside of a function body as a statement of its own, so this is a lexer,
not a regular expression over ``;``: it knows each dialect's strings, quoted identifiers, comments
and compound bodies, and raises :class:`~timescape.errors.SQLSplitError` rather than guess when one
of them is never closed. Pure: standard library only, no I/O, one linear pass over the text.

A ``;`` ends a statement only at top level, never inside:

* every dialect: ``'...'`` strings, ``"..."`` quotes, ``--`` and ``/* */`` comments;
* sqlite: `````...````` and ``[...]`` identifiers; the ``BEGIN ... END`` body of ``CREATE [TEMP]
  TRIGGER``, counting ``CASE ... END`` inside it (the body's ``END`` counts only before ``;`` or the
  end of the text, since SQLite accepts ``end`` as a column name);
* postgresql: ``E'...'`` strings with backslash escapes, nested ``/* */`` comments, ``$$`` and
  ``$tag$`` dollar quotes, and the ``BEGIN ATOMIC ... END`` body of ``CREATE [OR REPLACE]
  FUNCTION|PROCEDURE``, counting ``CASE ... END`` inside it (as psql does);
* mysql (and MariaDB): backslash escapes in ``'...'`` and ``"..."`` strings (the default
  ``sql_mode``: not ``ANSI_QUOTES`` or ``NO_BACKSLASH_ESCAPES``), `````...````` identifiers, ``#``
  comments, ``--`` comments only before whitespace or a control character, ``/*! */`` comments
  (kept as statement text, never split inside); compound bodies of ``CREATE|ALTER ...
  PROCEDURE|FUNCTION|TRIGGER|EVENT`` and MariaDB's top-level ``BEGIN NOT ATOMIC``, ``IF``,
  ``CASE``, ``LOOP``, ``WHILE`` and ``REPEAT``: nested ``BEGIN ... END [label]``, ``CASE ... END
  [CASE]`` and ``IF|LOOP|WHILE|REPEAT ... END IF|LOOP|WHILE|REPEAT``. ``IF`` and ``REPEAT`` open a
  block only where a statement can start: the ``IF()`` and ``REPEAT()`` functions and ``IF [NOT]
  EXISTS`` do not;
* mysql client ``DELIMITER xx`` lines, recognised at the start of a line between statements, as
  the mysql client does. While the delimiter is not ``;``, only strings and comments are tracked and
  ``;`` is ordinary text;
* postgresql: what ``pg_dump`` writes for psql. A backslash outside strings and comments starts a
  psql meta-command, which runs to the end of its line. ``\restrict <key>`` and ``\unrestrict
  <key>`` between statements are skipped (they only guard psql's own output); any other meta-command
  is refused with its name and line, since it runs in the client, not on the server. ``COPY ... FROM
  stdin;`` takes the lines after it, up to a line holding only ``\.``, as its data
  (:attr:`Statement.data`).

Not supported: PostgreSQL with ``standard_conforming_strings = off``, psql meta-commands other than
``\restrict``/``\unrestrict``, mysql client commands other than ``DELIMITER``, and labelled
top-level MariaDB blocks (``lbl: BEGIN NOT ATOMIC``).

Added in 0.1.
"""

from __future__ import annotations

import functools
import re
from itertools import islice
from typing import TYPE_CHECKING, Final, Literal

from timescape.errors import InputError, SQLSplitError
from timescape.model.text import StatementText

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = ["Dialect", "Statement", "lexemes", "split_statements"]

Dialect = Literal["sqlite", "postgresql", "mysql"]
"""A SQL dialect Timescape can split: one per backend."""


class Statement(StatementText):
    r"""One statement of a migration step, as split from the step's text.

    A value object (compared by text, line and data) that keeps only its span of the step's
    text: the slice is made when :attr:`text` is read, so the statements of a 50 MB dump do not
    hold a second copy of it beside the step. ``Statement(text, line)`` builds one from a string.

    Attributes:
        text: The statement from its first token to its last, without the delimiter. Comments
            between its tokens are kept verbatim; comments before the first token or after the
            last are not part of it.
        line: The 1-based line of the statement's first token in the step's text (a line ends at
            a line feed).
        data: For PostgreSQL's ``COPY ... FROM stdin``: the data lines that followed it, up to
            (not including) the ``\.`` line; None for every other statement.
    """

    __slots__ = ()

    @classmethod
    def spanning(
        cls, source: str, start: int, end: int, line: int, data: str | None = None
    ) -> Statement:
        """Make the statement ``source[start:end]`` without copying it yet."""
        return cls(source, line, data, span=(start, end))


_SPACE: Final = " \t\n\r\f\v"
# The characters a comment can start with in some dialect (at the end of the text the slice is "").
_COMMENT_STARTS: Final = frozenset({"-", "/", "#"})
_SPACES: Final = re.compile(r"[ \t\n\r\f\v]*")
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
# Runs of text that cannot end a statement, matched in C: all but the characters that may start a
# delimiter, comment or quote, plus whole quoted tokens of the simple kinds. Possessive quantifiers
# keep them linear; whatever they stop at is decided in Python.
_RUN: Final = {
    "sqlite": re.compile(
        r"""(?:[^;'"`\[\-/]++|'(?:[^']++|'')*+'|"(?:[^"]++|"")*+"|`(?:[^`]++|``)*+`|\[[^\]]*+\]"""
        r"""|-(?!-)|/(?!\*))*+"""
    ),
    "postgresql": re.compile(
        r"""(?:[^;'"$\-/eE\\]++|[eE](?!')|'(?:[^']++|'')*+'|"(?:[^"]++|"")*+"|-(?!-)|/(?!\*))*+"""
    ),
}
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
# Words without which no statement of the text can open a compound body: a text that never
# mentions them (most migrations) skips the per-statement look at its leading words. MySQL runs
# IF, CASE, LOOP... outside stored programs, so it has no such shortcut.
_COMPOUND_WORDS: Final[dict[str, tuple[str, ...]]] = {
    "sqlite": ("trigger",),
    "postgresql": ("function", "procedure"),
}
_MENTION_CHUNK: Final = 1 << 20
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


def split_statements(sql: str, dialect: Dialect) -> list[Statement]:
    """Split migration SQL into the statements to execute one by one.

    A statement ends at a top-level delimiter (``;``, or the mysql ``DELIMITER`` in force) or at the
    end of the text, so a final statement needs no ``;``. Empty statements (``;;``) and fragments
    holding only comments produce nothing; ``DELIMITER`` lines are directives, not statements. A
    leading byte-order mark is ignored. Pure: nothing is executed or read.

    Args:
        sql: The text of one step.
        dialect: The dialect whose lexical rules apply.

    Returns:
        The statements in source order, each with the line it starts on.

    Raises:
        SQLSplitError: A string, quoted identifier, comment, dollar quote or compound block is never
            closed, or a ``DELIMITER`` line is malformed; ``line`` is where that construct starts.
            No fragment is returned.
        InputError: ``dialect`` is not one of the supported dialects.
    """
    if dialect not in _COMPOUND_LEADS:
        msg = f"unknown SQL dialect {dialect!r}: use 'sqlite', 'postgresql' or 'mysql'"
        raise InputError(msg)
    return _Splitter(sql, dialect).run()


class _Splitter:
    """One pass over one text; statements accumulate in ``out``."""

    __slots__ = (
        "delimiter",
        "dialect",
        "line",
        "line_pos",
        "may_compound",
        "out",
        "run_re",
        "sql",
    )

    def __init__(self, sql: str, dialect: Dialect) -> None:
        self.sql = sql
        self.dialect: Dialect = dialect
        self.delimiter = ";"
        self.run_re = _mysql_run(";") if dialect == "mysql" else _RUN[dialect]
        self.out: list[Statement] = []
        self.line = 1
        self.line_pos = 0
        words = _COMPOUND_WORDS.get(dialect)
        # The scan pays off on many small statements; past a megabyte the per-statement look
        # at the leading words (exact anyway) is cheaper than reading the whole text again.
        self.may_compound = words is None or len(sql) > _MENTION_CHUNK or _mentions(sql, words)

    def run(self) -> list[Statement]:
        sql, size = self.sql, len(self.sql)
        pos = self.skip_trivia(1 if sql.startswith("\ufeff") else 0)
        postgresql = self.dialect == "postgresql"
        if not self.may_compound and self.dialect != "mysql":
            pos = self.plain_statements(pos)
        while pos < size:
            if self.dialect == "mysql" and self.at_directive(pos):
                pos = self.directive(pos)
            elif postgresql and sql[pos] == "\\":
                pos = self.meta_command(pos)
            elif sql.startswith(self.delimiter, pos):
                pos += len(self.delimiter)
            else:
                pos = self.statement(pos)
                if postgresql and _is_copy_from_stdin(self.out[-1].text):
                    pos = self.copy_data(pos)
            pos = self.skip_trivia(pos)
        return self.out

    def plain_statements(self, pos: int) -> int:
        """Take the usual statements at one pattern match each; return where the loop must go on.

        For sqlite and postgresql text that opens no compound body. A statement whose run of
        plain text and whole quoted tokens reaches its ``;`` (or the end of the text) is exactly
        what :meth:`statement` would record, without its three calls; at anything else (a
        comment, an unclosed or dollar quote, an ``E'`` string, a backslash, ``COPY``) the
        general loop takes over at that statement's start, so both give the same statements.
        """
        sql, size, out, line, line_pos = self.sql, len(self.sql), self.out, self.line, self.line_pos
        run, spaces, postgresql = self.run_re.match, _SPACES.match, self.dialect == "postgresql"
        try:
            while pos < size:
                if sql[pos] != ";":
                    stop = run(sql, pos).end()  # type: ignore[union-attr]  # `*+` always matches
                    if (stop < size and sql[stop] != ";") or (
                        postgresql and _COPY_HEAD.match(sql, pos) is not None
                    ):
                        return pos
                    end = stop
                    while sql[end - 1] in _SPACE:  # stops at the first token, at ``pos``
                        end -= 1
                    line += sql.count("\n", line_pos, pos)
                    line_pos = pos
                    out.append(Statement.spanning(sql, pos, end, line))
                    pos = stop
                pos = spaces(sql, pos + 1).end()  # type: ignore[union-attr]  # `*` always matches
                if sql[pos : pos + 1] in _COMMENT_STARTS:
                    pos = self.skip_trivia(pos)
            return pos
        finally:
            self.line, self.line_pos = line, line_pos

    def meta_command(self, pos: int) -> int:
        r"""Skip the psql ``\restrict``/``\unrestrict`` line at ``pos``; refuse any other."""
        sql = self.sql
        name = _META_NAME.match(sql, pos).group(1)  # type: ignore[union-attr]  # `*` matches
        if name not in _SKIPPED_META:
            raise SQLSplitError(_meta_reason(name), line=_line(sql, pos))
        end = sql.find("\n", pos)
        return len(sql) if end < 0 else end

    def copy_data(self, pos: int) -> int:
        r"""Attach the data lines after ``COPY ... FROM stdin;`` to it; return where they end.

        As psql reads it: the data starts on the line after the statement and ends before a
        line holding only ``\.`` (pg_dump's terminator, always written).
        """
        sql = self.sql
        statement = self.out[-1]
        line_end = sql.find("\n", pos)
        rest = sql[pos : len(sql) if line_end < 0 else line_end]
        if rest.strip():
            reason = "COPY ... FROM stdin must end its line: its data starts on the next line"
            raise SQLSplitError(reason, line=statement.line)
        start = len(sql) if line_end < 0 else line_end + 1
        marker = _COPY_END.search(sql, start)
        if marker is None:
            reason = (
                "the data of COPY ... FROM stdin never ends: add a line holding only \\. after "
                "the last data line (pg_dump writes it)"
            )
            raise SQLSplitError(reason, line=statement.line)
        source, first, last = statement.span
        data = sql[start : marker.start()]
        self.out[-1] = Statement.spanning(source, first, last, statement.line, data)
        self.line += sql.count("\n", self.line_pos, marker.end())
        self.line_pos = marker.end()
        return marker.end()

    def skip_trivia(self, pos: int) -> int:
        """Return the first position from ``pos`` that is not whitespace or a comment."""
        sql, dialect = self.sql, self.dialect
        while True:
            pos = _SPACES.match(sql, pos).end()  # type: ignore[union-attr]  # `*` always matches
            if sql[pos : pos + 1] not in _COMMENT_STARTS:
                return pos  # the usual case: a statement's first token (or the end of the text)
            end = _comment_end(sql, pos, dialect)
            if end < 0 or (dialect == "mysql" and sql.startswith("/*!", pos)):
                return pos
            pos = end

    def statement(self, start: int) -> int:
        """Record the statement whose first token is at ``start``; return where it ends."""
        sql = self.sql
        self.line += sql.count("\n", self.line_pos, start)
        self.line_pos = start
        if (
            self.may_compound
            and self.delimiter == ";"
            and _opens_compound(sql, start, self.dialect)
        ):
            end, text_end = _scan_compound(sql, start, self.dialect)
        else:
            end, text_end = self.scan_plain(start)
        self.out.append(Statement.spanning(sql, start, text_end, self.line))
        return end

    def scan_plain(self, start: int) -> tuple[int, int]:
        """Find the end of a statement without compound bodies: ``(resume_at, text_end)``."""
        sql, dialect, delimiter = self.sql, self.dialect, self.delimiter
        run, size = self.run_re.match, len(sql)
        pos = text_end = start
        while True:
            stop = run(sql, pos).end()  # type: ignore[union-attr]  # `*+` always matches
            if stop > pos:
                # Inline for the usual run ending on a token: this runs for every statement.
                trailing = sql[stop - 1] in _SPACE
                text_end = _content_end(sql, pos, stop, text_end) if trailing else stop
            pos = stop
            if pos >= size:
                return size, text_end
            if sql.startswith(delimiter, pos):
                return pos + len(delimiter), text_end
            end = _comment_end(sql, pos, dialect)
            if end >= 0:
                if dialect == "mysql" and sql.startswith("/*!", pos):
                    text_end = end
                pos = end
                continue
            quote = _quote_at(sql, pos, dialect)
            if not quote and sql[pos] == "\\" and dialect == "postgresql":
                name = _META_NAME.match(sql, pos).group(1)  # type: ignore[union-attr]
                raise SQLSplitError(_meta_reason(name, inside=True), line=_line(sql, pos))
            pos = _end_quoted(sql, pos, quote, dialect) if quote else pos + 1
            text_end = pos

    def at_directive(self, pos: int) -> bool:
        """Tell whether a mysql client ``DELIMITER`` line starts at ``pos``."""
        sql = self.sql
        after = sql[pos + 9 : pos + 10]
        if sql[pos : pos + 9].upper() != "DELIMITER" or (after and after not in _SPACE):
            return False
        before = pos
        while before and sql[before - 1] in " \t\r\f\v":
            before -= 1
        return before == 0 or sql[before - 1] == "\n"

    def directive(self, pos: int) -> int:
        """Apply the ``DELIMITER`` line at ``pos``; return the end of that line."""
        sql = self.sql
        end = sql.find("\n", pos)
        end = len(sql) if end < 0 else end
        args = sql[pos + 9 : end].split()
        if len(args) != 1 or any(char in args[0] for char in "\\'\"`"):
            reason = "DELIMITER needs one delimiter, without quotes or backslashes: DELIMITER //"
            raise SQLSplitError(reason, line=_line(sql, pos))
        self.delimiter = args[0]
        self.run_re = _mysql_run(args[0])
        return end


_META_NAME: Final = re.compile(r"\\([^\s\\]*)")
_SKIPPED_META: Final = frozenset({"restrict", "unrestrict"})
_COPY_END: Final = re.compile(r"^\\\.\r?$", re.MULTILINE)
_COPY_HEAD: Final = re.compile(r"COPY\b", re.IGNORECASE)


def _meta_reason(name: str, *, inside: bool = False) -> str:
    """Why a psql meta-command is refused, and what to do instead."""
    where = " inside a statement" if inside else ""
    return (
        f"psql meta-command \\{name}{where} runs in the psql client, not on the server, so "
        "Timescape cannot run it: remove it (only pg_dump's \\restrict and \\unrestrict lines "
        "are skipped), or apply this file with psql"
    )


def _is_copy_from_stdin(statement: str) -> bool:
    """Tell whether a PostgreSQL statement is ``COPY ... FROM STDIN`` (its data follows it)."""
    if _COPY_HEAD.match(statement) is None:
        return False
    previous = ""
    for word, _, _ in _lexemes(statement, 0, "postgresql"):
        if previous == "FROM" and word == "STDIN":
            return True
        previous = word
    return False


def _mentions(sql: str, words: tuple[str, ...]) -> bool:
    """Tell whether ``sql`` holds any of the lower-case ``words``, in any letter case.

    A case-insensitive regular expression cannot use the fast literal search (0.25 s over a
    20 MB dump); lower-casing a megabyte at a time and searching it costs a tenth of that,
    without a second copy of the whole text.
    """
    overlap = max(map(len, words)) - 1
    for start in range(0, len(sql), _MENTION_CHUNK):
        chunk = sql[max(start - overlap, 0) : start + _MENTION_CHUNK].lower()
        for word in words:  # a loop, not any() over a generator: this runs for every script
            if word in chunk:
                return True
    return False


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


@functools.cache
def _mysql_run(delimiter: str) -> re.Pattern[str]:
    """Build the mysql run pattern (see ``_RUN``) that stops before ``delimiter``."""
    alternatives = [
        "[^" + re.escape("'\"`#-/" + delimiter[0]) + "]++",
        *_SIMPLE_QUOTED["mysql"],
        r"-(?!-(?:[\x00-\x20]|\Z))",  # https://dev.mysql.com/doc/refman/8.4/en/ansi-diff-comments.html
        r"/(?!\*)",
    ]
    if delimiter[0] not in "'\"`#-/":
        alternatives.append(re.escape(delimiter[0]))
    body = "|".join(alternatives)
    return re.compile(f"(?:(?!{re.escape(delimiter)})(?:{body}))*+", re.DOTALL)


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
