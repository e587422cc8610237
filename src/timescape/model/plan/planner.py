"""The planners: from definitions, a state snapshot and a request to an exact, ordered Plan.

Pure functions, no I/O. The manager calls them *after* taking the database lock, on a snapshot read
under that lock, so the gate and the usage counts are never decided on stale state. ``--dry-run``
renders the returned Plan; apply executes that same object. They decide which schemas to apply,
roll back, contract or uncontract and in what order; the gate
(:mod:`~timescape.model.plan.gate`), the refusals (:mod:`~timescape.model.plan.check`) and the
splitting of scripts (:mod:`~timescape.model.plan.action`) live beside them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import replace
from datetime import UTC, datetime

from timescape.errors import (
    DriftError,
    InterruptedMigrationError,
    ProtectedVersionError,
    RollbackRefusedError,
)
from timescape.model._overlay import Draft
from timescape.model.catalog import Catalog
from timescape.model.plan.action import apply_action, contract_action, rollback_action
from timescape.model.plan.check import (
    OrphanCheck,
    check_drift,
    check_rollback_scripts,
    refuse_lost_rows,
    unsettled,
)
from timescape.model.plan.gate import Judge, check_gate, declared_judge, needed_schemas, usage
from timescape.model.plan.value import ActionKind, Plan, SchemaAction, Splitter
from timescape.model.state import SchemaStatus, StateSnapshot, VersionState

__all__ = [
    "plan_activation",
    "plan_deactivation",
    "plan_schema_apply",
    "plan_schema_rollback",
]


def _plan_applies(
    catalog: Catalog,
    snapshot: StateSnapshot,
    names: Iterable[str],
    split: Splitter,
    *,
    force: bool,
    forced: list[str],
) -> list[SchemaAction]:
    actions = []
    orphans = OrphanCheck(catalog, snapshot)
    # The usual ancestor is applied and unchanged: nothing to apply, nothing drifted. Only
    # what is left (usually the one new schema) is put in order.
    for name in catalog.graph.topological(unsettled(catalog, snapshot.schemas, names)):
        schema = catalog.schema(name)
        row = snapshot.schemas.get(name)
        if (row is None or not row.is_applied) and catalog.graph.children(name):
            orphans.refuse(name)
        if row is None:
            actions.append(apply_action(schema, 0, split, "not applied yet"))
            continue
        if row.status is SchemaStatus.UNCERTAIN:
            raise InterruptedMigrationError(
                name,
                status="uncertain",
                detail=f"step {row.step_in_flight} may or may not have run. Check the database, "
                f"then run: timescape schema resolve {name} --steps-done K",
            )
        check_drift(schema, row.checksums[: row.steps_done], force=force, forced=forced)
        if row.status is SchemaStatus.APPLIED and row.steps_done == len(schema.steps):
            continue
        reason = {
            SchemaStatus.FAILED: "retrying after a failure",
            SchemaStatus.INTERRUPTED: "retrying an interrupted run",
            SchemaStatus.ROLLED_BACK: "re-applying after a rollback",
            SchemaStatus.APPLIED: "the definition has new steps",
        }.get(row.status, "not applied yet")
        actions.append(apply_action(schema, row.steps_done, split, reason))
    return actions


def _contract_changes(
    catalog: Catalog, snapshot: StateSnapshot, live_after: Collection[str], split: Splitter
) -> tuple[list[SchemaAction], list[SchemaAction]]:
    """Return (uncontract actions to run first, contract actions to run last)."""
    first: list[SchemaAction] = []
    last: list[SchemaAction] = []
    if not catalog.contract_schemas:
        return first, last
    needs = [needed_schemas(catalog, snapshot.versions[t].schema) for t in live_after]
    for schema in catalog.contract_schemas:
        row = snapshot.schemas.get(schema.name)
        if row is None or not row.is_applied:
            continue
        everyone_on_it = bool(needs) and all(schema.name in n for n in needs)
        if everyone_on_it and not row.contract_done:
            last.append(contract_action(schema, ActionKind.CONTRACT, split))
        elif not everyone_on_it and row.contract_done and any(schema.name not in n for n in needs):
            first.append(contract_action(schema, ActionKind.UNCONTRACT, split))
    return first, last


def plan_activation(
    catalog: Catalog,
    snapshot: StateSnapshot,
    tsv: str,
    split: Splitter,
    *,
    force: bool = False,
    judge: Judge = declared_judge,
) -> Plan:
    """Plan making ``tsv`` live: missing schemas (ancestors first), the gate, contract steps.

    Args:
        catalog: The definitions.
        snapshot: State read under the lock.
        tsv: The version to activate.
        split: Statement splitter of the target dialect.
        force: Override the gate and drift refusals (each override is listed in ``Plan.forced``).
        judge: How undeclared schemas are judged by the gate.

    Returns:
        The plan; a no-op with a note when the version is already live.

    Raises:
        UnknownRefError: If the TSV is not defined.
        CompatibilityError: If a schema would break a live version and ``force`` is off.
        DriftError: If an applied schema it builds on changed since it was applied.
        InterruptedMigrationError: If a schema it needs is ``uncertain``.
    """
    version = catalog.version(tsv)
    needed = catalog.graph.closure([version.schema])
    if snapshot.is_active(tsv):
        refuse_lost_rows(catalog, snapshot, tsv, needed)
        if all(snapshot.status_of(n) is SchemaStatus.APPLIED for n in needed):
            return Plan("activate", tsv, notes=(f"{tsv} is already active; nothing to do",))
        # Live, but a schema it needs is recorded as not (fully) applied, e.g. rolled back with
        # --force: the state says what is missing, so apply it, as for an inactive version.
    forced: list[str] = []
    applies = _plan_applies(catalog, snapshot, needed, split, force=force, forced=forced)
    live = [t for t in snapshot.active_tsvs() if t != tsv]
    check_gate(catalog, snapshot, applies, live, judge, force=force, forced=forced)
    first: list[SchemaAction] = []
    last: list[SchemaAction] = []
    if catalog.contract_schemas:
        snapshot_after = _with_active(snapshot, tsv, version.schema)
        first, last = _contract_changes(catalog, snapshot_after, [*live, tsv], split)
    notes = tuple(f"{a.kind} {a.name}: {a.reason}" for a in (*first, *applies, *last))
    return Plan(
        "activate",
        tsv,
        actions=(*first, *applies, *last),
        activate=(tsv,),
        notes=notes,
        forced=tuple(forced),
    )


def _with_active(snapshot: StateSnapshot, tsv: str, schema: str) -> StateSnapshot:
    # A read-only overlay of one row: the other 10,000 are shared, not copied (issue 14).
    versions = Draft(snapshot.versions)
    row = versions.get(tsv)
    if row is None:
        row = VersionState(tsv=tsv, handler="", timestamp=datetime.now(UTC), schema=schema)
    versions[tsv] = replace(row, active=True, schema=schema)
    return replace(snapshot, versions=versions.freeze())


def plan_deactivation(
    catalog: Catalog,
    snapshot: StateSnapshot,
    tsv: str,
    split: Splitter,
    *,
    tags: Collection[str] = (),
    protected_tags: Collection[str] = (),
    rollback: bool = True,
    force: bool = False,
) -> Plan:
    """Plan taking ``tsv`` out of service, with smart rollback.

    Every applied schema that this version needed and no other live version needs is rolled back,
    descendants first. Schemas still needed are kept and say so in the notes.

    Args:
        catalog: The definitions.
        snapshot: State read under the lock.
        tsv: The version to deactivate.
        split: Statement splitter of the target dialect.
        tags: The version's current tags.
        protected_tags: Tags that make a version need ``force`` to deactivate.
        rollback: False to keep every schema (``--keep-schema`` or config).
        force: Override protected tags and rollback-script drift.

    Returns:
        The plan; a no-op with a note when the version is not live.

    Raises:
        UnknownRefError: If the TSV is unknown.
        ProtectedVersionError: If it carries a protected tag and ``force`` is off.
        RollbackRefusedError: If a schema to roll back is irreversible.
        DriftError: If a rollback script changed since it was applied.
    """
    row = snapshot.versions.get(tsv)
    if row is None:
        catalog.version(tsv)
        return Plan("deactivate", tsv, notes=(f"{tsv} is not active; nothing to do",))
    if not row.active:
        return Plan("deactivate", tsv, notes=(f"{tsv} is not active; nothing to do",))
    forced: list[str] = []
    guarded = sorted(set(tags) & set(protected_tags))
    if guarded:
        if not force:
            raise ProtectedVersionError(tsv, guarded)
        forced.append(f"protected tag(s) overridden: {', '.join(guarded)}")
    live_after = [t for t in snapshot.active_tsvs() if t != tsv]
    still_needed: set[str] = set()
    for other in live_after:
        still_needed |= needed_schemas(catalog, snapshot.versions[other].schema)
    candidates = needed_schemas(catalog, row.schema) - still_needed
    notes = [
        f"kept {name}: still used by live versions"
        for name in sorted(needed_schemas(catalog, row.schema) & still_needed)
    ]
    for name, builders in sorted(_built_upon(catalog, snapshot, candidates).items()):
        candidates -= {name}
        notes.append(f"kept {name}: applied schema(s) {', '.join(builders)} build on it")
    actions: list[SchemaAction] = []
    if rollback:
        actions = _plan_rollbacks(catalog, snapshot, candidates, split, force=force, forced=forced)
    elif candidates:
        notes.append("schemas kept: rollback disabled")
    _, last = _contract_changes(catalog, snapshot, live_after, split)
    rolled = {a.name for a in actions}
    last = [a for a in last if a.name not in rolled]
    notes.extend(f"{a.kind} {a.name}: {a.reason}" for a in (*actions, *last))
    return Plan(
        "deactivate",
        tsv,
        actions=(*actions, *last),
        deactivate=(tsv,),
        notes=tuple(notes),
        forced=tuple(forced),
    )


def _built_upon(
    catalog: Catalog, snapshot: StateSnapshot, candidates: Collection[str]
) -> dict[str, list[str]]:
    """Find rollback candidates that applied schemas outside the candidates still build on.

    Such a descendant was applied without a version needing it (``schema migrate``, perhaps ahead
    of an activation); rolling back its ancestor would pull objects out from under it, so the
    ancestor is kept rather than either failing or rolling back what an operator applied.

    Args:
        catalog: The definitions (for the DAG).
        snapshot: The state (for which schemas have objects).
        candidates: Schemas no live version needs any more.

    Returns:
        ``candidate → sorted descendants with objects that are not candidates themselves``.
    """
    # One walk down from all candidates together, then up from the applied outsiders found below
    # them, instead of every candidate's descendants: that walked the rest of a chain once per
    # schema (quadratic in a 1,000-schema deactivation, issue 14).
    graph = catalog.graph
    wanted = set(candidates)
    below: set[str] = set()
    todo = [child for name in wanted if name in graph for child in graph.children(name)]
    while todo:
        node = todo.pop()
        if node not in below:
            below.add(node)
            todo.extend(graph.children(node))
    held: dict[str, list[str]] = {}
    for name in below - wanted:
        row = snapshot.schemas.get(name)
        if row is None or not row.has_objects:
            continue
        seen: set[str] = set()
        todo = list(graph.parents(name))
        while todo:  # a candidate it builds on is reached through schemas below a candidate
            node = todo.pop()
            if node in seen:
                continue
            seen.add(node)
            if node in wanted:
                held.setdefault(node, []).append(name)
            if node in below:
                todo.extend(graph.parents(node))
    return {name: sorted(builders) for name, builders in held.items()}


def _plan_rollbacks(
    catalog: Catalog,
    snapshot: StateSnapshot,
    names: Iterable[str],
    split: Splitter,
    *,
    force: bool,
    forced: list[str],
) -> list[SchemaAction]:
    targets = [n for n in names if (r := snapshot.schemas.get(n)) is not None and r.has_objects]
    actions: list[SchemaAction] = []
    for name in reversed(_order_known(catalog, targets)):
        row = snapshot.schemas[name]
        if not catalog.has_schema(name):
            raise DriftError(name, step=None, stored=None, current=None)
        if row.status is SchemaStatus.UNCERTAIN:
            raise InterruptedMigrationError(
                name,
                status="uncertain",
                detail=f"step {row.step_in_flight} may or may not have run; resolve it first "
                f"with: timescape schema resolve {name} --steps-done K",
            )
        schema = catalog.schema(name)
        check_rollback_scripts(
            schema, row.rollback_checksums[: row.steps_done], force=force, forced=forced
        )
        if row.contract_done and schema.contract:
            actions.append(contract_action(schema, ActionKind.UNCONTRACT, split))
        actions.append(rollback_action(schema, min(row.steps_done, len(schema.steps)), split))
    return actions


def _order_known(catalog: Catalog, names: Iterable[str]) -> list[str]:
    known = [n for n in names if n in catalog.graph]
    unknown = sorted(n for n in names if n not in catalog.graph)
    return [*unknown, *catalog.graph.topological(known)]


def plan_schema_apply(
    catalog: Catalog,
    snapshot: StateSnapshot,
    name: str,
    split: Splitter,
    *,
    force: bool = False,
    judge: Judge = declared_judge,
) -> Plan:
    """Plan applying schema ``name`` and its missing ancestors, without activating a version.

    Args:
        catalog: The definitions.
        snapshot: State read under the lock.
        name: The schema.
        split: Statement splitter.
        force: Override the gate and drift refusals.
        judge: How undeclared schemas are judged by the gate.

    Returns:
        The plan.

    Raises:
        UnknownRefError: If the schema is not defined.
        CompatibilityError: If it would break a live version and ``force`` is off.
        DriftError: On drift in what it builds on.
        InterruptedMigrationError: If a schema it needs is ``uncertain``.
    """
    catalog.schema(name)
    forced: list[str] = []
    applies = _plan_applies(
        catalog, snapshot, catalog.graph.closure([name]), split, force=force, forced=forced
    )
    check_gate(
        catalog, snapshot, applies, snapshot.active_tsvs(), judge, force=force, forced=forced
    )
    notes = tuple(f"apply {a.name}: {a.reason}" for a in applies) or (
        f"schema {name} is already applied; nothing to do",
    )
    return Plan("migrate", name, actions=tuple(applies), notes=notes, forced=tuple(forced))


def plan_schema_rollback(
    catalog: Catalog,
    snapshot: StateSnapshot,
    name: str,
    split: Splitter,
    *,
    force: bool = False,
) -> Plan:
    """Plan rolling back schema ``name`` and its applied descendants, descendants first.

    Refused while a live version needs any of them, unless ``force``: then those versions are
    deactivated in the same plan, so the state never claims a live version whose schema is gone.

    Args:
        catalog: The definitions.
        snapshot: State read under the lock.
        name: The schema.
        split: Statement splitter.
        force: Roll back even though live versions need it (they are deactivated).

    Returns:
        The plan.

    Raises:
        UnknownRefError: If the schema is unknown to both the definitions and the state.
        RollbackRefusedError: If in use (without force) or irreversible.
        DriftError: If a rollback script changed since it was applied.
    """
    if not catalog.has_schema(name) and name not in snapshot.schemas:
        catalog.schema(name)
    targets = {name}
    if name in catalog.graph:
        targets |= catalog.graph.descendants(name)
    used = usage(catalog, snapshot)
    users = sorted({t for n in targets for t in used.get(n, [])})
    forced: list[str] = []
    if users:
        if not force:
            raise RollbackRefusedError(name, used_by=users)
        forced.append(f"rolled back while used by {', '.join(users)} (deactivated)")
    actions = _plan_rollbacks(catalog, snapshot, targets, split, force=force, forced=forced)
    notes = tuple(f"rollback {a.name}" for a in actions if a.kind is ActionKind.ROLLBACK) or (
        f"schema {name} has nothing applied; nothing to do",
    )
    return Plan(
        "rollback",
        name,
        actions=tuple(actions),
        deactivate=tuple(users),
        notes=notes,
        forced=tuple(forced),
    )
