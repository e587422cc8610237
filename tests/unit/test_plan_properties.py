"""Planner properties over random DAGs and operation sequences, on a simulated state (pure)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.modelutil import applied_set, apply_plan, split
from tests.strategies import World, operations, worlds
from timescape.errors import CompatibilityError
from timescape.model.catalog import Catalog
from timescape.model.plan import (
    ActionKind,
    Plan,
    plan_activation,
    plan_deactivation,
    plan_schema_apply,
    usage,
)
from timescape.model.state import StateSnapshot, VersionState

SETTINGS = settings(max_examples=100, deadline=None)


def _empty(world: World) -> StateSnapshot:
    versions = {
        v.tsv: VersionState(v.tsv, v.handler, v.timestamp, v.schema) for v in world.catalog.versions
    }
    return StateSnapshot(versions=versions)


def _live_closure(cat: Catalog, snap: StateSnapshot) -> set[str]:
    return set(cat.graph.closure(snap.versions[t].schema for t in snap.active_tsvs()))


def _plan(cat: Catalog, snap: StateSnapshot, op: str, tsv: str, *, force: bool) -> Plan:
    if op == "activate":
        return plan_activation(cat, snap, tsv, split, force=force)
    return plan_deactivation(cat, snap, tsv, split, force=force)


def _check_plan_shape(cat: Catalog, snap: StateSnapshot, plan: Plan) -> None:
    """Applies go parents first, rollbacks children first, and nothing live loses its schema."""
    applied_before = applied_set(snap)
    done: set[str] = set()
    rolled: list[str] = []
    for action in plan.actions:
        if action.kind is ActionKind.APPLY:
            for parent in action.schema.parents:
                assert parent in applied_before or parent in done, (
                    f"{action.name} applied before its parent {parent}"
                )
            done.add(action.name)
        elif action.kind is ActionKind.ROLLBACK:
            for child in rolled:
                assert action.name not in cat.graph.descendants(child), (
                    f"{action.name} rolled back after its descendant {child}"
                )
            rolled.append(action.name)
            assert [s.index for s in action.steps] == sorted(
                (s.index for s in action.steps), reverse=True
            )
    after = apply_plan(cat, snap, plan)
    needed = usage(cat, after)
    for name in rolled:
        assert name not in needed, f"{name} rolled back while {needed[name]} need it"


def _run(world: World, ops: list[tuple[str, int]], *, force: bool) -> None:
    cat = world.catalog
    snap = _empty(world)
    for op, position in ops:
        tsv = world.tsvs[position]
        try:
            plan = _plan(cat, snap, op, tsv, force=force)
        except CompatibilityError:
            assert not force
            continue  # refused before anything ran: the state is unchanged
        _check_plan_shape(cat, snap, plan)
        snap = apply_plan(cat, snap, plan)
        assert applied_set(snap) == _live_closure(cat, snap)
        assert snap.is_active(tsv) is (op == "activate")
        # Re-planning the same request on the state it produced does nothing.
        assert _plan(cat, snap, op, tsv, force=force).is_noop
        for name, row in snap.schemas.items():
            if row.contract_done:
                users = usage(cat, snap).get(name, [])
                assert sorted(users) == snap.active_tsvs(), (
                    f"{name} contracted while a live version needs its parent's shape"
                )


@SETTINGS
@given(data=st.data(), world=worlds(compatible=True))
def test_activate_deactivate__all_compatible__applied_equals_closure_of_live(data, world):
    _run(world, data.draw(operations(len(world.tsvs))), force=False)


@SETTINGS
@given(data=st.data(), world=worlds(compatible=None))
def test_activate_deactivate__random_declarations_forced__applied_equals_closure_of_live(
    data, world
):
    _run(world, data.draw(operations(len(world.tsvs))), force=True)


@SETTINGS
@given(data=st.data(), world=worlds(compatible=None))
def test_activate_deactivate__random_declarations__refusals_change_nothing(data, world):
    _run(world, data.draw(operations(len(world.tsvs))), force=False)


@SETTINGS
@given(data=st.data(), world=worlds(compatible=True, contracts=True))
def test_activate_deactivate__with_contracts__never_contracted_under_a_live_old_version(
    data, world
):
    _run(world, data.draw(operations(len(world.tsvs))), force=False)


@SETTINGS
@given(world=worlds(compatible=None), data=st.data())
def test_closure__any_schema__holds_every_ancestor_and_is_parent_closed(world, data):
    cat = world.catalog
    names = data.draw(st.lists(st.sampled_from(cat.graph.names), max_size=4))
    closure = cat.graph.closure(names)
    for name in names:
        assert cat.graph.ancestors(name) <= closure
    for name in closure:
        assert set(cat.graph.parents(name)) <= closure


@SETTINGS
@given(world=worlds(compatible=None), data=st.data())
def test_topological__any_subset__parents_before_children(world, data):
    cat = world.catalog
    names = data.draw(st.lists(st.sampled_from(cat.graph.names), max_size=7))
    order = cat.graph.topological(names)
    assert sorted(order) == sorted(set(names))
    for i, name in enumerate(order):
        for later in order[i + 1 :]:
            assert later not in cat.graph.ancestors(name)


@SETTINGS
@given(world=worlds(compatible=True), data=st.data())
def test_schema_apply__then_replanned__noop_and_closure_applied(world, data):
    cat = world.catalog
    name = data.draw(st.sampled_from(cat.graph.names))
    snap = _empty(world)
    plan = plan_schema_apply(cat, snap, name, split)
    _check_plan_shape(cat, snap, plan)
    snap = apply_plan(cat, snap, plan)
    assert applied_set(snap) == set(cat.graph.closure([name]))
    assert plan_schema_apply(cat, snap, name, split).is_noop
