"""The planner: gate, smart rollback, drift, irreversible and protected refusals, contracts (pure)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.modelutil import applied_row, apply_plan, catalog, schema, snapshot, split
from timescape.errors import (
    CompatibilityError,
    DriftError,
    InterruptedMigrationError,
    ProtectedVersionError,
    RollbackRefusedError,
    UnknownRefError,
)
from timescape.model.plan import (
    ActionKind,
    compatibility,
    declared_judge,
    plan_activation,
    plan_deactivation,
    plan_schema_apply,
    plan_schema_rollback,
    resolve_judge,
    usage,
)
from timescape.model.schema import SchemaVersion, Step, checksum
from timescape.model.state import SchemaState, SchemaStatus

P = "/api/products"
ORD = "/api/orders"


def _kinds(plan):
    return [(str(a.kind), a.name) for a in plan.actions]


def _tsvs(cat, handler=P):
    return [v.tsv for v in cat.versions if v.handler == handler]


# -- activation basics -------------------------------------------------------------------------


def test_plan_activation__nothing_applied__ancestors_first_then_activate():
    cat = catalog(
        [schema("base"), schema("mid", "base", steps=2), schema("top", "mid")], [(P, "top")]
    )
    (v,) = _tsvs(cat)
    plan = plan_activation(cat, snapshot(cat), v, split)
    assert _kinds(plan) == [("apply", "base"), ("apply", "mid"), ("apply", "top")]
    assert plan.activate == (v,)
    assert [s.index for s in plan.actions[1].steps] == [1, 2]
    assert plan.statements()[0] == "CREATE TABLE base_t1 (id INTEGER PRIMARY KEY)"
    assert not plan.is_noop
    assert plan.forced == ()


def test_plan_activation__ancestors_applied__only_missing_schema():
    cat = catalog(
        [schema("base"), schema("top", "base", compatible_with=["base"])], [(P, "base"), (P, "top")]
    )
    v1, v2 = _tsvs(cat)
    plan = plan_activation(cat, snapshot(cat, applied=["base"], active=[v1]), v2, split)
    assert _kinds(plan) == [("apply", "top")]


def test_plan_activation__already_active__noop_that_says_so():
    cat = catalog([schema("s1")], [(P, "s1")])
    (v,) = _tsvs(cat)
    plan = plan_activation(cat, snapshot(cat, applied=["s1"], active=[v]), v, split)
    assert plan.is_noop
    assert "already active" in plan.notes[0]


def test_plan_activation__schema_applied_version_inactive__only_marks_active():
    cat = catalog([schema("s1")], [(P, "s1"), (P, "s1")])
    v1, v2 = _tsvs(cat)
    plan = plan_activation(cat, snapshot(cat, applied=["s1"], active=[v1]), v2, split)
    assert plan.actions == ()
    assert plan.activate == (v2,)
    assert not plan.is_noop


def test_plan_activation__unknown_tsv__unknown_ref():
    cat = catalog([schema("s1")], [(P, "s1")])
    with pytest.raises(UnknownRefError):
        plan_activation(cat, snapshot(cat), "tsv:1-products-009", split)


def test_plan_activation__failed_at_step_2__resumes_from_step_2():
    cat = catalog([schema("s1", steps=3)], [(P, "s1")])
    (v,) = _tsvs(cat)
    s = cat.schema("s1")
    row = SchemaState(
        "s1",
        SchemaStatus.FAILED,
        steps_done=1,
        checksums=s.checksums[:1],
        rollback_checksums=s.rollback_checksums[:1],
    )
    plan = plan_activation(cat, snapshot(cat, rows=[row]), v, split)
    (action,) = plan.actions
    assert action.steps_done_before == 1
    assert [st.index for st in action.steps] == [2, 3]
    assert action.reason == "retrying after a failure"


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (SchemaStatus.ROLLED_BACK, "re-applying after a rollback"),
        (SchemaStatus.INTERRUPTED, "retrying an interrupted run"),
        (SchemaStatus.PENDING, "not applied yet"),
    ],
)
def test_plan_activation__row_without_objects__applies_all_steps(status, reason):
    cat = catalog([schema("s1", steps=2)], [(P, "s1")])
    (v,) = _tsvs(cat)
    plan = plan_activation(cat, snapshot(cat, rows=[SchemaState("s1", status)]), v, split)
    assert [st.index for st in plan.actions[0].steps] == [1, 2]
    assert plan.actions[0].reason == reason


def test_plan_activation__applied_definition_grew__applies_new_steps_only():
    cat = catalog([schema("s1", steps=3)], [(P, "s1")])
    (v,) = _tsvs(cat)
    s = cat.schema("s1")
    row = applied_row(cat, "s1", steps_done=2, checksums=s.checksums[:2])
    plan = plan_activation(cat, snapshot(cat, rows=[row]), v, split)
    assert [st.index for st in plan.actions[0].steps] == [3]


def test_plan_activation__uncertain_schema__refused_with_resolve_hint():
    cat = catalog([schema("s1", steps=2)], [(P, "s1")])
    (v,) = _tsvs(cat)
    row = SchemaState("s1", SchemaStatus.UNCERTAIN, steps_done=1, step_in_flight=2)
    with pytest.raises(InterruptedMigrationError, match="schema resolve s1"):
        plan_activation(cat, snapshot(cat, rows=[row]), v, split)


# -- the compatibility gate --------------------------------------------------------------------


def _gate_setup(**top_kw):
    cat = catalog([schema("base"), schema("top", "base", **top_kw)], [(P, "base"), (P, "top")])
    v1, v2 = _tsvs(cat)
    return cat, v1, v2, snapshot(cat, applied=["base"], active=[v1])


def test_gate__undeclared_schema_with_live_version__refused_naming_live_tsv():
    cat, v1, v2, snap = _gate_setup()
    with pytest.raises(CompatibilityError) as info:
        plan_activation(cat, snap, v2, split)
    assert info.value.broken_versions == [v1]
    assert v1 in info.value.message
    assert "undeclared" in info.value.reasons[0]


def test_gate__declared_breaking__refused():
    cat, _, v2, snap = _gate_setup(breaking=True)
    with pytest.raises(CompatibilityError, match="declared breaking"):
        plan_activation(cat, snap, v2, split)


@pytest.mark.parametrize(
    "kw",
    [
        {"compatible_with": ["base"]},
        {"breaking": False},
        {"breaking": True, "compatible_with": ["base"]},
    ],
)
def test_gate__new_declares_compatible_or_non_breaking__allowed(kw):
    cat, _, v2, snap = _gate_setup(**kw)
    plan = plan_activation(cat, snap, v2, split)
    assert _kinds(plan) == [("apply", "top")]
    assert plan.forced == ()


def test_gate__live_schema_declares_compatible_with_new__allowed():
    cat = catalog([schema("a"), schema("b", compatible_with=["a"])], [(P, "b"), (P, "a")])
    v_b, v_a = _tsvs(cat)
    plan = plan_activation(cat, snapshot(cat, applied=["b"], active=[v_b]), v_a, split)
    assert _kinds(plan) == [("apply", "a")]


def test_gate__no_live_versions__anything_goes():
    cat, _, v2, _ = _gate_setup(breaking=True)
    plan = plan_activation(cat, snapshot(cat, applied=["base"]), v2, split)
    assert _kinds(plan) == [("apply", "top")]


def test_gate__several_live_versions__names_every_broken_one():
    cat = catalog(
        [schema("a"), schema("b"), schema("c", compatible_with=["b"])],
        [(P, "a"), (ORD, "a"), ("/api/x", "b"), ("/api/y", "c")],
    )
    va, vo = _tsvs(cat, P)[0], _tsvs(cat, ORD)[0]
    vb, vc = _tsvs(cat, "/api/x")[0], _tsvs(cat, "/api/y")[0]
    snap = snapshot(cat, applied=["a", "b"], active=[va, vo, vb])
    with pytest.raises(CompatibilityError) as info:
        plan_activation(cat, snap, vc, split)
    assert info.value.broken_versions == sorted([va, vo])


def test_gate__force__allowed_and_recorded_in_forced():
    cat, v1, v2, snap = _gate_setup()
    plan = plan_activation(cat, snap, v2, split, force=True)
    assert _kinds(plan) == [("apply", "top")]
    assert plan.forced == (f"compatibility gate overridden: top vs {v1}",)


def test_gate__missing_ancestor_checked_too():
    cat = catalog(
        [schema("a"), schema("b"), schema("c", "b", compatible_with=["a"])], [(P, "a"), (P, "c")]
    )
    va, vc = _tsvs(cat)
    with pytest.raises(CompatibilityError) as info:
        plan_activation(cat, snapshot(cat, applied=["a"], active=[va]), vc, split)
    assert info.value.schema == "b"


def test_compatibility__ancestor_or_self__compatible():
    cat = catalog([schema("base"), schema("mid", "base"), schema("top", "mid")], [])
    assert compatibility(cat, "base", "top")[0]
    assert compatibility(cat, "mid", "top")[0]
    assert compatibility(cat, "top", "top")[0]
    assert not compatibility(cat, "top", "base")[0]


def test_compatibility__live_schema_no_longer_defined__judged_not_crashed():
    cat = catalog([schema("a"), schema("b", breaking=False)], [])
    assert compatibility(cat, "b", "ghost") == (True, "declared breaking = false")
    assert compatibility(cat, "a", "ghost")[0] is False


def test_plan_activation__live_version_on_undefined_schema__gate_refuses_cleanly():
    cat = catalog([schema("a")], [(P, "a")])
    (va,) = _tsvs(cat)
    snap = snapshot(cat)
    ghost = replace(
        snap.versions[va], tsv="tsv:1-gone-001", handler="/api/gone", schema="ghost", active=True
    )
    snap = replace(
        snap,
        versions={**snap.versions, ghost.tsv: ghost},
        schemas={"ghost": SchemaState("ghost", SchemaStatus.APPLIED, steps_done=1)},
    )
    with pytest.raises(CompatibilityError, match="tsv:1-gone-001"):
        plan_activation(cat, snap, va, split)


def test_resolve_judge__inferred_verdicts__used_for_undeclared_only():
    judge = resolve_judge({"x": (False, "additive"), "y": (False, "additive")})
    x = SchemaVersion.build("x", [])
    y = SchemaVersion.build("y", [], breaking=True)
    z = SchemaVersion.build("z", [])
    assert judge(x) == (False, "additive")
    assert judge(y) == (True, "declared breaking")
    assert judge(z)[0] is True
    assert resolve_judge(None) is declared_judge
    assert resolve_judge({}) is declared_judge


# -- deactivation and smart rollback -----------------------------------------------------------


def test_deactivation__sole_user__rolls_back_descendants_first_in_reverse_steps():
    cat = catalog(
        [schema("base", steps=2), schema("mid", "base"), schema("top", "mid")], [(P, "top")]
    )
    (v,) = _tsvs(cat)
    plan = plan_deactivation(
        cat, snapshot(cat, applied=["base", "mid", "top"], active=[v]), v, split
    )
    assert _kinds(plan) == [("rollback", "top"), ("rollback", "mid"), ("rollback", "base")]
    assert [s.index for s in plan.actions[2].steps] == [2, 1]
    assert plan.actions[2].steps[0].statements[0].text == "DROP TABLE base_t2"
    assert plan.deactivate == (v,)


def test_deactivation__schema_shared_with_live_version__kept_with_note():
    cat = catalog([schema("s1")], [(P, "s1"), (ORD, "s1")])
    vp, vo = _tsvs(cat, P)[0], _tsvs(cat, ORD)[0]
    plan = plan_deactivation(cat, snapshot(cat, applied=["s1"], active=[vp, vo]), vp, split)
    assert plan.actions == ()
    assert plan.deactivate == (vp,)
    assert "kept s1: still used by live versions" in plan.notes


def test_deactivation__dag_siblings__shared_base_kept_own_branch_rolled_back():
    cat = catalog(
        [schema("base"), schema("left", "base"), schema("right", "base")],
        [(P, "left"), (ORD, "right")],
    )
    vl, vr = _tsvs(cat, P)[0], _tsvs(cat, ORD)[0]
    snap = snapshot(cat, applied=["base", "left", "right"], active=[vl, vr])
    plan = plan_deactivation(cat, snap, vl, split)
    assert _kinds(plan) == [("rollback", "left")]
    assert "kept base: still used by live versions" in plan.notes


def test_deactivation__descendant_still_live__base_kept():
    cat = catalog(
        [schema("base"), schema("top", "base", compatible_with=["base"])], [(P, "base"), (P, "top")]
    )
    v1, v2 = _tsvs(cat)
    snap = snapshot(cat, applied=["base", "top"], active=[v1, v2])
    assert plan_deactivation(cat, snap, v1, split).actions == ()
    assert _kinds(plan_deactivation(cat, snap, v2, split)) == [("rollback", "top")]


def test_deactivation__applied_descendant_without_version__parent_kept_with_note():
    # "top" was applied with `schema migrate` (no version, e.g. ahead of its activation): rolling
    # back "base" under it would pull its objects out from under top's.
    cat = catalog([schema("base"), schema("mid", "base"), schema("top", "mid")], [(P, "mid")])
    (v,) = _tsvs(cat)
    snap = snapshot(cat, applied=["base", "mid", "top"], active=[v])
    plan = plan_deactivation(cat, snap, v, split)
    assert plan.actions == ()
    assert plan.deactivate == (v,)
    assert "kept base: applied schema(s) top build on it" in plan.notes
    assert "kept mid: applied schema(s) top build on it" in plan.notes


def test_deactivation__rollback_disabled__no_actions_note_says_kept():
    cat = catalog([schema("s1")], [(P, "s1")])
    (v,) = _tsvs(cat)
    plan = plan_deactivation(
        cat, snapshot(cat, applied=["s1"], active=[v]), v, split, rollback=False
    )
    assert plan.actions == ()
    assert plan.deactivate == (v,)
    assert "schemas kept: rollback disabled" in plan.notes


@pytest.mark.parametrize("active", [False, None])
def test_deactivation__not_active__noop(active):
    cat = catalog([schema("s1")], [(P, "s1")])
    (v,) = _tsvs(cat)
    snap = snapshot(cat, applied=["s1"])
    if active is None:
        snap = replace(snap, versions={})
    plan = plan_deactivation(cat, snap, v, split)
    assert plan.is_noop
    assert "not active" in plan.notes[0]


def test_deactivation__partially_applied_failed_schema__rolls_back_done_steps_only():
    cat = catalog([schema("s1", steps=3)], [(P, "s1")])
    (v,) = _tsvs(cat)
    s = cat.schema("s1")
    row = SchemaState(
        "s1",
        SchemaStatus.FAILED,
        steps_done=2,
        checksums=s.checksums[:2],
        rollback_checksums=s.rollback_checksums[:2],
    )
    plan = plan_deactivation(cat, snapshot(cat, rows=[row], active=[v]), v, split)
    assert [st.index for st in plan.actions[0].steps] == [2, 1]


def test_deactivation__irreversible__refused_before_anything():
    cat = catalog([schema("s1", reversible=False)], [(P, "s1")])
    (v,) = _tsvs(cat)
    with pytest.raises(RollbackRefusedError, match="irreversible"):
        plan_deactivation(cat, snapshot(cat, applied=["s1"], active=[v]), v, split)


def test_deactivation__irreversible_keep_schema__allowed():
    cat = catalog([schema("s1", reversible=False)], [(P, "s1")])
    (v,) = _tsvs(cat)
    plan = plan_deactivation(
        cat, snapshot(cat, applied=["s1"], active=[v]), v, split, rollback=False
    )
    assert plan.deactivate == (v,)


def test_deactivation__uncertain_schema__refused_with_resolve_hint():
    cat = catalog([schema("s1", steps=2)], [(P, "s1")])
    (v,) = _tsvs(cat)
    row = SchemaState("s1", SchemaStatus.UNCERTAIN, steps_done=1, step_in_flight=2)
    with pytest.raises(InterruptedMigrationError, match="resolve"):
        plan_deactivation(cat, snapshot(cat, rows=[row], active=[v]), v, split)


@pytest.mark.parametrize("tag", ["stable", "production"])
def test_deactivation__protected_tag__refused(tag):
    cat = catalog([schema("s1")], [(P, "s1")])
    (v,) = _tsvs(cat)
    with pytest.raises(ProtectedVersionError, match=tag):
        plan_deactivation(
            cat,
            snapshot(cat, applied=["s1"], active=[v]),
            v,
            split,
            tags=[tag, "v1"],
            protected_tags=["stable", "production", "latest"],
        )


def test_deactivation__protected_tag_forced__allowed_and_recorded():
    cat = catalog([schema("s1")], [(P, "s1")])
    (v,) = _tsvs(cat)
    plan = plan_deactivation(
        cat,
        snapshot(cat, applied=["s1"], active=[v]),
        v,
        split,
        tags=["stable"],
        protected_tags=["stable"],
        force=True,
    )
    assert plan.forced == ("protected tag(s) overridden: stable",)
    assert _kinds(plan) == [("rollback", "s1")]


def test_deactivation__unprotected_tags__no_refusal():
    cat = catalog([schema("s1")], [(P, "s1")])
    (v,) = _tsvs(cat)
    plan = plan_deactivation(
        cat,
        snapshot(cat, applied=["s1"], active=[v]),
        v,
        split,
        tags=["v1.0"],
        protected_tags=["stable"],
    )
    assert plan.forced == ()


# -- drift -------------------------------------------------------------------------------------


def _drifted(cat, name):
    row = applied_row(cat, name)
    return replace(
        row, checksums=(checksum("CREATE TABLE something_else (x INT)"), *row.checksums[1:])
    )


def test_drift__applied_ancestor_edited__activation_refused():
    cat = catalog([schema("base"), schema("top", "base")], [(P, "top")])
    (v,) = _tsvs(cat)
    with pytest.raises(DriftError, match="'base' migration step 1") as info:
        plan_activation(cat, snapshot(cat, rows=[_drifted(cat, "base")]), v, split)
    assert info.value.step == 1
    assert info.value.current == cat.schema("base").checksums[0]


def test_drift__forced__allowed_and_recorded():
    cat = catalog([schema("base"), schema("top", "base")], [(P, "top")])
    (v,) = _tsvs(cat)
    plan = plan_activation(cat, snapshot(cat, rows=[_drifted(cat, "base")]), v, split, force=True)
    assert _kinds(plan) == [("apply", "top")]
    assert plan.forced == ("drift ignored: base step 1",)


def test_drift__applied_step_removed_from_definition__refused():
    cat = catalog([schema("base", steps=1), schema("top", "base")], [(P, "top")])
    (v,) = _tsvs(cat)
    row = applied_row(
        cat, "base", steps_done=2, checksums=(*cat.schema("base").checksums, checksum("SELECT 2"))
    )
    with pytest.raises(DriftError, match="step 2"):
        plan_activation(cat, snapshot(cat, rows=[row]), v, split)


def test_drift__rollback_script_edited__deactivation_refused_unless_forced():
    cat = catalog([schema("s1")], [(P, "s1")])
    (v,) = _tsvs(cat)
    row = applied_row(cat, "s1", rollback_checksums=(checksum("DROP TABLE other"),))
    snap = snapshot(cat, rows=[row], active=[v])
    with pytest.raises(DriftError, match="rollback step 1"):
        plan_deactivation(cat, snap, v, split)
    plan = plan_deactivation(cat, snap, v, split, force=True)
    assert plan.forced == ("rollback drift ignored: s1 step 1",)
    assert _kinds(plan) == [("rollback", "s1")]


def test_drift__applied_schema_no_longer_defined__rollback_refused():
    cat = catalog([schema("s1")], [(P, "s1")])
    (v,) = _tsvs(cat)
    snap = snapshot(cat, applied=["s1"], active=[v])
    snap = replace(
        snap,
        schemas={**snap.schemas, "gone": SchemaState("gone", SchemaStatus.APPLIED, steps_done=1)},
    )
    with pytest.raises(DriftError, match="no longer defined"):
        plan_schema_rollback(cat, snap, "gone", split)


# -- schema migrate / rollback -----------------------------------------------------------------


def test_schema_apply__missing_ancestors__applied_first_without_activation():
    cat = catalog([schema("base"), schema("top", "base")], [])
    plan = plan_schema_apply(cat, snapshot(cat), "top", split)
    assert _kinds(plan) == [("apply", "base"), ("apply", "top")]
    assert plan.activate == ()
    assert plan.operation == "migrate"


def test_schema_apply__already_applied__noop_note():
    cat = catalog([schema("s1")], [])
    plan = plan_schema_apply(cat, snapshot(cat, applied=["s1"]), "s1", split)
    assert plan.is_noop
    assert "already applied" in plan.notes[0]


def test_schema_apply__breaks_live_version__refused_unless_forced():
    cat, _, _, snap = _gate_setup()
    with pytest.raises(CompatibilityError):
        plan_schema_apply(cat, snap, "top", split)
    assert plan_schema_apply(cat, snap, "top", split, force=True).forced


def test_schema_apply__unknown__unknown_ref():
    cat = catalog([schema("s1")], [])
    with pytest.raises(UnknownRefError):
        plan_schema_apply(cat, snapshot(cat), "nope", split)


def test_schema_rollback__in_use__refused_naming_users():
    cat = catalog([schema("base"), schema("top", "base")], [(P, "top")])
    (v,) = _tsvs(cat)
    snap = snapshot(cat, applied=["base", "top"], active=[v])
    with pytest.raises(RollbackRefusedError) as info:
        plan_schema_rollback(cat, snap, "base", split)
    assert info.value.used_by == [v]


def test_schema_rollback__forced__descendants_first_and_users_deactivated():
    cat = catalog([schema("base"), schema("top", "base")], [(P, "top")])
    (v,) = _tsvs(cat)
    snap = snapshot(cat, applied=["base", "top"], active=[v])
    plan = plan_schema_rollback(cat, snap, "base", split, force=True)
    assert _kinds(plan) == [("rollback", "top"), ("rollback", "base")]
    assert plan.deactivate == (v,)
    assert plan.forced


def test_schema_rollback__nothing_applied__noop_note():
    cat = catalog([schema("s1")], [])
    plan = plan_schema_rollback(cat, snapshot(cat), "s1", split)
    assert plan.is_noop
    assert "nothing applied" in plan.notes[0]


def test_schema_rollback__irreversible__refused():
    cat = catalog([schema("s1", reversible=False)], [])
    with pytest.raises(RollbackRefusedError, match="irreversible"):
        plan_schema_rollback(cat, snapshot(cat, applied=["s1"]), "s1", split)


def test_schema_rollback__unknown_everywhere__unknown_ref():
    cat = catalog([schema("s1")], [])
    with pytest.raises(UnknownRefError):
        plan_schema_rollback(cat, snapshot(cat), "nope", split)


# -- contract / uncontract ---------------------------------------------------------------------


def _contract_setup():
    contract = [
        Step("ALTER TABLE base_t1 DROP COLUMN old", "ALTER TABLE base_t1 ADD COLUMN old TEXT")
    ]
    cat = catalog(
        [schema("base"), schema("expand", "base", compatible_with=["base"], contract=contract)],
        [(P, "base"), (P, "expand")],
    )
    v_old, v_new = _tsvs(cat)
    return cat, v_old, v_new


def test_contract__last_old_version_deactivated__contract_runs_last():
    cat, v_old, v_new = _contract_setup()
    snap = snapshot(cat, applied=["base", "expand"], active=[v_old, v_new])
    plan = plan_deactivation(cat, snap, v_old, split)
    assert _kinds(plan) == [("contract", "expand")]
    assert plan.actions[0].steps[0].statements[0].text == "ALTER TABLE base_t1 DROP COLUMN old"


def test_contract__old_version_still_live__no_contract():
    cat, v_old, v_new = _contract_setup()
    snap = snapshot(cat, applied=["base", "expand"], active=[v_old])
    plan = plan_activation(cat, snap, v_new, split)
    assert ActionKind.CONTRACT not in {a.kind for a in plan.actions}


def test_contract__old_version_reactivated__uncontract_runs_first():
    cat, v_old, v_new = _contract_setup()
    rows = [applied_row(cat, "expand", contract_done=True)]
    snap = snapshot(cat, applied=["base"], rows=rows, active=[v_new])
    plan = plan_activation(cat, snap, v_old, split)
    assert _kinds(plan) == [("uncontract", "expand")]
    assert plan.actions[0].steps[0].statements[0].text == "ALTER TABLE base_t1 ADD COLUMN old TEXT"


def test_contract__contracted_schema_rolled_back__uncontract_before_rollback():
    cat, _, v_new = _contract_setup()
    rows = [applied_row(cat, "expand", contract_done=True)]
    snap = snapshot(cat, applied=["base"], rows=rows, active=[v_new])
    plan = plan_deactivation(cat, snap, v_new, split)
    assert _kinds(plan) == [("uncontract", "expand"), ("rollback", "expand"), ("rollback", "base")]


def test_contract__already_done__not_repeated():
    cat, _, v_new = _contract_setup()
    rows = [applied_row(cat, "expand", contract_done=True)]
    snap = snapshot(cat, applied=["base"], rows=rows, active=[v_new])
    simulated = apply_plan(cat, snap, plan_deactivation(cat, snap, v_new, split))
    again = plan_activation(cat, simulated, v_new, split)
    assert ActionKind.CONTRACT not in {a.kind for a in again.actions}


# -- usage -------------------------------------------------------------------------------------


def test_usage__live_versions__counted_on_schema_and_ancestors():
    cat = catalog(
        [schema("base"), schema("a", "base"), schema("b", "base")],
        [(P, "a"), (ORD, "b"), (ORD, "b")],
    )
    va = _tsvs(cat, P)[0]
    vb1, vb2 = _tsvs(cat, ORD)
    result = usage(cat, snapshot(cat, applied=["base", "a", "b"], active=[va, vb1]))
    assert result == {"base": sorted([va, vb1]), "a": [va], "b": [vb1]}
    assert vb2 not in str(result)
