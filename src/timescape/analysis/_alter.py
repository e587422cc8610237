"""ALTER TABLE: one verdict per action, the worst one naming the statement.

Actions come from sqlglot's tree when it understood the statement, and from keywords when it did
not (:mod:`~timescape.analysis._alter_tokens`); an action sqlglot rejects on its own is retried as
its own statement first. Whatever is done
to a table created earlier in the same schema is additive: no older code can use that table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from timescape.analysis._known import Known, constraint_kind
from timescape.analysis._names import column_name, ident, parse, table_name
from timescape.analysis._text import Cursor
from timescape.analysis._types import change_problem, column_info, type_sql, widens
from timescape.analysis._verdict import Verdict, combine
from timescape.analysis.effect import Effect

if TYPE_CHECKING:
    from sqlglot import exp

__all__ = [
    "drop_constraint",
    "judge_alter_tree",
    "judge_index_drop",
    "on_new_table",
    "read_side",
    "reparsed_actions",
]

A, D, U, B = Effect.ADDITIVE, Effect.DATA, Effect.UNKNOWN, Effect.BREAKING
# MySQL ALTER TABLE options that change nothing older code can see.
_QUIET_OPTIONS = frozenset(
    {
        "AlgorithmProperty",
        "LockProperty",
        "AutoIncrementProperty",
        "CharacterSetProperty",
        "CollateProperty",
        "RowFormatProperty",
        "SchemaCommentProperty",
    }
)


def on_new_table(table: str, verdict: Verdict, known: Known) -> Verdict:
    """Turn a breaking verdict on a table created earlier in this schema into an additive one."""
    if verdict.effect is Effect.BREAKING and known.is_new(table):
        return Verdict.of(
            A, f"{verdict.reason} (table {table} is new in this schema)", *verdict.objects
        )
    return verdict


def read_side(table: str, reason: str, known: Known, *objects: str) -> Verdict:
    """A change older code may misread rather than fail on: the gate asks for a declaration.

    Writes from older code keep working, but what it reads changes shape (NULLs where there were
    none, an enum value it cannot map, a json column its ``SELECT DISTINCT *`` cannot compare).
    Harmless on a table created earlier in the same schema.
    """
    if table and known.is_new(table):
        return Verdict.of(
            A, f"{reason.split(';', maxsplit=1)[0]} (table {table} is new in this schema)", *objects
        )
    return Verdict.unknown(reason, *objects)


def judge_alter_tree(tree: exp.Expr, known: Known, dialect: str) -> Verdict:
    """Judge a parsed ``ALTER TABLE``.

    Args:
        tree: A sqlglot Alter of kind TABLE.
        known: What earlier statements taught; not updated here.
        dialect: A canonical Timescape dialect name.

    Returns:
        The worst action's verdict, naming every action.
    """
    table = table_name(tree.this)
    verdicts = [
        on_new_table(table, _action(table, action, known, dialect), known)
        for action in tree.args.get("actions") or []
    ]
    for option in tree.args.get("options") or []:
        name = type(option).__name__
        if name == "EngineProperty":
            verdicts.append(Verdict.unknown(f"changes the storage engine of {table}", table))
        elif name not in _QUIET_OPTIONS:
            verdicts.append(
                Verdict.unknown(f"changes table option {option.sql()} of {table}", table)
            )
    if not verdicts:
        return Verdict.of(D, f"changes options of {table} (no shape change)", table)
    return combine(verdicts)


def _action(table: str, action: exp.Expr, known: Known, dialect: str) -> Verdict:  # noqa: C901, PLR0911 - one branch per action or statement kind
    from sqlglot import exp  # noqa: PLC0415 - sqlglot is imported lazily

    if isinstance(action, exp.ColumnDef):
        return _add_column(table, action, known, dialect)
    if isinstance(action, exp.Drop):
        return _drop_in_table(table, action, known)
    if isinstance(action, exp.DropPrimaryKey):
        return Verdict.of(B, f"drops the primary key of {table}", table)
    if isinstance(action, exp.AlterColumn):
        return _alter_column(table, action, known, dialect)
    if isinstance(action, exp.RenameColumn):
        old, new = column_name(action.this), column_name(action.args["to"])
        return Verdict.of(
            B, f"renames column {table}.{old} to {new}", f"{table}.{old}", f"{table}.{new}"
        )
    if isinstance(action, exp.AlterRename):
        new = table_name(action.this)
        return Verdict.of(B, f"renames table {table} to {new}", table, new)
    if isinstance(action, exp.ModifyColumn):
        return _modify(table, action, known, dialect)
    if isinstance(action, exp.AddConstraint):
        return combine(_add_constraint(table, node) for node in action.expressions)
    if isinstance(action, exp.RenameIndex):
        return Verdict.unknown(
            f"renames index {ident(action.this)} on {table}; code naming it in hints breaks", table
        )
    if isinstance(action, exp.AlterIndex):
        return Verdict.unknown(
            f"changes visibility of index {ident(action.this)} on {table}", table
        )
    if isinstance(action, exp.AlterSet | exp.ForceProperty):
        return Verdict.of(D, f"changes storage of {table} (no shape change)", table)
    return Verdict.unknown(f"ALTER TABLE action {type(action).__name__} on {table}", table)


def _add_column(table: str, column: exp.Expr, known: Known, dialect: str) -> Verdict:  # noqa: PLR0911 - one return per kind of column
    from sqlglot import exp  # noqa: PLC0415 - sqlglot is imported lazily

    name = ident(column.this)
    obj = f"{table}.{name}"
    info = column_info(column, dialect)
    kinds = {type(c.args.get("kind")).__name__ for c in column.args.get("constraints") or []}
    if info.is_not_null and not info.has_default:
        return Verdict.of(
            B, f"adds NOT NULL column {obj} without a default; inserts from older code fail", obj
        )
    if "CheckColumnConstraint" in kinds:
        if not info.is_not_null and not info.has_default and _null_passes_checks(column, name):
            return Verdict.of(
                A, f"adds column {obj} (nullable, with a CHECK that NULL passes)", obj
            )
        return Verdict.unknown(
            f"adds column {obj} with a CHECK; rows from older code may fail it", obj
        )
    unique = kinds & {"UniqueColumnConstraint", "PrimaryKeyColumnConstraint"}
    if unique and info.has_default and not info.is_generated:
        return Verdict.of(
            B, f"adds unique column {obj} with a default; older code's inserts would repeat it", obj
        )
    if "Reference" in kinds and info.has_default:
        return Verdict.unknown(f"adds column {obj} referencing another table with a default", obj)
    default = next(
        (
            c.args["kind"].this
            for c in column.args.get("constraints") or []
            if isinstance(c.args.get("kind"), exp.DefaultColumnConstraint)
        ),
        None,
    )
    if dialect == "postgresql" and type_sql(info.dtype, dialect) == "json":
        return read_side(
            table,
            f"adds json column {obj}; older code's SELECT DISTINCT, UNION or GROUP BY over "
            "its columns fails (json has no equality operator)",
            known,
            obj,
        )
    if info.is_generated:
        how = "generated"
    elif info.is_not_null:
        how = "NOT NULL, with a default"
    else:
        how = "nullable" if default is None else "nullable, with a default"
    return Verdict.of(A, f"adds column {obj} ({how})", obj)


def _drop_in_table(table: str, action: exp.Expr, known: Known) -> Verdict:
    kind = str(action.args.get("kind") or "").upper()
    names = [
        column_name(t) if kind == "COLUMN" else table_name(t)
        for t in action.args.get("tables") or []
    ]
    if kind == "COLUMN":
        objects = [f"{table}.{n}" for n in names]
        return Verdict.of(B, f"drops column {', '.join(objects)}", *objects)
    if kind in {"INDEX", "KEY"}:
        return combine(judge_index_drop(n, known, table=table) for n in names)
    if kind in {"CONSTRAINT", "CHECK", "FOREIGN KEY"}:
        return combine(drop_constraint(table, n, kind, known) for n in names)
    return Verdict.unknown(
        f"drops {kind.lower() or 'something'} {', '.join(names)} from {table}", table
    )


def drop_constraint(table: str, name: str, kind: str, known: Known) -> Verdict:
    """Judge dropping constraint ``name`` (of ``kind``, or as learned) from ``table``."""
    known_kind = {"CHECK": "check", "FOREIGN KEY": "foreign key"}.get(
        kind
    ) or known.constraints.get(name, "")
    if known_kind == "check":
        return Verdict.of(A, f"drops check constraint {name} on {table} (relaxes it)", table)
    if known_kind in {"unique", "primary key", "exclude"}:
        return Verdict.of(
            B, f"drops {known_kind} constraint {name} on {table}; older code may rely on it", table
        )
    if known_kind == "foreign key":
        return Verdict.unknown(
            f"drops foreign key {name} on {table}; older code may rely on its checks or cascades",
            table,
        )
    return Verdict.unknown(
        f"drops constraint {name} on {table}; cannot tell whether older code relies on it", table
    )


def judge_index_drop(name: str, known: Known, *, table: str = "") -> Verdict:
    """Judge dropping index ``name``.

    A non-unique index changes no shape; a unique one backs ``ON CONFLICT`` and ``ON DUPLICATE
    KEY`` in older code; an index the analyser never saw created could be either.

    Args:
        name: The index name, normalised.
        known: What earlier statements taught.
        table: The table, when the statement names it (MySQL ``DROP INDEX i ON t``).

    Returns:
        DATA for a known non-unique index or one on a new table, BREAKING for a known unique one,
        UNKNOWN otherwise.
    """
    info = known.indexes.get(name.rsplit(".", 1)[-1])
    table = table or (info.table if info else "")
    if table and known.is_new(table):
        return Verdict.of(A, f"drops index {name} on {table} (table is new in this schema)", table)
    if info is None:
        return Verdict.unknown(
            f"drops index {name}; cannot tell whether it is unique "
            "(older code may rely on it for ON CONFLICT / ON DUPLICATE KEY)",
            table or name,
        )
    if info.is_unique:
        return Verdict.of(
            B, f"drops unique index {name} on {table}; older code may rely on it", table
        )
    return Verdict.of(D, f"drops non-unique index {name} on {table} (no shape change)", table)


def _alter_column(table: str, action: exp.Expr, known: Known, dialect: str) -> Verdict:  # noqa: C901, PLR0911 - one branch per action or statement kind
    from sqlglot import exp  # noqa: PLC0415 - sqlglot is imported lazily

    name = ident(action.this)
    obj = f"{table}.{name}"
    dtype = action.args.get("dtype")
    if dtype is not None:
        old = known.column(table, name)
        new_sql = type_sql(dtype, dialect)
        if old is None or old.dtype is None:
            return Verdict.of(B, f"changes type of {obj} to {new_sql} (previous type unknown)", obj)
        old_sql = type_sql(old.dtype, dialect)
        if widens(old.dtype, dtype) and not action.args.get("collate"):
            return Verdict.of(A, f"widens {obj} from {old_sql} to {new_sql}", obj)
        return Verdict.of(B, f"changes type of {obj} from {old_sql} to {new_sql}", obj)
    if action.args.get("allow_null") is False:
        return Verdict.of(B, f"makes {obj} NOT NULL; older code writing NULL fails", obj)
    if action.args.get("allow_null"):
        return read_side(
            table, f"allows NULL in {obj}; older code reading it may not expect NULL", known, obj
        )
    if action.args.get("drop"):
        return Verdict.of(B, f"drops the default of {obj}; older code omitting it breaks", obj)
    if isinstance(action.args.get("default"), exp.Null):
        return Verdict.of(
            B, f"sets the default of {obj} to NULL, dropping it; older code omitting it breaks", obj
        )
    if action.args.get("default") is not None:
        return Verdict.of(A, f"sets the default of {obj}", obj)
    if action.args.get("comment") is not None:
        return Verdict.of(A, f"comments on {obj}", obj)
    if action.args.get("visible") is not None:
        return Verdict.unknown(f"changes visibility of {obj}; SELECT * and INSERT change", obj)
    return Verdict.unknown(f"alters column {obj}", obj)


def _modify(table: str, action: exp.Expr, known: Known, dialect: str) -> Verdict:
    definition = action.this
    new_name = ident(definition.this)
    old_name = ident(action.args.get("rename_from")) or new_name
    obj = f"{table}.{old_name}"
    if old_name != new_name:
        return Verdict.of(
            B, f"renames column {obj} to {new_name} (CHANGE COLUMN)", obj, f"{table}.{new_name}"
        )
    old = known.column(table, old_name)
    if old is None:
        return Verdict.of(
            B,
            f"redefines column {obj} (type, NULL and default all replaced; previous unknown)",
            obj,
        )
    new = column_info(definition, dialect)
    problem = change_problem(old, new, dialect)
    if problem:
        return Verdict.of(B, f"redefines column {obj}: {problem}", obj)
    if old.is_not_null and not new.is_not_null and "PRIMARY KEY" not in old.restrictions:
        return read_side(
            table, f"allows NULL in {obj}; older code reading it may not expect NULL", known, obj
        )
    if _adds_enum_values(old.dtype, new.dtype):
        return read_side(
            table,
            f"adds enum values to {obj}; older code reading it may meet a value it cannot map",
            known,
            obj,
        )
    return Verdict.of(A, f"redefines column {obj} compatibly (same or wider type)", obj)


def _adds_enum_values(old: exp.Expr | None, new: exp.Expr | None) -> bool:
    if old is None or new is None or old.this.name != "ENUM" or new.this.name != "ENUM":
        return False
    return len(new.expressions) > len(old.expressions)


# Expression nodes through which a NULL column value stays NULL, so a CHECK built only of them
# (and of the new column and literals) passes on the NULL every existing row and older insert gets.
_NULL_PROPAGATING = frozenset(
    {
        "Column",
        "Identifier",
        "Literal",
        "Paren",
        "Tuple",
        "EQ",
        "NEQ",
        "GT",
        "GTE",
        "LT",
        "LTE",
        "And",
        "Or",
        "Not",
        "In",
        "Between",
        "Like",
        "ILike",
        "Add",
        "Sub",
        "Mul",
        "Div",
        "Mod",
        "Neg",
        "CheckColumnConstraint",
    }
)


def _null_passes_checks(column: exp.Expr, name: str) -> bool:
    """Whether every CHECK on a new column is NULL (so it passes) when the column is NULL."""
    from sqlglot import exp  # noqa: PLC0415 - sqlglot is imported lazily

    for constraint in column.args.get("constraints") or []:
        check = constraint.args.get("kind")
        if not isinstance(check, exp.CheckColumnConstraint):
            continue
        for node in check.walk():
            if type(node).__name__ not in _NULL_PROPAGATING:
                return False
            if isinstance(node, exp.Column) and column_name(node) != name:
                return False
    return True


def _add_constraint(table: str, node: exp.Expr) -> Verdict:
    name, kind = constraint_kind(node)
    label = f" {name}" if name else ""
    if kind == "index":
        return Verdict.of(A, f"adds index{label} on {table}", table)
    if kind:
        return Verdict.of(
            B,
            f"adds {kind} constraint{label} on {table}; existing rows or older code may violate it",
            table,
        )
    return Verdict.unknown(f"adds a constraint on {table} of an unknown kind", table)


def reparsed_actions(cur: Cursor, dialect: str) -> tuple[str, list[tuple[Cursor, exp.Expr | None]]]:
    """Split an unparsed ``ALTER TABLE`` into actions and retry each as its own statement.

    Args:
        cur: Positioned just after ``ALTER TABLE`` (the cursor's first token is ``ALTER``).
        dialect: A canonical Timescape dialect name.

    Returns:
        The table name (``""`` if missing) and, per action, its tokens and its parsed Alter tree
        (None when sqlglot still cannot parse it).
    """
    from sqlglot import exp  # noqa: PLC0415 - sqlglot is imported lazily

    cur.accept("IF", "EXISTS")
    cur.accept("ONLY")
    table = cur.name()
    if not table:
        return "", []
    if cur.symbol() == "*":
        cur.skip()
    head = cur.sql[cur.tokens[0].start : cur.tokens[cur.i - 1].end]
    actions: list[tuple[Cursor, exp.Expr | None]] = []
    for part in cur.split(","):
        tree = parse(f"{head} {part.text()}", dialect)
        is_alter = isinstance(tree, exp.Alter) and bool(tree.args.get("actions"))
        actions.append((part, tree if is_alter else None))
    return table, actions
