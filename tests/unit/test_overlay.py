"""Read-only snapshot mappings and the drafts a change derives from them (issue 14)."""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from types import MappingProxyType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from timescape.model._overlay import Draft, Overlay, frozen, layers
from timescape.model.state import SchemaState, SchemaStatus, StateSnapshot, VersionState

_MOMENT = datetime(2026, 1, 1, tzinfo=UTC)


def _snapshot(n: int) -> StateSnapshot:
    return StateSnapshot(
        schemas={f"s{i}": SchemaState(f"s{i}", SchemaStatus.APPLIED, 1) for i in range(n)},
        versions={f"v{i}": VersionState(f"v{i}", "/h", _MOMENT, f"s{i}") for i in range(n)},
        tags={("/h", "t"): "v0"},
    )


def _mutations(rows: Mapping[object, object]) -> list[tuple[str, object]]:
    """Every way to change a mapping in place, as (label, callable)."""
    return [
        ("setitem", lambda: rows.__setitem__("x", 1)),  # type: ignore[attr-defined]
        ("delitem", lambda: rows.__delitem__("s0")),  # type: ignore[attr-defined]
        ("update", lambda: rows.update({"x": 1})),  # type: ignore[attr-defined]
        ("pop", lambda: rows.pop("s0")),  # type: ignore[attr-defined]
        ("clear", lambda: rows.clear()),  # type: ignore[attr-defined]  # noqa: PLW0108 - raises late
        ("setdefault", lambda: rows.setdefault("x", 1)),  # type: ignore[attr-defined]
    ]


@pytest.mark.parametrize("field", ["schemas", "versions", "tags"])
@pytest.mark.parametrize("derived", [False, True], ids=["read", "derived"])
def test_snapshot__mutating_a_mapping__raises_and_changes_nothing(
    field: str, derived: bool
) -> None:
    snapshot = _snapshot(200)
    if derived:  # an overlay: one row changed over the 200 shared ones
        drafts = {name: Draft(getattr(snapshot, name)) for name in ("schemas", "versions", "tags")}
        drafts["schemas"]["s1"] = SchemaState("s1", SchemaStatus.FAILED)
        drafts["versions"]["v1"] = VersionState("v1", "/h", _MOMENT, "s1", active=True)
        drafts["tags"][("/h", "u")] = "v1"
        snapshot = StateSnapshot(**{n: d.freeze() for n, d in drafts.items()})
        assert isinstance(snapshot.schemas, Overlay)
    rows = getattr(snapshot, field)
    before = dict(rows)
    for label, mutate in _mutations(rows):
        with pytest.raises((TypeError, AttributeError)):
            mutate()  # type: ignore[operator]
        assert dict(rows) == before, label


def test_snapshot__plain_dict__copied_so_the_caller_cannot_change_it() -> None:
    schemas = {"a": SchemaState("a", SchemaStatus.APPLIED)}
    snapshot = StateSnapshot(schemas=schemas)
    schemas["b"] = SchemaState("b", SchemaStatus.APPLIED)
    assert list(snapshot.schemas) == ["a"]
    assert isinstance(snapshot.schemas, MappingProxyType)
    # replace() with a dict copies it too; read-only mappings are shared as they are.
    assert isinstance(replace(snapshot, versions={}).versions, MappingProxyType)
    assert replace(snapshot, generation=2).schemas is snapshot.schemas


def test_draft__writes_one_row_of_many__base_untouched_and_rows_shared() -> None:
    snapshot = _snapshot(1000)
    draft = Draft(snapshot.schemas)
    draft["s5"] = SchemaState("s5", SchemaStatus.FAILED)
    draft["new"] = SchemaState("new", SchemaStatus.APPLIED)
    assert draft.pop("s7").name == "s7"
    assert draft.pop("s7", None) is None
    derived = draft.freeze()

    assert isinstance(derived, Overlay)
    assert snapshot.schemas["s5"].status is SchemaStatus.APPLIED  # the base is never changed
    assert "s7" in snapshot.schemas
    assert "new" not in snapshot.schemas
    assert derived["s5"].status is SchemaStatus.FAILED
    assert derived["s6"] is snapshot.schemas["s6"]  # shared, not copied
    assert "s7" not in derived
    assert derived.get("s7") is None
    with pytest.raises(KeyError):
        derived["s7"]
    assert len(derived) == len(draft) == 1000
    expected = dict(snapshot.schemas)
    expected["s5"] = derived["s5"]
    expected["new"] = derived["new"]
    del expected["s7"]
    assert list(derived) == list(expected)  # a copied dict's order: in place, added at the end
    assert dict(derived.items()) == expected
    assert derived == expected
    assert derived == frozen(expected)
    assert Draft(snapshot.schemas).freeze() is snapshot.schemas  # nothing written: the base


def test_draft__chain_of_changes__never_nests_and_merges_when_large() -> None:
    rows: Mapping[str, int] = frozen({f"k{i}": i for i in range(1000)})
    expected = dict(rows)
    for step in range(300):
        draft = Draft(rows)
        draft[f"k{step}"] = -step
        draft[f"n{step}"] = step
        rows = draft.freeze()
        expected[f"k{step}"], expected[f"n{step}"] = -step, step
        if isinstance(rows, Overlay):
            assert not isinstance(rows._base, Overlay)  # two probes per lookup, at most
            assert len(rows._changes) * 8 < 1000 + 2 * 300 or len(rows._changes) < 64
        if step == 150:
            assert list(rows) == list(expected)  # a merged overlay lends its dict to the next
        assert len(rows) == len(expected)
        assert rows.get(f"k{step}") == -step
    assert dict(rows) == expected


def test_overlay__pickles_as_its_rows() -> None:
    draft = Draft(frozen({"a": 1, "b": 2}))
    draft["c"] = 3
    draft.pop("a")
    loaded = pickle.loads(pickle.dumps(draft.freeze()))  # noqa: S301 - our own bytes
    assert dict(loaded) == {"b": 2, "c": 3}
    with pytest.raises(TypeError):
        loaded["d"] = 4


_OPS = st.lists(
    st.tuples(st.sampled_from(["set", "pop", "freeze"]), st.integers(0, 30), st.integers()),
    max_size=80,
)


@given(start=st.dictionaries(st.integers(0, 30), st.integers(), max_size=20), ops=_OPS)
def test_draft__any_sequence_of_changes__behaves_as_a_copied_dict(
    start: dict[int, int], ops: list[tuple[str, int, int]]
) -> None:
    rows: Mapping[int, int] = frozen(dict(start))
    model = dict(start)
    draft = Draft(rows)
    for op, key, value in ops:
        if op == "set":
            draft[key] = value
            model[key] = value
        elif op == "pop":
            assert draft.pop(key, None) == model.pop(key, None)
        else:
            rows = draft.freeze()
            # Equal rows; the order is not a contract (a re-added key keeps its old place).
            assert dict(rows.items()) == model
            assert len(rows) == len(list(rows)) == len(model)
            draft = Draft(rows)
        assert len(draft) == len(model)
        assert all((k in draft) == (k in model) and draft.get(k) == model.get(k) for k in range(31))
        assert all(_through_layers(draft, k) == model.get(k) for k in range(31))
        assert all(_through_layers(rows, k) == dict(rows.items()).get(k) for k in range(31))
    assert dict(draft.freeze()) == model


def _through_layers(rows: Mapping[int, int], key: int) -> int | None:
    """A lookup as the planner makes it: the mapping for a changed key, else the base's ``get``."""
    changed, base = layers(rows)
    return rows.get(key) if key in changed else base.get(key)
