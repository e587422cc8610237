"""The planners' refusals: drift, unverifiable checksums, irreversible schemas, damaged state.

Each check either passes, raises the error that names the problem and the way out, or (with
``force``) records what it overrode in the plan's ``forced`` list. Apart from the planners so
that what a plan refuses reads in one place, separately from how a plan is put together.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

from timescape.errors import DriftError, RollbackRefusedError, StateError
from timescape.model._overlay import layers
from timescape.model.catalog import Catalog, schema_lookup
from timescape.model.schema import (
    CHECKSUM_ALGORITHMS,
    SchemaVersion,
    checksum_matches,
    remembered_checksums,
    unknown_algorithms,
)
from timescape.model.state import SchemaState, SchemaStatus, StateSnapshot

__all__ = [
    "OrphanCheck",
    "check_drift",
    "check_rollback_scripts",
    "refuse_lost_rows",
    "unsettled",
]


def _check_algorithms(
    schema: SchemaVersion, stored: Sequence[str | None], *, force: bool, forced: list[str]
) -> bool:
    """Refuse checksums this Timescape cannot verify (never call them drift, never skip them).

    Returns:
        True when they are all verifiable; False when ``force`` overrode the refusal.
    """
    unknown = unknown_algorithms(stored)
    if not unknown:
        return True
    if not force:
        raise DriftError(
            schema.name,
            step=None,
            stored=", ".join(unknown),
            current=", ".join(sorted(CHECKSUM_ALGORITHMS)),
            kind="algorithm",
        )
    forced.append(f"unverifiable checksums ignored: {schema.name} ({', '.join(unknown)})")
    return False


def check_drift(
    schema: SchemaVersion, stored: Sequence[str], *, force: bool, forced: list[str]
) -> None:
    """Refuse to build on applied steps whose definition changed since they ran.

    Raises:
        DriftError: Naming the first drifted step, unless ``force`` (then each is in ``forced``).
    """
    if tuple(stored) == schema.checksums[: len(stored)]:
        return  # the common case: stored with the current algorithm, nothing edited
    if not _check_algorithms(schema, stored, force=force, forced=forced):
        return
    for i, stored_sum in enumerate(stored):
        current = schema.steps[i].migration if i < len(schema.steps) else None
        if checksum_matches(stored_sum, current):
            continue
        current_sum = schema.steps[i].checksum if i < len(schema.steps) else None
        if not force:
            raise DriftError(schema.name, step=i + 1, stored=stored_sum, current=current_sum)
        forced.append(f"drift ignored: {schema.name} step {i + 1}")


def check_rollback_scripts(
    schema: SchemaVersion, catalog_state: Sequence[str | None], *, force: bool, forced: list[str]
) -> None:
    """Refuse to roll back an irreversible schema, or one whose rollback scripts changed.

    Raises:
        RollbackRefusedError: The schema has no rollback scripts.
        DriftError: A rollback script changed since it was applied, unless ``force``.
    """
    if not schema.is_reversible:
        raise RollbackRefusedError(
            schema.name,
            reason="it is irreversible (no rollback scripts). Use --keep-schema to deactivate "
            "without rolling back",
        )
    if tuple(catalog_state) == schema.rollback_checksums[: len(catalog_state)]:
        return  # the common case, as in check_drift: current algorithm, nothing edited
    if not _check_algorithms(schema, catalog_state, force=force, forced=forced):
        return
    for i, stored_sum in enumerate(catalog_state):
        if i >= len(schema.steps):
            break
        step = schema.steps[i]
        if stored_sum is None or checksum_matches(stored_sum, step.rollback):
            continue
        if not force:
            raise DriftError(
                schema.name,
                step=i + 1,
                stored=stored_sum,
                current=step.rollback_checksum,
                kind="rollback",
            )
        forced.append(f"rollback drift ignored: {schema.name} step {i + 1}")


class OrphanCheck:
    """Refuses to apply a schema that a recorded descendant says must already be in place.

    A descendant with objects implies every ancestor was applied; if the ancestor's row is gone
    or not applied, the state was edited (or lost) and re-running its steps would be a guess.

    The usual schema to apply has few descendants (none, or the next releases defined ahead):
    their rows are looked up one by one, whatever the number of rows. Only once the descendants
    walked outnumber the rows (a long chain applied on a fresh database) is the set of rows with
    objects built, once per plan, so that an empty set skips every further walk.
    """

    __slots__ = ("_budget", "_catalog", "_objects", "_snapshot")

    def __init__(self, catalog: Catalog, snapshot: StateSnapshot) -> None:
        """Check against ``snapshot``'s rows, walking descendants in ``catalog``'s graph."""
        self._catalog = catalog
        self._snapshot = snapshot
        self._budget = len(snapshot.schemas)
        self._objects: frozenset[str] | None = None

    def refuse(self, name: str) -> None:
        """Raise if a descendant of ``name`` (not applied) is recorded with objects.

        Raises:
            StateError: Naming the descendant and the way out.
        """
        rows = self._snapshot.schemas
        if self._objects is None:
            descendants = self._catalog.graph.descendants(name)
            self._budget -= len(descendants)
            if self._budget >= 0:
                _refuse_orphaned_descendants(self._snapshot, name, descendants)
                return
            self._objects = frozenset(n for n, r in rows.items() if r.has_objects)
        if self._objects:
            descendants = self._catalog.graph.descendants(name)
            _refuse_orphaned_descendants(self._snapshot, name, descendants)


def unsettled(catalog: Catalog, rows: Mapping[str, SchemaState], names: Iterable[str]) -> list[str]:
    """The schemas of ``names`` (in their order) not applied with every step's current checksum.

    The first test the planner makes of the schemas an activation needs: every ancestor of a
    long chain passes it (a hundred at ten thousand schemas in a hundred chains), in a freshly
    loaded catalog or a service's warm one. So the loop makes no Python call per ancestor (it
    made five; about 13,500 instructions per ancestor, issue 14): rows (but the few an instance
    wrote itself) and schemas are looked up through a dict's bound ``get``, and each step's
    stored checksum is compared with the one the checksum memo already holds for its text. A
    step whose text was not hashed yet in this process (or a callable) asks ``step.checksum``.
    What it returns (a drift, an older algorithm, missing steps, no row) takes the planner's
    full path, with its refusals.

    Args:
        catalog: The definitions.
        rows: The schema rows of the state.
        names: Schema names, in the order to keep.

    Returns:
        The names that are not settled.
    """
    changed, base = layers(rows)  # rows this instance wrote over the state it read: a few
    row_of = base.get
    schema_of = schema_lookup(catalog)
    remembered = remembered_checksums()
    applied = SchemaStatus.APPLIED
    out: list[str] = []
    for name in names:
        row = rows.get(name) if name in changed else row_of(name)
        schema = schema_of(name)
        if row is None or row.status is not applied or schema is None:
            out.append(name)
            continue
        steps = schema.steps
        stored = row.checksums
        if row.steps_done != len(steps) or len(stored) < len(steps):
            out.append(name)
            continue
        for i, step in enumerate(steps):  # not zip(strict=...): a keyword costs a dict per call
            script, value = step.migration, stored[i]
            if value == (remembered(script) if script.__class__ is str else None):
                continue
            if value != step.checksum:
                out.append(name)
                break
    return out


def _refuse_orphaned_descendants(
    snapshot: StateSnapshot, name: str, descendants: Collection[str]
) -> None:
    """Raise :class:`StateError` if one of ``descendants`` of ``name`` holds objects."""
    recorded = sorted(
        d for d in descendants if (r := snapshot.schemas.get(d)) is not None and r.has_objects
    )
    if recorded:
        found = snapshot.schemas.get(name)
        what = "has no state row" if found is None else f"is {found.status}"
        raise StateError(
            f"schema {name!r} {what}, but its descendant(s) {', '.join(recorded)} are recorded "
            "with objects in place, which needs it applied: the state tables were edited or "
            "lost. Timescape will not guess; check the database, then run: timescape schema "
            f"resolve {name} --steps-done K"
        )


def refuse_lost_rows(
    catalog: Catalog, snapshot: StateSnapshot, tsv: str, needed: set[str] | frozenset[str]
) -> None:
    """Refuse to touch a live version whose schemas have no state row (a deleted row).

    Whether the objects of such a schema exist is unknown: re-applying could fail half-way or
    apply data changes twice, and saying "already active" would hide the damage (issue 11).
    The operator states the truth with ``schema resolve``, as for an uncertain step.

    Raises:
        StateError: Naming the schemas, ``timescape verify`` and the repair.
    """
    lost = sorted(n for n in needed if n not in snapshot.schemas)
    if not lost:
        return
    first = lost[0]
    steps = len(catalog.schema(first).steps)
    raise StateError(
        f"version {tsv} is live but the state row of schema(s) {', '.join(lost)} is missing "
        "(the state tables were edited or restored); Timescape will not guess whether their "
        "objects exist. Run timescape verify, check the database, then record the truth with: "
        f"timescape schema resolve {first} --steps-done K ({steps} if its objects exist, 0 if "
        "not), and activate again"
    )
