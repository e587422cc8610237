"""The one derivation of the effective status (issue 11, T43): pure, no database."""

from __future__ import annotations

from timescape.model.state import SchemaState, SchemaStatus, StateSnapshot
from timescape.model.status import DeadRun, effective_row, effective_snapshot

ROLLED = SchemaState(name="s", status=SchemaStatus.ROLLED_BACK, steps_done=0, step_in_flight=1)


def test_effective_row__dead_run_with_step_in_flight__uncertain() -> None:
    row = effective_row("s", ROLLED, DeadRun("activate", ("s",)))
    assert row is not None
    assert row.status is SchemaStatus.UNCERTAIN
    assert "step 1" in (row.error or "")


def test_effective_row__step_in_flight_without_any_marker__uncertain() -> None:
    row = effective_row("s", ROLLED, None)
    assert row is not None
    assert row.status is SchemaStatus.UNCERTAIN


def test_effective_row__dead_apply_left_schema_unapplied__interrupted() -> None:
    before = SchemaState(name="s", status=SchemaStatus.ROLLED_BACK)
    row = effective_row("s", before, DeadRun("activate", ("s",)))
    assert row is not None
    assert row.status is SchemaStatus.INTERRUPTED
    never = effective_row("t", None, DeadRun("migrate", ("t",)))
    assert never is not None
    assert never.status is SchemaStatus.INTERRUPTED


def test_effective_row__dead_stepwise_rollback_between_steps__interrupted() -> None:
    half = SchemaState(name="s", status=SchemaStatus.ROLLED_BACK, steps_done=2)
    row = effective_row("s", half, DeadRun("deactivate", ("s",)))
    assert row is not None
    assert row.status is SchemaStatus.INTERRUPTED


def test_effective_row__applied_schema_or_untouched__stored_row_itself() -> None:
    applied = SchemaState(name="s", status=SchemaStatus.APPLIED, steps_done=1)
    assert effective_row("s", applied, DeadRun("activate", ("s",))) is applied
    other = SchemaState(name="o", status=SchemaStatus.ROLLED_BACK)
    assert effective_row("o", other, DeadRun("activate", ("s",))) is other
    assert effective_row("o", other, None) is other


def test_effective_snapshot__live_run__rows_as_stored() -> None:
    snapshot = StateSnapshot(schemas={"s": ROLLED})
    same, changed = effective_snapshot(snapshot, None, live_run=True)
    assert same is snapshot
    assert changed == []


def test_effective_snapshot__dead_run__changed_rows_listed_with_known_flag() -> None:
    snapshot = StateSnapshot(schemas={"s": ROLLED})
    derived, changed = effective_snapshot(snapshot, DeadRun("activate", ("s", "new")))
    assert derived.schemas["s"].status is SchemaStatus.UNCERTAIN
    assert derived.schemas["new"].status is SchemaStatus.INTERRUPTED
    assert [(row.name, known) for row, known in changed] == [("s", True), ("new", False)]
    assert snapshot.schemas["s"] is ROLLED  # the input is not modified
