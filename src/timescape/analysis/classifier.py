"""Classify migration statements by what they do to code written against the previous schema.

Each statement is parsed with sqlglot; statements sqlglot cannot parse, or keeps only as raw text,
are read keyword by keyword instead; anything still unclear is ``UNKNOWN``. A verdict of ADDITIVE or
DATA from the parser is double-checked against the text: if the parser dropped a keyword such as
``DROP`` or ``NOT`` on the way, the statement is ``UNKNOWN``. The bar is that no breaking
statement is ever called additive.

Added in 0.2.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from timescape.analysis._alter import judge_alter_tree, judge_index_drop, reparsed_actions
from timescape.analysis._bulk import bulk_data
from timescape.analysis._fallback import (
    holds_several_statements,
    judge_session,
    judge_tokens,
    rename_pairs,
)
from timescape.analysis._known import Known
from timescape.analysis._names import DIALECTS, dialect_name, ident, parse, table_name
from timescape.analysis._text import Cursor, Token, keyword_counts, tokenize
from timescape.analysis._verdict import Verdict, combine
from timescape.analysis.effect import Effect, Finding

if TYPE_CHECKING:
    from sqlglot import exp

    from timescape.analysis.knowledge import Knowledge

__all__ = ["classify", "classify_statement"]

A, D, U, B = Effect.ADDITIVE, Effect.DATA, Effect.UNKNOWN, Effect.BREAKING
# Keywords whose loss between the text and the parsed tree could hide a breaking change.
_GUARDED = frozenset(
    {
        "ALTER",
        "CHANGE",
        "CHECK",
        "CONVERT",
        "DELETE",
        "DISABLE",
        "DROP",
        "ENABLE",
        "ENGINE",
        "EXCLUDE",
        "FOREIGN",
        "INHERIT",
        "INVISIBLE",
        "MODIFY",
        "NOT",
        "OWNER",
        "PARTITION",
        "POLICY",
        "PRIMARY",
        "REFERENCES",
        "RENAME",
        "REPLACE",
        "REVOKE",
        "RULE",
        "TRIGGER",
        "TRUNCATE",
        "TYPE",
        "UNIQUE",
    }
)
_HARMLESS_CREATE = frozenset({"SEQUENCE", "TYPE", "SCHEMA", "DATABASE", "DOMAIN", "EXTENSION"})
_DML_VERBS = {
    "Insert": "inserts into",
    "Update": "updates",
    "Delete": "deletes from",
    "Merge": "merges into",
}
_BREAKING_DROP = frozenset({"SEQUENCE", "TYPE", "SCHEMA", "DATABASE", "FUNCTION", "PROCEDURE"})


def classify_statement(sql: str, dialect: str, *, applied: Sequence[str] = ()) -> Finding:
    """Classify one statement on its own.

    Pure: reads nothing but its arguments. Without context a statement is judged conservatively:
    a unique index is assumed to be on an existing table, a column's previous type is unknown.

    Args:
        sql: One statement (already split; comments allowed).
        dialect: ``"sqlite"``, ``"postgresql"`` or ``"mysql"``.
        applied: Statements already applied before this one, read only to learn the existing
            tables, column types and indexes (so widening a varchar can be told apart).

    Returns:
        The finding for ``sql``.

    Raises:
        InputError: ``dialect`` is not supported.
    """
    return classify([sql], dialect, applied=applied)[0]


def classify(
    statements: Sequence[str],
    dialect: str,
    *,
    applied: Sequence[str] = (),
    prior: Knowledge | None = None,
) -> list[Finding]:
    """Classify the statements of one schema, in order.

    Each statement is judged knowing what the earlier ones did: a table created earlier in
    ``statements`` is new, so adding a unique index or a NOT NULL column to it is additive.

    Args:
        statements: The schema's statements, in the order they run (already split).
        dialect: ``"sqlite"``, ``"postgresql"`` or ``"mysql"``.
        applied: Statements already applied before these (for example the ancestors' steps),
            read only to learn existing column types, indexes and constraints; never classified.
        prior: What earlier statements taught, learned once (:class:`Knowledge`); ``applied``
            is read on top of it. Added in 0.3.

    Returns:
        One finding per statement, in order.

    Raises:
        InputError: ``dialect`` is not supported.

    """
    name = dialect_name(dialect)
    known = prior.working_copy() if prior is not None else Known(name)
    for sql in applied:
        learn(sql, name, known)
    known.settle()
    findings: list[Finding] = []
    for sql in statements:
        verdict = judge(sql, name, known)
        findings.append(Finding(sql, verdict.effect, verdict.reason, verdict.objects))
        learn(sql, name, known)
    return findings


def learn(sql: str, dialect: str, known: Known) -> None:
    """Teach ``known`` what one statement does to the schema.

    Args:
        sql: One statement.
        dialect: A canonical Timescape dialect name.
        known: Updated in place.
    """
    from sqlglot import exp  # noqa: PLC0415 - sqlglot is imported lazily

    if bulk_data(sql) is not None:
        return  # rows only: nothing to learn, and parsing a dump's INSERT takes seconds
    tree = parse(sql, dialect)
    if tree is not None and not isinstance(tree, exp.Command):
        known.learn(tree)
        return
    tokens, _ = tokenize(sql, dialect)
    for old, new in rename_pairs(Cursor(sql, tokens)):
        known.rename_table(old, new)
    cur = Cursor(sql, tokens)
    if cur.accept("ALTER", "TABLE"):
        for _, action_tree in reparsed_actions(cur, dialect)[1]:
            if action_tree is not None:
                known.learn(action_tree)


def judge(sql: str, dialect: str, known: Known) -> Verdict:
    """Judge one statement given what earlier statements taught.

    Args:
        sql: One statement.
        dialect: A canonical Timescape dialect name.
        known: What earlier statements taught; not updated here.

    Returns:
        The verdict.
    """
    from sqlglot import exp  # noqa: PLC0415 - sqlglot is imported lazily

    bulk = bulk_data(sql)
    if bulk is not None:
        return bulk
    tokens, _ = tokenize(sql, dialect)
    if holds_several_statements(Cursor(sql, tokens)):
        return Verdict.unknown("text holds more than one statement")
    session = judge_session(Cursor(sql, tokens))
    if session is not None:
        return session
    tree = parse(sql, dialect)
    verdict = None
    if tree is not None and not isinstance(tree, exp.Command):
        verdict = _judge_tree(tree, known)
    if verdict is None:
        return judge_tokens(Cursor(sql, tokens), known, dialect)
    if tree is not None and verdict.effect.is_compatible:
        lost = _lost_keywords(tree, tokens, dialect)
        if lost:
            return Verdict.unknown(
                f"the parser read this as '{verdict.reason}' but dropped {lost}", *verdict.objects
            )
    return verdict


def _lost_keywords(tree: exp.Expr, tokens: list[Token], dialect: str) -> str:
    from sqlglot.errors import ErrorLevel  # noqa: PLC0415 - sqlglot is imported lazily

    before = keyword_counts(tokens, _GUARDED)
    if not before:
        return ""  # nothing guarded to lose: skip writing the tree back

    try:
        regenerated = tree.sql(dialect=DIALECTS[dialect], unsupported_level=ErrorLevel.IGNORE)
    except Exception:  # a generator failure means the tree cannot be checked
        return "text it could not write back"
    after = keyword_counts(tokenize(regenerated, dialect)[0], _GUARDED)
    missing = sorted(word for word, count in before.items() if after[word] < count)
    return ", ".join(missing)


def _judge_tree(tree: exp.Expr, known: Known) -> Verdict | None:  # noqa: C901, PLR0911 - one branch per action or statement kind
    from sqlglot import exp  # noqa: PLC0415 - sqlglot is imported lazily

    if isinstance(tree, exp.Create):
        return _create(tree, known)
    if isinstance(tree, exp.Drop):
        return _drop(tree, known)
    if isinstance(tree, exp.Alter):
        return _alter(tree, known)
    if isinstance(tree, exp.Insert | exp.Update | exp.Delete | exp.Merge):
        target = table_name(tree.this.this if isinstance(tree.this, exp.Schema) else tree.this)
        verb = _DML_VERBS[type(tree).__name__]
        return Verdict.of(D, f"{verb} {target} (changes rows only)", target)
    if isinstance(tree, exp.Query):
        calls = sorted({str(f.name).lower() for f in tree.find_all(exp.Anonymous)})
        if calls:
            return Verdict.unknown(f"calls {', '.join(calls)}(); cannot tell what it does")
        return Verdict.of(D, "reads only")
    if isinstance(tree, exp.Comment):
        target = tree.this
        parts = [target.args.get(k) for k in ("catalog", "db", "table", "this")]
        name = ".".join(ident(p) for p in parts if p is not None)
        return Verdict.of(A, f"comments on {name}", name)
    if isinstance(tree, exp.Grant):
        return Verdict.of(A, "grants privileges")
    if isinstance(tree, exp.Revoke):
        return Verdict.of(B, "revokes privileges older code may need")
    if isinstance(tree, exp.TruncateTable):
        return combine(_truncate(table_name(t), known) for t in tree.expressions)
    if isinstance(tree, exp.Analyze):
        return Verdict.of(D, "ANALYZE (maintenance; no shape change)")
    return None


def _truncate(table: str, known: Known) -> Verdict:
    if known.is_new(table):
        return Verdict.of(A, f"truncates {table} (table is new in this schema)", table)
    return Verdict.of(B, f"truncates {table} (deletes every row)", table)


def _created_name(tree: exp.Expr) -> str:
    from sqlglot import exp  # noqa: PLC0415 - sqlglot is imported lazily

    target = tree.this
    if isinstance(target, exp.Schema | exp.UserDefinedFunction):
        target = target.this
    if isinstance(target, exp.Index):
        return ident(target.this)
    return table_name(target) if isinstance(target, exp.Table) else ident(target)


def _create(tree: exp.Expr, known: Known) -> Verdict | None:  # noqa: C901, PLR0911 - one branch per action or statement kind
    from sqlglot import exp  # noqa: PLC0415 - sqlglot is imported lazily

    kind = str(tree.args.get("kind") or "").upper()
    name = _created_name(tree)
    replaces = bool(tree.args.get("replace"))
    label = kind.lower()
    if kind == "TABLE":
        if replaces:
            return Verdict.of(B, f"replaces table {name} (drops its rows)", name)
        return Verdict.of(A, f"creates table {name}", name)
    if kind == "VIEW":
        if replaces and not known.is_new_view(name):
            return Verdict.unknown(
                f"replaces view {name}; cannot tell whether its columns changed", name
            )
        return Verdict.of(A, f"creates view {name}", name)
    if kind == "INDEX":
        table = table_name(tree.this.args.get("table"))
        label = f"index {name} on {table}" if name else f"an index on {table}"
        if not tree.args.get("unique"):
            return Verdict.of(A, f"creates {label}", table)
        if known.is_new(table):
            return Verdict.of(A, f"creates unique {label} (table is new in this schema)", table)
        return Verdict.of(B, f"new unique {label} may reject existing or future rows", table)
    if kind == "TRIGGER":
        props = tree.find(exp.TriggerProperties)
        table = table_name(props.args.get("table")) if props is not None else ""
        if table and known.is_new(table):
            return Verdict.of(A, f"creates trigger {name} on {table} (table is new)", table)
        return Verdict.unknown(
            f"creates trigger {name} on {table or '?'}; it can reject or rewrite writes "
            "from older code",
            table,
        )
    if kind in _HARMLESS_CREATE | {"FUNCTION", "PROCEDURE"}:
        if replaces:
            return Verdict.unknown(
                f"replaces {label} {name}; cannot tell whether its behaviour changed", name
            )
        return Verdict.of(A, f"creates {label} {name}", name)
    return None


def _drop(tree: exp.Expr, known: Known) -> Verdict | None:
    from sqlglot import exp  # noqa: PLC0415 - sqlglot is imported lazily

    kind = str(tree.args.get("kind") or "").upper()
    names = [table_name(t) for t in tree.args.get("tables") or []]
    label = ("materialized " if tree.args.get("materialized") else "") + kind.lower()
    if not names:
        return None
    verdicts: list[Verdict] = []
    for name in names:
        if kind == "INDEX":
            on = tree.args.get("cluster")
            table = table_name(on.this) if isinstance(on, exp.OnProperty) else ""
            verdicts.append(judge_index_drop(name, known, table=table))
        elif kind in {"TABLE", "VIEW"} and (known.is_new(name) or known.is_new_view(name)):
            verdicts.append(
                Verdict.of(A, f"drops {label} {name} (created earlier in this schema)", name)
            )
        elif kind == "TRIGGER":
            verdicts.append(
                Verdict.unknown(f"drops trigger {name}; older code may rely on what it does", name)
            )
        elif kind in _BREAKING_DROP | {"TABLE", "VIEW"}:
            verdicts.append(Verdict.of(B, f"drops {label} {name}", name))
        else:
            return None
    return combine(verdicts)


def _alter(tree: exp.Expr, known: Known) -> Verdict | None:
    from sqlglot import exp  # noqa: PLC0415 - sqlglot is imported lazily

    kind = str(tree.args.get("kind") or "").upper()
    name = table_name(tree.this)
    if kind == "TABLE":
        return judge_alter_tree(tree, known, known.dialect)
    renames = [a for a in tree.args.get("actions") or [] if isinstance(a, exp.AlterRename)]
    if kind == "INDEX" and renames:
        return Verdict.unknown(f"renames index {name}; code naming it in hints breaks", name)
    if renames:
        new = table_name(renames[0].this)
        return Verdict.of(B, f"renames {kind.lower()} {name} to {new}", name, new)
    if kind == "VIEW":
        return Verdict.unknown(
            f"redefines view {name}; cannot tell whether its columns changed", name
        )
    return None
