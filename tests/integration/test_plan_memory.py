"""A result the caller keeps holds its plan's statements packed, not as objects (issue 14: memory).

The benchmark's caller keeps the activation's result while it deactivates, so whatever the result
holds adds to the peak. Each step's statements are kept as offsets and lines of its script and
made when read: after a real activation on each database, no statement object is alive, and the
plan still reads back the exact statements that ran.
"""

from __future__ import annotations

import gc

from tests.dbutil import TestDB
from timescape import Timescape
from timescape.model.plan import PlannedStatement

_N = 40


def _script(i: int) -> str:
    return (
        f"CREATE TABLE t_{i} (id INTEGER PRIMARY KEY, name VARCHAR(100));\n"
        f"CREATE INDEX ix_t_{i}_name ON t_{i} (name);\n"
        f"INSERT INTO t_{i} (id, name) VALUES (1, 'row {i}');"
    )


def _alive() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is PlannedStatement)


def test_activate__result_kept__holds_no_statement_objects(db: TestDB) -> None:
    ts = Timescape(db.url)
    parent = None
    for i in range(_N):
        ts.add_schema(f"s{i:03d}", [_script(i)], [f"DROP TABLE t_{i};"], parent=parent)
        parent = f"s{i:03d}"
    tsv = ts.add_version("/items", "2025-01-01T00:00:00Z", parent)
    before = _alive()
    activated = ts.activate(tsv)
    try:
        assert {f"t_{i}" for i in range(_N)} <= db.tables()
        assert _alive() - before == 0  # was 3 a schema: 120 objects held by the result

        # Read back, the plan is the statements that ran, with their lines, in order.
        texts = activated.plan.statements()
        assert len(texts) == 3 * _N
        assert texts[:3] == [line.rstrip(";") for line in _script(0).splitlines()]
        first = activated.plan.actions[0].steps[0]
        assert [s.line for s in first.statements] == [1, 2, 3]
        assert first.statements == first.statements  # made again when read: equal values
        deactivated = ts.deactivate(tsv)
        assert _alive() - before == 0  # neither result keeps any
        assert not {f"t_{i}" for i in range(_N)} & db.tables()
        assert len(deactivated.plan.statements()) == _N
    finally:
        ts.close()
