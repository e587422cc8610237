"""The lint rules' checks: one function per rule id, each returning one reason per hit.

A check sees one statement (its text, tokens and sqlglot tree) and what earlier statements taught
(:class:`~timescape.analysis._known.Known`); rules about locking or losing data never fire on a
table created earlier in the same schema. Rule metadata (level, summary, fix) lives in ``lint.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from timescape.analysis._fallback import rename_pairs
from timescape.analysis._known import Known, constraint_kind
from timescape.analysis._lockrules import LOCK_CHECKS
from timescape.analysis._myrules import MY_CHECKS, varchar_bytes_per_char
from timescape.analysis._names import column_name, ident, table_name
from timescape.analysis._statement import (
    Context,
    Statement,
    actions,
    actions_any,
    added_constraints,
    alter_parts,
    dropped_tables,
    existing_actions,
    has_run,
    is_node,
    node_kind,
    option,
    unparsed_words,
)
from timescape.analysis._style import STYLE_CHECKS
from timescape.analysis._txrules import TX_CHECKS
from timescape.analysis._types import column_info, type_sql, widens

if TYPE_CHECKING:
    from sqlglot import exp

__all__ = ["CHECKS", "Context"]

# Functions whose value differs per row, so a default using them must be written into every row.
# https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES
_VOLATILE = frozenset(
    {
        "random",
        "gen_random_uuid",
        "uuid_generate_v1",
        "uuid_generate_v1mc",
        "uuid_generate_v4",
        "uuidv4",
        "uuidv7",
        "clock_timestamp",
        "timeofday",
        "nextval",
        "random_normal",
        "gen_random_bytes",
    }
)
_SERIALS = frozenset({"SERIAL", "SMALLSERIAL", "BIGSERIAL"})


Check = Callable[[Statement, Known, Context], list[str]]


# PostgreSQL ---------------------------------------------------------------------------------------


def _pg001(st: Statement, known: Known, _: Context) -> list[str]:
    cur = st.cursor()
    if not cur.accept("CREATE"):
        return []
    cur.accept("UNIQUE")
    if not cur.accept("INDEX") or cur.word() == "CONCURRENTLY":
        return []
    table = cur.name_after("ON")
    if not table or known.is_new(table):
        return []
    return [
        f"CREATE INDEX on {table} without CONCURRENTLY blocks writes to {table} while it builds"
    ]


def _volatile_part(column: exp.Expr) -> str:  # noqa: PLR0911 - one return per kind of volatility
    from sqlglot import exp  # noqa: PLC0415 - sqlglot is imported lazily

    dtype = column.args.get("kind")
    if isinstance(dtype, exp.DataType) and dtype.this.name in _SERIALS:
        return f"type {dtype.this.name.lower()}"
    alias = str(dtype.args.get("kind") or "").lower() if isinstance(dtype, exp.DataType) else ""
    if alias in {"serial2", "serial4", "serial8"}:
        return f"type {alias}"
    for constraint in column.args.get("constraints") or []:
        kind = constraint.args.get("kind")
        if isinstance(kind, exp.GeneratedAsIdentityColumnConstraint):
            return "an identity"
        if isinstance(kind, exp.ComputedColumnConstraint):
            return "a stored generated expression"
        if isinstance(kind, exp.DefaultColumnConstraint):
            for node in kind.find_all(exp.Rand, exp.Uuid, exp.Anonymous):
                name = str(node.name).lower() if isinstance(node, exp.Anonymous) else ""
                if not isinstance(node, exp.Anonymous):
                    return f"volatile default {node.sql('postgres').lower()}"
                if name in _VOLATILE:
                    return f"volatile default {name}()"
    return ""


def _pg002(st: Statement, known: Known, _: Context) -> list[str]:
    reasons = []
    for table, action, _tree in existing_actions(st, known):
        if node_kind(action) == "ColumnDef" and (what := _volatile_part(action)):
            reasons.append(
                f"adds column {table}.{ident(action.this)} with {what}; "
                f"PostgreSQL rewrites {table} under ACCESS EXCLUSIVE"
            )
    for table, words in unparsed_words(st, known):
        lowered = {w.lower() for w in words}
        if words[:1] == ["ADD"] and (
            lowered & _VOLATILE or set(words) & (_SERIALS | {"GENERATED"})
        ):
            reasons.append(f"adds a column to {table} whose value must be computed per row")
    return reasons


def _pg003(st: Statement, known: Known, _: Context) -> list[str]:
    reasons = [
        f"SET NOT NULL on {table}.{ident(action.this)} scans all of {table} under ACCESS EXCLUSIVE"
        for table, action, _tree in existing_actions(st, known)
        if node_kind(action) == "AlterColumn" and action.args.get("allow_null") is False
    ]
    reasons += [
        f"SET NOT NULL on {table} scans the table under ACCESS EXCLUSIVE"
        for table, words in unparsed_words(st, known)
        if has_run(words, "SET", "NOT", "NULL")
    ]
    return reasons


def _rewrites(old: exp.Expr | None, new: exp.Expr) -> bool:
    if old is None or not widens(old, new):
        return True
    names = {old.this.name, new.this.name}
    return old != new and not names <= {"VARCHAR", "TEXT", "DECIMAL"}


def _pg004(st: Statement, known: Known, _: Context) -> list[str]:
    reasons = []
    for table, action, _tree in existing_actions(st, known):
        dtype = action.args.get("dtype") if node_kind(action) == "AlterColumn" else None
        if dtype is None:
            continue
        name = ident(action.this)
        old = known.column(table, name)
        if _rewrites(old.dtype if old else None, dtype):
            reasons.append(
                f"changes type of {table}.{name} to {type_sql(dtype, st.dialect)}; "
                f"PostgreSQL rewrites {table} and its indexes under ACCESS EXCLUSIVE"
            )
    reasons += [
        f"changes a column type of {table}; PostgreSQL rewrites the table under ACCESS EXCLUSIVE"
        for table, words in unparsed_words(st, known)
        if words[:1] == ["ALTER"] and "TYPE" in words
    ]
    return reasons


def _pg005(st: Statement, known: Known, _: Context) -> list[str]:
    reasons = [
        f"adds a {kind} constraint to {table} without NOT VALID; validating it scans {table}"
        for table, kind, tree in added_constraints(st, known)
        if kind in {"foreign key", "check"} and not tree.args.get("not_valid")
    ]
    reasons += [
        f"adds a constraint to {table} without NOT VALID; validating it scans {table}"
        for table, words in unparsed_words(st, known)
        if words[:1] == ["ADD"]
        and {"FOREIGN", "CHECK"} & set(words)
        and not has_run(words, "NOT", "VALID")
    ]
    return reasons


def _pg006(st: Statement, known: Known, _: Context) -> list[str]:
    reasons = [
        f"adds a {kind} constraint to {table} without USING INDEX; "
        f"the index builds under ACCESS EXCLUSIVE"
        for table, kind, _tree in added_constraints(st, known)
        if kind in {"unique", "primary key"}
    ]
    reasons += [
        f"adds a unique or primary key constraint to {table} without USING INDEX"
        for table, words in unparsed_words(st, known)
        if words[:1] == ["ADD"]
        and {"UNIQUE", "PRIMARY"} & set(words)
        and not has_run(words, "USING", "INDEX")
    ]
    return reasons


def _pg007(st: Statement, known: Known, _: Context) -> list[str]:
    cur = st.cursor()
    if not cur.accept("DROP", "INDEX") or cur.word() == "CONCURRENTLY":
        return []
    cur.accept("IF", "EXISTS")
    name = cur.name()
    info = known.indexes.get(name.rsplit(".", 1)[-1])
    if info is not None and known.is_new(info.table):
        return []
    return [f"DROP INDEX {name} without CONCURRENTLY takes ACCESS EXCLUSIVE on its table"]


# MySQL --------------------------------------------------------------------------------------------


def _my001(st: Statement, known: Known, _: Context) -> list[str]:
    table, ops = "", []
    for table, action, _tree in existing_actions(st, known):
        kind = node_kind(action)
        if kind == "ModifyColumn":
            definition = action.this
            old = known.column(
                table, ident(action.args.get("rename_from")) or ident(definition.this)
            )
            new = column_info(definition, st.dialect).dtype
            if old is None or (
                old.dtype != new and not _in_place(old.dtype, new, st.cursor().words())
            ):
                ops.append(f"changes the type of {table}.{ident(definition.this)}")
        elif kind == "DropPrimaryKey":
            ops.append(f"drops the primary key of {table}")
        elif kind == "AddConstraint" and any(
            constraint_kind(n)[1] == "primary key" for n in action.expressions
        ):
            ops.append(f"adds a primary key to {table}")
    for table, words in unparsed_words(st, known):
        if words[:1] == ["CONVERT"]:
            ops.append(f"converts the character set of {table}")
        elif words[:1] in (["MODIFY"], ["CHANGE"]):
            ops.append(f"redefines a column of {table}")
    if not ops or option(st, "ALGORITHM") in {"INPLACE", "INSTANT", "COPY"}:
        return []
    return [f"{'; '.join(ops)}: MySQL copies {table} and blocks writes (no ALGORITHM given)"]


def _in_place(old: exp.Expr | None, new: exp.Expr | None, words: list[str]) -> bool:
    """Whether InnoDB changes the column type in place: its storage does not change.

    https://dev.mysql.com/doc/refman/8.0/en/innodb-online-ddl-operations.html#online-ddl-column-operations
    A VARCHAR widening that keeps its length prefix size: the prefix is 1 byte up to 255 bytes of
    maximum length, 2 bytes beyond, the maximum length in bytes being the length in characters
    times the character set's bytes per character. An ENUM or SET with members appended at the
    end, as long as its storage size stays the same (up to 255 ENUM or 8 SET members per byte).
    """
    if old is None or new is None or not widens(old, new):
        return False
    kinds = {old.this.name, new.this.name}
    if kinds in ({"ENUM"}, {"SET"}):
        per_byte = 255 if kinds == {"ENUM"} else 8
        sizes = [(len(t.expressions) + per_byte - 1) // per_byte for t in (old, new)]
        return sizes[0] == sizes[1] and len(new.expressions) >= len(old.expressions)
    if {old.this.name, new.this.name} != {"VARCHAR"}:
        return False
    lengths = [dtype.expressions[0].sql() for dtype in (old, new) if dtype.expressions]
    if len(lengths) != 2 or not all(text.isdigit() for text in lengths):
        return False
    per_char = varchar_bytes_per_char(words)
    before, after = (int(text) * per_char for text in lengths)
    return (before <= 255) == (after <= 255)


def _index_target(st: Statement, known: Known) -> str:
    """Return the existing table an index is added to by this statement, or ``""``."""
    cur = st.cursor()
    if cur.accept("CREATE"):
        cur.accept_any("UNIQUE", "FULLTEXT", "SPATIAL")
        table = cur.name_after("ON") if cur.accept("INDEX") else ""
        return table if table and not known.is_new(table) else ""
    for table, action, _tree in existing_actions(st, known):
        if node_kind(action) == "AddConstraint" and any(
            constraint_kind(n)[1] in {"index", "unique"} for n in action.expressions
        ):
            return table
    return ""


def _my002(st: Statement, known: Known, _: Context) -> list[str]:
    if option(st, "ALGORITHM") != "COPY":
        return []
    table, _pairs, _parts = actions(st)
    table = table or _index_target(st, known)
    if not table or known.is_new(table):
        return []
    return [f"ALGORITHM=COPY copies {table} and blocks writes to it for the whole copy"]


def _my003(st: Statement, known: Known, _: Context) -> list[str]:
    cur = st.cursor()
    if cur.accept("CREATE"):
        kind = cur.accept_any("FULLTEXT", "SPATIAL")
        table = cur.name_after("ON") if kind and cur.accept("INDEX") else ""
        hits = [kind] if table and not known.is_new(table) else []
    else:
        what, table, parts = alter_parts(st)
        hits = [
            words[1]
            for part in parts
            if (words := part.words())[:1] == ["ADD"] and words[1:2] in (["FULLTEXT"], ["SPATIAL"])
        ]
        hits = hits if what == "TABLE" and table and not known.is_new(table) else []
    return [
        f"adds a {kind} index to {table}: InnoDB cannot build it with LOCK=NONE, so writes wait"
        for kind in hits
    ]


# SQLite -------------------------------------------------------------------------------------------


def _sl001(st: Statement, known: Known, ctx: Context) -> list[str]:
    return [
        f"rebuilds {name}: with foreign_keys ON, DROP TABLE {name} first deletes its rows, "
        "cascading to child tables"
        for name in dropped_tables(st)
        if known.key(name) in ctx.rebuilt and not known.is_new(name)
    ]


def _sl002(st: Statement, _known: Known, _: Context) -> list[str]:
    return [
        f"drops column {table}.{column_name(t)}; needs SQLite 3.35.0 or newer"
        for table, action, _tree in actions_any(st)
        if node_kind(action) == "Drop" and str(action.args.get("kind") or "").upper() == "COLUMN"
        for t in action.args.get("tables") or []
    ]


def _sl003(st: Statement, _known: Known, _: Context) -> list[str]:
    return [
        f"renames column {table}.{column_name(action.this)}; needs SQLite 3.25.0 or newer"
        for table, action, _tree in actions_any(st)
        if node_kind(action) == "RenameColumn"
    ]


def _sl004(st: Statement, known: Known, _: Context) -> list[str]:
    reasons = []
    for table, action, _tree in actions_any(st):
        if node_kind(action) == "ColumnDef":
            problem = _sqlite_add_problem(action, is_empty=known.is_new(table), dialect=st.dialect)
            if problem:
                reasons.append(f"SQLite refuses to add {table}.{ident(action.this)}: {problem}")
    return reasons


def _sqlite_add_problem(column: exp.Expr, *, is_empty: bool, dialect: str) -> str:
    # https://www.sqlite.org/lang_altertable.html#altertabaddcol
    from sqlglot import exp  # noqa: PLC0415 - sqlglot is imported lazily

    info = column_info(column, dialect)
    kinds = [c.args.get("kind") for c in column.args.get("constraints") or []]
    if any(
        isinstance(k, exp.PrimaryKeyColumnConstraint | exp.UniqueColumnConstraint) for k in kinds
    ):
        return "a PRIMARY KEY or UNIQUE column"
    if is_empty:
        return ""
    if info.is_not_null and not info.has_default:
        return "NOT NULL without a non-NULL default"
    for kind in kinds:
        if isinstance(kind, exp.ComputedColumnConstraint) and kind.args.get("persisted"):
            return "a STORED generated column"
        if isinstance(kind, exp.DefaultColumnConstraint) and not _is_constant(kind.this):
            return "a non-constant default"
    return ""


def _is_constant(node: exp.Expr) -> bool:
    from sqlglot import exp  # noqa: PLC0415 - sqlglot is imported lazily

    if isinstance(node, exp.Neg):
        node = node.this
    return isinstance(node, exp.Literal | exp.Null | exp.Boolean)


# All dialects -------------------------------------------------------------------------------------


def _gen001(st: Statement, known: Known, ctx: Context) -> list[str]:
    reasons = [
        f"drops table {name} and every row in it"
        for name in dropped_tables(st)
        if not known.is_new(name) and known.key(name) not in ctx.rebuilt
    ]
    if is_node(st.tree, "Drop") and str(st.tree.args.get("kind") or "").upper() in {
        "SCHEMA",
        "DATABASE",
    }:
        reasons += [
            f"drops {str(st.tree.args['kind']).lower()} {table_name(t)} and everything in it"
            for t in st.tree.args.get("tables") or []
        ]
    if is_node(st.tree, "TruncateTable"):
        reasons += [
            f"truncates {table_name(t)} (deletes every row)"
            for t in st.tree.expressions
            if not known.is_new(table_name(t))
        ]
    reasons += [
        f"drops column {table}.{column_name(t)} and its data"
        for table, action, _tree in existing_actions(st, known)
        if node_kind(action) == "Drop" and str(action.args.get("kind") or "").upper() == "COLUMN"
        for t in action.args.get("tables") or []
    ]
    return reasons


def _gen002(st: Statement, known: Known, _: Context) -> list[str]:
    if not (is_node(st.tree, "Update") or is_node(st.tree, "Delete")) or st.tree.args.get("where"):
        return []
    table = table_name(st.tree.this)
    if not table or known.is_new(table):
        return []
    verb = "UPDATE" if is_node(st.tree, "Update") else "DELETE"
    return [f"{verb} on {table} without WHERE touches every row"]


def _gen003(st: Statement, known: Known, _: Context) -> list[str]:
    reasons = []
    for table, action, _tree in existing_actions(st, known):
        kind = node_kind(action)
        if kind == "RenameColumn":
            reasons.append(
                f"renames column {table}.{column_name(action.this)} "
                f"to {column_name(action.args['to'])}"
            )
        elif kind == "AlterRename":
            reasons.append(f"renames table {table} to {table_name(action.this)}")
        elif kind == "ModifyColumn":
            old, new = ident(action.args.get("rename_from")), ident(action.this.this)
            if old and old != new:
                reasons.append(f"renames column {table}.{old} to {new}")
    reasons += [
        f"renames table {old} to {new}"
        for old, new in rename_pairs(st.cursor())
        if not known.is_new(old)
    ]
    return reasons


CHECKS: tuple[tuple[str, Check], ...] = (
    ("PG001", _pg001),
    ("PG002", _pg002),
    ("PG003", _pg003),
    ("PG004", _pg004),
    ("PG005", _pg005),
    ("PG006", _pg006),
    ("PG007", _pg007),
    *LOCK_CHECKS,
    ("MY001", _my001),
    ("MY002", _my002),
    ("MY003", _my003),
    *MY_CHECKS,
    ("SL001", _sl001),
    ("SL002", _sl002),
    ("SL003", _sl003),
    ("SL004", _sl004),
    ("GEN001", _gen001),
    ("GEN002", _gen002),
    ("GEN003", _gen003),
    *TX_CHECKS,
    *STYLE_CHECKS,
)
