"""The serving core reports to the metrics recorder, and retires cold versions when told to."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from tests.dbutil import TestDB
from timescape import Timescape
from timescape.lifecycle import AUTO_RETIRE_EVENT
from timescape.metrics import Metrics
from timescape.model.usage import LifecycleSettings
from timescape.web.serving import ServingInstance

HANDLER = "/api/items"


def _facade(url: str, lifecycle: LifecycleSettings | None = None) -> Timescape:
    ts = Timescape(url, lifecycle=lifecycle)
    ts.add_schema("s1", ["CREATE TABLE items (id INTEGER PRIMARY KEY)"], ["DROP TABLE items"])
    ts.add_schema("s2", ["CREATE TABLE notes (id INTEGER PRIMARY KEY)"], ["DROP TABLE notes"])
    ts.add_version(HANDLER, "2025-01-01T00:00:00Z", "s1", tags=["v1"])
    ts.add_version(HANDLER, "2025-02-01T00:00:00Z", "s2", tags=["v2"])
    return ts


def _wait_for(check: Callable[[], object], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.02)


@pytest.fixture
def otel() -> Iterator[tuple[MeterProvider, InMemoryMetricReader]]:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    yield provider, reader
    provider.shutdown()


def test_serving_instance__recorder__requests_404_410_lag_and_instances(
    db: TestDB, otel: tuple[MeterProvider, InMemoryMetricReader]
) -> None:
    provider, reader = otel
    admin = _facade(db.url)
    v1, v2 = (v.tsv for v in admin.catalog.versions)
    admin.activate(v1)
    ts = _facade(db.url)
    metrics = Metrics(meter_provider=provider).attach(ts)
    serving = ServingInstance(
        ts, poll_interval=0.05, heartbeat_interval=0.2, flush_interval=60, recorder=metrics
    )
    serving.open()
    try:
        for _ in range(2):
            decision = serving.admit(HANDLER, None)
            assert decision.tsv == v1
            serving.release(decision)
        assert serving.admit(HANDLER, "v9").status == 404
        admin.activate(v2)
        _wait_for(lambda: serving.decide(HANDLER, None).tsv == v2, "the activation reached it")
        admin.deactivate(v1)  # drains this instance, which acknowledges on its own
        _wait_for(lambda: serving.decide(HANDLER, "v1").status == 410, "the retirement")
        assert serving.admit(HANDLER, "v1").status == 410
        _wait_for(lambda: "timescape_instances 1" in metrics.prometheus_text(), "a heartbeat")
    finally:
        serving.close()
        ts.close()
        admin.close()

    text = metrics.prometheus_text()
    assert f'timescape_requests_total{{handler="{HANDLER}",version="{v1}"}} 2' in text
    assert f'timescape_resolve_failures_total{{handler="{HANDLER}",status="404"}} 1' in text
    assert f'timescape_resolve_failures_total{{handler="{HANDLER}",status="410"}} 1' in text
    assert "timescape_view_refresh_lag_seconds_count 0" not in text
    data = reader.get_metrics_data()
    assert data is not None
    names = {m.name: m for r in data.resource_metrics for s in r.scope_metrics for m in s.metrics}
    (lag,) = names["timescape.view.refresh_lag"].data.data_points
    assert lag.count >= 2  # the activation, the retiring mark, the deactivation
    assert 0 <= lag.max < 60  # measured from each change's recorded time
    assert [p.value for p in names["timescape.instances"].data.data_points] == [1]


def test_serving_instances__auto_retire_on__one_instance_retires_the_cold_version(
    db: TestDB,
) -> None:
    settings = LifecycleSettings(auto_retire=True, auto_retire_interval=timedelta(seconds=20))
    admin = _facade(db.url)
    v1, v2 = (v.tsv for v in admin.catalog.versions)
    admin.activate(v1)
    admin.activate(v2)
    old = (datetime.now(UTC) - timedelta(days=40)).isoformat(timespec="milliseconds")
    db.execute("UPDATE timescape_versions SET activated_at = ? WHERE tsv = ?", (old, v1))
    facades = [_facade(db.url, settings) for _ in range(2)]
    instances = [
        ServingInstance(f, poll_interval=0.05, heartbeat_interval=0.2, flush_interval=60)
        for f in facades
    ]
    for instance in instances:
        instance.open()
    try:
        _wait_for(lambda: db.active_versions() == {v2}, "the cold version retired", 30)
        _wait_for(lambda: all(i.decide(HANDLER, "v1").status == 410 for i in instances), "410")
    finally:
        for instance in instances:
            instance.close()
        for facade in facades:
            facade.close()
        admin.close()
    kinds = db.event_kinds()
    assert kinds.count(AUTO_RETIRE_EVENT) == 1
    assert kinds.count("version_deactivated") == 1
    assert "items" not in db.tables()  # s1 rolled back: no live version needs it
    assert "notes" in db.tables()


def test_serving_instance__auto_retire_off__no_thread_no_round(db: TestDB) -> None:
    ts = _facade(db.url)
    v1, v2 = (v.tsv for v in ts.catalog.versions)
    ts.activate(v1)
    ts.activate(v2)
    old = (datetime.now(UTC) - timedelta(days=40)).isoformat(timespec="milliseconds")
    db.execute("UPDATE timescape_versions SET activated_at = ? WHERE tsv = ?", (old, v1))
    serving = ServingInstance(ts, poll_interval=0.05, heartbeat_interval=0.2)
    serving.open()
    try:
        assert not serving._retirer.is_running  # [lifecycle] auto_retire defaults to false
    finally:
        serving.close()
        ts.close()
    assert AUTO_RETIRE_EVENT not in db.event_kinds()
    assert db.active_versions() == {v1, v2}
