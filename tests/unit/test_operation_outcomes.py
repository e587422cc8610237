"""OperationResult keeps a run's plain successes as their durations (issue 14: memory).

After a run that went through, each outcome is its action's success (every step run, no error):
the result stores the outcomes' class and durations and makes equal outcomes when read. Any other
outcome (a failure, fewer steps, another order) keeps the tuple as given.
"""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from timescape.execution.recording import SchemaOutcome
from timescape.model.plan import ActionKind, Plan, PlannedStep, SchemaAction
from timescape.model.schema import SchemaVersion
from timescape.reports import OperationResult
from timescape.reports.operation import _OUTCOMES_SLOT


def _plan() -> Plan:
    step = PlannedStep(index=1, script="CREATE TABLE a (x int)", statements=())
    actions = tuple(
        SchemaAction(ActionKind.APPLY, SchemaVersion(f"s{i}"), (step,), 0, "not applied yet")
        for i in range(3)
    )
    return Plan("activate", "/x/2025", actions=actions, activate=("/x/2025",))


def _successes(plan: Plan) -> tuple[SchemaOutcome, ...]:
    return tuple(
        SchemaOutcome(a.name, a.kind, "applied", len(a.steps), 7 * i)
        for i, a in enumerate(plan.actions)
    )


def test_result__plain_successes__stored_as_durations_read_back_equal() -> None:
    plan = _plan()
    outcomes = _successes(plan)
    result = OperationResult("activate", "/x/2025", plan, outcomes, duration_ms=5)

    assert type(_OUTCOMES_SLOT.__get__(result, OperationResult)) is not tuple
    assert result.outcomes == outcomes
    assert [o.duration_ms for o in result.outcomes] == [0, 7, 14]
    assert result == OperationResult("activate", "/x/2025", plan, outcomes, duration_ms=5)
    assert "status='applied', steps_run=1, duration_ms=7, error=None)" in repr(result)
    assert pickle.loads(pickle.dumps(result)) == result  # noqa: S301 - our own object
    assert dataclasses.replace(result, duration_ms=9).outcomes == outcomes
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.outcomes = ()  # type: ignore[misc]


@pytest.mark.parametrize(
    "change",
    [
        {"status": "failed", "error": "boom"},
        {"steps_run": 0},
        {"schema": "other"},
        {"duration_ms": 1 << 40},
    ],
)
def test_result__not_a_plain_success__kept_as_given(change: dict[str, object]) -> None:
    plan = _plan()
    first, *rest = _successes(plan)
    outcomes = (dataclasses.replace(first, **change), *rest)
    result = OperationResult("activate", "/x/2025", plan, outcomes)
    assert result.outcomes is outcomes
    assert OperationResult("activate", "/x/2025", plan, outcomes[:2]).outcomes == outcomes[:2]
