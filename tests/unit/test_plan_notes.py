"""Plan keeps the notes that are one line per action as those actions (issue 14: memory).

A 1,000-schema activation's notes were 1,000 strings, held by every result a caller keeps. When
the last notes are ``"<kind> <name>: <reason>"`` of each action in order, only the notes before
them are stored and the lines are made again when read. The record is the same value either way.
"""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from timescape.model.plan import ActionKind, Plan, SchemaAction
from timescape.model.plan.value import _NOTES_SLOT
from timescape.model.schema import SchemaVersion


def _actions(n: int = 3) -> tuple[SchemaAction, ...]:
    return tuple(
        SchemaAction(ActionKind.APPLY, SchemaVersion(f"s{i}"), (), 0, "not applied yet")
        for i in range(n)
    )


def _lines(actions: tuple[SchemaAction, ...]) -> tuple[str, ...]:
    return tuple(f"{a.kind} {a.name}: {a.reason}" for a in actions)


def test_plan__notes_one_line_per_action__stored_without_them_read_back_equal() -> None:
    actions = _actions()
    notes = ("kept base: applied schema(s) s0 build on it", *_lines(actions))
    plan = Plan("activate", "/x/2025", actions=actions, notes=notes)

    stored = _NOTES_SLOT.__get__(plan, Plan)
    assert type(stored) is not tuple
    assert stored.head == notes[:1]
    assert plan.notes == notes
    assert plan.notes[1] == "apply s0: not applied yet"
    assert plan == Plan("activate", "/x/2025", actions=actions, notes=notes)
    assert hash(plan) == hash(Plan("activate", "/x/2025", actions=actions, notes=notes))
    assert "notes=('kept base: applied schema(s) s0 build on it', 'apply s0:" in repr(plan)
    assert pickle.loads(pickle.dumps(plan)).notes == notes  # noqa: S301 - our own object
    assert dataclasses.replace(plan, actions=actions[:1]).notes == notes  # no longer derived
    assert dataclasses.asdict(plan)["notes"] == notes
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.notes = ()  # type: ignore[misc]


@pytest.mark.parametrize(
    "notes",
    [
        (),
        ("s0 is already active; nothing to do",),
        ("apply s0: other reason", "apply s1: not applied yet", "apply s2: not applied yet"),
        ("rollback s0", "rollback s1", "rollback s2"),
    ],
)
def test_plan__other_notes__kept_as_given(notes: tuple[str, ...]) -> None:
    plan = Plan("activate", "/x/2025", actions=_actions(), notes=notes)
    assert _NOTES_SLOT.__get__(plan, Plan) is notes
    assert plan.notes is notes
