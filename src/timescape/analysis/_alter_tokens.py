"""ALTER TABLE read keyword by keyword, for actions sqlglot could not parse.

Each action sqlglot rejects on its own is first retried as its own statement
(:func:`~timescape.analysis._alter.reparsed_actions`); what is left is read here, and only the
shapes listed get a verdict other than unknown.
"""

from __future__ import annotations

import itertools

from timescape.analysis._alter import (
    drop_constraint,
    judge_alter_tree,
    judge_index_drop,
    on_new_table,
    read_side,
    reparsed_actions,
)
from timescape.analysis._known import Known
from timescape.analysis._text import Cursor
from timescape.analysis._verdict import Verdict, combine
from timescape.analysis.effect import Effect

__all__ = ["judge_alter_tokens"]

A, D, U, B = Effect.ADDITIVE, Effect.DATA, Effect.UNKNOWN, Effect.BREAKING
_KIND_WORDS = {
    "CHECK": "check",
    "UNIQUE": "unique",
    "PRIMARY": "primary key",
    "FOREIGN": "foreign key",
    "EXCLUDE": "exclude",
}
_INDEX_WORDS = ("INDEX", "KEY", "FULLTEXT", "SPATIAL")


def judge_alter_tokens(cur: Cursor, known: Known, dialect: str) -> Verdict:
    """Judge an ``ALTER TABLE`` sqlglot could not parse, action by action.

    Args:
        cur: Positioned just after ``ALTER TABLE``.
        known: What earlier statements taught; not updated here.
        dialect: A canonical Timescape dialect name.

    Returns:
        The worst action's verdict.
    """
    table, actions = reparsed_actions(cur, dialect)
    if not table:
        return Verdict.unknown("ALTER TABLE without a table name")
    verdicts: list[Verdict] = []
    for part, tree in actions:
        if tree is not None:
            verdicts.append(judge_alter_tree(tree, known, dialect))
            continue
        verdict = _token_action(table, part, known)
        if verdict is not None:
            verdicts.append(on_new_table(table, verdict, known))
    if not verdicts:
        return Verdict.of(D, f"changes options of {table} (no shape change)", table)
    return combine(verdicts)


def _token_action(table: str, cur: Cursor, known: Known) -> Verdict | None:  # noqa: C901, PLR0911 - one branch per action or statement kind
    first = cur.word()
    if first in {"ALGORITHM", "LOCK"}:
        return None
    words = cur.words()
    if first == "ADD":
        return _token_add(table, cur, known)
    if first == "DROP":
        return _token_drop(table, cur, known)
    if first == "ALTER":
        return _token_alter_column(table, cur, known)
    if first in {"RENAME", "MODIFY", "CHANGE"} or words[:2] == ["SET", "SCHEMA"]:
        what = {"MODIFY": "redefines a column of", "CHANGE": "redefines a column of"}.get(
            first, "renames or moves"
        )
        if words[:2] in (["RENAME", "CONSTRAINT"], ["RENAME", "INDEX"], ["RENAME", "KEY"]):
            return Verdict.unknown(f"renames a constraint or index of {table}", table)
        return Verdict.of(B, f"{what} {table}", table)
    if first == "VALIDATE":
        return Verdict.of(D, f"validates a constraint on {table} (no shape change)", table)
    if first in {"SET", "CLUSTER", "REPLICA", "FORCE", "ROW_FORMAT", "AUTO_INCREMENT"}:
        return Verdict.of(D, f"changes storage of {table} (no shape change)", table)
    if words[:2] in (["DISABLE", "KEYS"], ["ENABLE", "KEYS"]):
        return Verdict.of(D, f"toggles index maintenance on {table} (no shape change)", table)
    if first in {"COMMENT", "DEFAULT", "CHARACTER", "CHARSET", "COLLATE"}:
        return Verdict.of(D, f"changes table defaults of {table} (no shape change)", table)
    if first == "CONVERT":
        return Verdict.unknown(
            f"converts every text column of {table} to another character set", table
        )
    if first == "OWNER":
        return Verdict.unknown(
            f"changes the owner of {table}; older code's privileges may change", table
        )
    return Verdict.unknown(f"ALTER TABLE {' '.join(words[:3]).lower()} on {table}", table)


def _using_index(table: str, word: str, index: str, known: Known) -> Verdict:
    """``ADD [CONSTRAINT c] UNIQUE | PRIMARY KEY USING INDEX i``: the index already enforces it.

    PostgreSQL accepts only a valid unique index, so uniqueness is not new. A primary key also
    makes the index's columns NOT NULL where they are not yet: additive only when each is known
    to be NOT NULL already.
    """
    if word == "UNIQUE":
        return Verdict.of(
            A, f"adds unique constraint on {table} using index {index} (already unique)", table
        )
    info = known.indexes.get(index.rsplit(".", 1)[-1])
    columns = info.columns if info is not None else None
    if columns and all(
        (c := known.column(table, name)) is not None and c.is_not_null for name in columns
    ):
        return Verdict.of(
            A, f"adds primary key on {table} using index {index} (already unique, NOT NULL)", table
        )
    return Verdict.unknown(
        f"adds primary key on {table} using index {index}; it makes the index's columns NOT "
        "NULL where they are not yet",
        table,
    )


