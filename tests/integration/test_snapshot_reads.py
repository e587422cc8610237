"""Reads without the lock, racing another process's bootstrap, see all of the state or none of it.

MariaDB/MySQL refuse to read a table created or renamed after a consistent snapshot began (error
1412), which is exactly what a reader meets when another process bootstraps the state tables while
its snapshot is open: it surfaced as a rare ``StateError`` in the T34 soak. The store repeats such a
read; these tests put the bootstrap inside the reader's open snapshot deterministically.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.dbutil import TestDB
from timescape import Timescape
from timescape.reports import build_schema_infos, build_stats


def _pair(db: TestDB) -> tuple[Timescape, Timescape, str]:
    instances = []
    tsv = ""
    for _ in range(2):
        ts = Timescape(db.url)
        ts.add_schema("s1", ["CREATE TABLE items (id INTEGER PRIMARY KEY)"], ["DROP TABLE items"])
        tsv = ts.add_version("/api/items", "2025-01-01T00:00:00Z", "s1", tags=["stable"])
        instances.append(ts)
    return instances[0], instances[1], tsv


def _bootstrap_inside_first_snapshot(reader: Timescape, work: Callable[[], object]) -> list[int]:
    """Run ``work`` (another instance writing) once, after the reader's snapshot has begun."""
    original = reader.store.tables.present
    calls: list[int] = []

    def present() -> bool:
        if not calls:
            assert reader.backend.in_transaction  # the snapshot transaction is open
            work()
        calls.append(1)
        return original()

    reader.store.tables.present = present  # type: ignore[method-assign]
    return calls


@pytest.mark.parametrize("read", ["read", "read_versions"])
def test_unlocked_read__bootstrap_commits_inside_its_snapshot__sees_the_committed_state(
    db: TestDB, read: str
) -> None:
    reader, writer, tsv = _pair(db)
    try:
        reader.backend.connect()
        calls = _bootstrap_inside_first_snapshot(reader, lambda: writer.activate(tsv))
        snapshot = getattr(reader.store, read)()
        assert calls  # the race really ran inside the read
        assert snapshot.versions[tsv].active
        assert snapshot.tags[("/api/items", "stable")] == tsv
        assert not reader.backend.in_transaction  # the snapshot was closed, not leaked
        assert "items" in db.tables()
    finally:
        reader.close()
        writer.close()


def test_unlocked_read__bootstrap_races_the_facade__no_state_error(db: TestDB) -> None:
    reader, writer, tsv = _pair(db)
    try:
        reader.backend.connect()
        _bootstrap_inside_first_snapshot(reader, lambda: writer.activate(tsv))
        rows = {v.tsv: v for v in reader.versions()}
        assert rows[tsv].active
    finally:
        reader.close()
        writer.close()


def test_reports__fresh_instance__match_a_full_read_without_caching_a_partial_one(
    db: TestDB,
) -> None:
    def define(ts: Timescape) -> tuple[str, str, str]:
        ts.add_schema("s1", ["CREATE TABLE items (id INTEGER PRIMARY KEY)"], ["DROP TABLE items"])
        ts.add_schema(
            "s2",
            ["CREATE TABLE notes (id INTEGER PRIMARY KEY)"],
            ["DROP TABLE notes"],
            parent="s1",
            breaking=False,
        )
        live = ts.add_version("/api/items", "2025-01-01T00:00:00Z", "s1", tags=["stable"])
        later = ts.add_version("/api/items", "2025-02-01T00:00:00Z", "s2")
        other = ts.add_version("/api/other", "2025-03-01T00:00:00Z", "s2")
        return live, later, other

    writer = Timescape(db.url)
    live, later, other = define(writer)
    writer.activate(live)
    writer.activate(other)
    writer.deactivate(other, keep_schema=True)  # a stored, inactive version on an applied schema
    reader = Timescape(db.url)
    define(reader)
    try:
        infos = reader.schemas()
        stats = reader.stats()
        assert reader.store.reloads == 0  # neither report read every version row
        full = reader.store.read(use_cache=False)
        assert len(full.versions) == 3  # the database does hold the inactive ones
        assert infos == build_schema_infos(reader.catalog, full)
        assert stats == build_stats(reader.catalog, full)
        assert {i.name: i.used_by for i in infos} == {"s1": (live,), "s2": ()}
        assert (stats.active_versions, stats.inactive_versions) == (1, 2)
        # Once a full snapshot is cached and current, the reports reuse it.
        assert reader.schemas() == infos
        assert reader.store.reloads == 1
        assert later not in full.live()
    finally:
        reader.close()
        writer.close()
