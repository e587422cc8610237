"""Reports built from definitions and a state snapshot (pure)."""

from __future__ import annotations

import pytest

from timescape.model.catalog import Catalog
from timescape.model.schema import SchemaVersion, Step, checksum
from timescape.model.state import SchemaState, SchemaStatus, StateSnapshot
from timescape.reports import build_schema_infos

_STEPS = [
    Step("CREATE TABLE a (x INT)", "DROP TABLE a"),
    Step("CREATE TABLE b (x INT)", "DROP TABLE b"),
]


def _infos(stored: tuple[str, ...], steps_done: int) -> dict[str, object]:
    schema = SchemaVersion.build("s1", _STEPS)
    row = SchemaState("s1", SchemaStatus.APPLIED, steps_done=steps_done, checksums=stored)
    (info,) = build_schema_infos(Catalog([schema], []), StateSnapshot(schemas={"s1": row}))
    return {"drifted": info.drifted_steps, "sums": info.step_checksums}


@pytest.mark.parametrize(
    ("stored", "steps_done", "drifted"),
    [
        pytest.param((checksum(_STEPS[0].migration),), 1, (), id="same"),
        pytest.param(tuple(checksum(s.migration) for s in _STEPS), 2, (), id="all-same"),
        pytest.param((checksum("CREATE TABLE z (x INT)"),), 1, (1,), id="changed"),
        pytest.param((checksum(_STEPS[0].migration), checksum("x")), 2, (2,), id="second-changed"),
        pytest.param(("sha999-v1:abc",), 1, (), id="unknown-algorithm-not-drift"),
        pytest.param(
            (*(checksum(s.migration) for s in _STEPS), checksum("x")), 3, (3,), id="step-gone"
        ),
    ],
)
def test_build_schema_infos__stored_checksums__drifted_steps(stored, steps_done, drifted):
    infos = _infos(stored, steps_done)

    assert infos["drifted"] == drifted
    assert infos["sums"] == tuple(checksum(s.migration) for s in _STEPS)
