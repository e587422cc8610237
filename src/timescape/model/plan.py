"""Planning: from definitions, a state snapshot and a request to an exact, ordered :class:`Plan`.

Pure functions, no I/O. The manager calls them *after* taking the database lock, on a snapshot read
under that lock, so the gate and the usage counts are never decided on stale state. ``--dry-run``
renders the returned Plan; apply executes that same object.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from timescape.errors import (
    CompatibilityError,
    DefinitionError,
    DriftError,
    InterruptedMigrationError,
    ProtectedVersionError,
    RollbackRefusedError,
    SQLSplitError,
    StateError,
)
from timescape.model._record import record
from timescape.model.catalog import Catalog
from timescape.model.schema import (
    CHECKSUM_ALGORITHMS,
    SchemaVersion,
    Step,
    StepCallable,
    checksum_matches,
    unknown_algorithms,
)
from timescape.model.state import SchemaState, SchemaStatus, StateSnapshot, VersionState
from timescape.model.text import StatementText

__all__ = [
    "ActionKind",
    "Judge",
    "Plan",
    "PlannedStatement",
    "PlannedStep",
    "SchemaAction",
    "Splitter",
    "compatibility",
    "declared_judge",
    "plan_activation",
    "plan_deactivation",
    "plan_schema_apply",
    "plan_schema_rollback",
    "resolve_judge",
    "usage",
]


class _StatementLike(Protocol):
    @property
    def text(self) -> str: ...
    @property
    def line(self) -> int: ...
    @property
    def data(self) -> str | None: ...
    @property
    def span(self) -> tuple[str, int, int]: ...


Splitter = Callable[[str], Sequence[_StatementLike]]
"""Splits a script into statements (dialect-aware; injected so this module stays pure)."""

Judge = Callable[[SchemaVersion], tuple[bool, str]]
"""Says whether a schema breaks older code, and why: ``(is_breaking, reason)``."""


class ActionKind(StrEnum):
    """What an action does to a schema."""

    APPLY = "apply"
    ROLLBACK = "rollback"
    CONTRACT = "contract"
    """Run the deferred contract steps (no live version needs the pre-expand shape any more)."""
    UNCONTRACT = "uncontract"
    """Run the contract rollback (a live version needs the pre-expand shape again)."""


class PlannedStatement(StatementText):
    """One statement exactly as it will be sent (see :class:`~timescape.model.text.StatementText`).

    A value object (compared by text, line and data) holding its span of the step's script:
    the text is sliced when read, so a plan of a 50 MB dump holds the script once, not twice.
    """

    __slots__ = ()


@record
class PlannedStep:
    """One step of an action, with its statements split.

    Attributes:
        index: 1-based step number within the schema (or its contract).
        script: The SQL text or callable that runs.
        statements: The split statements (empty for a callable).
        file: The file the script came from, if any.
    """

    index: int
    script: str | StepCallable
    statements: tuple[PlannedStatement, ...]
    file: str | None = None

    @property
    def is_callable(self) -> bool:
        """True for a Python step."""
        return not isinstance(self.script, str)


@record
class SchemaAction:
    """Apply, roll back, contract or uncontract one schema.

    Attributes:
        kind: What happens.
        schema: The schema definition.
        steps: Steps in execution order (descending indexes for rollbacks).
        steps_done_before: ``steps_done`` before the action (resume point).
        reason: Why the planner chose it, for humans.
    """

    kind: ActionKind
    schema: SchemaVersion
    steps: tuple[PlannedStep, ...]
    steps_done_before: int
    reason: str

    @property
    def name(self) -> str:
        """The schema name."""
        return self.schema.name


@record
class Plan:
    """The exact work one operation will do, in order.

    Attributes:
        operation: ``activate``, ``deactivate``, ``migrate`` or ``rollback``.
        target: The TSV or schema name the operation is about.
        actions: Schema actions, in execution order.
        activate: TSVs marked live at the end.
        deactivate: TSVs marked not live (before rollbacks on MySQL; atomically elsewhere).
        notes: Facts for humans ("already active", "kept: still used by …").
        forced: What ``force`` overrode, recorded in the event log.
    """

    operation: str
    target: str
    actions: tuple[SchemaAction, ...] = ()
    activate: tuple[str, ...] = ()
    deactivate: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    forced: tuple[str, ...] = ()

    @property
    def is_noop(self) -> bool:
        """True when executing the plan changes nothing."""
        return not (self.actions or self.activate or self.deactivate)

    def statements(self) -> list[str]:
        """Every SQL statement of the plan, in execution order."""
        return [s.text for a in self.actions for step in a.steps for s in step.statements]


def declared_judge(schema: SchemaVersion) -> tuple[bool, str]:
    """Judge a schema by its declaration alone: undeclared counts as breaking.

    Args:
        schema: The schema.

    Returns:
        ``(is_breaking, reason)``.
    """
    if schema.breaking is False:
        return False, "declared breaking = false"
    if schema.breaking is True:
        return True, "declared breaking"
    return True, "not declared compatible (undeclared changes count as breaking)"


def compatibility(
    catalog: Catalog, new: str, live: str, judge: Judge = declared_judge
) -> tuple[bool, str]:
    """Tell whether applying schema ``new`` keeps versions on schema ``live`` working.

    Args:
        catalog: The definitions.
        new: The schema to apply.
        live: A live version's schema.
        judge: How undeclared schemas are judged.

    Returns:
        ``(compatible, reason)``.
    """
    graph = catalog.graph
    # A live version may still run on a schema that was removed from the definitions: it has no
    # known ancestors, so only the declarations and the judge can vouch for ``new``.
    if new == live or (live in graph and new in graph.ancestors(live)):
        return True, f"{new} is part of {live}"
    return _compatibility_apart(catalog, new, live, judge)


def _compatibility_apart(catalog: Catalog, new: str, live: str, judge: Judge) -> tuple[bool, str]:
    """:func:`compatibility` once ``new`` is known not to be part of ``live``."""
    verdict = _Verdict(catalog, new, judge)
    declared = verdict.declared_with(live)
    return (True, declared) if declared is not None else verdict.judged()


class _Verdict:
    """:func:`_compatibility_apart` for one schema to apply, split by what each part depends on.

    The declarations are checked per live schema; the judge (which sees only the schema to
    apply) is asked once per plan and its answer reused, so a gate over many live versions asks
    it once instead of once per version. The outcome for each live version is the same.
    """

    __slots__ = ("_catalog", "_judge", "_judged", "_name", "_schema")

    def __init__(self, catalog: Catalog, name: str, judge: Judge) -> None:
        self._catalog = catalog
        self._name = name
        self._schema: SchemaVersion | None = None  # looked up when first needed, as before
        self._judge = judge
        self._judged: tuple[bool, str] | None = None

    @property
    def schema(self) -> SchemaVersion:
        """The schema to apply."""
        if self._schema is None:
            self._schema = self._catalog.schema(self._name)
        return self._schema

    def declared_with(self, live: str) -> str | None:
        """The reason when either side declares the two compatible, else None."""
        catalog, name = self._catalog, self._name
        if live in self.schema.compatible_with:
            return f"{name} declares compatible_with {live}"
        if catalog.has_schema(live) and name in catalog.schema(live).compatible_with:
            return f"{live} declares compatible_with {name}"
        return None

    def judged(self) -> tuple[bool, str]:
        """``(compatible, reason)`` without a declaration naming the live schema (asked once)."""
        judged = self._judged
        if judged is None:
            schema = self.schema
            if schema.breaking is True:
                judged = (False, "declared breaking")
            else:
                breaking, reason = self._judge(schema)
                judged = (not breaking, reason)
            self._judged = judged
        return judged


def usage(catalog: Catalog, snapshot: StateSnapshot) -> dict[str, list[str]]:
    """Compute, for each schema, the live TSVs that need it (directly or through a descendant).

    Args:
        catalog: The definitions (for the DAG).
        snapshot: The state (for which versions are live and on which schema).

    Returns:
        ``schema → sorted TSVs``; schemas nobody needs are absent.
    """
    result: dict[str, list[str]] = {}
    for tsv in snapshot.active_tsvs():
        for name in _needs(catalog, snapshot.versions[tsv].schema):
            result.setdefault(name, []).append(tsv)
    return result


def _needs(catalog: Catalog, schema: str) -> frozenset[str]:
    if schema in catalog.graph:
        return catalog.graph.closure_of(schema)
    return frozenset([schema])


def _planned_steps(
    steps: Sequence[tuple[int, str | StepCallable, str | None]], split: Splitter, where: str
) -> tuple[PlannedStep, ...]:
    """Split each script; ``where`` (``s1.step``, ``s1.rollback``, ...) names it in errors.

    Raises:
        DefinitionError: A script cannot be split safely (nothing has run), naming schema, step,
            file and line.
    """
    planned = []
    for index, script, file in steps:
        statements: tuple[PlannedStatement, ...] = ()
        if isinstance(script, str):
            try:
                statements = tuple(_planned(s) for s in split(script))
            except SQLSplitError as exc:
                raise DefinitionError(
                    f"cannot split SQL at line {exc.line}: {exc.reason}",
                    file=file,
                    key=f"{where}{index}",
                    line=exc.line if file else None,
                ) from None
        planned.append(PlannedStep(index=index, script=script, statements=statements, file=file))
    return tuple(planned)


def _planned(statement: _StatementLike) -> PlannedStatement:
    """The planned form of a split statement, sharing the script's text instead of copying it."""
    source, start, end = statement.span
    return PlannedStatement(source, statement.line, statement.data, span=(start, end))


