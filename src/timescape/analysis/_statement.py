"""Statements as the lint checks see them, and the questions the checks ask of them.

Each helper answers one question about a statement (which ALTER TABLE actions it has, which option
it sets, which tables it drops) the same way for trees sqlglot parsed and for text it could not.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeGuard

from timescape.analysis._alter import reparsed_actions
from timescape.analysis._fallback import rename_pairs
from timescape.analysis._known import Known, constraint_kind
from timescape.analysis._names import table_name
from timescape.analysis._text import Cursor, Token

if TYPE_CHECKING:
    from sqlglot import exp

__all__ = [
    "Context",
    "Statement",
    "actions",
    "actions_any",
    "added_constraints",
    "dropped_tables",
    "existing_actions",
    "has_run",
    "is_node",
    "node_kind",
    "option",
    "rebuilt_tables",
    "unparsed_words",
]


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement as the checks see it.

    Attributes:
        sql: The text.
        tree: sqlglot's tree, or None when it could not parse the text.
        tokens: The text's tokens.
        dialect: A canonical Timescape dialect name.
    """

    sql: str
    tree: exp.Expr | None
    tokens: list[Token]
    dialect: str

    def cursor(self) -> Cursor:
        """Return a cursor at the first token."""
        return Cursor(self.sql, self.tokens)


@dataclass(frozen=True, slots=True)
class Context:
    """What a check may know beyond one statement.

    Attributes:
        rebuilt: Tables whose DROP in this statement is part of a table rebuild.
        transactional: Whether the schema's statements run inside one transaction.
        statements: Every statement of the run, in order.
        index: This statement's position in ``statements``.
    """

    rebuilt: frozenset[str]
    transactional: bool
    statements: Sequence[Statement]
    index: int = 0


def is_node(tree: exp.Expr | None, name: str) -> TypeGuard[exp.Expr]:
    """Return whether ``tree`` is a parsed sqlglot node of class ``name`` (not a raw Command)."""
    from sqlglot import exp  # noqa: PLC0415 - sqlglot is imported lazily

    return isinstance(tree, getattr(exp, name)) and not isinstance(tree, exp.Command)


def actions(st: Statement) -> tuple[str, list[tuple[exp.Expr, exp.Expr]], list[Cursor]]:
    """Return the table, the parsed ``(action, alter tree)`` pairs and unparsed action cursors."""
    if is_node(st.tree, "Alter"):
        if str(st.tree.args.get("kind") or "").upper() != "TABLE":
            return "", [], []
        found = st.tree.args.get("actions") or []
        return table_name(st.tree.this), [(a, st.tree) for a in found], []
    cur = st.cursor()
    if not cur.accept("ALTER", "TABLE"):
        return "", [], []
    table, parts = reparsed_actions(cur, st.dialect)
    pairs: list[tuple[exp.Expr, exp.Expr]] = [
        (action, tree) for _, tree in parts if tree is not None for action in tree.args["actions"]
    ]
    return table, pairs, [part for part, tree in parts if tree is None]


def existing_actions(st: Statement, known: Known) -> Iterator[tuple[str, exp.Expr, exp.Expr]]:
    """Yield ``(table, action, alter tree)`` for parsed actions on a table older code knows."""
    table, pairs, _ = actions(st)
    if table and not known.is_new(table):
        for action, tree in pairs:
            yield table, action, tree


def unparsed_words(st: Statement, known: Known) -> Iterator[tuple[str, list[str]]]:
    """Yield ``(table, keywords)`` for unparsed actions on a table older code knows."""
    table, _, parts = actions(st)
    if table and not known.is_new(table):
        for part in parts:
            yield table, part.words()


def has_run(words: list[str], *run: str) -> bool:
    """Return whether ``run`` occurs in ``words`` as consecutive items."""
    return any(tuple(words[i : i + len(run)]) == run for i in range(len(words)))


