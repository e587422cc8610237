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

Three modules, one job each: :mod:`timescape.store._lexer` knows where each dialect's strings,
quoted identifiers and comments end; :mod:`timescape.store._compound` knows which statements open
a compound body and where it ends; this one walks the text statement by statement (and handles
the psql meta-commands, ``COPY`` data and ``DELIMITER`` lines). Every name stays importable from
here.

Not supported: PostgreSQL with ``standard_conforming_strings = off``, psql meta-commands other than
``\restrict``/``\unrestrict``, mysql client commands other than ``DELIMITER``, and labelled
top-level MariaDB blocks (``lbl: BEGIN NOT ATOMIC``).

Added in 0.1.
"""

from __future__ import annotations

import functools
import re
from typing import Final, Literal

from timescape.errors import InputError, SQLSplitError
from timescape.model.text import StatementText
from timescape.store._compound import _COMPOUND_LEADS, _opens_compound, _scan_compound
from timescape.store._lexer import (
    _SIMPLE_QUOTED,
    _SPACE,
    _comment_end,
    _content_end,
    _end_quoted,
    _lexemes,
    _line,
    _quote_at,
    lexemes,
)

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


# The characters a comment can start with in some dialect (at the end of the text the slice is "").
_COMMENT_STARTS: Final = frozenset({"-", "/", "#"})
_SPACES: Final = re.compile(r"[ \t\n\r\f\v]*")
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
# Words without which no statement of the text can open a compound body: a text that never
# mentions them (most migrations) skips the per-statement look at its leading words. MySQL runs
# IF, CASE, LOOP... outside stored programs, so it has no such shortcut.
_COMPOUND_WORDS: Final[dict[str, tuple[str, ...]]] = {
    "sqlite": ("trigger",),
    "postgresql": ("function", "procedure"),
}
_MENTION_CHUNK: Final = 1 << 20


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
    if len(sql) <= _MENTION_CHUNK:  # the usual script: one piece
        lowered = sql.lower()
        return any(word in lowered for word in words)
    overlap = max(map(len, words)) - 1
    for start in range(0, len(sql), _MENTION_CHUNK):
        chunk = sql[max(start - overlap, 0) : start + _MENTION_CHUNK].lower()
        for word in words:  # a loop, not any() over a generator: this runs for every script
            if word in chunk:
                return True
    return False


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