def _token_add(table: str, cur: Cursor, known: Known) -> Verdict:  # noqa: PLR0911 - one branch per action or statement kind
    cur.skip()
    if cur.accept("CONSTRAINT"):
        cur.name()
    word = cur.word()
    words = cur.words()
    if word in {"UNIQUE", "PRIMARY"} and ("USING", "INDEX") in itertools.pairwise(words):
        return _using_index(table, word, cur.name_after("INDEX"), known)
    if word in _KIND_WORDS:
        kind = _KIND_WORDS[word]
        return Verdict.of(
            B,
            f"adds {kind} constraint on {table}; existing rows or older code may violate it",
            table,
        )
    if word in _INDEX_WORDS:
        return Verdict.of(A, f"adds index on {table}", table)
    if word == "PARTITION":
        return Verdict.of(D, f"adds a partition to {table}", table)
    cur.accept("COLUMN")
    cur.accept("IF", "NOT", "EXISTS")
    if cur.symbol() == "(":
        return Verdict.unknown(f"adds several columns to {table} in one clause", table)
    name = cur.name()
    obj = f"{table}.{name}" if name else table
    words = cur.words()
    pairs = list(itertools.pairwise(words))
    not_null = ("NOT", "NULL") in pairs or "PRIMARY" in words
    has_default = _has_real_default(cur)
    generated = bool(
        {"GENERATED", "AUTO_INCREMENT", "AUTOINCREMENT", "SERIAL", "BIGSERIAL"} & set(words)
    )
    if not_null and not has_default and not generated:
        return Verdict.of(
            B, f"adds NOT NULL column {obj} without a default; inserts from older code fail", obj
        )
    if {"CHECK", "UNIQUE", "PRIMARY", "REFERENCES"} & set(words):
        return Verdict.unknown(f"adds column {obj} with a constraint", obj)
    return Verdict.of(A, f"adds column {obj}", obj)


def _has_real_default(cur: Cursor) -> bool:
    """Return whether the remaining tokens hold a DEFAULT other than ``DEFAULT NULL``."""
    return any(
        token.is_word("DEFAULT") and not following.is_word("NULL")
        for token, following in itertools.pairwise(cur.tokens[cur.i :])
    )


def _token_drop(table: str, cur: Cursor, known: Known) -> Verdict:
    cur.skip()
    word = cur.accept_any("COLUMN", "CONSTRAINT", "INDEX", "KEY", "PRIMARY", "FOREIGN", "CHECK")
    if word == "PRIMARY":
        return Verdict.of(B, f"drops the primary key of {table}", table)
    if word == "FOREIGN":
        cur.accept("KEY")
    cur.accept("IF", "EXISTS")
    name = cur.name()
    if word in {"INDEX", "KEY"}:
        return judge_index_drop(name, known, table=table)
    if word in {"CONSTRAINT", "CHECK", "FOREIGN"}:
        kind = {"CHECK": "CHECK", "FOREIGN": "FOREIGN KEY"}.get(word, "CONSTRAINT")
        return drop_constraint(table, name, kind, known)
    if name.upper() in {"PARTITION", "DEFAULT"} or not name:
        return Verdict.unknown(f"ALTER TABLE DROP on {table}", table)
    return Verdict.of(B, f"drops column {table}.{name}", f"{table}.{name}")


def _token_alter_column(table: str, cur: Cursor, known: Known) -> Verdict:  # noqa: C901, PLR0911 - one branch per action or statement kind
    cur.skip()
    if cur.accept("CONSTRAINT"):
        return Verdict.unknown(f"alters constraint {cur.name()} on {table}", table)
    cur.accept("COLUMN")
    name = cur.name()
    obj = f"{table}.{name}"
    words = cur.words()
    if words[:1] == ["TYPE"] or words[:3] == ["SET", "DATA", "TYPE"]:
        return Verdict.of(B, f"changes type of {obj} (previous type unknown)", obj)
    if words[:3] == ["SET", "NOT", "NULL"]:
        return Verdict.of(B, f"makes {obj} NOT NULL; older code writing NULL fails", obj)
    if words[:3] == ["DROP", "NOT", "NULL"]:
        return read_side(
            table, f"allows NULL in {obj}; older code reading it may not expect NULL", known, obj
        )
    if words[:3] == ["SET", "DEFAULT", "NULL"] and cur.word(2) == "NULL":
        return Verdict.of(
            B, f"sets the default of {obj} to NULL, dropping it; older code omitting it breaks", obj
        )
    if words[:2] == ["SET", "DEFAULT"]:
        return Verdict.of(A, f"sets the default of {obj}", obj)
    if words[:2] in (["DROP", "DEFAULT"], ["DROP", "IDENTITY"], ["DROP", "EXPRESSION"]):
        return Verdict.of(
            B, f"drops the default or identity of {obj}; older code omitting it breaks", obj
        )
    if words[:3] == ["ADD", "GENERATED", "ALWAYS"]:
        return Verdict.of(B, f"makes {obj} GENERATED ALWAYS; older code inserting it fails", obj)
    if words[:2] == ["ADD", "GENERATED"]:
        return Verdict.of(A, f"makes {obj} an identity column (BY DEFAULT)", obj)
    if words[:2] in (
        ["SET", "STATISTICS"],
        ["SET", "STORAGE"],
        ["SET", "COMPRESSION"],
        ["RESET", "N_DISTINCT"],
    ):
        return Verdict.of(D, f"changes storage of {obj} (no shape change)", obj)
    if words[:1] == ["SET"] and cur.symbol(1) == "(":
        return Verdict.of(D, f"changes storage options of {obj} (no shape change)", obj)
    return Verdict.unknown(f"ALTER COLUMN {' '.join(words[:3]).lower()} on {obj}", obj)
