"""Statements that cannot run inside, or would end, a migration transaction.

Timescape refuses them before anything executes (RELIABILITY T16), unless the schema is declared
``transactional = false``: a ``COMMIT`` in a step would commit half a schema, ``VACUUM`` or
``CREATE INDEX CONCURRENTLY`` fail inside a transaction block, and SQLite silently ignores
``PRAGMA foreign_keys`` inside one. A lexical check on the leading words, per dialect.

Added in 0.1.
"""

from __future__ import annotations

import re
from itertools import chain, islice
from typing import Final

from timescape.errors import InputError
from timescape.store.split import Dialect, lexemes

__all__ = ["transaction_breaker"]


def transaction_breaker(statement: str, dialect: Dialect) -> str | None:
    """Tell why a statement cannot run inside the migration transaction, or would end it.

    A lexical check of the leading keywords (comments and case ignored), meant for statements
    from :func:`timescape.store.split.split_statements`. Savepoint commands (``SAVEPOINT``,
    ``RELEASE``, ``ROLLBACK TO``) stay inside the transaction and are not breakers. On mysql,
    the implicit commit of every DDL statement is not reported: the backend's
    ``transactional_ddl`` capability covers it. ``ALTER TYPE ... ADD VALUE`` runs in a
    transaction on PostgreSQL 12 and later: not a breaker. Reading ``PRAGMA foreign_keys`` or
    ``journal_mode`` is harmless; setting them is a breaker. Pure.

    Args:
        statement: One statement.
        dialect: The dialect it is written in.

    Returns:
        A one-line reason naming the command, or None when the statement is fine in a transaction.

    Raises:
        SQLSplitError: A comment or quote among the words it reads is never closed (those of
            :func:`~timescape.store.split.split_statements` never are; it reads two words of
            a statement no rule can match).
        InputError: ``dialect`` is not one of the supported dialects.
    """
    if dialect not in _SPECIAL_BREAKERS:
        msg = f"unknown SQL dialect {dialect!r}: use 'sqlite', 'postgresql' or 'mysql'"
        raise InputError(msg)
    if _plain_words_decide(statement, dialect):
        return None
    stream = lexemes(statement, dialect)
    lead = [lexeme for lexeme, _, _ in islice(stream, 2)]
    if _cannot_break(lead, dialect):
        return None
    tokens = chain(lead, (lexeme for lexeme, _, _ in islice(stream, 32 - len(lead))))
    words_all = [lexeme for lexeme in tokens if lexeme != ";"]  # tolerate "COMMIT;"
    reason = _SPECIAL_BREAKERS[dialect](words_all)
    if reason:
        return reason
    depth, words = 0, list[str]()
    for lexeme in words_all:
        depth += (lexeme == "(") - (lexeme == ")")
        if depth == 0 and lexeme != ")":
            words.append(lexeme)
    head = " ".join(words) + " "
    for prefix, why in _BREAKERS[dialect]:
        if head.startswith(prefix + " "):
            return why
    return None


# A plain first word, then a character that cannot continue a word or open a string with it.
_FIRST_WORD: Final = re.compile(r"([A-Za-z_][\w$]*+)(?=[\s(;]|\Z)")
# Two plain words separated by whitespace only (a comment between them takes the lexer's path).
_FIRST_TWO_WORDS: Final = re.compile(r"([A-Za-z_][\w$]*+)\s++([A-Za-z_][\w$]*+)(?=[\s(;]|\Z)")
# Three of them, the same way.
_FIRST_THREE_WORDS: Final = re.compile(
    r"([A-Za-z_][\w$]*+)\s++([A-Za-z_][\w$]*+)\s++([A-Za-z_][\w$]*+)(?=[\s(;]|\Z)"
)


def _cannot_break(lead: list[str], dialect: Dialect) -> bool:
    """Tell from the first two words alone that no rule below can match (most statements).

    Lexing stops there, instead of reading 32 words of every ``CREATE TABLE`` and ``INSERT``.
    A leading ``(`` or ``;`` (rare) always gets the full check.
    """
    if not lead or lead[0] in ("(", ";"):
        return False
    seconds = _LEADS[dialect].get(lead[0])
    if seconds is None:
        return True  # no rule or special check starts with this word
    return bool(seconds) and (len(lead) < 2 or (lead[1] not in seconds and lead[1] not in ";("))


