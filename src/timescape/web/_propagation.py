"""The two background threads of a serving instance: the heartbeat and the change listener.

The change listener reloads the routing table the moment the state changes and heartbeats at once
(the drain protocol: a deactivation waits for every instance to report the new generation). On
PostgreSQL it blocks in ``LISTEN`` on a dedicated connection; every other database, and PostgreSQL
while that connection is down, polls the state generation every ``poll_interval``. A lost
notification connection is reopened with exponential backoff (0.1 s doubling to 5 s), and the
state is re-read after each reconnect because notifications sent while nobody listened are lost.

Both threads are daemons and never raise: a failed database call is logged (once per outage) and
retried on the next turn, while requests go on being answered from the last table loaded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from timescape._log import LazyLogger
from timescape.errors import TimescapeError

if TYPE_CHECKING:
    from timescape.manager import Timescape
    from timescape.store.base import Listener

__all__ = ["Propagation"]

_T = TypeVar("_T")

logger = LazyLogger("timescape.serving")

_WAIT_SLICE = 0.5
"""Longest block in ``LISTEN`` before the thread checks whether it should stop."""
_BACKOFF_FIRST = 0.1
_BACKOFF_MAX = 5.0


class Propagation:
    """Runs the heartbeat and change-listener threads of one serving instance."""

    def __init__(
        self,
        timescape: Timescape,
        *,
        reload: Callable[[], bool],
        heartbeat: Callable[[], None],
        flush: Callable[[], None],
        heartbeat_interval: float,
        poll_interval: float,
        flush_interval: float,
        listen: bool,
    ) -> None:
        """Configure; :meth:`start` starts the threads.

        Args:
            timescape: The facade (its backend opens the notification connection).
            reload: Re-read the state if it changed; True when the routing table changed.
            heartbeat: Send one heartbeat.
            flush: Write the request counters.
            heartbeat_interval: Seconds between heartbeats.
            poll_interval: Seconds between change probes without notifications.
            flush_interval: Seconds between counter flushes.
            listen: Try ``LISTEN`` where the database supports it.
        """
        self._ts = timescape
        self._reload = reload
        self._heartbeat = heartbeat
        self._flush = flush
        self.heartbeat_interval = heartbeat_interval
        self.poll_interval = poll_interval
        self.flush_interval = flush_interval
        self._channel = _channel(timescape) if listen else None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._listener: Listener | None = None
        self._threads: list[threading.Thread] = []
        self._failing: set[str] = set()

    @property
    def mode(self) -> str:
        """``notify`` while the notification connection is up, else ``poll``."""
        return "notify" if self._listener is not None else "poll"

    @property
    def listener_connection_id(self) -> int | None:
        """The notification session's server id, while it is up."""
        listener = self._listener
        return None if listener is None else listener.connection_id

    def start(self) -> None:
        """Start both daemon threads."""
        for name, target in (("heartbeat", self._beat_loop), ("changes", self._change_loop)):
            thread = threading.Thread(target=target, name=f"timescape-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop both threads and wait for them (at most a wait slice plus one database call)."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=_WAIT_SLICE + 10.0)
        self._threads.clear()
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()

    def wake_heartbeat(self) -> None:
        """Ask the heartbeat thread to beat now (memory only; safe on the request path)."""
        self._wake.set()

    # -- heartbeat -----------------------------------------------------------------------------

    def _beat_loop(self) -> None:
        flushed = time.monotonic()
        while not self._stop.is_set():
            self._wake.wait(self.heartbeat_interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            self._guarded("heartbeat", self._heartbeat)
            if time.monotonic() - flushed >= self.flush_interval:
                flushed = time.monotonic()
                self._guarded("request counters", self._flush)

    # -- changes -------------------------------------------------------------------------------

    def _change_loop(self) -> None:
        backoff = _BACKOFF_FIRST
        retry_at = 0.0
        probed = time.monotonic()
        while not self._stop.is_set():
            reconnect = self._channel is not None and self._listener is None
            if reconnect and time.monotonic() >= retry_at:
                if self._connect():
                    backoff = _BACKOFF_FIRST
                    probed = time.monotonic()
                else:
                    retry_at = time.monotonic() + backoff
                    backoff = min(backoff * 2, _BACKOFF_MAX)
            listener = self._listener
            if listener is None:
                # Polling: wake for the next probe, or the next reconnect attempt if sooner.
                next_probe = probed + self.poll_interval
                wake = next_probe if self._channel is None else min(next_probe, retry_at)
                if self._stop.wait(max(0.0, wake - time.monotonic())):
                    return
                if time.monotonic() >= next_probe:
                    probed = time.monotonic()
                    self._changed()
                continue
            try:
                payloads = listener.wait(_WAIT_SLICE)
            except TimescapeError as exc:
                logger.warning("%s; polling until it is back", getattr(exc, "reason", exc))
                self._listener = None
                listener.close()
                retry_at = time.monotonic() + backoff
                backoff = min(backoff * 2, _BACKOFF_MAX)
                probed = time.monotonic()
                self._changed()
                continue
            # A safety probe every heartbeat interval: cheap, and it covers a notification
            # the server could not deliver (a session that was silently cut, for one).
            if payloads or time.monotonic() - probed >= self.heartbeat_interval:
                probed = time.monotonic()
                self._changed()

    def _connect(self) -> bool:
        channel = self._channel
        if channel is None:  # pragma: no cover - checked by the caller
            return False
        try:
            listener = self._ts.backend.open_listener(channel)
        except TimescapeError as exc:
            if "listen" not in self._failing:
                self._failing.add("listen")
                logger.warning("cannot open the notification connection (%s); polling", exc)
            return False
        self._failing.discard("listen")
        if listener is None:  # the database has no notifications: poll for good
            self._channel = None
            return False
        self._listener = listener
        # Anything committed while no session listened was never notified: read it now.
        self._changed()
        return True

    def _changed(self) -> None:
        changed = self._guarded("state reload", self._reload)
        if changed:
            self._guarded("heartbeat", self._heartbeat)

    def _guarded(self, what: str, call: Callable[[], _T]) -> _T | None:
        try:
            result = call()
        except TimescapeError as exc:
            if what not in self._failing:
                self._failing.add(what)
                logger.warning("Timescape %s failed (%s); serving the last known state", what, exc)
            return None
        except Exception:
            # A daemon thread that dies silently would freeze routing; keep it alive and loud.
            logger.exception("Timescape %s failed unexpectedly", what)
            return None
        if what in self._failing:
            self._failing.discard(what)
            logger.info("Timescape %s works again", what)
        return result


def _channel(timescape: Timescape) -> str | None:
    try:
        return timescape.notification_channel
    except TimescapeError:  # pragma: no cover - the channel is derived, no connection needed
        return None
