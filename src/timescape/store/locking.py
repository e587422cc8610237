"""Waiting for the Timescape lock: a try-lock polled with backoff, and who holds it.

The dialects differ in how they take the lock (an advisory lock, ``GET_LOCK``, a file lock) but
not in how long to wait for it: every attempt returns at once, so no blocking waiter is ever left
on the server, and when the wait gives up there is nothing to cancel. That policy lives here, once;
the backend keeps only whether it holds the lock, which its connection's lifetime decides.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from timescape._faults import fault_point
from timescape.errors import LockTimeoutError
from timescape.model._record import record

__all__ = ["LockInfo", "wait_for_lock"]

_POLL_START_S = 0.01
_POLL_MAX_S = 0.25


@record
class LockInfo:
    """Who holds the Timescape lock, as far as the server tells.

    Attributes:
        description: One line naming pid/connection, host, application and since when.
    """

    description: str


def wait_for_lock(
    try_lock: Callable[[], bool], *, budget: float, holder: Callable[[], LockInfo | None]
) -> None:
    """Call ``try_lock`` with backoff until it answers True or ``budget`` seconds have passed.

    Args:
        try_lock: One attempt that returns at once: True when it took the lock.
        budget: Seconds to wait.
        holder: Describes the holder, asked only when the wait gives up.

    Raises:
        LockTimeoutError: Naming the holder.
    """
    start = time.monotonic()
    delay = _POLL_START_S
    while True:
        if try_lock():
            return
        if delay == _POLL_START_S:
            fault_point("lock_busy")
        waited = time.monotonic() - start
        if waited >= budget:
            info = holder()
            raise LockTimeoutError(holder=info.description if info else None, waited_s=waited)
        time.sleep(min(delay, max(budget - waited, 0.0)))
        delay = min(delay * 2, _POLL_MAX_S)
