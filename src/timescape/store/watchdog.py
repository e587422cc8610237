"""Cancels a running migration statement on the server once its deadline passes.

A statement stuck on a lock or a long rewrite does not return to Python, so a check in the
executor cannot stop it: a thread of its own has to ask the server to cancel it, through the
dialect's mechanism (libpq cancel, ``KILL QUERY`` from a second connection,
``sqlite3.Connection.interrupt``), and keep asking until the executor notices, so a statement
started in the gap between two checks is cancelled too. The backend owns one, created on the first
:meth:`~timescape.store.base.Backend.arm_timeout`; read-only commands never import this module.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable

__all__ = ["Watchdog"]

_RECANCEL_S = 0.1


class Watchdog:
    """Cancels the running statement on the server once a deadline passes.

    One daemon thread per backend, re-armed per schema. Arming and disarming do not wake the
    thread: it sleeps until the deadline it last saw, and on waking re-reads the current one (a
    later deadline, or none). Only an earlier deadline than the one it sleeps towards needs a
    notify, so thousands of small schemas cost no thread switches. :meth:`disarm` waits for a cancel
    already on its way (MySQL opens a second connection for ``KILL QUERY``), so a cancel can never
    land on a statement the executor starts after disarming.
    """

    def __init__(self, cancel: Callable[[], None]) -> None:
        """Create an idle watchdog.

        Args:
            cancel: Cancels whatever statement runs now on the guarded connection; must be safe
                to call when nothing runs.
        """
        self._cancel = cancel
        # The condition's own lock, entered directly by arm and disarm (they run per step): the
        # condition's ``with`` costs two Python calls to do the same (issue 14).
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._deadline: float | None = None
        self._fired = False
        self._closed = False
        self._cancelling = False
        self._wake_at = math.inf
        self._thread: threading.Thread | None = None

    def arm(self, deadline: float) -> None:
        """Start guarding until ``deadline`` (``time.monotonic()`` seconds)."""
        with self._lock:
            self._deadline = deadline
            self._fired = False
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="timescape-watchdog", daemon=True
                )
                self._thread.start()
            if deadline < self._wake_at:
                self._cond.notify_all()

    def disarm(self) -> bool:
        """Stop guarding; return only once no cancel is in flight.

        Returns:
            True when the deadline passed (the executor must treat the work as timed out, even if
            the statement returned normally: MariaDB's killed ``SLEEP()`` returns 1).
        """
        with self._lock:
            fired = self._fired or (
                self._deadline is not None and time.monotonic() >= self._deadline
            )
            self._deadline = None
            self._fired = False
            while self._cancelling:
                self._cond.wait()
            return fired

    def fire_now(self) -> None:
        """Cancel now, as if the deadline had passed (Ctrl-C); a no-op while disarmed.

        Safe from any thread. Only an armed watchdog cancels, so a request arriving while the
        executor writes its state tables never cancels those writes.
        """
        with self._cond:
            if self._deadline is not None:
                self._deadline = min(self._deadline, time.monotonic())
                self._cond.notify_all()

    @property
    def fired(self) -> bool:
        """True once the current deadline has passed."""
        with self._cond:
            return self._fired

    def close(self) -> None:
        """Stop the thread."""
        with self._cond:
            self._closed = True
            self._deadline = None
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed:
                    if self._deadline is None:
                        self._wake_at = math.inf
                        self._cond.wait()
                        continue
                    remaining = self._deadline - time.monotonic()
                    if remaining <= 0:
                        self._fired = True
                        break
                    self._wake_at = self._deadline
                    self._cond.wait(remaining)
                if self._closed:
                    return
                self._cancelling = True
            try:
                with contextlib.suppress(Exception):
                    self._cancel()
            finally:
                with self._cond:
                    self._cancelling = False
                    self._cond.notify_all()
            with self._cond:
                if self._deadline is not None and not self._closed:
                    self._wake_at = time.monotonic() + _RECANCEL_S
                    self._cond.wait(_RECANCEL_S)
