"""What ``schema list``, ``version list`` and ``stats`` show, built from a catalog and a snapshot.

Pure builders (catalog + snapshot in, frozen values out), so the CLI's ``--json`` and the Python
API describe the same facts, and the tests can check them without a database. Each listing has a
``*_rows`` twin giving the same fields as plain tuples, for the CLI's fast ``--json`` path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from itertools import starmap
from operator import attrgetter
from typing import Any

from timescape.model._record import maker, record
from timescape.model.catalog import Catalog
from timescape.model.moment import iso
from timescape.model.plan import usage
from timescape.model.schema import (
    SchemaVersion,
    checksum_matches,
    is_known_checksum,
    schema_checksum,
)
from timescape.model.state import (
    ListedSchema,
    SchemaState,
    SchemaStatus,
    StateSnapshot,
    StoredSchema,
    VersionState,
)
from timescape.model.usage import UsagePolicy, UsageStatus, classify

_DEFAULT_POLICY = UsagePolicy()

__all__ = [
    "SchemaInfo",
    "Stats",
    "StatusRow",
    "StoredSchema",
    "VersionInfo",
    "build_schema_infos",
    "build_stats",
    "build_version_infos",
    "schema_rows",
    "schema_rows_from",
    "stats_from_rows",
    "stored_schema",
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
    rows = schema_rows(catalog, snapshot)
    return list(starmap(maker(SchemaInfo, len(rows)), rows))


def stored_schema(row: SchemaState) -> StoredSchema:
    """The :data:`StoredSchema` of a whole row."""
    return _STORED(row)


_STORED = attrgetter(
    "status",
    "steps_done",
    "checksums",
    "applied_at",
    "rolled_back_at",
    "duration_ms",
    "error",
    "contract_done",
    "parents",
)  # one C call per row, not a Python one


def schema_rows(catalog: Catalog, snapshot: StateSnapshot) -> list[tuple[Any, ...]]:
    """:func:`build_schema_infos` as plain tuples: each :class:`SchemaInfo`'s fields, in order.

    Why: ``schema list --json`` writes these fields and nothing else; at 10,000 schemas building
    the instances only to take their fields apart again cost a tenth of the command (issue 14).
    Every field is derived here, once, for both.
    """
    rows = snapshot.schemas
    stored = dict(zip(rows.keys(), map(_STORED, rows.values()), strict=True))
    return schema_rows_from(catalog, snapshot, stored)


def schema_rows_from(
    catalog: Catalog, live: StateSnapshot, stored: Mapping[str, ListedSchema]
) -> list[tuple[Any, ...]]:
    """:func:`schema_rows` from each stored schema's :data:`StoredSchema`.

    Why apart: ``schema list`` reads just these columns as tuples when every stored status is the
    effective one, and building a :class:`SchemaState` per row only to read nine of its fields
    cost a twentieth of the command at 10,000 schemas (issue 14).

    Args:
        catalog: The definitions.
        live: A snapshot holding at least the live versions (its schemas are not read).
        stored: Every stored schema by name, its status the effective one (its moments are
            passed on as they are: ``datetime`` or printed text).

    Returns:
        One tuple of :class:`SchemaInfo`'s fields per schema: the defined ones in definition
        order, then the stored ones no longer defined, by name.
    """
    used = usage(catalog, live)
    pending = str(SchemaStatus.PENDING)
    words = {status: str(status) for status in SchemaStatus}
    out: list[tuple[Any, ...]] = []
    for schema in catalog.schemas:
        name = schema.name
        row = stored.get(name)
        sums = schema.checksums
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
                    schema.checksum,
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
        status, done, checksums, applied, rolled_back, duration, error, contract_done, _ = row
        kept = checksums[:done]
        compatible = schema.compatible_with
        out.append(
            (
                name,
                schema.parents,
                words[status],
                tuple(users) if users else (),
                applied,
                rolled_back,
                schema.checksum,
                len(schema.steps),
                done,
                sums,
                kept,
                duration,
                error,
                # _drifted_steps's first test inlined: no call for the schemas that match.
                () if kept == sums[:done] else _drifted_steps(kept, sums, schema),
                tuple(sorted(compatible)) if compatible else (),
                schema.breaking,
                True,
                schema.is_reversible,
                len(schema.contract),
                contract_done,
            )
        )
    for name, row in sorted(stored.items()):
        if catalog.has_schema(name):
            continue
        status, done, checksums, applied, rolled_back, duration, error, _, parents = row
        out.append(
            (
                name,
                parents,
                words[status],
                tuple(used.get(name, ())),
                applied,
                rolled_back,
                schema_checksum(checksums),
                0,
                done,
                (),
                checksums,
                duration,
                error,
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
    return list(starmap(maker(VersionInfo, len(rows)), rows))


def version_rows(
    catalog: Catalog,
    snapshot: StateSnapshot,
    tags: dict[tuple[str, str], str],
    moment: datetime,
    *,
    handler: str | None,
    policy: UsagePolicy,
    printed: Mapping[str, tuple[str | None, str | None, str | None]] | None = None,
) -> list[tuple[Any, ...]]:
    """:func:`build_version_infos` as plain tuples: each :class:`VersionInfo`'s fields, in order.

    Why: ``version list --json`` writes these fields and nothing else (issue 14), as
    :func:`schema_rows` for the schemas; every field is derived here, once, for both.

    With ``printed`` (each stored version's last request, activation and retiring times as
    ``--json`` prints them, from the same read as ``snapshot``), every moment is that text
    instead of a ``datetime``: the timestamps too, each distinct one formatted once.
    """
    by_tsv: dict[str, list[str]] = {}
    for (_, tag), tsv in sorted(tags.items()):
        by_tsv.setdefault(tsv, []).append(tag)
    row_of = dict(snapshot.versions).get  # a dict's own get: a proxy's costs a method call
    inactive = str(UsageStatus.INACTIVE)
    stamps: dict[datetime, str | None] = {}
    out: list[tuple[Any, ...]] = []
    for version in catalog.versions:
        if handler is not None and version.handler != handler:
            continue
        tsv = version.tsv
        timestamp: datetime | str | None = version.timestamp
        if printed is not None:
            timestamp = stamps.get(version.timestamp)
            if timestamp is None:
                timestamp = stamps[version.timestamp] = iso(version.timestamp)
        row = row_of(tsv)
        if row is None:
            out.append(
                (tsv, version.handler, timestamp, version.schema, False, inactive,
                 tuple(by_tsv.get(tsv, ())), 0, None, None, None, None)
            )  # fmt: skip
            continue
        # Not live is inactive whatever the times (classify's first rule), and most are not.
        status = str(usage_status(row, moment, policy)) if row.active else inactive
        retiring = row.active and row.is_retiring
        accessed, activated, since = (
            (row.last_accessed, row.activated_at, row.retiring_at)
            if printed is None
            else printed[tsv]
        )
        out.append(
            (tsv, version.handler, timestamp, version.schema, bool(row.active), status,
             tuple(by_tsv.get(tsv, ())), row.request_count, accessed, activated,
             since if retiring else None,
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
