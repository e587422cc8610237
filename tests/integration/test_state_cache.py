"""The state store's cached snapshot, rolled forward by its own commits, equals a fresh read.

The cache is what keeps the ten-thousandth activation as cheap as the first (issue 5): after each
committed write the store replays the change on its cached snapshot instead of reloading every
row. These tests pin that the replay is exact, across every writer the facade uses, and that a
rolled-back transaction or another process's write is never mistaken for the cached state.
"""

from __future__ import annotations

import pytest

from tests.dbutil import TestDB
from timescape import MigrationError, Timescape
from timescape.model.state import StateSnapshot


def _same_as_database(ts: Timescape) -> StateSnapshot:
    """Assert the cached snapshot is current (a cache hit) and equal to a full read."""
    store = ts.store
    reloads = store.reloads
    hit = store.read()
    assert store.reloads == reloads, "the generation moved past the rolled-forward cache"
    assert store.read() is hit
    fresh = store.read(use_cache=False)
    assert hit == fresh
    assert hit.live() == fresh.live()
    assert hit.applied() == fresh.applied()
    return fresh


def test_cache__every_writer__rolled_forward_equals_a_fresh_read(db: TestDB) -> None:
    ts = Timescape(db.url)
    ts.add_schema("s1", ["CREATE TABLE items (id INTEGER PRIMARY KEY)"], ["DROP TABLE items"])
    ts.add_schema(
        "s2",
        ["CREATE TABLE tags (id INTEGER PRIMARY KEY)"],
        ["DROP TABLE tags"],
        parent="s1",
        breaking=False,
    )
    v1 = ts.add_version("/api/items", "2025-01-01T00:00:00Z", "s1", tags=["stable"])
    v2 = ts.add_version("/api/items", "2025-02-01T00:00:00Z", "s2")
    v3 = ts.add_version("/api/other", "2025-03-01T00:00:00Z", "s2", tags=["beta"])
    ts.refresh()
    ts.activate(v1)  # bootstrap, sync of every version and tag, apply, activate
    _same_as_database(ts)
    ts.activate(v2)
    _same_as_database(ts)
    ts.activate(v3)
    _same_as_database(ts)
    ts.tag(v2, "stable")  # moves the tag within the handler
    _same_as_database(ts)
    ts.tag(v2, "canary")
    _same_as_database(ts)
    ts.untag("canary", handler="/api/items")
    _same_as_database(ts)
    ts.deactivate(v3)
    ts.deactivate(v2, force=True)  # protected tag
    snap = _same_as_database(ts)
    assert snap.live() == {v1}
    assert snap.applied() == {"s1"}
    ts.rollback_schema("s1", force=True)
    snap = _same_as_database(ts)
    assert not snap.live()
    assert not snap.applied()
    assert ts.resolve("stable", handler="/api/items") == v2
    ts.close()


def test_cache__failed_apply_rolled_back__cache_matches_recorded_failure(db: TestDB) -> None:
    ts = Timescape(db.url)
    ts.add_schema("s1", ["CREATE TABLE items (id INTEGER PRIMARY KEY)"], ["DROP TABLE items"])
    ts.add_schema(
        "bad",
        ["CREATE TABLE broken (id INTEGER PRIMARY KEY)", "INSERT INTO no_such_table VALUES (1)"],
        ["DROP TABLE broken", "SELECT 1"],
        parent="s1",
        breaking=False,
    )
    v1 = ts.add_version("/api/items", "2025-01-01T00:00:00Z", "s1")
    v2 = ts.add_version("/api/items", "2025-02-01T00:00:00Z", "bad")
    ts.activate(v1)
    _same_as_database(ts)
    with pytest.raises(MigrationError):
        ts.activate(v2)
    snap = _same_as_database(ts)
    assert snap.live() == {v1}
    assert str(snap.schemas["bad"].status) == "failed"
    ts.resolve_schema("bad", steps_done=0)
    _same_as_database(ts)
    ts.close()


def test_cache__another_process_writes__reloaded_not_mistaken(db: TestDB) -> None:
    def define(ts: Timescape) -> tuple[str, str]:
        ts.add_schema("s1", ["CREATE TABLE items (id INTEGER PRIMARY KEY)"], ["DROP TABLE items"])
        ts.add_schema(
            "s2",
            ["CREATE TABLE more (id INTEGER PRIMARY KEY)"],
            ["DROP TABLE more"],
            parent="s1",
            breaking=False,
        )
        return (
            ts.add_version("/api/items", "2025-01-01T00:00:00Z", "s1"),
            ts.add_version("/api/items", "2025-02-01T00:00:00Z", "s2"),
        )

    mine, other = Timescape(db.url), Timescape(db.url)
    v1, v2 = define(mine)
    define(other)
    mine.activate(v1)
    before = mine.store.read()
    reloads = mine.store.reloads
    other.activate(v2)  # moves the generation past everything ``mine`` knows
    snap = mine.store.read()
    assert snap is not before
    assert mine.store.reloads == reloads + 1
    assert snap == mine.store.read(use_cache=False)
    assert snap.live() == {v1, v2}
    assert mine.refresh()
    assert mine.is_schema_active("s2")
    mine.close()
    other.close()
