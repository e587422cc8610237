"""Metrics read back from a real OpenTelemetry reader and from the Prometheus text exposition."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import httpx
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from tests.dbutil import TestDB
from timescape import MigrationError, Timescape
from timescape.errors import DrainTimeoutError
from timescape.metrics import (
    INSTRUMENTS,
    PROMETHEUS_CONTENT_TYPE,
    Metrics,
    metrics_asgi_app,
    metrics_wsgi_app,
)


def _points(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    data = reader.get_metrics_data()
    assert data is not None
    found: dict[str, list[Any]] = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            assert scope.scope.name == "timescape"
            for metric in scope.metrics:
                found.setdefault(metric.name, []).extend(metric.data.data_points)
                units = {i.otel_name: i.unit for i in INSTRUMENTS}
                assert metric.unit == units[metric.name]
    return found


def _facade(db: TestDB) -> Timescape:
    ts = Timescape(db.url)
    ts.add_schema("s1", ["CREATE TABLE items (id INTEGER PRIMARY KEY)"], ["DROP TABLE items"])
    ts.add_schema("bad", ["CREATE TABLE broken (id INTEGER PRIMARY KEY)", "SELECT * FROM nowhere"])
    ts.add_version("/api/items", "2025-01-01T00:00:00Z", "s1")
    return ts


@pytest.fixture
def otel() -> Iterator[tuple[MeterProvider, InMemoryMetricReader]]:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    yield provider, reader
    provider.shutdown()


def test_metrics__real_migrations_and_serving_calls__read_back_from_otel_and_prometheus(
    db: TestDB, otel: tuple[MeterProvider, InMemoryMetricReader]
) -> None:
    provider, reader = otel
    ts = _facade(db)
    metrics = Metrics(meter_provider=provider).attach(ts)
    tsv = ts.catalog.versions[0].tsv
    ts.activate(tsv)
    ts.deactivate(tsv)
    with pytest.raises(MigrationError):
        ts.apply_schema("bad")
    for _ in range(3):
        metrics.request(tsv, "/api/items")
    metrics.resolve_failure(404, "/api/items")
    metrics.resolve_failure(410, "/api/items")
    metrics.resolve_failure(410, "/api/items")
    metrics.drain_wait(0.2, drained=True)
    metrics.drain_wait(5.0, drained=False)
    metrics.refresh_lag(0.03)
    metrics.instances(2)

    points = _points(reader)
    durations = {
        p.attributes["timescape.operation"]: p for p in points["timescape.migration.duration"]
    }
    assert durations["apply"].count == 1
    assert durations["rollback"].count == 1
    assert durations["apply"].sum >= 0
    failures = points["timescape.migration.failures"]
    assert [(p.attributes["timescape.operation"], p.value) for p in failures] == [("apply", 1)]
    requests = points["timescape.requests"]
    assert [(p.attributes["timescape.version"], p.value) for p in requests] == [(tsv, 3)]
    by_status = {
        p.attributes["http.response.status_code"]: p.value
        for p in points["timescape.resolve.failures"]
    }
    assert by_status == {404: 1, 410: 2}
    drains = {p.attributes["timescape.outcome"]: p for p in points["timescape.drain.wait"]}
    assert drains["drained"].sum == pytest.approx(0.2)
    assert drains["timeout"].count == 1
    assert [p.count for p in points["timescape.view.refresh_lag"]] == [1]
    assert [p.value for p in points["timescape.instances"]] == [2]

    text = metrics.prometheus_text()
    lines = set(text.splitlines())
    assert "# TYPE timescape_requests_total counter" in lines
    assert f'timescape_requests_total{{handler="/api/items",version="{tsv}"}} 3' in lines
    assert 'timescape_resolve_failures_total{handler="/api/items",status="410"} 2' in lines
    assert 'timescape_migration_duration_seconds_count{operation="apply"} 1' in lines
    assert 'timescape_migration_duration_seconds_count{operation="rollback"} 1' in lines
    assert 'timescape_migration_duration_seconds_bucket{operation="apply",le="+Inf"} 1' in lines
    assert 'timescape_migration_failures_total{operation="apply"} 1' in lines
    assert 'timescape_drain_wait_seconds_bucket{outcome="timeout",le="2.5"} 0' in lines
    assert 'timescape_drain_wait_seconds_bucket{outcome="timeout",le="5"} 1' in lines
    assert "timescape_view_refresh_lag_seconds_count 1" in lines
    assert "timescape_instances 2" in lines
    for instrument in INSTRUMENTS:
        assert f"# TYPE {instrument.prom_name} {instrument.kind}" in lines
    ts.close()


def test_prometheus_text__label_values_escaped() -> None:
    metrics = Metrics()
    metrics.request('tsv:1-a"b-001', "/api/a\\b\nc")
    text = metrics.prometheus_text()
    assert 'handler="/api/a\\\\b\\nc",version="tsv:1-a\\"b-001"} 1' in text


def test_metrics__without_provider__never_imports_opentelemetry() -> None:
    code = (
        "import sys\n"
        "from timescape.metrics import Metrics, NULL_RECORDER\n"
        "m = Metrics(); m.request('tsv:1-a-001', '/api/a'); NULL_RECORDER.request('x', 'y')\n"
        "assert 'timescape_requests_total' in m.prometheus_text()\n"
        "print(sorted(n for n in sys.modules if n.startswith('opentelemetry')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]"


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def test_metrics_wsgi_app__real_http_server__get_text_post_405() -> None:
    metrics = Metrics()
    metrics.instances(3)
    server = make_server("127.0.0.1", 0, metrics_wsgi_app(metrics), handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.headers["Content-Type"] == PROMETHEUS_CONTENT_TYPE
            assert "timescape_instances 3" in response.read().decode()
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(url, data=b"", method="POST"), timeout=10)
        assert refused.value.code == 405
        refused.value.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_metrics_asgi_app__get_text_post_405() -> None:
    metrics = Metrics()
    metrics.refresh_lag(0.5)
    transport = httpx.ASGITransport(app=metrics_asgi_app(metrics))

    async def run() -> tuple[httpx.Response, httpx.Response]:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.get("/metrics"), await client.post("/metrics")

    got, posted = asyncio.run(run())
    assert got.status_code == 200
    assert got.headers["content-type"] == PROMETHEUS_CONTENT_TYPE
    assert 'timescape_view_refresh_lag_seconds_bucket{le="0.5"} 1' in got.text
    assert posted.status_code == 405


def test_metrics__real_drains__waits_recorded_drained_and_timeout(
    db: TestDB, otel: tuple[MeterProvider, InMemoryMetricReader]
) -> None:
    provider, reader = otel
    ts = _facade(db)
    ts.add_version("/api/items", "2025-02-01T00:00:00Z", "s1")
    metrics = Metrics(meter_provider=provider).attach(ts)
    v1, v2 = (v.tsv for v in ts.catalog.versions)
    ts.activate(v1)
    ts.activate(v2)
    serving = Timescape(db.url)
    instance = serving.register_instance(label="metrics-test")
    stop = threading.Event()

    def acknowledge() -> None:  # an idle serving instance: heartbeat every generation it sees
        while not stop.is_set():
            serving.heartbeat(instance, generation=serving.state_generation(), in_flight={})
            stop.wait(0.02)

    thread = threading.Thread(target=acknowledge)
    thread.start()
    try:
        result = ts.deactivate(v1)
    finally:
        stop.set()
        thread.join(10)
    assert result.drain is not None
    assert db.active_versions() == {v2}
    # The instance now stops acknowledging: the next drain times out.
    serving.heartbeat(instance, generation=0, in_flight={v2: 1})
    with pytest.raises(DrainTimeoutError):
        ts.deactivate(v2, drain_timeout=0.3)
    serving.unregister_instance(instance)
    serving.close()

    drains = {p.attributes["timescape.outcome"]: p for p in _points(reader)["timescape.drain.wait"]}
    assert drains["drained"].count == 1
    assert drains["timeout"].count == 1
    assert drains["timeout"].sum > 0  # the waited time the DrainTimeoutError reported
    text = metrics.prometheus_text()
    assert 'timescape_drain_wait_seconds_count{outcome="drained"} 1' in text
    assert 'timescape_drain_wait_seconds_count{outcome="timeout"} 1' in text
    ts.close()
