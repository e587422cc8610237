"""Adopt an existing database: record schemas as applied for objects that already exist.

Before anything is recorded, the statements of every schema to adopt (and of the applied
ancestors it builds on) are parsed with sqlglot and played forward into the objects they leave
behind — tables and their columns, indexes, views; created, altered, renamed, dropped — and each
expected object is looked up in the database's catalog (:mod:`timescape.store.introspect`). If
anything is missing, nothing is recorded and the report lists what is missing. What cannot be
checked this way is listed too: data changes, functions, triggers, types, constraints, Python and
Alembic steps, statements sqlglot cannot parse.

Adopting is a state-only change, under the database lock, in one transaction with its
``schema_adopted`` events: the schemas become ``applied`` with every step's checksum, so drift
detection starts from the definitions as they are, and activating a version applies only the
schemas that are not adopted.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from timescape.errors import InputError
from timescape.model.plan import Plan
from timescape.model.state import SchemaState, SchemaStatus, StateSnapshot
from timescape.reports import OperationResult
from timescape.store.introspect import DatabaseObjects, read_objects
from timescape.store.split import split_statements
from timescape.store.state import now

if TYPE_CHECKING:
    from timescape.engine.connection import Connection
    from timescape.engine.definitions import Definitions
    from timescape.engine.runner import Work
    from timescape.model.catalog import Catalog
    from timescape.model.schema import SchemaVersion
    from timescape.store.base import Backend
    from timescape.store.split import Dialect
    from timescape.store.state import StateStore

__all__ = ["AdoptionReport", "SchemaAdoption", "adopt", "expected_objects"]

_SQLGLOT_DIALECT = {"sqlite": "sqlite", "postgresql": "postgres", "mysql": "mysql"}
_ADOPTABLE = frozenset({SchemaStatus.PENDING, SchemaStatus.ROLLED_BACK})


@dataclass(frozen=True, slots=True)
class SchemaAdoption:
    """What adoption found for one schema.

    Attributes:
        name: The schema.
        status_before: Its status before (``pending`` when it has no row).
        found: Objects its migrations leave behind that the catalog has (``table products``,
            ``column products.price``, ``index ix_price``, ``view v_products``).
        missing: Those the catalog lacks.
        unchecked: What could not be checked, one line each (``step 2: python:m.f``).
    """

    name: str
    status_before: str
    found: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    unchecked: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AdoptionReport:
    """The outcome of :meth:`timescape.Timescape.adopt`.

    Attributes:
        schemas: One entry per schema considered, parents first.
        adopted: Schemas recorded as applied (in a dry run: that would be); none when anything
            is missing.
        already_applied: Schemas that were applied before and left as they were.
        dry_run: Whether nothing was to be recorded.
    """

    schemas: tuple[SchemaAdoption, ...] = ()
    adopted: tuple[str, ...] = ()
    already_applied: tuple[str, ...] = ()
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        """True when no expected object is missing."""
        return not any(s.missing for s in self.schemas)

    @property
    def missing(self) -> tuple[str, ...]:
        """Every missing object, as ``schema: object``."""
        return tuple(f"{s.name}: {m}" for s in self.schemas for m in s.missing)


@dataclass
class _Shape:
    """Objects the statements played so far leave behind, each with the schema that made it."""

    tables: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)
    views: dict[str, str] = field(default_factory=dict)
    indexes: dict[str, tuple[str, str]] = field(default_factory=dict)


def expected_objects(
    schemas: Sequence[SchemaVersion], dialect: str
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Play the schemas' statements forward and say which objects each leaves behind.

    Pure: parses, executes nothing.

    Args:
        schemas: Schemas in order, parents first.
        dialect: ``sqlite``, ``postgresql`` or ``mysql``.

    Returns:
        ``(expected, unchecked)``: schema name → objects (``table t``, ``column t.c``,
        ``index i``, ``view v``) that should exist at the end, and schema name → lines about
        statements that could not be checked.
    """
    shape = _Shape()
    unchecked: dict[str, list[str]] = {s.name: [] for s in schemas}
    for schema in schemas:
        for number, step in enumerate(schema.steps, start=1):
            if not isinstance(step.migration, str):
                label = getattr(step.migration, "step_label", None) or (
                    f"python:{getattr(step.migration, '__module__', '?')}."
                    f"{getattr(step.migration, '__qualname__', '?')}"
                )
                unchecked[schema.name].append(f"step {number}: {label} (Python step)")
                continue
            for statement in split_statements(step.migration, cast("Dialect", dialect)):
                note = _play(shape, schema.name, statement.text, dialect)
                if note is not None:
                    unchecked[schema.name].append(f"step {number}: {note}")
    expected: dict[str, list[str]] = {s.name: [] for s in schemas}
    for table, (owner, columns) in shape.tables.items():
        expected[owner].append(f"table {table}")
        for column, column_owner in columns.items():
            expected[column_owner].append(f"column {table}.{column}")
    for view, owner in shape.views.items():
        expected[owner].append(f"view {view}")
    for index, (owner, _table) in shape.indexes.items():
        expected[owner].append(f"index {index}")
    return expected, unchecked


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= 60 else flat[:57] + "..."