def _plain_words_decide(statement: str, dialect: Dialect) -> bool:
    """Tell from the plain leading words alone that no rule can match: no lexing needed."""
    first = _FIRST_WORD.match(statement)
    if first is not None and first.group(1).upper() not in _LEADS[dialect]:
        return True  # most statements: no rule starts with their first word
    two = _FIRST_TWO_WORDS.match(statement)
    if two is None:
        return False
    if _cannot_break([two.group(1).upper(), two.group(2).upper()], dialect):
        return True  # CREATE TABLE, DROP TABLE, ...: two plain words decide
    three = _FIRST_THREE_WORDS.match(statement)
    return three is not None and _third_cannot_break(three, dialect)  # CREATE INDEX ix ...


def _third_cannot_break(three: re.Match[str], dialect: Dialect) -> bool:
    """Tell from three plain words that no rule can match (``CREATE INDEX ix_name ON ...``).

    Only for two leading words some rule of three words or more starts with, and none of two
    (``CREATE INDEX`` may go on with ``CONCURRENTLY``, ``CREATE DATABASE`` is one already). The
    words are plain and separated by whitespace only, so they are the statement's first three
    lexemes, outside any parentheses: exactly what the rules' prefixes are compared with.
    """
    lead = (three.group(1).upper(), three.group(2).upper())
    thirds = _THIRDS[dialect].get(lead, frozenset())
    return bool(thirds) and three.group(3).upper() not in thirds


def _not_in_block(command: str) -> str:
    return f"{command} cannot run inside a transaction block"


_CREATE_DROP: Final = [(v, w) for v in ("CREATE", "DROP") for w in ("DATABASE", "TABLESPACE")]
_STARTS_ITS_OWN: Final = "starts a transaction of its own; Timescape already runs the step in one"
_BREAKERS: Final[dict[str, tuple[tuple[str, str | None], ...]]] = {
    "postgresql": (
        *((f"ROLLBACK{work} TO", None) for work in ("", " WORK", " TRANSACTION")),
        ("BEGIN", f"BEGIN {_STARTS_ITS_OWN}"),
        ("START TRANSACTION", f"START TRANSACTION {_STARTS_ITS_OWN}"),
        ("COMMIT PREPARED", _not_in_block("COMMIT PREPARED")),
        ("ROLLBACK PREPARED", _not_in_block("ROLLBACK PREPARED")),
        ("PREPARE TRANSACTION", "PREPARE TRANSACTION would end the migration transaction"),
        ("COMMIT", "COMMIT would end the migration transaction"),
        ("END", "END would commit and end the migration transaction"),
        ("ROLLBACK", "ROLLBACK would end the migration transaction"),
        ("ABORT", "ABORT would roll back and end the migration transaction"),
        ("VACUUM", _not_in_block("VACUUM")),
        ("CREATE INDEX CONCURRENTLY", _not_in_block("CREATE INDEX CONCURRENTLY")),
        ("CREATE UNIQUE INDEX CONCURRENTLY", _not_in_block("CREATE INDEX CONCURRENTLY")),
        ("DROP INDEX CONCURRENTLY", _not_in_block("DROP INDEX CONCURRENTLY")),
        ("REINDEX INDEX CONCURRENTLY", _not_in_block("REINDEX CONCURRENTLY")),
        ("REINDEX TABLE CONCURRENTLY", _not_in_block("REINDEX CONCURRENTLY")),
        *((f"REINDEX {kind}", _not_in_block(f"REINDEX {kind}")) for kind in ("SCHEMA", "DATABASE")),
        ("REINDEX SYSTEM", _not_in_block("REINDEX SYSTEM")),
        *((f"{verb} {what}", _not_in_block(f"{verb} {what}")) for verb, what in _CREATE_DROP),
        ("ALTER SYSTEM", _not_in_block("ALTER SYSTEM")),
        ("DISCARD ALL", _not_in_block("DISCARD ALL")),
    ),
    "sqlite": (
        ("ROLLBACK TO", None),
        ("ROLLBACK TRANSACTION TO", None),
        ("BEGIN", "BEGIN cannot run inside the migration transaction: SQLite does not nest them"),
        ("COMMIT", "COMMIT would end the migration transaction"),
        ("END", "END would commit and end the migration transaction"),
        ("ROLLBACK", "ROLLBACK would end the migration transaction"),
        ("VACUUM", "VACUUM cannot run inside a transaction"),
        ("ATTACH", "ATTACH cannot run inside a transaction"),
        ("DETACH", "DETACH cannot run inside a transaction"),
    ),
    "mysql": (
        ("ROLLBACK TO", None),
        ("ROLLBACK WORK TO", None),
        ("START TRANSACTION", "START TRANSACTION implicitly commits the migration transaction"),
        ("COMMIT", "COMMIT would end the migration transaction"),
        ("ROLLBACK", "ROLLBACK would end the migration transaction"),
        # LOCK TABLES / UNLOCK TABLES are no breakers: steps run outside any transaction here
        # (DDL commits implicitly), mysqldump brackets every table's rows with them, and the
        # session restore after each step starts with UNLOCK TABLES (issue 11).
    ),
}