def _apply_action(schema: SchemaVersion, done: int, split: Splitter, reason: str) -> SchemaAction:
    todo = [(i + 1, s.migration, s.file) for i, s in enumerate(schema.steps) if i >= done]
    steps = _planned_steps(todo, split, f"{schema.name}.step")
    return SchemaAction(ActionKind.APPLY, schema, steps, done, reason)


def _rollback_action(schema: SchemaVersion, done: int, split: Splitter) -> SchemaAction:
    todo: list[tuple[int, str | StepCallable, str | None]] = []
    for i in range(done - 1, -1, -1):
        step = schema.steps[i]
        if step.rollback is None:  # pragma: no cover - refused earlier by _check_reversible
            msg = "irreversible step reached the planner"
            raise AssertionError(msg)
        todo.append((i + 1, step.rollback, step.rollback_file))
    return SchemaAction(
        ActionKind.ROLLBACK,
        schema,
        _planned_steps(todo, split, f"{schema.name}.rollback"),
        done,
        "no live version needs it any more",
    )


def _contract_action(schema: SchemaVersion, kind: ActionKind, split: Splitter) -> SchemaAction:
    steps: Sequence[Step] = schema.contract
    if kind is ActionKind.CONTRACT:
        todo = [(i + 1, s.migration, s.file) for i, s in enumerate(steps)]
        reason = "every live version is on this schema or a descendant"
    else:
        if any(s.rollback is None for s in steps):
            # Making a version live on a shape the database no longer has would be a lie.
            raise RollbackRefusedError(
                schema.name,
                reason="its contract steps ran and have no contract_rollback, so the shape "
                "from before the contract cannot be restored. Add contract_rollback, or keep "
                "the older version retired",
            )
        todo = [
            (i + 1, s.rollback, s.rollback_file)
            for i, s in reversed(list(enumerate(steps)))
            if s.rollback is not None
        ]
        reason = "a live version needs the shape from before the contract"
    planned = _planned_steps(todo, split, f"{schema.name}.{kind}")
    return SchemaAction(kind, schema, planned, 0, reason)


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


