"""The compatibility gate over many live versions: the judge is asked once, the outcome unchanged.

The gate used to ask the judge once per live version, although the judge sees only the schema to
apply; it now asks once per schema and stops at the first live version the judge lets through
(every further one would pass the same way). These tests compare each outcome with
:func:`compatibility` asked pair by pair, the reference the gate must agree with.
"""

from __future__ import annotations

import pytest

from tests.modelutil import catalog, schema, snapshot, split
from timescape.errors import CompatibilityError
from timescape.model.plan import compatibility, plan_activation
from timescape.model.schema import SchemaVersion

HANDLERS = 40


def _world(new: SchemaVersion):
    """``HANDLERS`` handlers live on their own schema on ``base``; ``new`` on handler 0's."""
    schemas = [schema("base", breaking=False)]
    versions = []
    for h in range(HANDLERS):
        schemas.append(schema(f"h{h:02d}", "base", breaking=False))
        versions.append((f"/api/h{h:02d}", f"h{h:02d}"))
    schemas.append(new)
    versions.append(("/api/h00", new.name))
    cat = catalog(schemas, versions)
    live = [v.tsv for v in cat.versions if v.schema != new.name]
    snap = snapshot(cat, applied=["base", *(f"h{h:02d}" for h in range(HANDLERS))], active=live)
    target = next(v.tsv for v in cat.versions if v.schema == new.name)
    return cat, snap, target


class _Counting:
    def __init__(self, breaking: bool) -> None:
        self.breaking = breaking
        self.calls = 0

    def __call__(self, s: SchemaVersion) -> tuple[bool, str]:
        self.calls += 1
        return self.breaking, f"judged {'breaking' if self.breaking else 'compatible'}"


def _listed(error: CompatibilityError) -> list[tuple[str, str]]:
    return list(zip(error.broken_versions, error.reasons, strict=True))


def _refused_as_pairwise(new: SchemaVersion, judge: _Counting) -> CompatibilityError:
    """Plan ``new`` in :func:`_world`; assert the refusal lists what the pairwise reference does."""
    cat, snap, target = _world(new)
    with pytest.raises(CompatibilityError) as caught:
        plan_activation(cat, snap, target, split, judge=judge)
    calls = judge.calls
    assert _listed(caught.value) == _reference(cat, snap, new.name, _Counting(judge.breaking))
    judge.calls = calls
    return caught.value


def _reference(cat, snap, name, judge) -> list[tuple[str, str]]:
    """The live versions ``name`` breaks, with reasons, asked pair by pair."""
    out = []
    for tsv in snap.active_tsvs():
        ok, reason = compatibility(cat, name, snap.versions[tsv].schema, judge)
        if not ok:
            out.append((tsv, reason))
    return out


@pytest.mark.parametrize("breaking", [True, False])
@pytest.mark.parametrize("declared", [(), ("h03", "h17", "h39")])
def test_gate__many_live_versions__judge_asked_once_outcome_as_pairwise(breaking, declared):
    new = schema("new", "h00", compatible_with=declared)
    cat, snap, target = _world(new)
    reference = _reference(cat, snap, "new", _Counting(breaking))
    judge = _Counting(breaking)
    if reference:
        with pytest.raises(CompatibilityError) as caught:
            plan_activation(cat, snap, target, split, judge=judge)
        assert _listed(caught.value) == reference
        assert len(reference) == HANDLERS - len(declared)  # h00's too: it does not contain new
    else:
        plan = plan_activation(cat, snap, target, split, judge=judge)
        assert [a.name for a in plan.actions] == ["new"]
        assert not breaking
    assert judge.calls == 1


def test_gate__declared_breaking__judge_never_asked_every_other_live_version_listed():
    judge = _Counting(False)
    error = _refused_as_pairwise(
        schema("new", "h00", breaking=True, compatible_with=["h05"]), judge
    )
    assert len(error.broken_versions) == HANDLERS - 1
    assert set(error.reasons) == {"declared breaking"}
    assert judge.calls == 0


def test_gate__forced__every_broken_version_listed_in_forced():
    new = schema("new", "h00")
    cat, snap, target = _world(new)
    plan = plan_activation(cat, snap, target, split, force=True, judge=_Counting(True))
    assert [a.name for a in plan.actions] == ["new"]
    (note,) = plan.forced
    listed = note.split(" vs ", 1)[1].split(", ")
    assert listed == [t for t, _ in _reference(cat, snap, "new", _Counting(True))]


def test_gate__declared_breaking_false__the_judge_still_decides_asked_once():
    judge = _Counting(True)
    error = _refused_as_pairwise(schema("new", "h00", breaking=False), judge)
    assert len(error.broken_versions) == HANDLERS
    assert judge.calls == 1
