"""Serving instances and retiring versions through the Python API, on every database.

Instances here are facades in the test process; the drain is driven through its ``progress``
callback (called between two looks at the instances table), so every step is deterministic.
Real processes, kill -9 and races are in ``tests/reliability/test_t45_t49_drain.py``.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pytest

from tests.dbutil import TestDB
from timescape import Timescape
from timescape.errors import (
    DrainTimeoutError,
    InputError,
    RetirementCancelledError,
    UnknownRefError,
)
from timescape.model.instance import InstanceInfo
from timescape.store.state import FORMAT_VERSION


def _facade(db: TestDB, **options: Any) -> Timescape:
    ts = Timescape(db.url, infer_compatibility=False, **options)
    ts.add_schema("s1", ["CREATE TABLE items (id INTEGER PRIMARY KEY)"], ["DROP TABLE items"])
    ts.add_schema(
        "s2",
        ["CREATE TABLE extras (id INTEGER PRIMARY KEY)"],
        ["DROP TABLE extras"],
        parent="s1",
        compatible_with=["s1"],
    )
    ts.add_version("/api/items", "2024-01-01T00:00:00Z", "s1", tags=("v1",))
    ts.add_version("/api/items", "2024-02-01T00:00:00Z", "s2", tags=("v2",))
    return ts


def _live_pair(db: TestDB, **options: Any) -> tuple[Timescape, str, str]:
    ts = _facade(db, **options)
    ts.activate("v1")
    ts.activate("v2")
    return ts, ts.resolve("v1"), ts.resolve("v2")


def _retiring(db: TestDB, tsv: str) -> Any:
    return db.query("SELECT retiring_generation FROM timescape_versions WHERE tsv = ?", (tsv,))[0][0]


def test_register_heartbeat_unregister__rows_follow(db: TestDB) -> None:
    ts = _facade(db, heartbeat_interval=1.0)
    instance = ts.register_instance(label="web 1")
    [info] = ts.instances()
    assert info.id == instance
    assert info.label == "web 1"
    assert info.generation == 0
    assert info.in_flight == {}
    assert info.stale_after_s == 3.0
    assert not info.is_stale
    ts.heartbeat(instance, generation=7, in_flight={"tsv:1-items-001": 2, "tsv:2-items-002": 0})
    [info] = ts.instances()
    assert info.generation == 7
    assert info.in_flight == {"tsv:1-items-001": 2}
    stored = db.query("SELECT in_flight, stale_after_ms FROM timescape_instances")
    assert json.loads(stored[0][0]) == {"tsv:1-items-001": 2}
    assert int(stored[0][1]) == 3000
    ts.unregister_instance(instance)
    assert ts.instances() == []
    assert db.count("timescape_instances") == 0
    ts.close()


def test_register__before_any_migration__creates_only_its_table(db: TestDB) -> None:
    ts = _facade(db)
    ts.register_instance()
    assert "timescape_instances" in db.tables()
    assert "timescape_meta" not in db.tables()
    # The state bootstraps around it later, as usual.
    ts.activate("v1")
    assert {"timescape_meta", "timescape_versions"} <= db.tables()
    assert len(ts.instances()) == 1
    ts.close()


def test_heartbeat__while_another_process_holds_the_lock__goes_through(db: TestDB) -> None:
    holder, _, _ = _live_pair(db)
    holder.backend.acquire_lock()
    try:
        server = _facade(db)
        instance = server.register_instance()
        server.heartbeat(instance, generation=3, in_flight={})
        assert [i.generation for i in server.instances()] == [3]
        server.close()
    finally:
        holder.backend.release_lock()
        holder.close()


def test_stale_instance__flagged__pruned__reinserted_by_its_next_heartbeat(db: TestDB) -> None:
    ts = _facade(db, heartbeat_interval=0.05, stale_after=0.2)
    gone = ts.register_instance(label="gone")
    time.sleep(0.4)
    [info] = ts.instances()
    assert info.is_stale
    assert info.age_s > 0.2
    other = ts.register_instance(label="other")  # registering prunes the stale row
    assert [i.id for i in ts.instances()] == [other]
    ts.heartbeat(gone, generation=1, in_flight={})  # it was only slow: its row comes back
    assert {i.id for i in ts.instances()} == {gone, other}
    assert {i.label for i in ts.instances()} == {"gone", "other"}
    ts.close()


def test_state_generation__moves_with_another_process_s_change(db: TestDB) -> None:
    writer, _, v2 = _live_pair(db)
    reader = _facade(db)
    before = reader.state_generation()
    assert before == reader.state_generation()
    assert reader.view_generation() == before
    writer.deactivate(v2)
    after = reader.state_generation()
    assert after > before
    assert reader.view_generation() == before  # the view moves only with refresh
    assert reader.refresh()
    assert reader.view_generation() == after
    writer.close()
    reader.close()


@pytest.mark.dialects("postgresql")
def test_notify__sent_with_each_state_change__payload_is_the_generation(db: TestDB) -> None:
    import psycopg  # noqa: PLC0415 - PostgreSQL only

    ts = _facade(db)
    ts.activate("v1")
    channel = ts.notification_channel
    assert channel == "timescape_changes"
    with psycopg.connect(db.url, autocommit=True) as listener:
        listener.execute(f"LISTEN {channel}")
        ts.activate("v2")
        generation = ts.state_generation()
        payloads: list[int] = []
        for note in listener.notifies(timeout=5):
            payloads.append(int(note.payload))
            if payloads[-1] == generation:
                break
    # One per committed state transaction (the schema, then the version), in commit order.
    assert payloads
    assert payloads == sorted(set(payloads))
    assert payloads[-1] == generation
    ts.close()


@pytest.mark.dialects("sqlite", "mysql")
def test_notification_channel__none_without_notify(db: TestDB) -> None:
    assert _facade(db).notification_channel is None


def test_deactivate__instance_never_acknowledges__times_out_nothing_rolled_back(
    db: TestDB,
) -> None:
    ts, v1, v2 = _live_pair(db)
    server = _facade(db, stale_after=60)
    instance = server.register_instance(generation=server.state_generation())
    with pytest.raises(DrainTimeoutError) as caught:
        ts.deactivate("v2", drain_timeout=0.3)
    error = caught.value
    assert error.tsvs == [v2]
    assert len(error.holders) == 1
    assert instance[:8] in error.holders[0]
    assert "not yet loaded" in error.holders[0]
    assert error.exit_code == 1
    # Retiring: not routed, its schema kept, the gate still protecting it.
    assert _retiring(db, v2) is not None
    assert db.active_versions() == {v1, v2}
    assert "extras" in db.tables()
    ts.refresh()
    assert ts.version_state(v2) == "retiring"
    assert ts.version_state(v1) == "live"
    assert not ts.is_version_active(v2)
    assert ts.latest_live("/api/items") == v1
    assert ts.live_alternatives("/api/items") == [v1]
    assert ts.resolve("v2") == v2  # a ref still names it; routing asks version_state
    assert [v.status for v in ts.versions() if v.tsv == v2] == ["retiring"]
    report = ts.verify()
    assert report.ok  # a stopped drain is safe, but said
    assert [(p.kind, p.subject) for p in report.problems] == [("retiring", v2)]
    assert ts.schema_usage("s2") == [v2]  # it still holds its schema
    assert [list(s.used_by) for s in ts.schemas() if s.name == "s2"] == [[v2]]
    ts.close()
    server.close()


def test_deactivate__instance_acknowledges_during_drain__rolled_back(db: TestDB) -> None:
    ts, v1, v2 = _live_pair(db)
    server = _facade(db)
    instance = server.register_instance()
    server.refresh()
    server.heartbeat(instance, generation=server.view_generation(), in_flight={v2: 1})
    seen: list[list[tuple[InstanceInfo, str]]] = []

    def progress(_elapsed: float, pending: list[tuple[InstanceInfo, str]]) -> None:
        seen.append(pending)
        # The instance sees the change, routes no more to v2; its last request ends later.
        server.refresh()
        assert server.version_state(v2) == "retiring"
        in_flight = {v2: 1} if len(seen) < 3 else {}
        server.heartbeat(instance, generation=server.view_generation(), in_flight=in_flight)

    result = ts.deactivate("v2", progress=progress)
    assert [p[0][1] for p in seen[:2]] == [f"{v2}: not yet loaded", f"{v2}: 1 in flight"]
    assert result.drain is not None
    assert result.drain.instances == (seen[0][0][0].name,)
    assert [o.schema for o in result.outcomes] == ["s2"]
    assert "extras" not in db.tables()
    assert db.active_versions() == {v1}
    assert _retiring(db, v2) is None
    kinds = db.event_kinds()
    assert kinds.index("version_retiring") < kinds.index("version_drained")
    assert kinds.index("version_drained") < kinds.index("schema_rolled_back")
    ts.close()
    server.close()


def test_no_live_instance__deactivate__one_phase(db: TestDB) -> None:
    ts, v1, _ = _live_pair(db, heartbeat_interval=0.05, stale_after=0.1)
    ts.register_instance()
    time.sleep(0.3)  # stale: gone, not waited for
    result = ts.deactivate("v2")
    assert result.drain is None
    assert "version_retiring" not in db.event_kinds()
    assert db.active_versions() == {v1}
    assert ts.instances() == []  # pruned
    ts.close()


def test_activate__retiring_version__routed_again_and_drain_cancelled(db: TestDB) -> None:
    ts, v1, v2 = _live_pair(db)
    server = _facade(db, stale_after=60)
    server.register_instance()
    with pytest.raises(DrainTimeoutError):
        ts.deactivate("v2", drain_timeout=0.1)
    result = ts.activate("v2")
    assert result.changed
    assert "routed again" in result.plan.notes[0]
    assert _retiring(db, v2) is None
    assert ts.version_state(v2) == "live"
    assert db.active_versions() == {v1, v2}

    def reactivate(_elapsed: float, _pending: object) -> None:
        other = _facade(db)
        other.activate("v2")
        other.close()

    with pytest.raises(RetirementCancelledError):
        ts.deactivate("v2", progress=reactivate, drain_timeout=5)
    assert db.active_versions() == {v1, v2}
    assert "extras" in db.tables()
    ts.close()
    server.close()


def test_no_drain__rolls_back_at_once__forced_in_history(db: TestDB) -> None:
    ts, v1, _ = _live_pair(db)
    server = _facade(db, stale_after=60)
    server.register_instance()
    server.close()
    result = ts.deactivate("v2", drain=False)
    assert result.drain is not None
    assert result.drain.forced
    assert "drain skipped (--no-drain)" in result.plan.forced
    assert db.active_versions() == {v1}
    [event] = [e for e in ts.history() if e.kind == "version_deactivated"]
    assert "drain skipped (--no-drain)" in event.detail["forced"]
    ts.close()


def test_rollback_schema_force__drains_the_versions_it_deactivates(db: TestDB) -> None:
    ts, _, v2 = _live_pair(db)
    server = _facade(db, stale_after=60)
    server.register_instance(generation=server.state_generation())
    with pytest.raises(DrainTimeoutError):
        ts.rollback_schema("s1", force=True, drain_timeout=0.2)
    assert "items" in db.tables()
    retiring = {r[0] for r in db.query(
        "SELECT tsv FROM timescape_versions WHERE retiring_generation IS NOT NULL")}
    assert retiring == set(ts.catalog.tsvs())
    result = ts.rollback_schema("s1", force=True, drain=False)
    assert {o.schema for o in result.outcomes} == {"s1", "s2"}
    assert db.active_versions() == set()
    assert v2 in result.plan.deactivate
    ts.close()
    server.close()


def test_format_1_state__read_as_is__upgraded_by_the_next_locked_run(db: TestDB) -> None:
    ts, v1, v2 = _live_pair(db)
    ts.close()
    # Turn the state back into format 1, as a Timescape before issue 10 left it.
    db.execute("DROP TABLE timescape_instances")
    for column in ("retiring_generation", "retiring_at"):
        db.execute(f"ALTER TABLE timescape_versions DROP COLUMN {column}")
    db.execute("UPDATE timescape_meta SET value = '1' WHERE key_name = 'format_version'")
    reader = _facade(db)
    assert {v.tsv for v in reader.versions() if v.active} == {v1, v2}
    assert reader.instances() == []
    reader.close()
    writer = _facade(db)
    writer.deactivate("v2")
    rows = db.query("SELECT value FROM timescape_meta WHERE key_name = 'format_version'")
    assert rows == [(str(FORMAT_VERSION),)]
    assert "retiring_generation" in db.columns("timescape_versions")
    assert "timescape_instances" in db.tables()
    assert db.active_versions() == {v1}
    writer.close()


def test_serving_settings__invalid__refused() -> None:
    with pytest.raises(InputError, match="stale_after"):
        Timescape("sqlite://", heartbeat_interval=2, stale_after=1)
    with pytest.raises(InputError, match="drain_timeout"):
        Timescape("sqlite://", drain_timeout=0)
    with Timescape("sqlite://") as ts, pytest.raises(UnknownRefError):
        ts.deactivate("nope")


def test_lifecycle_retire_cold__drains_like_deactivate(db: TestDB) -> None:
    from timescape.lifecycle import Lifecycle  # noqa: PLC0415 - the lifecycle layer on top

    ts, v1, v2 = _live_pair(db, drain_timeout=0.2)
    server = _facade(db, stale_after=60)
    instance = server.register_instance(generation=server.state_generation())
    lifecycle = Lifecycle(ts, cold_after=timedelta(0))
    # v1 is cold and not the newest: retired, through the drain, which this instance blocks.
    [blocked] = lifecycle.retire_cold()  # a failed retirement is reported, not raised
    assert isinstance(blocked.error, DrainTimeoutError)
    assert blocked.error.tsvs == [v1]
    assert _retiring(db, v1) is not None
    server.unregister_instance(instance)
    [finished] = lifecycle.retire_cold()  # the retiring version is finished off
    assert finished.result is not None
    assert finished.result.target == v1
    assert db.active_versions() == {v2}
    assert db.event_kinds().count("version_retiring") == 1
    ts.close()
    server.close()


def test_contract_steps__wait_for_the_drain_of_the_last_old_version(db: TestDB) -> None:
    ts = Timescape(db.url, infer_compatibility=False, drain_timeout=0.2)
    ts.add_schema("s1", ["CREATE TABLE items (id INTEGER PRIMARY KEY, price INTEGER)"],
                  ["DROP TABLE items"])
    ts.add_schema(
        "s2",
        ["ALTER TABLE items ADD COLUMN cents INTEGER"],
        ["ALTER TABLE items DROP COLUMN cents"],
        parent="s1",
        compatible_with=["s1"],
        contract=["ALTER TABLE items DROP COLUMN price"],
        contract_rollback=["ALTER TABLE items ADD COLUMN price INTEGER"],
    )
    ts.add_version("/api/items", "2024-01-01T00:00:00Z", "s1", tags=("v1",))
    ts.add_version("/api/items", "2024-02-01T00:00:00Z", "s2", tags=("v2",))
    ts.activate("v1")
    ts.activate("v2")
    server = _facade(db, stale_after=60)
    instance = server.register_instance(generation=server.state_generation())
    with pytest.raises(DrainTimeoutError):
        ts.deactivate("v1")  # v1 still served somewhere: the old shape must stay
    assert "price" in db.columns("items")
    server.heartbeat(instance, generation=server.state_generation(), in_flight={})
    result = ts.deactivate("v1")
    assert [(str(o.kind), o.schema) for o in result.outcomes] == [("contract", "s2")]
    assert "price" not in db.columns("items")
    ts.close()
    server.close()