def _check_drift(
    schema: SchemaVersion, stored: Sequence[str], *, force: bool, forced: list[str]
) -> None:
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


def _check_rollback_scripts(
    schema: SchemaVersion, catalog_state: Sequence[str | None], *, force: bool, forced: list[str]
) -> None:
    if not schema.is_reversible:
        raise RollbackRefusedError(
            schema.name,
            reason="it is irreversible (no rollback scripts). Use --keep-schema to deactivate "
            "without rolling back",
        )
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
    orphans = _OrphanCheck(catalog, snapshot)
    for name in catalog.graph.topological(names):
        schema = catalog.schema(name)
        row = snapshot.schemas.get(name)
        if row is not None and _is_complete_and_unchanged(schema, row):
            continue  # the usual ancestor: nothing to apply, nothing drifted
        if (row is None or not row.is_applied) and catalog.graph.children(name):
            orphans.refuse(name)
        if row is None:
            actions.append(_apply_action(schema, 0, split, "not applied yet"))
            continue
        if row.status is SchemaStatus.UNCERTAIN:
            raise InterruptedMigrationError(
                name,
                status="uncertain",
                detail=f"step {row.step_in_flight} may or may not have run. Check the database, "
                f"then run: timescape schema resolve {name} --steps-done K",
            )
        _check_drift(schema, row.checksums[: row.steps_done], force=force, forced=forced)
        if row.status is SchemaStatus.APPLIED and row.steps_done == len(schema.steps):
            continue
        reason = {
            SchemaStatus.FAILED: "retrying after a failure",
            SchemaStatus.INTERRUPTED: "retrying an interrupted run",
            SchemaStatus.ROLLED_BACK: "re-applying after a rollback",
            SchemaStatus.APPLIED: "the definition has new steps",
        }.get(row.status, "not applied yet")
        actions.append(_apply_action(schema, row.steps_done, split, reason))
    return actions


class _OrphanCheck:
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


def _is_complete_and_unchanged(schema: SchemaVersion, row: SchemaState) -> bool:
    """True for an applied schema whose every step is recorded with its current checksum.

    The first test of :func:`_plan_applies` for each schema an activation needs: every ancestor
    of a long chain passes it, so it compares step by step instead of building tuples. Anything
    else (a drift, an older algorithm, missing steps) takes the full path, with its refusals.
    """
    steps = schema.steps
    stored = row.checksums
    if row.status is not SchemaStatus.APPLIED or row.steps_done != len(steps):
        return False
    if len(stored) < len(steps):
        return False
    return all(stored[i] == step.checksum for i, step in enumerate(steps))


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