def _name(node: Any) -> str:
    return str(node.name).lower()


def _play(shape: _Shape, owner: str, text: str, dialect: str) -> str | None:  # noqa: C901, PLR0911, PLR0912 - one branch per statement kind
    """Apply one statement to ``shape``; return why it could not be checked, or None."""
    import sqlglot  # noqa: PLC0415 - the analyser's parser, loaded only when adopting
    from sqlglot import exp  # noqa: PLC0415

    try:
        node = sqlglot.parse_one(text, read=_SQLGLOT_DIALECT[dialect])
    except Exception:
        return f"{_short(text)} (not parsed)"
    if isinstance(node, exp.Create):
        kind = str(node.args.get("kind") or "").upper()
        target = node.this
        if kind == "TABLE":
            if isinstance(target, exp.Schema):
                table = _name(target.this)
                columns = {
                    _name(c): owner for c in target.expressions if isinstance(c, exp.ColumnDef)
                }
                shape.tables[table] = (owner, columns)
                return None
            shape.tables[_name(target)] = (owner, {})
            return f"{_short(text)} (columns of CREATE TABLE ... AS not checked)"
        if kind == "VIEW":
            shape.views[_name(target)] = owner
            return None
        if kind == "INDEX" and isinstance(target, exp.Index) and target.this is not None:
            on = target.args.get("table")
            shape.indexes[_name(target)] = (owner, _name(on) if on is not None else "")
            return None
        return f"{_short(text)} ({kind.lower() or 'object'}: not checked)"
    if isinstance(node, exp.Drop):
        kind = str(node.args.get("kind") or "").upper()
        for table in node.args.get("tables") or ():
            name = _name(table)
            if kind == "TABLE":
                shape.tables.pop(name, None)
                for index, (_, on) in list(shape.indexes.items()):
                    if on == name:
                        del shape.indexes[index]
            elif kind == "VIEW":
                shape.views.pop(name, None)
            elif kind == "INDEX":
                shape.indexes.pop(name, None)
            else:
                return f"{_short(text)} ({kind.lower()}: not checked)"
        return None
    if isinstance(node, exp.Alter) and str(node.args.get("kind") or "").upper() == "TABLE":
        return _alter(shape, owner, node, text)
    if isinstance(node, exp.Insert | exp.Update | exp.Delete | exp.Merge):
        return f"{_short(text)} (data change: not checked)"
    if isinstance(node, exp.Select):
        return None
    return f"{_short(text)} (not checked)"


def _alter(shape: _Shape, owner: str, node: Any, text: str) -> str | None:  # noqa: C901, PLR0912
    from sqlglot import exp  # noqa: PLC0415

    table = _name(node.this)
    entry = shape.tables.get(table)
    note: str | None = None
    for action in node.args.get("actions") or ():
        if isinstance(action, exp.ColumnDef):
            if entry is not None:
                entry[1][_name(action)] = owner
        elif isinstance(action, exp.Drop) and str(action.args.get("kind")).upper() == "COLUMN":
            if entry is not None:
                for column in action.args.get("tables") or [action.this]:
                    entry[1].pop(_name(column), None)
        elif isinstance(action, exp.RenameColumn):
            if entry is not None:
                old, new = _name(action.this), _name(action.args["to"])
                entry[1].pop(old, None)
                entry[1][new] = owner
        elif isinstance(action, exp.AlterRename):
            new_name = _name(action.this)
            if entry is not None:
                shape.tables[new_name] = shape.tables.pop(table)
            for index, (index_owner, on) in list(shape.indexes.items()):
                if on == table:
                    shape.indexes[index] = (index_owner, new_name)
        else:
            note = f"{_short(text)} (not checked: {type(action).__name__})"
    return note


def _missing(expected: list[str], objects: DatabaseObjects) -> tuple[list[str], list[str]]:
    found: list[str] = []
    missing: list[str] = []
    for item in expected:
        kind, _, name = item.partition(" ")
        if kind == "table":
            present = name in objects.tables
        elif kind == "column":
            table, _, column = name.partition(".")
            present = column in objects.tables.get(table, frozenset()) or table in objects.views
        elif kind == "view":
            present = name in objects.views
        else:
            present = name in objects.indexes
        (found if present else missing).append(item)
    return found, missing


