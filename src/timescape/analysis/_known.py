"""What the analyser has learned about the schema from the statements it has read so far.

Statements are judged in order, and each one teaches the next: a table created earlier in the same
schema is new (older code cannot use it, so anything done to it is harmless), a column's previous
type tells a widening from a narrowing, an index's uniqueness decides whether dropping it matters.
Knowledge only ever comes from statements; nothing here touches a database.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from timescape.analysis._names import bare_table, column_name, ident, table_name
from timescape.analysis._types import ColumnInfo, column_info

if TYPE_CHECKING:
    from sqlglot import exp

__all__ = ["IndexInfo", "Known", "constraint_kind"]


@dataclass(frozen=True, slots=True)
class IndexInfo:
    """An index the analyser saw created.

    Attributes:
        table: Key of the indexed table.
        is_unique: Whether it enforces uniqueness.
        columns: Its columns, when each is a plain column (None for expressions or unknown).
    """

    table: str
    is_unique: bool
    columns: tuple[str, ...] | None = None


def constraint_kind(node: exp.Expr | None) -> tuple[str, str]:  # noqa: PLR0911 - one branch per constraint type
    """Return the name and kind of a table constraint node.

    Args:
        node: An item of an ``ADD CONSTRAINT`` action or of a CREATE TABLE body.

    Returns:
        ``(name, kind)``; kind is one of ``"primary key"``, ``"foreign key"``, ``"unique"``,
        ``"check"``, ``"exclude"``, ``"index"`` or ``""`` when unrecognised; name may be ``""``.
    """
    from sqlglot import exp  # noqa: PLC0415 - sqlglot is imported lazily

    name = ""
    if isinstance(node, exp.Constraint):
        name = ident(node.this)
        inner = node.expressions
        node = inner[0] if len(inner) == 1 else None
    if isinstance(node, exp.PrimaryKey | exp.PrimaryKeyColumnConstraint):
        return name, "primary key"
    if isinstance(node, exp.ForeignKey):
        return name, "foreign key"
    if isinstance(node, exp.CheckColumnConstraint):
        return name, "check"
    if isinstance(node, exp.ExcludeColumnConstraint):
        return name, "exclude"
    if isinstance(node, exp.UniqueColumnConstraint):
        schema = node.this
        if not name and isinstance(schema, exp.Schema):
            name = ident(schema.this)
        return name, "unique"
    if isinstance(node, exp.IndexColumnConstraint):
        return name or ident(node.this), "index"
    return name, ""


class Known:
    """Tables, columns, indexes and constraints seen so far in one run of the analyser.

    :meth:`copy` is cheap (shallow copies of a few dicts): a column map is shared with the copy
    and cloned only when one side changes it, so a schema's knowledge can be handed on to each
    of its descendants without re-reading the ancestors' SQL.
    """

    __slots__ = (
        "_dropped",
        "_given_new",
        "_new",
        "_owned",
        "_tables",
        "_views",
        "constraints",
        "dialect",
        "indexes",
    )

    def __init__(self, dialect: str, *, new_tables: Collection[str] = ()) -> None:
        """Start with nothing known.

        Args:
            dialect: A canonical Timescape dialect name.
            new_tables: Tables the caller says were created earlier in the same schema.
        """
        self.dialect = dialect
        self._tables: dict[str, dict[str, ColumnInfo]] = {}
        self._new: set[str] = set()
        self._owned: set[str] = set()
        self._views: dict[str, bool] = {}
        self._dropped: set[str] = set()
        self._given_new = {bare_table(t.casefold(), dialect) for t in new_tables}
        self.indexes: dict[str, IndexInfo] = {}
        self.constraints: dict[str, str] = {}

    def copy(self, *, new_tables: Collection[str] = ()) -> Known:
        """Return an independent copy; changes to either never show in the other.

        Args:
            new_tables: Tables the caller says were created earlier in the same schema.
        """
        other = Known(self.dialect, new_tables=new_tables)
        other._tables = dict(self._tables)
        other._new = set(self._new)
        other._views = dict(self._views)
        other._dropped = set(self._dropped)
        other._given_new |= self._given_new
        other.indexes = dict(self.indexes)
        other.constraints = dict(self.constraints)
        self._owned.clear()  # the column maps are shared now: both sides clone before writing
        return other

    def key(self, name: str) -> str:
        """Return the key a table is known by (its name without the default schema)."""
        return bare_table(name, self.dialect)

    def is_new(self, table: str) -> bool:
        """Return whether ``table`` was created earlier in this schema, so no older code uses it."""
        key = self.key(table)
        if key in self._tables:
            return key in self._new
        return key.casefold() in self._given_new and key not in self._dropped

    def is_new_view(self, view: str) -> bool:
        """Return whether ``view`` was created earlier in this schema."""
        return self._views.get(self.key(view), False)

    def was_dropped(self, table: str) -> bool:
        """Return whether an existing ``table`` was dropped earlier in this run."""
        return self.key(table) in self._dropped

    def column(self, table: str, column: str) -> ColumnInfo | None:
        """Return what is known about ``table.column``, or None."""
        columns = self._tables.get(self.key(table))
        return columns.get(column) if columns is not None else None

    def settle(self) -> None:
        """Mark everything learned so far as existing: it came from already-applied statements."""
        self._new.clear()
        self._views = dict.fromkeys(self._views, False)
        self._dropped.clear()

    def rename_table(self, old: str, new: str) -> None:
        """Record that table ``old`` is now called ``new``."""
        old_key, new_key = self.key(old), self.key(new)
        was_new = self.is_new(old)
        columns = self._tables.pop(old_key, None)
        self._new.discard(old_key)
        if columns is None:
            columns = {}
            self._owned.add(new_key)
        elif old_key in self._owned:
            self._owned.discard(old_key)
            self._owned.add(new_key)
        if not was_new:
            self._dropped.add(old_key)
        if was_new and new_key not in self._dropped:
            self._new.add(new_key)
        else:
            self._new.discard(new_key)
        self._dropped.discard(new_key)
        self._tables[new_key] = columns
        for name, info in list(self.indexes.items()):
            if info.table == old_key:
                self.indexes[name] = replace(info, table=new_key)

    def learn(self, tree: exp.Expr) -> None:
        """Update what is known from one parsed statement.

        Args:
            tree: A sqlglot expression; statements that teach nothing are ignored.
        """
        from sqlglot import exp  # noqa: PLC0415 - sqlglot is imported lazily

        if isinstance(tree, exp.Create):
            self._learn_create(tree)
        elif isinstance(tree, exp.Drop):
            kind = str(tree.args.get("kind") or "").upper()
            for target in tree.args.get("tables") or []:
                name = table_name(target)
                if kind == "TABLE":
                    self._drop_table(name)
                elif kind == "VIEW":
                    self._views.pop(self.key(name), None)
                elif kind == "INDEX":
                    self.indexes.pop(name.rsplit(".", 1)[-1], None)
        elif isinstance(tree, exp.Alter) and str(tree.args.get("kind") or "").upper() == "TABLE":
            table = table_name(tree.this)
            for action in tree.args.get("actions") or []:
                self._learn_action(table, action)

    def _columns(self, table: str) -> dict[str, ColumnInfo]:
        """Return the column map of ``table`` for writing (cloned first if shared)."""
        key = self.key(table)
        columns = self._tables.get(key)
        if columns is None:
            if self.is_new(table):
                self._new.add(key)
            columns = self._tables[key] = {}
            self._owned.add(key)
        elif key not in self._owned:
            columns = self._tables[key] = dict(columns)
            self._owned.add(key)
        return columns

    def _drop_table(self, name: str) -> None:
        key = self.key(name)
        columns = self._tables.pop(key, None)
        if columns is None or key not in self._new:
            self._dropped.add(key)
        self._new.discard(key)
        self._owned.discard(key)
        self._given_new.discard(key.casefold())
        for index, info in list(self.indexes.items()):
            if info.table == key:
                del self.indexes[index]

    def _learn_create(self, tree: exp.Expr) -> None:
        from sqlglot import exp  # noqa: PLC0415 - sqlglot is imported lazily

        kind = str(tree.args.get("kind") or "").upper()
        target = tree.this
        if kind == "INDEX" and isinstance(target, exp.Index):
            table = self.key(table_name(target.args.get("table")))
            unique = bool(tree.args.get("unique"))
            params = target.args.get("params")
            items = (
                [
                    o.this if isinstance(o, exp.Ordered) else o
                    for o in params.args.get("columns") or []
                ]
                if params is not None
                else []
            )
            named = tuple(column_name(c) for c in items if isinstance(c, exp.Column))
            plain = named if named and len(named) == len(items) else None
            self.indexes[ident(target.this)] = IndexInfo(table, is_unique=unique, columns=plain)
            return
        if kind == "VIEW":
            name = self.key(table_name(target))
            if not tree.args.get("exists") and not tree.args.get("replace"):
                self._views[name] = True
            return
        if kind != "TABLE":
            return
        schema = target if isinstance(target, exp.Schema) else None
        name = table_name(schema.this if schema is not None else target)
        key = self.key(name)
        if key in self._tables:
            return
        is_new = (
            not tree.args.get("exists")
            and key not in self._dropped
            and not tree.args.get("replace")
        )
        self._dropped.discard(key)
        columns: dict[str, ColumnInfo] = {}
        self._tables[key] = columns
        self._owned.add(key)
        if is_new:
            self._new.add(key)
        for item in schema.expressions if schema is not None else []:
            if isinstance(item, exp.ColumnDef):
                columns[ident(item.this)] = column_info(item, self.dialect)
            else:
                self._learn_constraint(key, item)

    def _learn_constraint(self, table_key: str, node: exp.Expr) -> None:
        name, kind = constraint_kind(node)
        if not name or not kind:
            return
        self.constraints[name] = kind
        if kind in {"unique", "primary key", "index"}:
            self.indexes[name] = IndexInfo(table_key, is_unique=kind != "index")

    def _learn_action(self, table: str, action: exp.Expr) -> None:  # noqa: C901 - one branch per action type
        from sqlglot import exp  # noqa: PLC0415 - sqlglot is imported lazily

        columns = self._columns(table)
        if isinstance(action, exp.ColumnDef):
            columns[ident(action.this)] = column_info(action, self.dialect)
        elif isinstance(action, exp.Drop):
            kind = str(action.args.get("kind") or "").upper()
            for target in action.args.get("tables") or []:
                if kind == "COLUMN":
                    columns.pop(column_name(target), None)
                else:
                    self.indexes.pop(table_name(target), None)
                    self.constraints.pop(table_name(target), None)
        elif isinstance(action, exp.AlterColumn):
            self._learn_alter_column(columns, action)
        elif isinstance(action, exp.RenameColumn):
            old, new = column_name(action.this), column_name(action.args["to"])
            if old in columns:
                columns[new] = columns.pop(old)
        elif isinstance(action, exp.AlterRename):
            self.rename_table(table, table_name(action.this))
        elif isinstance(action, exp.ModifyColumn):
            definition = action.this
            columns.pop(ident(action.args.get("rename_from")), None)
            columns[ident(definition.this)] = column_info(definition, self.dialect)
        elif isinstance(action, exp.AddConstraint):
            for node in action.expressions:
                self._learn_constraint(self.key(table), node)

    def _learn_alter_column(self, columns: dict[str, ColumnInfo], action: exp.Expr) -> None:
        name = ident(action.this)
        info = columns.get(name)
        if info is None:
            return
        if action.args.get("dtype") is not None:
            info = replace(info, dtype=action.args["dtype"])
        if action.args.get("allow_null") is False:
            info = replace(info, is_not_null=True)
        elif action.args.get("allow_null"):
            info = replace(info, is_not_null=False)
        elif action.args.get("drop"):
            info = replace(info, has_default=info.is_generated)
        elif action.args.get("default") is not None:
            info = replace(info, has_default=True)
        columns[name] = info
