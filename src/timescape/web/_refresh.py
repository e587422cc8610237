"""A background thread that keeps a serving process's view current and flushes its counters.

Framework-neutral (WSGI, Django and FastAPI use the same one): requests read only memory, and this
thread is the only place the serving side touches the database, every ``interval`` seconds: one
cheap generation probe (and a view rebuild when it moved), then one write of the request counters.
"""

from __future__ import annotations

import logging
import threading

from timescape.errors import TimescapeError
from timescape.manager import Timescape

__all__ = ["RefreshThread"]

logger = logging.getLogger("timescape.web")


class RefreshThread:
    """Refreshes a facade's in-memory view and flushes request counters in the background."""

    def __init__(self, timescape: Timescape, *, interval: float, count_requests: bool) -> None:
        """Prepare (nothing runs until :meth:`start`).

        Args:
            timescape: The facade.
            interval: Seconds between refreshes.
            count_requests: Flush request counters with each refresh and on stop.
        """
        self.timescape = timescape
        self.interval = interval
        self.count_requests = count_requests
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()

    def start(self) -> None:
        """Start the thread once (later calls do nothing while it runs)."""
        with self._guard:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="timescape-refresh", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.refresh_once()

    def refresh_once(self) -> None:
        """Flush counters and reload the view if the state moved; log, never raise, on failure."""
        try:
            if self.count_requests:
                self.timescape.flush_usage()
            self.timescape.refresh()
        except Exception:
            logger.warning("Timescape refresh failed; serving the last known state", exc_info=True)

    def stop(self, *, timeout: float = 10.0) -> None:
        """Stop the thread and flush the last counters (best effort).

        Args:
            timeout: Seconds to wait for a refresh in progress.
        """
        with self._guard:
            thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None:
            thread.join(timeout)
        if self.count_requests:
            try:
                self.timescape.flush_usage()
            except TimescapeError:
                logger.warning("could not flush request counters on stop", exc_info=True)
