"""Metrics: OpenTelemetry instruments (optional) and a Prometheus text exposition (no dependency).

One :class:`Metrics` object records what operators alert on: requests per version, resolve
failures by kind (404 unknown ref, 410 retired version), migration and rollback durations, drain
waits, how far a serving instance's view lags behind the state, and the number of live instances.
It always keeps the Prometheus form in memory (a few dict updates under a lock) and renders it with
:meth:`Metrics.prometheus_text`; given an OpenTelemetry ``MeterProvider`` it also records every
value on real OpenTelemetry instruments. Nothing here imports OpenTelemetry unless a provider is
given (``pip install 'timescape-db[otel]'``), and code that never creates a :class:`Metrics` pays
nothing: the serving core calls a :class:`Recorder`, :data:`NULL_RECORDER` by default.

Names and units (documented in ``docs/metrics.md``)::

    OpenTelemetry                   unit        Prometheus
    timescape.requests              {request}   timescape_requests_total{handler,version}
    timescape.resolve.failures      {request}   timescape_resolve_failures_total{handler,status}
    timescape.migration.duration    s           timescape_migration_duration_seconds{operation}
    timescape.migration.failures    {schema}    timescape_migration_failures_total{operation}
    timescape.drain.wait            s           timescape_drain_wait_seconds{outcome}
    timescape.view.refresh_lag      s           timescape_view_refresh_lag_seconds
    timescape.instances             {instance}  timescape_instances

Added in 0.2.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # OpenTelemetry is an optional extra, imported only when a provider is given
    from datetime import datetime

    from timescape.manager import Timescape
    from timescape.model.state import StateSnapshot

__all__ = [
    "DURATION_BUCKETS",
    "INSTRUMENTS",
    "NULL_RECORDER",
    "PROMETHEUS_CONTENT_TYPE",
    "Instrument",
    "Metrics",
    "NullRecorder",
    "Recorder",
    "latest_change",
    "metrics_asgi_app",
    "metrics_wsgi_app",
]

PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DURATION_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
)
"""Histogram bucket bounds in seconds (Prometheus ``le``; OpenTelemetry explicit buckets)."""


@dataclass(frozen=True, slots=True)
class Instrument:
    """One metric, under both names.

    Attributes:
        otel_name: The OpenTelemetry instrument name.
        prom_name: The Prometheus family name (with ``_total`` / ``_seconds``).
        kind: ``counter``, ``histogram`` or ``gauge``.
        unit: The UCUM unit (``s``, ``{request}``).
        description: What it counts.
    """

    otel_name: str
    prom_name: str
    kind: str
    unit: str
    description: str


REQUESTS = Instrument(
    "timescape.requests",
    "timescape_requests_total",
    "counter",
    "{request}",
    "Requests routed to an API version, per handler and version (TSV).",
)
RESOLVE_FAILURES = Instrument(
    "timescape.resolve.failures",
    "timescape_resolve_failures_total",
    "counter",
    "{request}",
    "Requests whose version could not be served: 404 (unknown ref) or 410 (retired version).",
)
MIGRATION_DURATION = Instrument(
    "timescape.migration.duration",
    "timescape_migration_duration_seconds",
    "histogram",
    "s",
    "Wall time of each schema applied, rolled back or contracted, per operation.",
)
MIGRATION_FAILURES = Instrument(
    "timescape.migration.failures",
    "timescape_migration_failures_total",
    "counter",
    "{schema}",
    "Schemas whose apply, rollback or contract failed, per operation.",
)
DRAIN_WAIT = Instrument(
    "timescape.drain.wait",
    "timescape_drain_wait_seconds",
    "histogram",
    "s",
    "Time a deactivation waited for serving instances to drain a retiring version, per outcome.",
)
REFRESH_LAG = Instrument(
    "timescape.view.refresh_lag",
    "timescape_view_refresh_lag_seconds",
    "histogram",
    "s",
    "Time from a state change being committed to this instance serving from it.",
)
INSTANCES = Instrument(
    "timescape.instances",
    "timescape_instances",
    "gauge",
    "{instance}",
    "Serving instances with a fresh heartbeat, as last seen by this process.",
)
INSTRUMENTS = (
    REQUESTS,
    RESOLVE_FAILURES,
    MIGRATION_DURATION,
    MIGRATION_FAILURES,
    DRAIN_WAIT,
    REFRESH_LAG,
    INSTANCES,
)
"""Every instrument, in the order of the exposition."""

_OPERATIONS = {
    "on_schema_applied": "apply",
    "on_schema_rolled_back": "rollback",
    "on_schema_contract": "contract",
}


class Recorder(Protocol):
    """What the serving core and the drain call; :class:`Metrics` and :class:`NullRecorder` are.

    Every method is cheap and never raises: they run on the request path or after a commit.
    """

    def request(self, tsv: str, handler: str) -> None:
        """Count one request routed to ``tsv``."""

    def resolve_failure(self, status: int, handler: str) -> None:
        """Count one request answered 404 (unknown ref) or 410 (retired version)."""

    def refresh_lag(self, seconds: float) -> None:
        """Record how long after a state commit this instance started serving from it."""

    def drain_wait(self, seconds: float, *, drained: bool) -> None:
        """Record one drain: how long it waited and whether every instance drained in time."""

    def instances(self, count: int) -> None:
        """Set the number of serving instances with a fresh heartbeat."""


class NullRecorder:
    """A :class:`Recorder` that records nothing (the default: metrics cost nothing when off)."""

    def request(self, tsv: str, handler: str) -> None:
        """Do nothing."""

    def resolve_failure(self, status: int, handler: str) -> None:
        """Do nothing."""

    def refresh_lag(self, seconds: float) -> None:
        """Do nothing."""

    def drain_wait(self, seconds: float, *, drained: bool) -> None:
        """Do nothing."""

    def instances(self, count: int) -> None:
        """Do nothing."""


NULL_RECORDER = NullRecorder()


class _Histogram:
    __slots__ = ("buckets", "count", "sum")

    def __init__(self) -> None:
        self.buckets = [0] * len(DURATION_BUCKETS)
        self.count = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.count += 1
        self.sum += value
        for i, bound in enumerate(DURATION_BUCKETS):
            if value <= bound:
                self.buckets[i] += 1
                break


class Metrics:
    """Records Timescape's metrics for Prometheus, and for OpenTelemetry when given a provider.

    Thread-safe. Attach it to a facade with :meth:`attach` (migration durations and failures come
    from its callbacks) and hand it to the serving core as its recorder (requests, 404/410, refresh
    lag, instances); the drain reports its waits to it.
    """

    def __init__(self, *, meter_provider: Any = None) -> None:
        """Create the instruments.

        Args:
            meter_provider: An OpenTelemetry ``MeterProvider`` to record on too (for example the
                SDK's, with a Prometheus or OTLP reader); None keeps only the Prometheus text and
                imports nothing.
        """
        self._lock = threading.Lock()
        self._counters: dict[str, dict[tuple[tuple[str, str], ...], float]] = {
            i.prom_name: {} for i in INSTRUMENTS if i.kind == "counter"
        }
        self._histograms: dict[str, dict[tuple[tuple[str, str], ...], _Histogram]] = {
            i.prom_name: {} for i in INSTRUMENTS if i.kind == "histogram"
        }
        self._instances: int | None = None
        self._otel: dict[str, Any] = {}
        if meter_provider is not None:
            self._otel = _otel_instruments(meter_provider, lambda: self._instances)
        self._requests = self._counters[REQUESTS.prom_name]
        self._otel_requests = self._otel.get(REQUESTS.otel_name)

    # -- recording ----------------------------------------------------------------------------

    def _count(
        self, instrument: Instrument, labels: Mapping[str, str], otel: Mapping[str, Any]
    ) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            series = self._counters[instrument.prom_name]
            series[key] = series.get(key, 0) + 1
        counter = self._otel.get(instrument.otel_name)
        if counter is not None:
            counter.add(1, otel)

    def _observe(
        self,
        instrument: Instrument,
        value: float,
        labels: Mapping[str, str],
        otel: Mapping[str, Any],
    ) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            series = self._histograms[instrument.prom_name]
            histogram = series.get(key)
            if histogram is None:
                histogram = series[key] = _Histogram()
            histogram.observe(value)
        recorder = self._otel.get(instrument.otel_name)
        if recorder is not None:
            recorder.record(value, otel)

    def request(self, tsv: str, handler: str) -> None:
        """Count one request routed to ``tsv`` (the serving core calls this per request).

        The per-request path: one tuple and one dict update under the lock (about 0.5 us), and
        the OpenTelemetry counter only when a provider was given.
        """
        key = (("handler", handler), ("version", tsv))
        with self._lock:
            series = self._requests
            series[key] = series.get(key, 0) + 1
        counter = self._otel_requests
        if counter is not None:
            counter.add(1, {"timescape.handler": handler, "timescape.version": tsv})

    def resolve_failure(self, status: int, handler: str) -> None:
        """Count one request answered 404 (unknown ref) or 410 (retired version)."""
        self._count(
            RESOLVE_FAILURES,
            {"handler": handler, "status": str(status)},
            {"timescape.handler": handler, "http.response.status_code": status},
        )

    def migration(self, seconds: float, *, operation: str) -> None:
        """Record one schema applied (``apply``), rolled back (``rollback``) or ``contract``."""
        self._observe(
            MIGRATION_DURATION,
            seconds,
            {"operation": operation},
            {"timescape.operation": operation},
        )

    def migration_failure(self, *, operation: str) -> None:
        """Count one schema whose ``apply``, ``rollback`` or ``contract`` failed."""
        self._count(
            MIGRATION_FAILURES, {"operation": operation}, {"timescape.operation": operation}
        )

    def drain_wait(self, seconds: float, *, drained: bool) -> None:
        """Record one drain: how long it waited; ``drained`` False when it timed out."""
        outcome = "drained" if drained else "timeout"
        self._observe(DRAIN_WAIT, seconds, {"outcome": outcome}, {"timescape.outcome": outcome})

    def refresh_lag(self, seconds: float) -> None:
        """Record how long after a state commit this instance started serving from it."""
        self._observe(REFRESH_LAG, max(seconds, 0.0), {}, {})

    def instances(self, count: int) -> None:
        """Set the number of serving instances with a fresh heartbeat."""
        self._instances = count

    # -- hooks --------------------------------------------------------------------------------

    def attach(self, timescape: Timescape) -> Metrics:
        """Record the facade's migration durations, failures and drain waits (its callbacks).

        Callbacks run after each schema commits, so recording never slows or breaks a migration.

        Args:
            timescape: The facade.

        Returns:
            This object, for chaining.
        """
        for event, operation in _OPERATIONS.items():

            def done(*, operation: str = operation, **payload: Any) -> None:
                duration = payload.get("duration_ms")
                if isinstance(duration, int | float):
                    self.migration(duration / 1000, operation=operation)

            timescape.on(event, done)

        def failed(**payload: Any) -> None:
            self.migration_failure(operation=str(payload.get("kind", "apply")))

        timescape.on("on_schema_failed", failed)

        def drained(**payload: Any) -> None:
            waited = payload.get("waited_s")
            if isinstance(waited, int | float):
                self.drain_wait(float(waited), drained=bool(payload.get("drained")))

        timescape.on("on_version_drained", drained)
        return self

    # -- exposition ---------------------------------------------------------------------------

    def prometheus_text(self) -> str:
        """The Prometheus text exposition (format 0.0.4) of every instrument.

        Returns:
            The text, ending with a newline; serve it as :data:`PROMETHEUS_CONTENT_TYPE`.
        """
        lines: list[str] = []
        with self._lock:
            for instrument in INSTRUMENTS:
                name = instrument.prom_name
                kind = instrument.kind
                lines.append(f"# HELP {name} {_escape_help(instrument.description)}")
                lines.append(f"# TYPE {name} {kind}")
                if kind == "counter":
                    for key, value in sorted(self._counters[name].items()):
                        lines.append(f"{name}{_labels(key)} {_number(value)}")
                elif kind == "histogram":
                    for key, histogram in sorted(self._histograms[name].items()):
                        lines.extend(_histogram_lines(name, key, histogram))
                elif self._instances is not None:
                    lines.append(f"{name} {self._instances}")
        return "\n".join(lines) + "\n"


def latest_change(snapshot: StateSnapshot) -> datetime | None:
    """The newest change a snapshot records: (de)activation, retiring mark, schema run.

    The serving core measures its refresh lag as the time from this moment (written by the
    process that committed the change, so hosts' clocks should agree) to serving from the
    snapshot. Changes that carry no time (a tag moved) are not measured.

    Args:
        snapshot: The state just loaded.

    Returns:
        The newest time, or None when the snapshot records none.
    """
    moments = [
        moment
        for row in snapshot.versions.values()
        for moment in (row.activated_at, row.deactivated_at, row.retiring_at)
        if moment is not None
    ]
    moments.extend(
        moment
        for row in snapshot.schemas.values()
        for moment in (row.applied_at, row.rolled_back_at)
        if moment is not None
    )
    return max(moments, default=None)


def _otel_instruments(provider: Any, instances: Callable[[], int | None]) -> dict[str, Any]:
    from opentelemetry.metrics import CallbackOptions, Observation  # noqa: PLC0415 - optional

    from timescape import __version__  # noqa: PLC0415

    meter = provider.get_meter("timescape", __version__)
    made: dict[str, Any] = {}
    for instrument in INSTRUMENTS:
        if instrument.kind == "counter":
            made[instrument.otel_name] = meter.create_counter(
                instrument.otel_name, unit=instrument.unit, description=instrument.description
            )
        elif instrument.kind == "histogram":
            made[instrument.otel_name] = _histogram(meter, instrument)

    def observe(_options: CallbackOptions) -> Iterable[Observation]:
        count = instances()
        return [] if count is None else [Observation(count)]

    made[INSTANCES.otel_name] = meter.create_observable_gauge(
        INSTANCES.otel_name,
        callbacks=[observe],
        unit=INSTANCES.unit,
        description=INSTANCES.description,
    )
    return made


def _histogram(meter: Any, instrument: Instrument) -> Any:
    try:  # explicit_bucket_boundaries_advisory: OpenTelemetry API 1.24 and later
        return meter.create_histogram(
            instrument.otel_name,
            unit=instrument.unit,
            description=instrument.description,
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
        )
    except TypeError:  # pragma: no cover - older API without bucket advice
        return meter.create_histogram(
            instrument.otel_name, unit=instrument.unit, description=instrument.description
        )


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _escape_value(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(key: Sequence[tuple[str, str]], extra: tuple[str, str] | None = None) -> str:
    pairs = [*key, extra] if extra is not None else list(key)
    if not pairs:
        return ""
    return "{" + ",".join(f'{k}="{_escape_value(v)}"' for k, v in pairs) + "}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _histogram_lines(
    name: str, key: tuple[tuple[str, str], ...], histogram: _Histogram
) -> list[str]:
    lines = []
    cumulative = 0
    for bound, count in zip(DURATION_BUCKETS, histogram.buckets, strict=True):
        cumulative += count
        lines.append(f"{name}_bucket{_labels(key, ('le', _number(bound)))} {cumulative}")
    lines.append(f"{name}_bucket{_labels(key, ('le', '+Inf'))} {histogram.count}")
    lines.append(f"{name}_sum{_labels(key)} {_number(histogram.sum)}")
    lines.append(f"{name}_count{_labels(key)} {histogram.count}")
    return lines


def metrics_asgi_app(metrics: Metrics) -> Callable[..., Any]:
    """A tiny ASGI app answering ``GET`` with the Prometheus text (mount it at ``/metrics``).

    Args:
        metrics: The recorder to expose.

    Returns:
        The ASGI application; any other method gets 405.
    """

    async def app(scope: Mapping[str, Any], _receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope.get("method") not in ("GET", "HEAD"):
            await send(
                {"type": "http.response.start", "status": 405, "headers": [(b"allow", b"GET")]}
            )
            await send({"type": "http.response.body", "body": b""})
            return
        body = metrics.prometheus_text().encode()
        headers = [(b"content-type", PROMETHEUS_CONTENT_TYPE.encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )

    return app


def metrics_wsgi_app(metrics: Metrics) -> Callable[..., Iterable[bytes]]:
    """A tiny WSGI app answering ``GET`` with the Prometheus text.

    Args:
        metrics: The recorder to expose.

    Returns:
        The WSGI application; any other method gets 405.
    """

    def app(environ: Mapping[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            start_response("405 Method Not Allowed", [("Allow", "GET")])
            return [b""]
        body = metrics.prometheus_text().encode()
        start_response("200 OK", [("Content-Type", PROMETHEUS_CONTENT_TYPE)])
        return [b"" if environ.get("REQUEST_METHOD") == "HEAD" else body]

    return app
