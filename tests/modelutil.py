"""Pure helpers for the unit tests: build catalogs and state snapshots, and simulate a plan's effect.

Nothing here touches a database. :func:`apply_plan` plays a :class:`Plan` onto a
:class:`StateSnapshot` the way the executor would when every step succeeds, so planner properties
can be checked over long operation sequences in microseconds.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

import timescape
from timescape.model.catalog import Catalog, VersionSpec
from timescape.model.plan import ActionKind, Plan
from timescape.model.schema import SchemaVersion, Step
from timescape.model.state import SchemaState, SchemaStatus, StateSnapshot, VersionState
from timescape.store.split import Statement, split_statements

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def split(script: str) -> list[Statement]:
    """The planner's splitter for the tests (SQLite rules; pure)."""
    return split_statements(script, "sqlite")


def schema(
    name: str,
    parents: str | Sequence[str] | None = None,
    *,
    steps: int = 1,
    reversible: bool = True,
    compatible_with: Sequence[str] = (),
    breaking: bool | None = None,
    contract: Sequence[Step] = (),
) -> SchemaVersion:
    """A schema whose step i creates table ``<name>_t<i>`` (and drops it on rollback)."""
    built = [
        Step(
            f"CREATE TABLE {name}_t{i} (id INTEGER PRIMARY KEY)",
            f"DROP TABLE {name}_t{i}" if reversible else None,
            name=f"step{i}",
        )
        for i in range(1, steps + 1)
    ]
    return SchemaVersion.build(
        name,
        built,
        parent=parents,
        compatible_with=compatible_with,
        breaking=breaking,
        contract=contract,
    )


def catalog(
    schemas: Iterable[SchemaVersion], versions: Iterable[tuple[str, str] | tuple[str, str, Sequence[str]]]
) -> Catalog:
    """A catalog; each version is ``(handler, schema[, tags])``, one day apart per handler."""
    specs = []
    counts: dict[str, int] = {}
    for entry in versions:
        handler, schema_name = entry[0], entry[1]
        tags = tuple(entry[2]) if len(entry) > 2 else ()  # type: ignore[misc]
        n = counts.get(handler, 0)
        counts[handler] = n + 1
        moment = T0 + timedelta(days=n)
        specs.append(VersionSpec(handler, moment, schema_name, tags))
    return Catalog(list(schemas), specs)


def applied_row(cat: Catalog, name: str, **changes: object) -> SchemaState:
    """A schema row as the executor writes it after a complete apply."""
    s = cat.schema(name)
    row = SchemaState(
        name=name,
        status=SchemaStatus.APPLIED,
        steps_done=len(s.steps),
        checksums=s.checksums,
        rollback_checksums=s.rollback_checksums,
        parents=s.parents,
        applied_at=T0,
    )
    return replace(row, **changes)  # type: ignore[arg-type]


def snapshot(
    cat: Catalog,
    *,
    applied: Iterable[str] = (),
    active: Iterable[str] = (),
    rows: Iterable[SchemaState] = (),
    tags: dict[tuple[str, str], str] | None = None,
) -> StateSnapshot:
    """A snapshot with every defined version known, ``active`` TSVs live, ``applied`` schemas."""
    live = set(active)
    schemas = {name: applied_row(cat, name) for name in applied}
    schemas.update({r.name: r for r in rows})
    versions = {
        v.tsv: VersionState(
            tsv=v.tsv, handler=v.handler, timestamp=v.timestamp, schema=v.schema,
            active=v.tsv in live,
        )
        for v in cat.versions
    }
    return StateSnapshot(schemas=schemas, versions=versions, tags=dict(tags or {}))


def apply_plan(cat: Catalog, snap: StateSnapshot, plan: Plan) -> StateSnapshot:
    """Return the state after ``plan`` ran to completion, as the executor would record it."""
    schemas = dict(snap.schemas)
    for action in plan.actions:
        s = action.schema
        row = schemas.get(action.name) or SchemaState(action.name, SchemaStatus.PENDING)
        if action.kind is ActionKind.APPLY:
            schemas[action.name] = replace(
                row, status=SchemaStatus.APPLIED, steps_done=len(s.steps),
                checksums=s.checksums, rollback_checksums=s.rollback_checksums,
                parents=s.parents, error=None, step_in_flight=None,
            )
        elif action.kind is ActionKind.ROLLBACK:
            schemas[action.name] = replace(
                row, status=SchemaStatus.ROLLED_BACK, steps_done=0, checksums=(),
                rollback_checksums=(), error=None, contract_done=False,
            )
        else:
            schemas[action.name] = replace(row, contract_done=action.kind is ActionKind.CONTRACT)
    versions = dict(snap.versions)
    for tsv in plan.deactivate:
        versions[tsv] = replace(versions[tsv], active=False)
    for tsv in plan.activate:
        versions[tsv] = replace(versions[tsv], active=True)
    return replace(snap, schemas=schemas, versions=versions, generation=snap.generation + 1)


def applied_set(snap: StateSnapshot) -> set[str]:
    """Names of the schemas whose status is ``applied``."""
    return {n for n, r in snap.schemas.items() if r.status is SchemaStatus.APPLIED}


def timescape_calls(call: Callable[[], object]) -> int:
    """Calls of Timescape's own Python functions (``sys.setprofile``) made by ``call()``.

    A count, never a timing: what a test of how work grows with the state can compare. Only
    functions of the ``timescape`` package count: the standard library's (``threading``'s
    condition variables, say) depend on what other threads happen to be doing.
    """
    calls = 0
    package = str(Path(timescape.__file__).parent)

    def profile(frame: FrameType, event: str, _arg: object) -> None:
        nonlocal calls
        if event == "call" and frame.f_code.co_filename.startswith(package):
            calls += 1

    sys.setprofile(profile)
    try:
        call()
    finally:
        sys.setprofile(None)
    return calls
