"""``verify``: check the database against the definitions without changing anything."""

from __future__ import annotations

from timescape.errors import StateError
from timescape.model.catalog import Catalog
from timescape.model.state import SchemaStatus, StateSnapshot
from timescape.model.status import DeadRun, effective_snapshot
from timescape.reports import Problem, VerifyReport, drift_problems, inconsistency_problems
from timescape.store.state import StateStore

__all__ = ["verify_state"]


def verify_state(store: StateStore, catalog: Catalog) -> VerifyReport:
    """Check the database against the definitions without changing anything.

    Reports drift (per step, migration and rollback scripts), applied schemas no longer
    defined, failed/interrupted/uncertain schemas, a run that died (or one in progress),
    live versions whose schemas are not applied, and damaged state tables. The lock is taken
    while reading only if it is free, and released before returning.

    Args:
        store: The state store (connected).
        catalog: The definitions.

    Returns:
        The report; ``ok`` is False when anything needs attention.
    """
    backend = store.backend
    problems: list[Problem] = []
    missing = store.missing_tables()
    if missing:
        return VerifyReport(
            tuple(
                Problem(
                    "state",
                    table,
                    f"state table {table} is missing; restore it from a backup "
                    "(Timescape will not guess)",
                )
                for table in missing
            ),
            0,
        )
    # Read the state and the run marker holding the lock when it is free, so no run can
    # change them meanwhile: a marker seen under the lock is a run that died, one seen
    # without it a run in progress. (Probing the lock after reading would report a run
    # that finished in between as interrupted.)
    held = store.exists() and backend.try_lock()
    try:
        try:
            store.check_readable()
            # Without the lock, the run holding it may end between reading the state and
            # reading its marker: a marker seen before the state was read still means that the
            # state may show the run's step in flight (not a dead run's: uncertain).
            before = None if held or not store.exists() else store.run_marker()
            snapshot = store.read(use_cache=False)
        except StateError as exc:
            return VerifyReport((Problem("state", backend.table_prefix, exc.message),), 0)
        marker = store.run_marker() if store.exists() else None
    finally:
        if held:
            backend.release_lock()
    # The effective status, derived as every report derives it (model.status): a dead run's
    # schemas as the next run will record them, a step in flight with no run as uncertain.
    dead = DeadRun(marker.operation, marker.schemas) if marker is not None and held else None
    live_run = not held and (marker is not None or before is not None)
    snapshot = effective_snapshot(snapshot, dead, live_run=live_run)[0]
    if marker is not None:
        holder = None if held else backend.lock_holder()
        kind = "interrupted" if held else "in_progress"
        text = (
            f"a {marker.operation} of {marker.target} started "
            f"{marker.started_at.isoformat()} by {marker.actor} "
            + (
                "died before finishing"
                if held
                else f"is in progress, held by {holder.description if holder else '?'}"
            )
        )
        problems.append(
            Problem(
                kind,
                marker.target,
                text,
                {"operation": marker.operation, "schemas": list(marker.schemas)},
            )
        )

    problems.extend(drift_problems(catalog, snapshot))
    for name, row in sorted(snapshot.schemas.items()):
        if row.status in (
            SchemaStatus.FAILED,
            SchemaStatus.INTERRUPTED,
            SchemaStatus.UNCERTAIN,
        ):
            detail = f": {row.error}" if row.error else ""
            problems.append(
                Problem(
                    str(row.status),
                    name,
                    f"schema {name} is {row.status} with {row.steps_done} step(s) in place{detail}",
                    {"steps_done": row.steps_done, "step_in_flight": row.step_in_flight},
                )
            )
    problems.extend(inconsistency_problems(catalog, snapshot))
    for tsv in snapshot.active_tsvs():
        schema = snapshot.versions[tsv].schema
        needed = catalog.graph.closure([schema]) if schema in catalog.graph else {schema}
        unmet = sorted(n for n in needed if snapshot.status_of(n) is not SchemaStatus.APPLIED)
        if unmet:
            lost = [n for n in unmet if n not in snapshot.schemas]
            hint = (
                f"; the state row of {', '.join(lost)} is missing: check the database, then run "
                f"timescape schema resolve {lost[0]} --steps-done K"
                if lost
                else ""
            )
            problems.append(
                Problem(
                    "live_version_unmet",
                    tsv,
                    f"live version {tsv} needs schema(s) {', '.join(unmet)}, which are not "
                    f"applied{hint}",
                    {"schemas": unmet, "missing_rows": lost},
                )
            )
    problems.extend(_retiring_problems(snapshot))
    return VerifyReport(tuple(problems), len(catalog.schemas))


def _retiring_problems(snapshot: StateSnapshot) -> list[Problem]:
    """Versions left retiring: a drain under way, or one that stopped safely (not a failure)."""
    problems = []
    for tsv in sorted(snapshot.retiring()):
        row = snapshot.versions[tsv]
        since = row.retiring_at.isoformat() if row.retiring_at else "?"
        problems.append(
            Problem(
                "retiring",
                tsv,
                f"version {tsv} is retiring since {since}: a deactivation is draining it, or one "
                "stopped (drain timeout, crash). Run `timescape version deactivate` on it to "
                "finish, or `timescape version activate` to keep it",
                {"generation": row.retiring_generation},
            )
        )
    return problems
