"""Column definitions, and whether a new definition still accepts what older code does.

A column change is compatible when every value older code reads or writes still fits: the type is
the same or widened (a longer varchar, a bigger integer, more enum values), NULL is still allowed
where it was, a default older code relies on is kept, and no new constraint can reject its writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlglot import exp

__all__ = ["ColumnInfo", "change_problem", "column_info", "type_sql", "widens"]

# Constraint kinds that make the database fill the value in.
_GENERATING = frozenset(
    {
        "AutoIncrementColumnConstraint",
        "GeneratedAsIdentityColumnConstraint",
        "ComputedColumnConstraint",
    }
)
# Constraint kinds that describe the column without restricting its values.
_DESCRIBING = frozenset({"CommentColumnConstraint", "OnUpdateColumnConstraint"})
# Each list is ordered narrow → wide; moving right within one list widens.
_LADDERS: tuple[tuple[str, ...], ...] = (
    ("TINYINT", "SMALLINT", "MEDIUMINT", "INT", "BIGINT"),
    ("UTINYINT", "USMALLINT", "UMEDIUMINT", "UINT", "UBIGINT"),
    ("FLOAT", "DOUBLE"),
    ("TINYTEXT", "TEXT", "MEDIUMTEXT", "LONGTEXT"),
    ("TINYBLOB", "BLOB", "MEDIUMBLOB", "LONGBLOB"),
)
_UNSIGNED_FITS = {"UTINYINT": "SMALLINT", "USMALLINT": "INT", "UMEDIUMINT": "INT", "UINT": "BIGINT"}
_STRINGS = frozenset({"VARCHAR", "NVARCHAR", "TEXT", "TINYTEXT", "MEDIUMTEXT", "LONGTEXT"})
_INTEGER_TYPES = frozenset(_LADDERS[0] + _LADDERS[1])


@dataclass(frozen=True, slots=True)
class ColumnInfo:
    """What the analyser knows about one column.

    Attributes:
        dtype: The sqlglot DataType, or None when the definition had no type (SQLite).
        is_not_null: Declared NOT NULL (or PRIMARY KEY).
        has_default: Has a default or generates its value (identity, serial, auto-increment).
        is_generated: Generates its value (identity, serial, auto-increment, computed).
        restrictions: SQL of other constraints that can reject values (UNIQUE, CHECK, ...).
    """

    dtype: exp.Expr | None
    is_not_null: bool
    has_default: bool
    is_generated: bool
    restrictions: frozenset[str]


def column_info(column: exp.Expr, dialect: str) -> ColumnInfo:
    """Describe a ColumnDef node.

    Args:
        column: A sqlglot ColumnDef.
        dialect: A canonical Timescape dialect name.

    Returns:
        The column's description.
    """
    from sqlglot import exp  # noqa: PLC0415 - sqlglot is imported lazily

    from timescape.analysis._names import DIALECTS  # noqa: PLC0415 - avoids an import cycle

    dtype = column.args.get("kind")
    is_not_null = is_generated = has_default = False
    restrictions: set[str] = set()
    if isinstance(dtype, exp.DataType) and (
        dtype.this.name.endswith("SERIAL")
        or (
            dtype.this == exp.DataType.Type.USERDEFINED
            and str(dtype.args.get("kind") or "").lower() in {"serial2", "serial4", "serial8"}
        )
    ):
        is_generated = True
    for constraint in column.args.get("constraints") or []:
        kind = constraint.args.get("kind")
        name = type(kind).__name__
        if isinstance(kind, exp.NotNullColumnConstraint):
            is_not_null = is_not_null or not kind.args.get("allow_null")
        elif isinstance(kind, exp.DefaultColumnConstraint):
            has_default = not isinstance(kind.this, exp.Null)
        elif isinstance(kind, exp.PrimaryKeyColumnConstraint):
            is_not_null = True
            restrictions.add("PRIMARY KEY")
        elif name in _GENERATING:
            is_generated = True
        elif name not in _DESCRIBING:
            restrictions.add(kind.sql(DIALECTS[dialect]) if kind is not None else name)
    return ColumnInfo(
        dtype=dtype,
        is_not_null=is_not_null,
        has_default=has_default or is_generated,
        is_generated=is_generated,
        restrictions=frozenset(restrictions),
    )


def type_sql(dtype: exp.Expr | None, dialect: str) -> str:
    """Return a type as SQL text for messages (``"?"`` when unknown).

    Args:
        dtype: A sqlglot DataType or None.
        dialect: A canonical Timescape dialect name.

    Returns:
        The type, lower-cased.
    """
    from timescape.analysis._names import DIALECTS  # noqa: PLC0415 - avoids an import cycle

    if dtype is None:
        return "?"
    return str(dtype.sql(DIALECTS[dialect])).lower()


def _params(dtype: exp.Expr) -> list[int] | None:
    values: list[int] = []
    for param in dtype.expressions:
        text = param.sql()
        if not text.isdigit():
            return None
        values.append(int(text))
    return values


def widens(old: exp.Expr | None, new: exp.Expr | None) -> bool:  # noqa: PLR0911 - one return per widening rule
    """Return whether type ``new`` holds every value of type ``old`` the same way.

    Only the certain cases count: the same type; a longer varchar, or varchar to unbounded text; a
    wider integer or float; a decimal with at least as many digits on both sides of the point; an
    enum that only appends values. Anything else, including changes of signedness or of collation,
    is not a widening.

    Args:
        old: The previous sqlglot DataType.
        new: The new sqlglot DataType.

    Returns:
        True when the change widens (or keeps) the type.
    """
    if old is None or new is None:
        return False
    old_name, new_name = str(old.this.name), str(new.this.name)
    if old == new:
        return True
    old_p, new_p = _params(old), _params(new)
    if old_name in _INTEGER_TYPES and old_name == new_name:
        return True  # MySQL display widths like INT(11) do not change what fits
    if old_name == new_name == "VARCHAR":
        if not new_p:
            return new_p is not None  # varchar without a length is unbounded
        return bool(old_p) and old_p is not None and new_p[0] >= old_p[0]
    if old_name in {"VARCHAR", "CHAR"} and new_name in _STRINGS - {"VARCHAR", "NVARCHAR"}:
        return old_name == "VARCHAR"
    if old_name == new_name == "DECIMAL" and old_p and new_p and len(old_p) == len(new_p) == 2:
        return new_p[1] >= old_p[1] and new_p[0] - new_p[1] >= old_p[0] - old_p[1]
    if old_name == new_name == "ENUM":
        old_values = [v.sql() for v in old.expressions]
        return bool([v.sql() for v in new.expressions][: len(old_values)] == old_values)
    if _UNSIGNED_FITS.get(old_name) and _on_ladder(_UNSIGNED_FITS[old_name], new_name):
        return True
    return any(
        old_name in ladder
        and new_name in ladder
        and ladder.index(new_name) >= ladder.index(old_name)
        for ladder in _LADDERS
    )


def _on_ladder(low: str, name: str) -> bool:
    ladder = _LADDERS[0]
    return name in ladder and ladder.index(name) >= ladder.index(low)


def change_problem(old: ColumnInfo, new: ColumnInfo, dialect: str) -> str | None:
    """Say why redefining a column as ``new`` would break code written for ``old``.

    Args:
        old: The column as it was.
        new: The column as redefined (MySQL ``MODIFY``/``CHANGE``).
        dialect: A canonical Timescape dialect name.

    Returns:
        A short phrase naming the first problem, or None when the change is compatible.
    """
    if not widens(old.dtype, new.dtype):
        return (
            f"changes its type from {type_sql(old.dtype, dialect)} "
            f"to {type_sql(new.dtype, dialect)}"
        )
    if new.is_not_null and not old.is_not_null:
        return "makes it NOT NULL"
    if old.has_default and not new.has_default:
        return "drops its default"
    added = sorted(new.restrictions - old.restrictions)
    if added:
        return f"adds {added[0]}"
    return None