def option(st: Statement, name: str) -> str:
    """Return the value keyword of ``NAME [=] value`` (MySQL ALGORITHM, LOCK), or ``""``."""
    cur = st.cursor()
    while not cur.is_done:
        if cur.word() == name:
            cur.skip()
            if cur.symbol() == "=":
                cur.skip()
            return cur.word()
        cur.skip()
    return ""


def node_kind(node: exp.Expr | None) -> str:
    """Return the sqlglot class name of ``node`` (``""`` for anything else)."""
    from sqlglot import exp  # noqa: PLC0415 - sqlglot is imported lazily

    return type(node).__name__ if isinstance(node, exp.Expression) else ""


def added_constraints(st: Statement, known: Known) -> Iterator[tuple[str, str, exp.Expr]]:
    """Yield ``(table, constraint kind, alter tree)`` for each ADD CONSTRAINT on an old table."""
    for table, action, tree in existing_actions(st, known):
        if node_kind(action) == "AddConstraint":
            for node in action.expressions:
                yield table, constraint_kind(node)[1], tree


def dropped_tables(st: Statement) -> list[str]:
    """Return the tables a parsed ``DROP TABLE`` drops."""
    if is_node(st.tree, "Drop") and str(st.tree.args.get("kind") or "").upper() == "TABLE":
        return [table_name(t) for t in st.tree.args.get("tables") or []]
    return []


def actions_any(st: Statement) -> list[tuple[str, exp.Expr, exp.Expr]]:
    """Return ``(table, action, alter tree)`` for every parsed action, new tables included."""
    table, pairs, _ = actions(st)
    return [(table, action, tree) for action, tree in pairs]


def rebuilt_tables(statements: list[Statement], known: Known) -> list[frozenset[str]]:
    """For each statement, the tables whose DROP there is part of a table rebuild.

    A drop is part of a rebuild when the same name is created again or renamed to later, or when
    the dropped table got its name from a rename of a table that is then re-created (the older
    "rename to _old, create, copy, drop _old" recipe).

    Args:
        statements: The schema's statements.
        known: Used only for name keys.

    Returns:
        One set of table keys per statement.
    """
    created: list[set[str]] = []
    renamed: list[list[tuple[str, str]]] = []
    for st in statements:
        made: set[str] = set()
        moves: list[tuple[str, str]] = []
        if is_node(st.tree, "Create") and str(st.tree.args.get("kind") or "").upper() == "TABLE":
            target = st.tree.this
            made.add(known.key(table_name(target.this if is_node(target, "Schema") else target)))
        for table, action, _tree in actions_any(st):
            if node_kind(action) == "AlterRename":
                moves.append((known.key(table), known.key(table_name(action.this))))
        moves += [(known.key(a), known.key(b)) for a, b in rename_pairs(st.cursor())]
        made.update(new for _, new in moves)
        created.append(made)
        renamed.append(moves)
    result: list[frozenset[str]] = []
    for i in range(len(statements)):
        later: set[str] = set().union(*created[i + 1 :])
        before: set[str] = set().union(*created[:i])
        recreated = {new for moves in renamed[:i] for old, new in moves if old in before}
        result.append(frozenset(later | recreated))
    return result


def alter_parts(st: Statement) -> tuple[str, str, list[Cursor]]:
    """Read ``ALTER <kind> [IF EXISTS] [ONLY] name <actions>`` from the text.

    Returns:
        The object kind (``TABLE``, ``INDEX``, ``DOMAIN``, ``MATERIALIZED VIEW``...), its name,
        and one cursor per comma-separated action; ``("", "", [])`` for other statements.
    """
    cur = st.cursor()
    if not cur.accept("ALTER"):
        return "", "", []
    kind = cur.word()
    cur.skip()
    if kind in {"MATERIALIZED", "FOREIGN"}:
        kind = f"{kind} {cur.word()}"
        cur.skip()
    cur.accept("IF", "EXISTS")
    cur.accept("ONLY")
    name = "" if cur.word() == "ALL" else cur.name()
    if cur.symbol() == "*":
        cur.skip()
    return kind, name, cur.split(",")
