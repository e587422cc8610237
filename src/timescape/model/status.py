"""The effective status of a schema: the stored row read together with the run that touched it.

A state row alone can lie for a while: a run that died (kill -9, power loss, Ctrl-C whose outcome
could not be written) leaves its run marker and, on a step-by-step run, a step marked in flight.
Until the next run records the truth (:mod:`timescape.execution.recovery`), every reader must show
what that run will record, or ``schema list`` says ``rolled_back`` while ``verify`` says
``uncertain`` (issue 11). This module is that one derivation; ``schema list``, ``schema status``,
``stats``, every ``--json``, the Python API, ``verify``, dry runs and recovery itself all call it.

The rules, for each schema the dead run was going to touch (a run still holding the lock is
alive: its rows are shown as stored):

1. a step marked in flight → ``uncertain``: it may or may not have completed;
2. an apply (``activate``/``migrate``) that left the schema not applied → ``interrupted``;
3. a step-by-step rollback that died between steps, with steps still in place → ``interrupted``;
4. anything else keeps its stored status.

A step marked in flight with no run marker at all (the marker was lost with the state tables'
edit or restore) is ``uncertain`` too: no run is going, so nothing will finish that step.

Pure: no I/O.

Added in 0.2.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from timescape.model._overlay import Draft
from timescape.model._record import record
from timescape.model.state import SchemaState, SchemaStatus, StateSnapshot

__all__ = ["DeadRun", "effective_row", "effective_snapshot", "is_settled"]


@record
class DeadRun:
    """What a run marker found while holding the lock says: a run that died.

    Attributes:
        operation: What it was doing (``activate``, ``migrate``, ``deactivate``, ``rollback``…).
        schemas: The schemas it was going to touch.
    """

    operation: str
    schemas: tuple[str, ...]


def is_settled(status: SchemaStatus, step_in_flight: int | None) -> bool:
    """Tell whether a stored row is shown as stored unless a run marker names it.

    Without a run marker, only a step marked in flight (on a row not already ``uncertain``) makes
    the effective status differ from the stored one: readers that find every row settled and no
    marker may count the stored statuses as they are (``timescape stats`` does, issue 14).

    Args:
        status: The stored status.
        step_in_flight: The stored step in flight, if any.

    Returns:
        False when :func:`effective_row` may change the row even with no run marker.
    """
    return step_in_flight is None or status is SchemaStatus.UNCERTAIN


def effective_row(name: str, row: SchemaState | None, dead: DeadRun | None) -> SchemaState | None:
    """Return the row as the next run will record it (``row`` itself when nothing changes).

    Args:
        name: The schema.
        row: Its stored row (None: never recorded).
        dead: The run that died, if one did (None: no marker, or its run is alive).

    Returns:
        The effective row; None when there is no row and nothing to show.
    """
    touched = dead is not None and name in dead.schemas
    if row is not None and row.step_in_flight is not None:
        if row.status is SchemaStatus.UNCERTAIN:
            return row
        return replace(
            row,
            status=SchemaStatus.UNCERTAIN,
            error=f"the run died during step {row.step_in_flight}; it may or may not have "
            "completed",
        )
    if not touched or dead is None:
        return row
    if dead.operation in ("activate", "migrate") and (row is None or not row.is_applied):
        base = row or SchemaState(name=name, status=SchemaStatus.PENDING)
        return replace(
            base, status=SchemaStatus.INTERRUPTED, error="the run died before recording its outcome"
        )
    if row is not None and row.status is SchemaStatus.ROLLED_BACK and row.steps_done > 0:
        # A step-by-step rollback (MySQL/MariaDB) died between two steps.
        return replace(
            row,
            status=SchemaStatus.INTERRUPTED,
            error=f"the run died while rolling it back, with {row.steps_done} step(s) still in "
            "place",
        )
    return row


def effective_snapshot(
    snapshot: StateSnapshot, dead: DeadRun | None, *, live_run: bool = False
) -> tuple[StateSnapshot, list[tuple[SchemaState, bool]]]:
    """Apply :func:`effective_row` to every row a reader may show.

    Args:
        snapshot: The state as read.
        dead: The run that died, if any.
        live_run: True when a run holds the lock now: its in-flight steps are its own business.

    Returns:
        The snapshot with the changed rows replaced (``snapshot`` itself when none changed), and
        the changed rows, each with whether a row was stored before (for recovery's writes).
    """
    if live_run:
        return snapshot, []
    names: Sequence[str] = dead.schemas if dead is not None else ()
    candidates = dict.fromkeys(names)
    for name, row in snapshot.schemas.items():
        if not is_settled(row.status, row.step_in_flight):
            candidates[name] = None
    changed: list[tuple[SchemaState, bool]] = []
    for name in candidates:
        stored = snapshot.schemas.get(name)
        new = effective_row(name, stored, dead)
        if new is not None and new is not stored:
            changed.append((new, stored is not None))
    if not changed:
        return snapshot, []
    schemas = Draft(snapshot.schemas)
    for new, _ in changed:
        schemas[new.name] = new
    return replace(snapshot, schemas=schemas.freeze()), changed
