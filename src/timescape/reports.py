"""What the facade returns: results of operations, listings, statistics and the verify report.

Builders here are pure (catalog + snapshot in, frozen values out), so the CLI's ``--json`` and the
Python API describe the same facts, and the tests can check them without a database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import field
from datetime import datetime
from itertools import starmap
from typing import TYPE_CHECKING, Any

from timescape.model._record import record
from timescape.model._sha import sha256
from timescape.model.catalog import Catalog
from timescape.model.plan import Plan, usage
from timescape.model.schema import (
    CHECKSUM_ALGORITHMS,
    SchemaVersion,
    checksum_matches,
    is_known_checksum,
    unknown_algorithms,
)
from timescape.model.state import SchemaStatus, StateSnapshot, VersionState
from timescape.model.usage import UsagePolicy, UsageStatus, classify

if TYPE_CHECKING:  # the executor (and the backends under it) load only when a run happens
    from timescape.engine.drain import DrainOutcome
    from timescape.executor import SchemaOutcome

_DEFAULT_POLICY = UsagePolicy()

__all__ = [
    "OperationResult",
    "Problem",
    "SchemaInfo",
    "Stats",
    "StatusRow",
    "UsageStatus",
    "VerifyReport",
    "VersionInfo",
    "build_schema_infos",
    "build_stats",
    "build_version_infos",
    "drift_problems",
    "inconsistency_problems",
    "schema_rows",
    "stats_from_rows",
    "usage_status",
    "version_rows",
]


def usage_status(
    row: VersionState | None, moment: datetime, policy: UsagePolicy = _DEFAULT_POLICY
) -> UsageStatus:
    """Classify a version: hot, warm, cold, retiring or inactive (:mod:`timescape.model.usage`).

    Args:
        row: The version's state row (None: never activated).
        moment: Now.
        policy: The hot and cold thresholds.

    Returns:
        The classification; a version activated less than ``cold_after`` ago is never cold.
    """
    if row is None:
        return UsageStatus.INACTIVE
    return classify(
        active=row.active,
        last_accessed=row.last_accessed,
        activated_at=row.activated_at,
        moment=moment,
        policy=policy,
        retiring=row.retiring_generation is not None,
    )


@record
class OperationResult:
    """The outcome of activate, deactivate, migrate, rollback or resolve.

    Attributes:
        operation: What was asked.
        target: The TSV or schema.
        plan: The plan that was (or, for a dry run, would be) executed.
        outcomes: What happened to each schema.
        duration_ms: Wall time including the lock wait.
        dry_run: True when nothing was executed.
        drain: How the serving instances were drained first (None when none were registered).
    """

    operation: str
    target: str
    plan: Plan
    outcomes: tuple[SchemaOutcome, ...] = ()
    duration_ms: int = 0
    dry_run: bool = False
    drain: DrainOutcome | None = None

    @property
    def changed(self) -> bool:
        """True when the database was changed."""
        return not self.dry_run and not self.plan.is_noop

    @property
    def irreversible(self) -> tuple[str, ...]:
        """Schemas this operation applies (or would apply) that have no rollback scripts.

        Once applied they stay: deactivating their versions cannot roll them back.

        Added in 0.2.
        """
        return tuple(
            a.name for a in self.plan.actions if a.kind == "apply" and not a.schema.is_reversible
        )

    @property
    def message(self) -> str:
        """One line for humans."""
        if self.plan.is_noop:
            return self.plan.notes[0] if self.plan.notes else "nothing to do"
        verb = "would " if self.dry_run else ""
        parts = [f"{verb}{a.kind} {a.name}" for a in self.plan.actions]
        parts += [f"{verb}activate {t}" for t in self.plan.activate]
        parts += [f"{verb}deactivate {t}" for t in self.plan.deactivate]
        return "; ".join(parts)


@record
class SchemaInfo:
    """One schema as ``schema list`` / ``schema status`` show it.

    Attributes:
        name: Schema name.
        parents: Parent schemas.
        status: Status in the database (``pending`` if never applied).
        used_by: Live TSVs that need it.
        applied_at: Last complete apply.
        rolled_back_at: Last complete rollback.
        checksum: SHA-256 over the step checksums of the current definition.
        steps: Number of steps in the definition.
        steps_done: Steps in place in the database.
        step_checksums: Per-step checksums of the definition.
        stored_checksums: Per-step checksums recorded when applied.
        duration_ms: Duration of the last apply or rollback.
        error: Last error.
        drifted_steps: Steps whose definition changed since applied (1-based).
        compatible_with: Declared compatible schemas.
        breaking: Declared breaking flag.
        defined: False when the schema is in the database but no longer in the project.
        reversible: Whether every step has a rollback.
        contract_steps: Number of deferred contract steps.
        contract_done: Whether they ran.
    """

    name: str
    parents: tuple[str, ...]
    status: str
    used_by: tuple[str, ...]
    applied_at: datetime | None
    rolled_back_at: datetime | None
    checksum: str | None
    steps: int
    steps_done: int
    step_checksums: tuple[str, ...] = ()
    stored_checksums: tuple[str, ...] = ()
    duration_ms: int | None = None
    error: str | None = None
    drifted_steps: tuple[int, ...] = ()
    compatible_with: tuple[str, ...] = ()
    breaking: bool | None = None
    defined: bool = True
    reversible: bool = True
    contract_steps: int = 0
    contract_done: bool = False


@record
class VersionInfo:
    """One API version as ``version list`` shows it.

    Attributes:
        tsv: Its id.
        handler: Handler path.
        timestamp: Its timestamp.
        schema: The schema it needs.
        active: Whether it is live (a retiring version still is, until drained).
        status: hot, warm, cold, retiring or inactive.
        tags: Its tags.
        request_count: Requests counted.
        last_accessed: Last request time.
        activated_at: Last activation.
        retiring_since: When it was marked retiring (None unless retiring).
        retiring_generation: The generation every instance must load to drain it.
    """

    tsv: str
    handler: str
    timestamp: datetime
    schema: str
    active: bool
    status: str
    tags: tuple[str, ...]
    request_count: int
    last_accessed: datetime | None
    activated_at: datetime | None
    retiring_since: datetime | None = None
    retiring_generation: int | None = None


@record
class Stats:
    """Counts over schemas and versions (names from the original specification).

    Attributes:
        total_schemas: Defined schemas plus applied ones no longer defined.
        active_schemas: Schemas applied in the database.
        pending_schemas: Defined schemas never applied (or rolled back... see rolled_back).
        failed_schemas: Schemas whose last run failed.
        rolled_back_schemas: Schemas rolled back completely.
        interrupted_schemas: Schemas whose run died before recording its outcome.
        uncertain_schemas: Schemas waiting for ``schema resolve``.
        schemas_in_use: Applied schemas needed by at least one live version.
        total_versions: Defined versions.
        active_versions: Live versions.
        inactive_versions: Versions not live.
        handlers: Number of handlers.
        last_migration_ms: Duration of the most recent apply or rollback.
        average_migration_ms: Mean duration over schemas with a recorded duration.
    """

    total_schemas: int
    active_schemas: int
    pending_schemas: int
    failed_schemas: int
    rolled_back_schemas: int
    interrupted_schemas: int
    uncertain_schemas: int
    schemas_in_use: int
    total_versions: int
    active_versions: int
    inactive_versions: int
    handlers: int
    last_migration_ms: int | None
    average_migration_ms: float | None


@record
class Problem:
    """One finding of ``verify``.

    Attributes:
        kind: ``drift``, ``missing``, ``failed``, ``interrupted``, ``uncertain``,
            ``in_progress``, ``live_version_unmet``, ``state``, ``retiring``.
        subject: The schema or TSV.
        message: One line.
        facts: Structured detail.
    """

    kind: str
    subject: str
    message: str
    facts: dict[str, object] = field(default_factory=dict)


@record
class VerifyReport:
    """The result of ``verify``.

    Attributes:
        problems: Everything found; empty when healthy.
        checked_schemas: How many schemas were checked.
    """

    problems: tuple[Problem, ...]
    checked_schemas: int

    @property
    def ok(self) -> bool:
        """True when nothing was found (``in_progress`` and ``retiring`` alone are not problems).

        A retiring version is a deactivation under way or stopped safely: nothing is broken.
        """
        return all(p.kind in ("in_progress", "retiring") for p in self.problems)


def _schema_checksum(step_sums: Sequence[str]) -> str | None:
    if not step_sums:
        return None
    digest = sha256("\n".join(step_sums).encode()).hexdigest()
    return f"sha256-v1:{digest}"


def _sorted(names: frozenset[str]) -> tuple[str, ...]:
    return tuple(sorted(names)) if names else ()


def _drifted_steps(
    stored: tuple[str, ...], current: tuple[str, ...], schema: SchemaVersion
) -> tuple[int, ...]:
    """The 1-based steps whose stored checksum no longer describes the definition.

    A stored value equal to the current checksum matches by definition; only the others (an
    older algorithm, or real drift) are verified with the algorithm they name.
    """
    if stored == current[: len(stored)]:
        return ()
    steps = schema.steps
    return tuple(
        i + 1
        for i, s in enumerate(stored)
        if i >= len(steps)
        or (
            s != current[i] and is_known_checksum(s) and not checksum_matches(s, steps[i].migration)
        )
    )


def build_schema_infos(catalog: Catalog, snapshot: StateSnapshot) -> list[SchemaInfo]:
    """Describe every defined schema, then every stored schema no longer defined."""
    return list(starmap(SchemaInfo, schema_rows(catalog, snapshot)))


def schema_rows(catalog: Catalog, snapshot: StateSnapshot) -> list[tuple[Any, ...]]:
    """:func:`build_schema_infos` as plain tuples: each :class:`SchemaInfo`'s fields, in order.

    Why: ``schema list --json`` writes these fields and nothing else; at 10,000 schemas building
    the instances only to take their fields apart again cost a tenth of the command (issue 14).
    Every field is derived here, once, for both.
    """
    used = usage(catalog, snapshot)
    rows = snapshot.schemas
    pending = str(SchemaStatus.PENDING)
    out: list[tuple[Any, ...]] = []
    for schema in catalog.schemas:
        name = schema.name
        row = rows.get(name)
        sums = schema.checksums  # one digest lookup per step, shared by the fields below
        users = used.get(name)
        if row is None:
            out.append(
                (
                    name,
                    schema.parents,
                    pending,
                    tuple(users) if users else (),
                    None,
                    None,
                    _schema_checksum(sums),
                    len(schema.steps),
                    0,
                    sums,
                    (),
                    None,
                    None,
                    (),
                    _sorted(schema.compatible_with),
                    schema.breaking,
                    True,
                    schema.is_reversible,
                    len(schema.contract),
                    False,
                )
            )
            continue
        stored = row.checksums[: row.steps_done]
        out.append(
            (
                name,
                schema.parents,
                str(row.status),
                tuple(users) if users else (),
                row.applied_at,
                row.rolled_back_at,
                _schema_checksum(sums),
                len(schema.steps),
                row.steps_done,
                sums,
                stored,
                row.duration_ms,
                row.error,
                _drifted_steps(stored, sums, schema),
                _sorted(schema.compatible_with),
                schema.breaking,
                True,
                schema.is_reversible,
                len(schema.contract),
                row.contract_done,
            )
        )
    for name, row in sorted(snapshot.schemas.items()):
        if catalog.has_schema(name):
            continue
        out.append(
            (
                name,
                row.parents,
                str(row.status),
                tuple(used.get(name, ())),
                row.applied_at,
                row.rolled_back_at,
                _schema_checksum(row.checksums),
                0,
                row.steps_done,
                (),
                row.checksums,
                row.duration_ms,
                row.error,
                (),
                (),
                None,
                False,
                True,
                0,
                False,
            )
        )
    return out


def build_version_infos(
    catalog: Catalog,
    snapshot: StateSnapshot,
    tags: dict[tuple[str, str], str],
    moment: datetime,
    *,
    handler: str | None = None,
    policy: UsagePolicy = _DEFAULT_POLICY,
) -> list[VersionInfo]:
    """Describe every defined version (optionally of one handler), oldest first per handler."""
    rows = version_rows(catalog, snapshot, tags, moment, handler=handler, policy=policy)
    return list(starmap(VersionInfo, rows))


def version_rows(
    catalog: Catalog,
    snapshot: StateSnapshot,
    tags: dict[tuple[str, str], str],
    moment: datetime,
    *,
    handler: str | None,
    policy: UsagePolicy,
) -> list[tuple[Any, ...]]:
    """:func:`build_version_infos` as plain tuples: each :class:`VersionInfo`'s fields, in order.

    Why: ``version list --json`` writes these fields and nothing else (issue 14), as
    :func:`schema_rows` for the schemas; every field is derived here, once, for both.
    """
    by_tsv: dict[str, list[str]] = {}
    for (_, tag), tsv in sorted(tags.items()):
        by_tsv.setdefault(tsv, []).append(tag)
    rows = snapshot.versions
    out: list[tuple[Any, ...]] = []
    for version in catalog.versions:
        if handler is not None and version.handler != handler:
            continue
        tsv = version.tsv
        row = rows.get(tsv)
        status = str(usage_status(row, moment, policy))
        if row is None:
            out.append(
                (tsv, version.handler, version.timestamp, version.schema, False, status,
                 tuple(by_tsv.get(tsv, ())), 0, None, None, None, None)
            )  # fmt: skip
            continue
        retiring = row.is_retiring
        out.append(
            (tsv, version.handler, version.timestamp, version.schema, bool(row.active), status,
             tuple(by_tsv.get(tsv, ())), row.request_count, row.last_accessed, row.activated_at,
             row.retiring_at if retiring else None,
             row.retiring_generation if retiring else None)
        )  # fmt: skip
    return out


def build_stats(catalog: Catalog, snapshot: StateSnapshot) -> Stats:
    """Count schemas and versions by status."""
    return stats_from_rows(
        catalog,
        snapshot,
        [
            (name, r.status, r.duration_ms, r.applied_at or r.rolled_back_at)
            for name, r in snapshot.schemas.items()
        ],
    )


StatusRow = tuple[str, SchemaStatus, int | None, datetime | None]
"""A schema for the statistics: name, effective status, last duration, when it last ran."""


def stats_from_rows(catalog: Catalog, live: StateSnapshot, rows: Sequence[StatusRow]) -> Stats:
    """Count schemas and versions by status, from each stored schema's :data:`StatusRow`.

    Why apart from :func:`build_stats`: ``timescape stats`` reads just these four columns (and
    the live versions) when no status needs deriving (issue 14); both count here.

    Args:
        catalog: The definitions.
        live: A snapshot holding at least the live versions (its schemas are not read).
        rows: Every stored schema, its status the effective one (:mod:`timescape.model.status`).

    Returns:
        The counts.
    """
    statuses = dict.fromkeys((s.name for s in catalog.schemas), SchemaStatus.PENDING)
    statuses.update((row[0], row[1]) for row in rows)

    def count(status: SchemaStatus) -> int:
        return sum(1 for s in statuses.values() if s is status)

    used = usage(catalog, live)
    durations = [(row[3], row[2]) for row in rows if row[2] is not None]
    stamped = [d for d in durations if d[0] is not None]
    last = max(stamped, key=lambda d: d[0])[1] if stamped else None  # type: ignore[arg-type,return-value]
    values = [d[1] for d in durations if d[1] is not None]
    versions = catalog.versions
    active = sum(1 for v in versions if live.is_active(v.tsv))
    return Stats(
        total_schemas=len(statuses),
        active_schemas=count(SchemaStatus.APPLIED),
        pending_schemas=count(SchemaStatus.PENDING),
        failed_schemas=count(SchemaStatus.FAILED),
        rolled_back_schemas=count(SchemaStatus.ROLLED_BACK),
        interrupted_schemas=count(SchemaStatus.INTERRUPTED),
        uncertain_schemas=count(SchemaStatus.UNCERTAIN),
        schemas_in_use=sum(1 for n in used if statuses.get(n) is SchemaStatus.APPLIED),
        total_versions=len(versions),
        active_versions=active,
        inactive_versions=len(versions) - active,
        handlers=len({v.handler for v in versions}),
        last_migration_ms=last,
        average_migration_ms=round(sum(values) / len(values), 1) if values else None,
    )


def drift_problems(catalog: Catalog, snapshot: StateSnapshot) -> list[Problem]:
    """Find applied steps whose migration or rollback script changed, and vanished schemas."""
    problems: list[Problem] = []
    for name, row in sorted(snapshot.schemas.items()):
        if not row.has_objects:
            continue
        if not catalog.has_schema(name):
            problems.append(
                Problem(
                    "missing",
                    name,
                    f"schema {name} is applied but no longer defined in the project",
                    {"steps_done": row.steps_done},
                )
            )
            continue
        schema = catalog.schema(name)
        done = row.steps_done
        unknown = unknown_algorithms([*row.checksums[:done], *row.rollback_checksums[:done]])
        if unknown:
            # One problem for the schema, not a wall of false drift: these cannot be verified.
            problems.append(
                Problem(
                    "unverifiable",
                    name,
                    f"schema {name} was applied with checksum algorithm {', '.join(unknown)}, "
                    f"which this Timescape cannot verify (it knows "
                    f"{', '.join(sorted(CHECKSUM_ALGORITHMS))}); upgrade Timescape to verify it",
                    {"algorithms": unknown, "steps_done": done},
                )
            )
            continue
        for i in range(row.steps_done):
            stored = row.checksums[i] if i < len(row.checksums) else None
            current = schema.steps[i] if i < len(schema.steps) else None
            if current is None or not checksum_matches(stored, current.migration):
                problems.append(
                    _drift(name, i + 1, stored, current.checksum if current else None, "migration")
                )
            stored_rb = row.rollback_checksums[i] if i < len(row.rollback_checksums) else None
            if (
                current is not None
                and stored_rb is not None
                and not checksum_matches(stored_rb, current.rollback)
            ):
                problems.append(
                    _drift(name, i + 1, stored_rb, current.rollback_checksum, "rollback")
                )
    return problems


def inconsistency_problems(catalog: Catalog, snapshot: StateSnapshot) -> list[Problem]:
    """Find schemas with objects in place whose ancestors are not recorded as applied.

    Timescape applies ancestors first and rolls back descendants first, so this only happens when
    the state tables were edited or lost (a deleted row): reported, never guessed at.
    """
    problems: list[Problem] = []
    for name, row in sorted(snapshot.schemas.items()):
        if not row.has_objects or name not in catalog.graph:
            continue
        lost = sorted(
            a
            for a in catalog.graph.ancestors(name)
            if snapshot.status_of(a) is not SchemaStatus.APPLIED
        )
        if lost:
            problems.append(
                Problem(
                    "inconsistent",
                    name,
                    f"schema {name} has {row.steps_done} step(s) in place but its ancestor(s) "
                    f"{', '.join(lost)} are not recorded as applied: the state tables were "
                    "edited or lost. Check the database, then run: timescape schema resolve "
                    f"{lost[0]} --steps-done K",
                    {"ancestors": lost},
                )
            )
    return problems


def _drift(name: str, step: int, stored: str | None, current: str | None, kind: str) -> Problem:
    return Problem(
        "drift",
        name,
        f"schema {name} {kind} step {step} was applied with checksum {stored}, definition now "
        f"{current}",
        {"step": step, "stored": stored, "current": current, "script": kind},
    )
