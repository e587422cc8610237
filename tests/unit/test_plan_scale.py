"""The planner at thousands of schemas: the same plans and refusals whichever way it looks (pure).

The orphan check (a schema to apply whose recorded descendant says it must be in place already)
looks descendants up one by one while they are few, and builds the set of rows with objects once
they outnumber the rows: these tests pin the outcome on both sides of that switch.
"""

from __future__ import annotations

import pytest

from tests.modelutil import (
    applied_row,
    apply_plan,
    catalog,
    schema,
    snapshot,
    split,
    timescape_calls,
)
from timescape.errors import DriftError, StateError
from timescape.model._overlay import Draft, Overlay
from timescape.model.plan import plan_activation, plan_schema_apply
from timescape.model.plan.check import unsettled
from timescape.model.state import SchemaStatus

P = "/api/products"
CHAINS = 20
DEPTH = 100  # 2,000 schemas, all applied but the tip of chain 0


def _chains(ahead: int):
    """``CHAINS`` chains of ``DEPTH`` schemas on ``base``, plus ``ahead`` defined past chain 0."""
    schemas = [schema("base")]
    versions = []
    for c in range(CHAINS):
        previous = "base"
        for k in range(DEPTH + (ahead if c == 0 else 0)):
            name = f"c{c:02d}_{k:04d}"
            schemas.append(schema(name, previous, breaking=False))
            versions.append((f"/api/c{c:02d}", name))
            previous = name
    return catalog(schemas, versions)


def _tsv(cat, name):
    return next(v.tsv for v in cat.versions if v.schema == name)


def test_plan_activation__thousands_applied_next_releases_defined__only_new_schema():
    cat = _chains(ahead=5)
    applied = [
        s.name for s in cat.schemas if not s.name.startswith("c00_") or int(s.name[4:]) < DEPTH - 1
    ]
    snap = snapshot(cat, applied=applied)
    target = f"c00_{DEPTH - 1:04d}"
    plan = plan_activation(cat, snap, _tsv(cat, target), split)
    assert [a.name for a in plan.actions] == [target]
    # Applying it and everything defined ahead, one release after the other, plans one each.
    for k in range(DEPTH, DEPTH + 5):
        snap = apply_plan(cat, snap, plan)
        name = f"c00_{k:04d}"
        plan = plan_activation(cat, snap, _tsv(cat, name), split)
        assert [a.name for a in plan.actions] == [name]


def test_plan_activation__fresh_database_long_chain__every_schema_in_order():
    cat = _chains(ahead=0)
    tip = f"c00_{DEPTH - 1:04d}"
    plan = plan_activation(cat, snapshot(cat), _tsv(cat, tip), split)
    assert [a.name for a in plan.actions] == ["base", *(f"c00_{k:04d}" for k in range(DEPTH))]


@pytest.mark.parametrize(
    ("lost", "rows_beside"),
    [("c00_0050", 1900), ("base", 0)],
    ids=["descendants-walked", "rows-with-objects-collected"],
)
def test_plan_schema_apply__row_lost_under_recorded_descendant__refused(lost, rows_beside):
    cat = _chains(ahead=0)
    # Chain 0 recorded up to its tip, but the row of one of its schemas was lost. Under a row in
    # the middle, among thousands of rows, the few descendants are looked up one by one; under
    # the root, with few rows, the rows with objects are collected instead.
    chain = [f"c00_{k:04d}" for k in range(DEPTH)]
    others = [s.name for s in cat.schemas if s.name[:4] not in {"c00_", "base"}][:rows_beside]
    applied = [n for n in ["base", *chain, *others] if n != lost]
    snap = snapshot(cat, applied=applied)
    first = chain[chain.index(lost) + 1] if lost in chain else chain[0]
    with pytest.raises(StateError, match=rf"descendant\(s\) {first}, .*c00_0099 are recorded"):
        plan_schema_apply(cat, snap, lost, split)


def test_plan_schema_apply__chain_of_missing_rows_below_recorded_tip__refused_at_first():
    cat = _chains(ahead=0)
    # Only the tip of chain 1 is recorded (with objects): applying its chain from the root must
    # stop at the first missing ancestor, whichever route finds the recorded descendant.
    snap = snapshot(cat, rows=[applied_row(cat, f"c01_{DEPTH - 1:04d}")])
    with pytest.raises(StateError, match=r"schema 'base' has no state row"):
        plan_schema_apply(cat, snap, f"c01_{DEPTH - 2:04d}", split)


