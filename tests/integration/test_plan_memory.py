"""A result the caller keeps holds its plan's statements and notes packed (issue 14: memory).

The benchmark's caller keeps the activation's result while it deactivates, so whatever the result
holds adds to the peak. Each step's statements are kept as offsets and lines of its script and
made when read: after a real activation on each database, no statement object is alive, and the
plan still reads back the exact statements that ran. Notes that are one line per action are made
from the actions when read, and the whole result stays under a byte budget per schema.
"""

from __future__ import annotations

import gc
import tracemalloc
from dataclasses import replace

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


def _chain(ts: Timescape, n: int) -> str:
    """Define a chain of ``n`` schemas and a version on its last one; return the TSV."""
    parent = None
    for i in range(n):
        ts.add_schema(f"s{i:03d}", [_script(i)], [f"DROP TABLE t_{i};"], parent=parent)
        parent = f"s{i:03d}"
    return ts.add_version("/items", "2025-01-01T00:00:00Z", parent or "")


def _alive() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is PlannedStatement)


def test_activate__result_kept__holds_no_statement_objects(db: TestDB) -> None:
    ts = Timescape(db.url)
    tsv = _chain(ts, _N)
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


def test_activate__result_kept__holds_its_notes_as_the_actions_they_name(db: TestDB) -> None:
    # The notes "apply s000: not applied yet" are one line per action: the result keeps the
    # actions, not 40 more strings, and reads back the very same notes.
    ts = Timescape(db.url)
    tsv = _chain(ts, _N)
    try:
        activated = ts.activate(tsv)
        notes = activated.plan.notes
        assert notes == tuple(f"apply s{i:03d}: not applied yet" for i in range(_N))
        gc.collect()
        strings_held = {id(o) for o in gc.get_referents(*gc.get_referents(activated.plan))}
        assert not any(id(note) in strings_held for note in notes)  # made when read
        assert activated.plan == replace(activated.plan)  # same value, whatever is stored
        deactivated = ts.deactivate(tsv)
        assert deactivated.plan.notes == tuple(
            f"rollback s{i:03d}: no live version needs it any more" for i in reversed(range(_N))
        )
    finally:
        ts.close()


def test_activate__result_kept__holds_under_300_bytes_a_schema(db: TestDB) -> None:
    # Measured (the same on each database): 646 bytes a schema with statement objects, 435 with
    # packed statements and one string a note, 351 with the notes made from the actions, and
    # 267 with the outcomes kept as their durations.
    ts = Timescape(db.url)
    n = 200
    tsv = _chain(ts, n)
    try:
        gc.collect()
        tracemalloc.start()
        activated = ts.activate(tsv)
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0]
        del activated
        gc.collect()
        per_schema = (kept - tracemalloc.get_traced_memory()[0]) / n
        tracemalloc.stop()
        assert per_schema < 300, per_schema
    finally:
        tracemalloc.stop()
        ts.close()