def _gate(
    catalog: Catalog,
    snapshot: StateSnapshot,
    applies: Sequence[SchemaAction],
    live: Collection[str],
    judge: Judge,
    *,
    force: bool,
    forced: list[str],
) -> None:
    graph = catalog.graph
    ordered = sorted(live)
    for action in applies:
        broken: list[str] = []
        reasons: list[str] = []
        # A schema nothing builds on yet (the usual new one) is part of no live version but its
        # own; otherwise ask each live schema's memoised closure.
        leaf = action.name not in graph or not graph.children(action.name)
        verdict = _Verdict(catalog, action.name, judge)
        for tsv in ordered:
            live_schema = snapshot.versions[tsv].schema
            if live_schema == action.name or (
                not leaf and live_schema in graph and action.name in graph.closure_of(live_schema)
            ):
                continue
            if verdict.declared_with(live_schema) is not None:
                continue
            ok, reason = verdict.judged()
            if ok:
                # The judge's word is about the schema alone: every further live version would
                # be let through the same way, so the gate stops here instead of asking again
                # per live version (a hundred at ten thousand schemas, issue 14).
                break
            broken.append(tsv)
            reasons.append(reason)
        if broken:
            if not force:
                raise CompatibilityError(action.name, broken, reasons)
            forced.append(f"compatibility gate overridden: {action.name} vs {', '.join(broken)}")


def _contract_changes(
    catalog: Catalog, snapshot: StateSnapshot, live_after: Collection[str], split: Splitter
) -> tuple[list[SchemaAction], list[SchemaAction]]:
    """Return (uncontract actions to run first, contract actions to run last)."""
    first: list[SchemaAction] = []
    last: list[SchemaAction] = []
    if not catalog.contract_schemas:
        return first, last
    needs = [_needs(catalog, snapshot.versions[t].schema) for t in live_after]
    for schema in catalog.contract_schemas:
        row = snapshot.schemas.get(schema.name)
        if row is None or not row.is_applied:
            continue
        everyone_on_it = bool(needs) and all(schema.name in n for n in needs)
        if everyone_on_it and not row.contract_done:
            last.append(_contract_action(schema, ActionKind.CONTRACT, split))
        elif not everyone_on_it and row.contract_done and any(schema.name not in n for n in needs):
            first.append(_contract_action(schema, ActionKind.UNCONTRACT, split))
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
        _refuse_lost_rows(catalog, snapshot, tsv, needed)
        if all(snapshot.status_of(n) is SchemaStatus.APPLIED for n in needed):
            return Plan("activate", tsv, notes=(f"{tsv} is already active; nothing to do",))
        # Live, but a schema it needs is recorded as not (fully) applied, e.g. rolled back with
        # --force: the state says what is missing, so apply it, as for an inactive version.
    forced: list[str] = []
    applies = _plan_applies(catalog, snapshot, needed, split, force=force, forced=forced)
    live = [t for t in snapshot.active_tsvs() if t != tsv]
    _gate(catalog, snapshot, applies, live, judge, force=force, forced=forced)
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


def _refuse_lost_rows(
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


def _with_active(snapshot: StateSnapshot, tsv: str, schema: str) -> StateSnapshot:
    versions = dict(snapshot.versions)
    row = versions.get(tsv)
    if row is None:
        row = VersionState(tsv=tsv, handler="", timestamp=datetime.now(UTC), schema=schema)
    versions[tsv] = replace(row, active=True, schema=schema)
    return replace(snapshot, versions=versions)


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
        still_needed |= _needs(catalog, snapshot.versions[other].schema)
    candidates = _needs(catalog, row.schema) - still_needed
    notes = [
        f"kept {name}: still used by live versions"
        for name in sorted(_needs(catalog, row.schema) & still_needed)
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
        _check_rollback_scripts(
            schema, row.rollback_checksums[: row.steps_done], force=force, forced=forced
        )
        if row.contract_done and schema.contract:
            actions.append(_contract_action(schema, ActionKind.UNCONTRACT, split))
        actions.append(_rollback_action(schema, min(row.steps_done, len(schema.steps)), split))
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
    _gate(catalog, snapshot, applies, snapshot.active_tsvs(), judge, force=force, forced=forced)
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


def resolve_judge(
    inferred: Mapping[str, tuple[bool, str]] | None,
) -> Judge:
    """Build a judge that uses inferred verdicts for undeclared schemas.

    Args:
        inferred: ``schema name → (is_breaking, reason)`` from SQL analysis, or None.

    Returns:
        A judge: explicit declarations win; otherwise the inferred verdict; otherwise breaking.
    """
    if not inferred:
        return declared_judge

    def judge(schema: SchemaVersion) -> tuple[bool, str]:
        if schema.breaking is not None:
            return declared_judge(schema)
        verdict = inferred.get(schema.name)
        return verdict if verdict is not None else declared_judge(schema)

    return judge