def _chain0_applied_but_tip(cat, **row_changes):
    """Every schema applied but chain 0's tip; ``row_changes`` edits chain 0's 42nd row."""
    names = [s.name for s in cat.schemas if s.name != f"c00_{DEPTH - 1:04d}"]
    rows = [applied_row(cat, "c00_0042", **row_changes)] if row_changes else []
    return snapshot(cat, applied=[n for n in names if n != "c00_0042" or not rows], rows=rows)


def test_plan_activation__ancestor_deep_in_chain_drifted__refused_or_forced_and_listed():
    cat = _chains(ahead=0)
    snap = _chain0_applied_but_tip(cat, checksums=("sha256-v1:" + "0" * 64,))
    tip = _tsv(cat, f"c00_{DEPTH - 1:04d}")
    with pytest.raises(DriftError) as info:
        plan_activation(cat, snap, tip, split)
    assert info.value.schema == "c00_0042"
    forced = plan_activation(cat, snap, tip, split, force=True)
    assert forced.forced == ("drift ignored: c00_0042 step 1",)
    assert [a.name for a in forced.actions] == [f"c00_{DEPTH - 1:04d}"]


@pytest.mark.parametrize("status", [SchemaStatus.FAILED, SchemaStatus.ROLLED_BACK])
def test_plan_activation__ancestor_deep_in_chain_not_applied_under_applied_ones__refused(status):
    cat = _chains(ahead=0)
    snap = _chain0_applied_but_tip(cat, status=status, steps_done=0, checksums=())
    with pytest.raises(StateError, match=rf"schema 'c00_0042' is {status}, but its descendant"):
        plan_activation(cat, snap, _tsv(cat, f"c00_{DEPTH - 1:04d}"), split)


def test_unsettled__each_kind_of_row__only_applied_with_current_checksums_pass():
    cat = catalog(
        [
            schema("ok", steps=2),
            schema("drifted", steps=2),
            schema("older", steps=1),
            schema("short", steps=2),
            schema("failed"),
            schema("missing"),
        ],
        [],
    )
    older = "sha256-v0:" + cat.schema("older").checksums[0].partition(":")[2]
    drifted = (cat.schema("drifted").checksums[0], "sha256-v1:" + "0" * 64)
    rows = [
        applied_row(cat, "ok"),
        applied_row(cat, "drifted", checksums=drifted),
        applied_row(cat, "older", checksums=(older,)),
        applied_row(cat, "short", steps_done=1, checksums=cat.schema("short").checksums[:1]),
        applied_row(cat, "failed", status=SchemaStatus.FAILED),
    ]
    snap = snapshot(cat, rows=rows)
    names = ["missing", "ok", "drifted", "older", "short", "failed"]
    assert unsettled(cat, snap.schemas, names) == [n for n in names if n != "ok"]


def test_unsettled__rows_changed_over_the_state_read__seen_as_changed():
    # A warm instance's snapshot is an overlay of the rows it wrote over the rows it read: the
    # planner looks the unchanged ones up in the base, and must still see what was written.
    cat = catalog([schema("a", steps=2), schema("b", "a"), schema("c", "b")], [])
    draft = Draft(snapshot(cat, applied=["a", "b", "c"]).schemas)
    draft["a"] = applied_row(cat, "a", checksums=("sha256-v1:" + "0" * 64,) * 2)
    draft.pop("b")
    rows = draft.freeze()
    assert type(rows) is Overlay
    assert unsettled(cat, rows, ["a", "b", "c"]) == ["a", "b"]


def test_plan_activation__ten_times_the_applied_ancestors__same_timescape_calls():
    # Two chains on "base", 10 and 100 long, applied but their tips: activating a tip checks
    # each applied ancestor (applied, every step's checksum current) without a Python call of
    # its own. Five per ancestor cost about 13,500 instructions each, at ten thousand schemas
    # (issue 14).
    schemas = [schema("base")]
    versions = []
    for chain, depth in (("short", 10), ("long", 100)):
        previous = "base"
        for k in range(depth + 1):
            schemas.append(schema(f"{chain}{k:03d}", previous, breaking=False, steps=2))
            versions.append((f"/api/{chain}", f"{chain}{k:03d}"))
            previous = f"{chain}{k:03d}"
    cat = catalog(schemas, versions)
    snap = snapshot(cat, applied=[s.name for s in schemas if s.name not in {"short010", "long100"}])
    shallow, deep = _tsv(cat, "short010"), _tsv(cat, "long100")
    for tsv in (shallow, deep):  # first use: the graph's memos, each text's checksum hashed
        plan_activation(cat, snap, tsv, split)
    few = timescape_calls(lambda: plan_activation(cat, snap, shallow, split))
    many = timescape_calls(lambda: plan_activation(cat, snap, deep, split))
    assert [a.name for a in plan_activation(cat, snap, deep, split).actions] == ["long100"]
    assert many == few, (few, many)