def _postgresql_special(lexemes: list[str]) -> str | None:
    """``ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY`` (PostgreSQL 14)."""
    detach = lexemes.index("DETACH") if "DETACH" in lexemes else len(lexemes)
    if lexemes[:2] == ["ALTER", "TABLE"] and "CONCURRENTLY" in lexemes[detach:]:
        return _not_in_block("DETACH PARTITION CONCURRENTLY")
    return None


def _sqlite_special(lexemes: list[str]) -> str | None:
    """Setting ``PRAGMA foreign_keys`` or ``journal_mode``: reading them is harmless."""
    if lexemes[:1] != ["PRAGMA"]:
        return None
    at = 3 if lexemes[2:3] == ["."] else 1  # PRAGMA [schema.]name
    name, after = lexemes[at : at + 1], lexemes[at + 1 : at + 2]
    if after not in (["="], ["("]):
        return None
    if name == ["FOREIGN_KEYS"]:
        # https://www.sqlite.org/pragma.html#pragma_foreign_keys
        return "PRAGMA foreign_keys is a no-op inside a transaction"
    if name == ["JOURNAL_MODE"]:
        return "PRAGMA journal_mode cannot change the journal mode inside a transaction"
    return None


def _mysql_special(lexemes: list[str]) -> str | None:
    """A lone ``BEGIN [WORK]`` (not a compound block); ``SET autocommit`` (not ``@autocommit``)."""
    if lexemes in (["BEGIN"], ["BEGIN", "WORK"]):
        return "BEGIN implicitly commits the migration transaction"
    if lexemes[:1] != ["SET"]:
        return None
    for index, lexeme in enumerate(lexemes):
        user_variable = lexemes[index - 1] == "@" and lexemes[index - 2 : index - 1] != ["@"]
        if lexeme == "AUTOCOMMIT" and not user_variable:
            return "SET autocommit commits the migration transaction or changes how it commits"
    return None


_SPECIAL_BREAKERS: Final = {
    "postgresql": _postgresql_special,
    "sqlite": _sqlite_special,
    "mysql": _mysql_special,
}


def _leads(dialect: str, special_firsts: tuple[str, ...]) -> dict[str, frozenset[str]]:
    """First word -> the second words a rule needs after it (empty: any second word may matter)."""
    seconds: dict[str, set[str]] = {}
    open_ended: set[str] = set(special_firsts)
    for prefix, _ in _BREAKERS[dialect]:
        words = prefix.split()
        if len(words) == 1:
            open_ended.add(words[0])
        else:
            seconds.setdefault(words[0], set()).add(words[1])
    leads = {first: frozenset(second) for first, second in seconds.items()}
    leads.update({first: frozenset() for first in open_ended})
    return leads


def _thirds(dialect: str, special_firsts: tuple[str, ...]) -> dict[tuple[str, str], frozenset[str]]:
    """Two first words -> the third words a rule needs after them.

    Left out (so the statement is lexed): words a rule of one or two words is made of
    (``ROLLBACK WORK AND CHAIN`` is a ``ROLLBACK``), and first words a special check reads on
    from (any third word may matter).
    """
    thirds: dict[tuple[str, str], set[str]] = {}
    complete: set[tuple[str, ...]] = {(first,) for first in special_firsts}
    for prefix, _ in _BREAKERS[dialect]:
        words = tuple(prefix.split())
        if len(words) <= 2:
            complete.add(words)
        else:
            thirds.setdefault((words[0], words[1]), set()).add(words[2])
    return {
        lead: frozenset(third)
        for lead, third in thirds.items()
        if lead not in complete and lead[:1] not in complete
    }


# The words each dialect's special check looks at first (see the functions above).
_LEADS: Final = {
    "postgresql": _leads("postgresql", ("ALTER",)),
    "sqlite": _leads("sqlite", ("PRAGMA",)),
    "mysql": _leads("mysql", ("BEGIN", "SET")),
}
_THIRDS: Final = {
    "postgresql": _thirds("postgresql", ("ALTER",)),
    "sqlite": _thirds("sqlite", ("PRAGMA",)),
    "mysql": _thirds("mysql", ("BEGIN", "SET")),
}
