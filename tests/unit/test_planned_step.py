"""PlannedStep keeps its statements packed and stays the same frozen value (issue 14: memory).

A step whose statements are plain spans of its script stores offsets and lines and makes the
statements when read; anything else (COPY data, text that is not a span of the script) is kept
as given. Either way the record compares, hashes, prints, pickles and replaces as before.
"""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from timescape.model.plan import PlannedStatement, PlannedStep
from timescape.model.plan.value import _STATEMENTS_SLOT

SCRIPT = "CREATE TABLE a (x int);\n\nCREATE INDEX i ON a (x);\n"


def _spans(script: str = SCRIPT) -> tuple[PlannedStatement, ...]:
    first = script.index(";")
    second = script.index("CREATE INDEX")
    return (
        PlannedStatement(script, 1, span=(0, first)),
        PlannedStatement(script, 3, span=(second, script.index(";", second))),
    )


def test_planned_step__spans_of_its_script__stored_packed_read_back_equal() -> None:
    statements = _spans()
    step = PlannedStep(index=1, script=SCRIPT, statements=statements)

    assert type(_STATEMENTS_SLOT.__get__(step, PlannedStep)) is bytes
    assert step.statements == statements
    assert [(s.text, s.line, s.data) for s in step.statements] == [
        ("CREATE TABLE a (x int)", 1, None),
        ("CREATE INDEX i ON a (x)", 3, None),
    ]
    assert all(s.span[0] is SCRIPT for s in step.statements)  # slices of the one script


def test_planned_step__packed__is_the_same_frozen_value() -> None:
    step = PlannedStep(1, SCRIPT, _spans(), "m.sql")
    twin = PlannedStep(index=1, script=SCRIPT, statements=_spans(), file="m.sql")

    assert step == twin
    assert hash(step) == hash(twin)
    assert step != dataclasses.replace(step, index=2)
    assert repr(step) == (
        f"PlannedStep(index=1, script={SCRIPT!r}, statements=("
        "PlannedStatement(text='CREATE TABLE a (x int)', line=1, data=None), "
        "PlannedStatement(text='CREATE INDEX i ON a (x)', line=3, data=None)), file='m.sql')"
    )
    assert [f.name for f in dataclasses.fields(PlannedStep)] == [
        "index",
        "script",
        "statements",
        "file",
    ]
    assert pickle.loads(pickle.dumps(step)) == step  # noqa: S301 - our own bytes
    assert dataclasses.replace(step, file=None).statements == step.statements
    with pytest.raises(dataclasses.FrozenInstanceError):
        step.statements = ()  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del step.statements  # type: ignore[misc]


@pytest.mark.parametrize(
    "statements",
    [
        (PlannedStatement("COPY t FROM stdin", 1, "1\n2\n"),),  # COPY data
        (PlannedStatement("SELECT 1", 1),),  # not a span of the step's script
        (),
    ],
    ids=["copy-data", "other-text", "none"],
)
def test_planned_step__not_spans_of_its_script__kept_as_given(
    statements: tuple[PlannedStatement, ...],
) -> None:
    step = PlannedStep(index=1, script=SCRIPT, statements=statements)

    assert _STATEMENTS_SLOT.__get__(step, PlannedStep) is statements
    assert step.statements is statements


def test_planned_step__callable__keeps_no_statements() -> None:
    def migrate(conn: object) -> None:
        del conn

    step = PlannedStep(index=1, script=migrate, statements=())
    assert step.is_callable
    assert step.statements == ()
