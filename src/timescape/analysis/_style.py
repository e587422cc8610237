"""Optional style checks: conventions many teams adopt, off unless a project enables them.

They flag choices that are legal and safe today but tend to cost later: 32-bit keys that run out,
timestamps without a time zone, length limits that need a rewrite to raise, ``serial`` instead of
identity columns, blank-padded ``char(n)``, a column assigned twice, names PostgreSQL truncates.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from timescape.analysis._known import Known, constraint_kind
from timescape.analysis._names import column_name, ident
from timescape.analysis._statement import Context, Statement, is_node
from timescape.analysis._text import Kind

if TYPE_CHECKING:
    from sqlglot import exp

__all__ = ["STYLE_CHECKS"]

_SMALL_INTS = frozenset({"INT", "SMALLINT", "TINYINT", "MEDIUMINT", "SERIAL", "SMALLSERIAL"})
_SERIALS = frozenset({"SERIAL", "SMALLSERIAL", "BIGSERIAL"})
_PG_SERIAL_ALIASES = frozenset({"serial2", "serial4", "serial8"})
_NAME_LIMITS = {"postgresql": 63, "mysql": 64}  # bytes; SQLite has no limit


def _type_name(dtype: exp.Expr | None) -> str:
    """Return a DataType's name, upper-case (PostgreSQL's serial2/4/8 as SERIAL)."""
    from sqlglot import exp  # noqa: PLC0415 - sqlglot is imported lazily

    if not isinstance(dtype, exp.DataType):
        return ""
    kind = dtype.args.get("kind")
    if dtype.this == exp.DataType.Type.USERDEFINED and kind is not None:
        name = ident(kind)
        return "SERIAL" if name in _PG_SERIAL_ALIASES else name.upper()
    return str(dtype.this.name)


def _columns(st: Statement) -> Iterator[tuple[str, exp.Expr | None, exp.Expr | None]]:
    """Yield ``(name, type, definition)`` for each column a CREATE TABLE / ALTER TABLE defines."""
    from sqlglot import exp  # noqa: PLC0415 - sqlglot is imported lazily

    tree = st.tree
    if not (is_node(tree, "Create") or is_node(tree, "Alter")):
        return
    for column in tree.find_all(exp.ColumnDef):
        yield ident(column.this), column.args.get("kind"), column
    if is_node(tree, "Alter"):
        for action in tree.args.get("actions") or []:
            if isinstance(action, exp.AlterColumn) and action.args.get("dtype") is not None:
                yield ident(action.this), action.args["dtype"], None


def _key_columns(st: Statement) -> set[str]:
    """Names of columns a CREATE TABLE declares PRIMARY KEY or FOREIGN KEY at table level."""
    from sqlglot import exp  # noqa: PLC0415 - sqlglot is imported lazily

    names: set[str] = set()
    if st.tree is None:
        return names
    for node in st.tree.find_all(exp.PrimaryKey, exp.ForeignKey):
        if constraint_kind(node)[1] in {"primary key", "foreign key"}:
            names |= {ident(c) for c in node.expressions}
    return names


def _sty001(st: Statement, _known: Known, _: Context) -> list[str]:
    if st.dialect == "sqlite":
        return []  # an INTEGER PRIMARY KEY is 64-bit in SQLite
    keys = _key_columns(st)
    reasons = []
    for name, dtype, column in _columns(st):
        kinds = {
            type(c.args.get("kind")).__name__
            for c in (column.args.get("constraints") or [] if column is not None else [])
        }
        is_key = name in keys or kinds & {"PrimaryKeyColumnConstraint", "Reference"}
        type_name = _type_name(dtype)
        if is_key and type_name in _SMALL_INTS:
            reasons.append(f"key column {name} is {type_name.lower()}: it can run out; use bigint")
    return reasons


def _sty002(st: Statement, _known: Known, _: Context) -> list[str]:
    return [
        f"column {name} is timestamp without time zone"
        for name, dtype, _column in _columns(st)
        if _type_name(dtype) == "TIMESTAMP"
    ]


def _sty003(st: Statement, _known: Known, _: Context) -> list[str]:
    return [
        f"column {name} is varchar({dtype.expressions[0].sql()})"
        for name, dtype, _column in _columns(st)
        if dtype is not None and _type_name(dtype) == "VARCHAR" and dtype.expressions
    ]


def _sty004(st: Statement, _known: Known, _: Context) -> list[str]:
    return [
        f"column {name} is {_type_name(dtype).lower()}"
        for name, dtype, _column in _columns(st)
        if _type_name(dtype) in _SERIALS
    ]


def _sty005(st: Statement, _known: Known, _: Context) -> list[str]:
    return [
        f"column {name} is {_type_name(dtype).lower()}(n), padded with blanks"
        for name, dtype, _column in _columns(st)
        if _type_name(dtype) in {"CHAR", "NCHAR"}
    ]


def _sty006(st: Statement, _known: Known, _: Context) -> list[str]:
    from sqlglot import exp  # noqa: PLC0415 - sqlglot is imported lazily

    tree = st.tree
    names: list[str] = []
    if is_node(tree, "Update"):
        names = [
            column_name(eq.this)
            for eq in tree.expressions
            if isinstance(eq, exp.EQ) and isinstance(eq.this, exp.Column)
        ]
    elif is_node(tree, "Insert") and isinstance(tree.this, exp.Schema):
        names = [ident(c) for c in tree.this.expressions]
    repeated = sorted({n for n in names if names.count(n) > 1})
    return [f"assigns column {name} more than once" for name in repeated]


def _sty007(st: Statement, _known: Known, _: Context) -> list[str]:
    limit = _NAME_LIMITS.get(st.dialect)
    if limit is None:
        return []
    long = {
        (st.sql[t.start : t.end] if t.kind is Kind.WORD else t.text)
        for t in st.tokens
        if t.kind in {Kind.WORD, Kind.QUOTED} and len(t.text.encode()) > limit
    }
    return [
        f"identifier {name[:20]}... is {len(name.encode())} bytes; the limit is {limit}"
        for name in sorted(long)
    ]


STYLE_CHECKS = (
    ("STY001", _sty001),
    ("STY002", _sty002),
    ("STY003", _sty003),
    ("STY004", _sty004),
    ("STY005", _sty005),
    ("STY006", _sty006),
    ("STY007", _sty007),
)
