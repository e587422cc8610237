"""The serving core against real databases: decisions, in-flight counts, change propagation."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import pytest

from tests.dbutil import TestDB, admin_connection
from timescape import Timescape
from timescape.errors import DrainTimeoutError, InputError, StateError
from timescape.web.serving import ServingInstance

HANDLER = "/api/products"


def make(url: str) -> Timescape:
    ts = Timescape(url)
    ts.add_schema("s1", ["CREATE TABLE products (id INTEGER PRIMARY KEY)"], ["DROP TABLE products"])
    ts.add_schema(
        "s2",
        ["ALTER TABLE products ADD COLUMN price_cents INTEGER"],
        ["ALTER TABLE products DROP COLUMN price_cents"],
        parent="s1",
    )
    ts.add_version(HANDLER, "2025-01-01T00:00:00Z", "s1", tags=["v1"])
    ts.add_version(HANDLER, "2025-02-01T00:00:00Z", "s2", tags=["v2"])
    ts.add_version(HANDLER, "2025-03-01T00:00:00Z", "s2", tags=["v3"])
    return ts


@pytest.fixture
def ts(db: TestDB) -> Iterator[Timescape]:
    facade = make(db.url)
    yield facade
    facade.close()


@pytest.fixture
def serving(ts: Timescape) -> Iterator[ServingInstance]:
    instance = ServingInstance(ts, poll_interval=0.05, heartbeat_interval=0.2, flush_interval=60)
    yield instance
    instance.close()


def wait_for(check: object, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.01)


def test_decide__before_open__state_error(serving: ServingInstance) -> None:
    with pytest.raises(StateError, match="call open"):
        serving.decide(HANDLER, None)


def test_serving__non_positive_interval__input_error(ts: Timescape) -> None:
    with pytest.raises(InputError, match="poll_interval"):
        ServingInstance(ts, poll_interval=0)


def test_decide__live_versions__served_with_tsv_tags_and_schema(
    ts: Timescape, serving: ServingInstance
) -> None:
    v1, v2 = ts.resolve("v1", HANDLER), ts.resolve("v2", HANDLER)
    ts.activate(v1)
    ts.activate(v2)
    serving.open()
    assert serving.handler_for("/api/products/42/") == HANDLER
    assert serving.handler_for("/api/productsX") is None
    latest = serving.decide(HANDLER, None)
    assert (latest.status, latest.tsv, latest.schema, latest.tags) == (200, v2, "s2", ("v2",))
    assert latest.headers == (("X-Timescape-Version", v2),)
    assert serving.decide(HANDLER, "latest").tsv == v2
    pinned = serving.decide(HANDLER, "v1")
    assert (pinned.outcome, pinned.tsv, pinned.schema) == ("serve", v1, "s1")
    assert serving.decide(HANDLER, "2025-01-15T00:00:00Z").tsv == v1
    assert pinned.json_body() == b""


def test_decide__unknown_or_never_live_ref__404_names_known_tags_and_live_versions(
    ts: Timescape, serving: ServingInstance
) -> None:
    v1 = ts.resolve("v1", HANDLER)
    ts.activate(v1)
    serving.open()
    for ref in ("nope", "v3"):
        decision = serving.decide(HANDLER, ref)
        assert (decision.outcome, decision.status) == ("unknown", 404)
        error = decision.body["error"]  # type: ignore[index]
        assert error["known_tags"] == ["v1", "v2", "v3"]
        assert error["alternatives"] == [{"tsv": v1, "tags": ["v1"]}]
        assert error["ref"] == ref
    assert "never been live" in serving.decide(HANDLER, "v3").body["error"]["message"]  # type: ignore[index]


def test_decide__no_live_version__404_for_latest(ts: Timescape, serving: ServingInstance) -> None:
    serving.open()
    decision = serving.decide(HANDLER, None)
    assert decision.status == 404
    assert "no version of it is live" in decision.body["error"]["message"]  # type: ignore[index]


def test_decide__deactivated_version__410_with_alternatives_deprecation_and_sunset(
    ts: Timescape, serving: ServingInstance
) -> None:
    v1, v2 = ts.resolve("v1", HANDLER), ts.resolve("v2", HANDLER)
    ts.activate(v1)
    ts.activate(v2)
    before = datetime.now(UTC).replace(microsecond=0)
    ts.deactivate(v2)
    serving.open()
    decision = serving.decide(HANDLER, "v2")
    assert (decision.outcome, decision.status, decision.tsv) == ("gone", 410, v2)
    error = decision.body["error"]  # type: ignore[index]
    assert error["type"] == "VersionGoneError"
    assert error["state"] == "inactive"
    assert error["alternatives"] == [{"tsv": v1, "tags": ["v1"]}]
    assert v1 in error["message"]
    headers = dict(decision.headers)
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Timescape-Alternatives"] == v1
    deprecated = datetime.fromtimestamp(int(headers["Deprecation"].lstrip("@")), UTC)
    assert before <= deprecated <= datetime.now(UTC)
    assert parsedate_to_datetime(headers["Sunset"]) == deprecated
    assert serving.decide(HANDLER, None).tsv == v1


def test_admit_release__served_request__counted_in_flight_until_released(
    ts: Timescape, serving: ServingInstance
) -> None:
    v1 = ts.resolve("v1", HANDLER)
    ts.activate(v1)
    serving.open()
    first = serving.admit(HANDLER, "v1")
    with serving.request(HANDLER, None) as second:
        assert second.tsv == v1
        assert serving.in_flight() == {v1: 2}
    assert serving.in_flight() == {v1: 1}
    refused = serving.admit(HANDLER, "v2")
    assert refused.status == 404
    serving.release(refused)
    serving.release(first)
    assert serving.in_flight() == {}


def test_open__change_by_another_process__routed_without_refresh_calls(
    db: TestDB, ts: Timescape, serving: ServingInstance
) -> None:
    serving.open()
    assert serving.decide(HANDLER, "v1").status == 404
    other = make(db.url)
    try:
        other.activate("v1", handler=HANDLER)
        wait_for(lambda: serving.decide(HANDLER, "v1").is_served, "activation seen")
        other.deactivate("v1", handler=HANDLER)
        wait_for(lambda: serving.decide(HANDLER, "v1").status == 410, "deactivation seen")
    finally:
        other.close()
    assert serving.generation >= 2


def test_close__twice__idempotent_and_stops_threads(ts: Timescape) -> None:
    import threading  # noqa: PLC0415

    before = set(threading.enumerate())
    instance = ServingInstance(ts, poll_interval=0.05)
    instance.open()
    instance.open()
    assert instance.is_open
    started = set(threading.enumerate()) - before
    assert {t.name for t in started} == {"timescape-heartbeat", "timescape-changes"}
    instance.close()
    instance.close()
    assert not instance.is_open
    assert instance.propagation_mode == "closed"
    assert not any(t.is_alive() for t in started)


def test_drain__request_in_flight__version_retiring_410_until_released_then_rolled_back(
    db: TestDB, ts: Timescape, serving: ServingInstance
) -> None:
    v1, v2 = ts.resolve("v1", HANDLER), ts.resolve("v2", HANDLER)
    ts.activate(v1)
    ts.activate(v2)
    serving.open()
    held = serving.admit(HANDLER, "v2")
    assert held.is_served
    control = make(db.url)
    try:
        with pytest.raises(DrainTimeoutError) as caught:
            control.deactivate("v2", handler=HANDLER, drain_timeout=0.6)
        assert serving.instance_id is not None
        assert serving.instance_id[:8] in "; ".join(caught.value.holders)
        # Retiring: no new request gets it, the one in flight goes on, the schema is still there.
        decision = serving.decide(HANDLER, "v2")
        assert (decision.status, decision.body["error"]["state"]) == (410, "retiring")  # type: ignore[index]
        headers = dict(decision.headers)
        assert "Deprecation" in headers
        assert "Sunset" not in headers
        assert "price_cents" in db.columns("products")
        assert serving.in_flight() == {v2: 1}
        serving.release(held)  # wakes the heartbeat at once: the re-run drains immediately
        result = control.deactivate("v2", handler=HANDLER, drain_timeout=10)
        assert result.drain is not None
    finally:
        control.close()
    assert "price_cents" not in db.columns("products")
    wait_for(lambda: dict(serving.decide(HANDLER, "v2").headers).get("Sunset") is not None, "inactive")


def test_heartbeat__registered_instance__reports_generation_and_in_flight(
    db: TestDB, ts: Timescape, serving: ServingInstance
) -> None:
    v1 = ts.resolve("v1", HANDLER)
    ts.activate(v1)
    serving.open()
    control = make(db.url)
    try:
        (info,) = control.instances()
        assert info.id == serving.instance_id
        assert info.label == serving.label
        assert info.generation == serving.generation
        with serving.request(HANDLER, "v1"):
            wait_for(lambda: control.instances()[0].in_flight == {v1: 1}, "in flight reported")
        wait_for(lambda: control.instances()[0].in_flight == {}, "release reported")
        serving.close()
        assert control.instances() == []
    finally:
        control.close()


@pytest.mark.dialects("postgresql")
def test_listen__backend_terminated__converges_by_polling_then_reconnects(
    db: TestDB, ts: Timescape
) -> None:
    # Poll interval long enough that only a notification explains a fast change: 30 s.
    serving = ServingInstance(ts, poll_interval=30, heartbeat_interval=30)
    serving.open()
    control = make(db.url)
    try:
        wait_for(lambda: serving.propagation_mode == "notify", "listening")
        first = serving.listener_connection_id
        assert first is not None
        control.activate("v1", handler=HANDLER)
        wait_for(lambda: serving.decide(HANDLER, "v1").is_served, "notified", timeout=5)
        db.execute("SELECT pg_terminate_backend(?)", (first,))
        wait_for(
            lambda: serving.listener_connection_id not in (None, first), "reconnected", timeout=10
        )
        assert serving.propagation_mode == "notify"
        control.deactivate("v1", handler=HANDLER)
        wait_for(lambda: serving.decide(HANDLER, "v1").status == 410, "notified again", timeout=5)
    finally:
        serving.close()
        control.close()


@pytest.mark.dialects("postgresql")
def test_listen__notification_connection_lost_and_refused__polls_then_reconnects(
    db: TestDB, ts: Timescape
) -> None:
    serving = ServingInstance(ts, poll_interval=0.1, heartbeat_interval=30)
    serving.open()
    control = make(db.url)
    control.instances()  # connected now: the database will refuse new sessions for a while
    try:
        wait_for(lambda: serving.propagation_mode == "notify", "listening")
        with admin_connection("postgresql") as admin:
            admin.cursor().execute(f"ALTER DATABASE {db.name} ALLOW_CONNECTIONS false")
            pid = serving.listener_connection_id
            admin.cursor().execute("SELECT pg_terminate_backend(%s)", (pid,))
        wait_for(lambda: serving.propagation_mode == "poll", "lost")
        control.activate("v1", handler=HANDLER)  # notified to nobody: the listener is gone
        wait_for(lambda: serving.decide(HANDLER, "v1").is_served, "converged by polling")
        assert serving.propagation_mode == "poll"
        with admin_connection("postgresql") as admin:
            admin.cursor().execute(f"ALTER DATABASE {db.name} ALLOW_CONNECTIONS true")
        wait_for(lambda: serving.propagation_mode == "notify", "reconnected", timeout=15)
        control.deactivate("v1", handler=HANDLER)
        wait_for(lambda: serving.decide(HANDLER, "v1").status == 410, "notified again")
    finally:
        with admin_connection("postgresql") as admin:
            admin.cursor().execute(f"ALTER DATABASE {db.name} ALLOW_CONNECTIONS true")
        serving.close()
        control.close()
