"""Ctrl-C during a run cancels the running statement on the server, on every database.

Python raises ``KeyboardInterrupt`` only between bytecodes of the main thread. That is too late
or too early for a migration: SQLite runs a statement in C with the main thread blocked (Ctrl-C
was honoured only when the statement ended, 27 s later), and PyMySQL, interrupted inside a socket
read, drops the connection while the server goes on running the statement (issue 11).

While a run executes, :class:`InterruptGuard` replaces the default SIGINT handler:

- the C-level signal handler writes the signal number to a wake-up socket at once, whatever the
  main thread is doing; a listener thread reads it, records the request and asks the backend's
  watchdog to cancel the running migration statement the way ``migration_timeout`` does (libpq
  cancel, ``KILL QUERY`` from a second connection, ``sqlite3_interrupt``);
- the Python-level handler only records the request, so the driver's read is retried and the
  connection stays usable for writing the honest outcome;
- the executor sees the request after the cancelled statement returns, records the schema
  ``interrupted`` (or ``uncertain``) and raises
  :class:`~timescape.errors.MigrationInterruptedError` (exit 130);
- a second Ctrl-C raises ``KeyboardInterrupt`` at once: the run marker stays, and the next run
  (and every report meanwhile) shows the run as interrupted.

Nothing is installed outside the main thread, nor when the application has its own SIGINT
handler or wake-up fd (an event loop): then Ctrl-C is theirs.

Added in 0.2.
"""

from __future__ import annotations

import contextlib
import select
import signal
import socket
import threading
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:
    from timescape.store.base import Backend

__all__ = ["InterruptGuard"]


class InterruptGuard:
    """Context manager: while open, SIGINT cancels the backend's running migration statement.

    Attributes:
        requested: True once Ctrl-C was pressed while the guard was open.
    """

    def __init__(self, backend: Backend) -> None:
        """Bind to a backend; nothing is installed until the guard is entered."""
        self._backend = backend
        self.requested = False
        self._presses = 0
        self._installed = False
        self._previous_handler: object = None
        self._previous_fd = -1
        self._sockets: tuple[socket.socket, socket.socket] | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Self:
        """Install the handler, the wake-up fd and the listener thread (main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            return self
        if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            return self
        reader, writer = socket.socketpair()
        reader.setblocking(False)  # noqa: FBT003 - the stdlib's signature
        writer.setblocking(False)  # noqa: FBT003
        try:
            previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        except (ValueError, OSError):
            reader.close()
            writer.close()
            return self
        if previous_fd != -1:
            # Someone else (an event loop) listens to signals this way: leave it to them.
            signal.set_wakeup_fd(previous_fd)
            reader.close()
            writer.close()
            return self
        self._sockets = (reader, writer)
        self._previous_handler = signal.signal(signal.SIGINT, self._on_signal)
        self._installed = True
        self._thread = threading.Thread(
            target=self._listen, name="timescape-interrupt", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Restore the previous handler and wake-up fd; stop the listener."""
        if not self._installed or self._sockets is None:
            return
        signal.signal(signal.SIGINT, self._previous_handler)  # type: ignore[arg-type]
        signal.set_wakeup_fd(-1)
        reader, writer = self._sockets
        self._installed = False
        with contextlib.suppress(OSError):
            writer.send(b"\0")  # wakes the listener, which then sees the guard closed
        if self._thread is not None:
            self._thread.join(timeout=2)
        reader.close()
        writer.close()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:  # noqa: ARG002
        """The Python-level handler: the first Ctrl-C is a request, the second is final."""
        self._presses += 1
        self.requested = True
        if self._presses > 1:
            raise KeyboardInterrupt

    def _listen(self) -> None:
        assert self._sockets is not None  # noqa: S101 - set before the thread starts
        reader = self._sockets[0]
        while self._installed:
            with contextlib.suppress(OSError, ValueError):
                ready, _, _ = select.select([reader], [], [])
                if not ready:
                    continue
                data = reader.recv(64)
                if not self._installed or not data:
                    return
                if signal.SIGINT in data:
                    self.requested = True
                    self._backend.interrupt_statement()
