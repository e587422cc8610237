"""A connection opened ahead: the driver connects on a helper thread while the caller goes on.

Why: ``timescape schema list --json`` at ten thousand schemas spent 66 ms of its 570 opening
SQLite (before its first query runs, SQLite parses the ``CREATE`` statement of every table) after
140 ms rebuilding the project from its cache, one after the other on one core (issue 14). Opening
is the driver's work and runs with the GIL released: SQLite's schema parse, a server's handshake
and authentication. So the CLI asks for the connection as soon as it knows the database (from
the project's ``[database]`` table, before the definitions are rebuilt), and a helper thread opens
it on another core meanwhile.

The contract, which keeps this invisible:

- The connection is opened by the backend's own ``_open``, with the same settings, so it is the
  very connection :meth:`Backend.connect` would have opened. It is handed to the first backend
  whose :meth:`~timescape.store.base.Backend.ahead_key` is the same; any other opens its own.
- A failure is kept and raised by that backend's ``connect()``, in the caller's thread, where it
  would have been raised without this (a missing driver included: ``connect`` names the extra).
- Nothing is created ahead: a backend says whether opening may start early
  (:meth:`~timescape.store.base.Backend.may_open_ahead`); a SQLite file that does not exist yet
  is left for the command to create, or not, as before.
- At most one connection is pending per process. One nobody claimed is closed by
  :func:`discard` without waiting for the helper (a server that does not answer keeps no
  command from ending): if the helper is still connecting, it closes what it opens itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from timescape.store.base import Backend

__all__ = ["claim", "discard", "open_ahead", "pending"]


class _Opening:
    """One connection being opened on a helper thread."""

    def __init__(self, backend: Backend) -> None:
        self.key = backend.ahead_key()
        self._open: Callable[[], Any] = backend._open  # noqa: SLF001 - the backend's own opener
        self._close = backend.discard_connection
        self._conn: Any = None
        self._error: BaseException | None = None
        self._abandoned = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="timescape-open-ahead", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            conn = self._open()
        except BaseException as exc:
            self._error = exc
            return
        with self._lock:
            if not self._abandoned:
                self._conn = conn
                return
        self._close(conn)

    def result(self) -> Any:
        """Wait for the helper; the connection, or raise what opening raised."""
        self._thread.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        return self._conn

    def abandon(self) -> None:
        """Close the connection once it is open (now, if it is), without waiting for it."""
        with self._lock:
            self._abandoned = True
            conn, self._conn = self._conn, None
        if conn is not None:
            self._close(conn)


_pending: _Opening | None = None
_guard = threading.Lock()


def open_ahead(backend: Backend) -> bool:
    """Start opening ``backend``'s connection on a helper thread.

    Args:
        backend: A backend configured as the one that will connect; only its settings and its
            ``_open`` are used. It never holds the connection: the claiming backend does.

    Returns:
        Whether opening started: not when the backend says it may not start early, nor when
        another connection is pending already.
    """
    global _pending  # noqa: PLW0603 - one pending connection per process, by design
    if not backend.may_open_ahead():
        return False
    with _guard:
        if _pending is not None:
            return False
        _pending = _Opening(backend)
    return True


def claim(backend: Backend) -> Callable[[], Any] | None:
    """What gives ``backend`` the connection opened ahead for its settings, or None.

    Call the result where the backend would have opened its connection: it waits for the
    helper, then returns the connection or raises what opening raised.
    """
    global _pending  # noqa: PLW0603 - one pending connection per process, by design
    if _pending is None:  # the common case (no CLI, or claimed already): no lock, no key
        return None
    with _guard:
        opening = _pending
        if opening is None or opening.key != backend.ahead_key():
            return None
        _pending = None
    return opening.result


def pending() -> bool:
    """Whether a connection opened ahead waits for its backend."""
    return _pending is not None


def discard() -> None:
    """Close the pending connection nobody claimed, if any; never waits for the helper."""
    global _pending
    with _guard:
        opening, _pending = _pending, None
    if opening is not None:
        opening.abandon()  # its close ignores the driver's errors (Backend.discard_connection)
