"""The serving core: each request's version decided from memory; the instance kept known.

Every web integration (the ASGI middleware, and the framework adapters built on it) wraps one
:class:`ServingInstance`:

1. :meth:`ServingInstance.open` (blocking, call it off the event loop) registers the process as a
   serving instance, loads the routing table, and starts two daemon threads: a *heartbeat* that
   reports the loaded state generation and the in-flight requests per version, and a *change
   listener* that reloads the table as soon as the state changes (PostgreSQL ``LISTEN``, else a
   cheap generation probe every ``poll_interval``) and then heartbeats at once.
2. Per request, :meth:`ServingInstance.admit` returns a frozen :class:`Decision` (serve this TSV,
   404 for an unknown ref, 410 Gone for a retiring or retired version) and, when it serves,
   counts the request as in flight until :meth:`ServingInstance.release`. Both are dict lookups
   under a lock held for microseconds: no I/O, no blocking.
3. :meth:`ServingInstance.close` stops the threads and unregisters.

Why the in-flight count matters: ``timescape version deactivate`` marks a version *retiring*, then
waits until every live instance has loaded that generation and finished its requests on the
version before it rolls the schema back (the drain). The table swap and the in-flight counters
share one lock, so a heartbeat never reports a generation whose table a request has not seen yet,
and a request admitted on the old table is counted before that heartbeat is sent.

Added in 0.2.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Self

from timescape._log import LazyLogger
from timescape.errors import InputError, StateError, TimescapeError
from timescape.hotpath import View
from timescape.lifecycle import AutoRetirer
from timescape.metrics import NULL_RECORDER, Recorder, latest_change
from timescape.model.usage import LifecycleSettings
from timescape.web._propagation import Propagation
from timescape.web.routing import Decision, Outcome, RoutingTable, build_table

if TYPE_CHECKING:
    from timescape.manager import Timescape

__all__ = ["Decision", "Outcome", "ServingInstance"]

logger = LazyLogger("timescape.serving")

DEFAULT_FLUSH_INTERVAL = 5.0


@dataclass(slots=True)
class _Counters:
    """In-flight requests per TSV, guarded by :attr:`ServingInstance._lock`."""

    in_flight: dict[str, int] = field(default_factory=dict)


class ServingInstance:
    """One serving process: routing table in memory, registration, heartbeat, change listener.

    Thread-safe. Create one per process and facade; frameworks call :meth:`open` at start-up
    (off the event loop), :meth:`admit`/:meth:`release` (or :meth:`request`) per request, and
    :meth:`close` at shutdown.
    """

    def __init__(
        self,
        timescape: Timescape,
        *,
        heartbeat_interval: float | None = None,
        poll_interval: float | None = None,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL,
        listen: bool = True,
        register: bool = True,
        count_requests: bool = True,
        label: str | None = None,
        recorder: Recorder | None = None,
        lifecycle: LifecycleSettings | None = None,
    ) -> None:
        """Configure; nothing connects until :meth:`open`.

        Args:
            timescape: The facade, its definitions registered.
            heartbeat_interval: Seconds between heartbeats (default: the project's
                ``[database] heartbeat_interval``, else 2).
            poll_interval: Seconds between change probes when no notification connection is up
                (default: the project's ``[database] poll_interval``, else 0.5).
            flush_interval: Seconds between writes of the request counters.
            listen: Use PostgreSQL ``LISTEN`` where available (else poll only).
            register: Register as a serving instance (False: route only, never drained for).
            count_requests: Count requests per version (flushed every ``flush_interval``).
            label: A name shown by ``timescape instances`` (default: the command line, e.g.
                ``uvicorn app:app --port 8001``, cut to 100 characters).
            recorder: Told of requests, 404/410 answers, refresh lag and the instance count
                (a :class:`timescape.metrics.Metrics`; default: records nothing).
            lifecycle: ``[lifecycle]`` settings (default: the facade's); with ``auto_retire``
                on, a thread retires cold versions (:class:`timescape.lifecycle.AutoRetirer`).

        Raises:
            InputError: On a non-positive interval.
        """
        self.timescape = timescape
        settings = timescape.serving
        self.heartbeat_interval = _positive(
            "heartbeat_interval",
            settings.heartbeat_interval if heartbeat_interval is None else heartbeat_interval,
        )
        self.poll_interval = _positive(
            "poll_interval", settings.poll_interval if poll_interval is None else poll_interval
        )
        self.flush_interval = _positive("flush_interval", flush_interval)
        self.listen = listen
        self.register = register
        self.count_requests = count_requests
        self.label = label or _command_line()
        self._lock = threading.Lock()
        self._open_lock = threading.Lock()
        self._table: RoutingTable | None = None
        self._counters = _Counters()
        self._instance_id: str | None = None
        self._propagation: Propagation | None = None
        self.recorder: Recorder = recorder or NULL_RECORDER
        self._changed_at: datetime | None = None
        self._retirer = AutoRetirer(timescape, lifecycle or timescape.lifecycle)
        self.heartbeats_sent = 0
        """Heartbeats written since this object was made (the heartbeat's cost, for metrics)."""

    # -- life cycle (blocking; off the event loop) ---------------------------------------------

    def open(self) -> None:
        """Register, load the routing table and start the heartbeat and change threads.

        Registration comes first: a deactivation whose drain began before it committed has
        marked its version retiring before this instance reads the state, and one that begins
        after it waits for this instance's heartbeat. Idempotent.

        Raises:
            TimescapeError: When the database cannot be reached or the state is unreadable.
        """
        with self._open_lock:
            if self._propagation is not None:
                return
            if self.register:
                self._instance_id = _facade(self.timescape).register(label=self.label)
            try:
                self.reload()
                propagation = Propagation(
                    self.timescape,
                    reload=self.reload,
                    heartbeat=self.heartbeat,
                    flush=self._flush,
                    heartbeat_interval=self.heartbeat_interval,
                    poll_interval=self.poll_interval,
                    flush_interval=self.flush_interval,
                    listen=self.listen,
                )
                self.heartbeat()
                propagation.start()
            except BaseException:
                self._unregister()
                raise
            self._propagation = propagation
            self._retirer.start()

    def close(self) -> None:
        """Stop the threads, flush the request counters and unregister (best effort; idempotent)."""
        with self._open_lock:
            propagation, self._propagation = self._propagation, None
        self._retirer.stop()
        if propagation is not None:
            propagation.stop()
        with contextlib.suppress(TimescapeError):
            self._flush()
        self._unregister()

    def __enter__(self) -> Self:
        """Open; the instance is closed on exit."""
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        """Close."""
        self.close()

    @property
    def is_open(self) -> bool:
        """True between :meth:`open` and :meth:`close`."""
        return self._propagation is not None

    @property
    def instance_id(self) -> str | None:
        """The id this process is registered under (None before :meth:`open` or unregistered)."""
        return self._instance_id

    @property
    def generation(self) -> int:
        """The state generation of the routing table in use (-1 before the first load)."""
        table = self._table
        return -1 if table is None else table.generation

    @property
    def propagation_mode(self) -> str:
        """``notify`` while a notification connection is up, ``poll`` otherwise, ``closed``."""
        propagation = self._propagation
        return "closed" if propagation is None else propagation.mode

    @property
    def listener_connection_id(self) -> int | None:
        """The server id of the notification session, if one is up (for operators and tests)."""
        propagation = self._propagation
        return None if propagation is None else propagation.listener_connection_id

    # -- background work (blocking; called from the threads) -----------------------------------

    def reload(self) -> bool:
        """Re-read the state if it changed and swap in a new routing table.

        Returns:
            True when the table changed.

        Raises:
            TimescapeError: When the state cannot be read (the old table stays in use).
        """
        facade = _facade(self.timescape)
        current = self._table
        if current is not None and facade.probe() == current.generation:
            return False
        view = facade.load_view()
        if current is not None and view.generation == current.generation:
            return False
        table = build_table(view)
        with self._lock:
            self._table = table
        if self.recorder is not NULL_RECORDER:
            self._record_lag(view)
        return True

    def _record_lag(self, view: View) -> None:
        """Record how long ago the newest change in ``view`` was committed (not on first load)."""
        changed = latest_change(view.snapshot)
        previous, self._changed_at = self._changed_at, changed or self._changed_at
        if changed is not None and previous is not None and changed > previous:
            self.recorder.refresh_lag((datetime.now(UTC) - changed).total_seconds())

    def heartbeat(self) -> None:
        """Report the loaded generation and the in-flight requests per version (one write).

        Raises:
            TimescapeError: When the write fails (the caller retries at the next beat).
        """
        instance_id = self._instance_id
        if instance_id is None:
            return
        with self._lock:
            generation = self.generation
            in_flight = dict(self._counters.in_flight)
        _facade(self.timescape).heartbeat(instance_id, generation=generation, in_flight=in_flight)
        self.heartbeats_sent += 1
        if self.recorder is not NULL_RECORDER:
            live = sum(1 for i in self.timescape.instances() if not i.is_stale)
            self.recorder.instances(live)

    def _flush(self) -> None:
        if self.count_requests:
            self.timescape.flush_usage()

    def _unregister(self) -> None:
        instance_id, self._instance_id = self._instance_id, None
        if instance_id is not None:
            try:
                _facade(self.timescape).unregister(instance_id)
            except TimescapeError:
                logger.warning("could not unregister serving instance %s", instance_id)

    # -- the request path (memory only) --------------------------------------------------------

    def handler_for(self, path: str) -> str | None:
        """The handler a request path belongs to (longest matching prefix), or None."""
        table = self._table
        return None if table is None else table.handler_for(path)

    def decide(self, handler: str, ref: str | None) -> Decision:
        """Decide how to answer a request for ``ref`` on ``handler``, counting nothing.

        Args:
            handler: The handler (see :meth:`handler_for`).
            ref: The ref the client asked for (TSV, tag, timestamp), or None for the newest.

        Returns:
            The decision.

        Raises:
            StateError: Before :meth:`open` loaded a table.
        """
        return self._table_or_fail().decide(handler, ref)

    def admit(self, handler: str, ref: str | None) -> Decision:
        """Decide, and count a served request as in flight until :meth:`release`.

        Call :meth:`release` with the decision exactly once when the response has finished
        (including a streamed body), whatever the outcome.

        Args:
            handler: The handler.
            ref: The ref asked for, or None.

        Returns:
            The decision.
        """
        table = self._table_or_fail()
        decision = table.decide(handler, ref)
        if not decision.is_served:
            self.recorder.resolve_failure(decision.status, handler)
            return decision
        with self._lock:
            if self._table is not table:  # swapped meanwhile: decide on the new one
                decision = self._table_or_fail().decide(handler, ref)
                if not decision.is_served:
                    self.recorder.resolve_failure(decision.status, handler)
                    return decision
            tsv = str(decision.tsv)
            counts = self._counters.in_flight
            counts[tsv] = counts.get(tsv, 0) + 1
        if self.count_requests:
            self.timescape.record_request(tsv)
        self.recorder.request(tsv, handler)
        return decision

    def release(self, decision: Decision) -> None:
        """End a request admitted by :meth:`admit` (a no-op for one that was not served).

        When the last request on a version that is no longer live ends, the heartbeat thread
        is woken to report it at once, so a drain waiting for it finishes without a beat's delay.
        """
        if not decision.is_served or decision.tsv is None:
            return
        tsv = decision.tsv
        with self._lock:
            counts = self._counters.in_flight
            left = counts.get(tsv, 0) - 1
            if left > 0:
                counts[tsv] = left
                return
            counts.pop(tsv, None)
            table = self._table
            drained = table is not None and not table.is_live(tsv)
        propagation = self._propagation
        if drained and propagation is not None:
            propagation.wake_heartbeat()

    @contextlib.contextmanager
    def request(self, handler: str, ref: str | None) -> Iterator[Decision]:
        """Admit a request for the duration of a ``with`` block (WSGI and sync frameworks).

        Yields:
            The decision; the request is released when the block exits.
        """
        decision = self.admit(handler, ref)
        try:
            yield decision
        finally:
            self.release(decision)

    def in_flight(self) -> dict[str, int]:
        """A copy of the in-flight requests per TSV."""
        with self._lock:
            return dict(self._counters.in_flight)

    def _table_or_fail(self) -> RoutingTable:
        table = self._table
        if table is None:
            raise StateError("the serving instance is not open: call open() at start-up first")
        return table


def _command_line() -> str:
    """What started this process, as an operator recognises it (host and pid are shown apart)."""
    program = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    text = " ".join([program, *sys.argv[1:]])
    return text if len(text) <= 100 else text[:99] + "…"


def _positive(name: str, value: object) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise InputError(f"{name} must be a positive number of seconds, not {value!r}")
    return float(value)


def _facade(timescape: Timescape) -> _FacadeAdapter:
    return _FacadeAdapter(timescape)


class _FacadeAdapter:
    """The facade calls the serving core makes, in one place."""

    __slots__ = ("ts",)

    def __init__(self, ts: Timescape) -> None:
        self.ts = ts

    def register(self, *, label: str) -> str:
        # Generation 0: a drain waits for this instance until its first real heartbeat.
        return self.ts.register_instance(label=label, generation=0)

    def heartbeat(self, instance_id: str, *, generation: int, in_flight: dict[str, int]) -> None:
        self.ts.heartbeat(instance_id, generation=generation, in_flight=in_flight)

    def unregister(self, instance_id: str) -> None:
        self.ts.unregister_instance(instance_id)

    def probe(self) -> int:
        return self.ts.state_generation()

    def load_view(self) -> View:
        self.ts.refresh()
        return self.ts.view()