def adopt(
    names: Sequence[str],
    connection: Connection,
    definitions: Definitions,
    *,
    locked: Callable[[Work], OperationResult],
    state_change: Callable[[], contextlib.AbstractContextManager[None]],
    actor: str,
    dry_run: bool = False,
) -> AdoptionReport:
    """Check the catalog and record ``names`` (and their unapplied ancestors) as applied.

    Args:
        names: Schemas to adopt.
        connection: The backend whose catalog is checked and the state store written.
        definitions: The definitions naming the schemas.
        locked: Runs the check (and the record) on the state read under the database lock; in a
            dry run, without the lock.
        state_change: One transaction that records the events and moves the generation.
        actor: Who is recorded as adopting.
        dry_run: Check and report; record nothing (no lock is taken).

    Returns:
        The report; ``adopted`` is empty when anything is missing.

    Raises:
        UnknownRefError: For an unknown schema.
        InputError: For no names, or a schema that is failed, interrupted or uncertain (resolve
            it first with ``schema resolve``).
    """
    if not names:
        raise InputError("name at least one schema to adopt")
    catalog = definitions.catalog
    for name in names:
        catalog.schema(name)
    order = catalog.graph.topological(catalog.graph.closure(names))
    outcome: list[AdoptionReport] = []

    def work(snapshot: StateSnapshot) -> OperationResult:
        current = definitions.catalog
        report = _check(connection.backend, current, order, snapshot, dry_run=dry_run)
        outcome.append(report)
        if not dry_run and report.ok and report.adopted:
            with state_change():  # one transaction with the events
                _record(connection.store, current, report, snapshot, actor=actor)
        notes = tuple(f"adopted {n}" for n in report.adopted) or ("nothing adopted",)
        return OperationResult(
            "adopt", ", ".join(names), Plan("adopt", ", ".join(names), notes=notes)
        )

    locked(work)
    return outcome[0]


def _check(
    backend: Backend,
    catalog: Catalog,
    order: Sequence[str],
    snapshot: StateSnapshot,
    *,
    dry_run: bool,
) -> AdoptionReport:
    schemas = [catalog.schema(n) for n in order]
    expected, unchecked = expected_objects(schemas, backend.dialect)
    objects = read_objects(backend, exclude_prefix=backend.table_prefix)
    results: list[SchemaAdoption] = []
    adopted: list[str] = []
    already: list[str] = []
    for schema in schemas:
        row = snapshot.schemas.get(schema.name)
        status = row.status if row is not None else SchemaStatus.PENDING
        if status is SchemaStatus.APPLIED:
            already.append(schema.name)
            continue
        if status not in _ADOPTABLE:
            raise InputError(
                f"schema {schema.name!r} is {status}: check the database and record what is "
                f"there with 'timescape schema resolve {schema.name} --steps-done K' instead"
            )
        found, missing = _missing(expected[schema.name], objects)
        results.append(
            SchemaAdoption(
                name=schema.name,
                status_before=str(status),
                found=tuple(found),
                missing=tuple(missing),
                unchecked=tuple(unchecked[schema.name]),
            )
        )
        adopted.append(schema.name)
    ok = not any(r.missing for r in results)
    return AdoptionReport(
        schemas=tuple(results),
        adopted=tuple(adopted) if ok else (),
        already_applied=tuple(already),
        dry_run=dry_run,
    )


def _record(
    store: StateStore,
    catalog: Catalog,
    report: AdoptionReport,
    snapshot: StateSnapshot,
    *,
    actor: str,
) -> None:
    by_name = {s.name: s for s in report.schemas}
    for name in report.adopted:
        schema = catalog.schema(name)
        row = snapshot.schemas.get(name)
        store.write_schema(
            SchemaState(
                name=name,
                status=SchemaStatus.APPLIED,
                steps_done=len(schema.steps),
                checksums=schema.checksums,
                rollback_checksums=schema.rollback_checksums,
                parents=schema.parents,
                applied_at=now(),
                rolled_back_at=row.rolled_back_at if row else None,
            ),
            step_count=len(schema.steps),
            known=row is not None,
        )
        check = by_name[name]
        store.record_event(
            "schema_adopted",
            name,
            actor=actor,
            detail={
                "found": len(check.found),
                "unchecked": list(check.unchecked),
                "previous_status": check.status_before,
            },
        )
