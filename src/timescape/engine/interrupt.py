"""Ctrl-C during a run cancels the running statement on the server, on every database.

Python raises ``KeyboardInterrupt`` only between bytecodes of the main thread. That is too late
or too early for a migration: SQLite runs a statement in C with the main thread blocked (Ctrl-C
was honoured only when the statement ended, 27 s later), and PyMySQL, interrupted inside a socket
read, drops the connection while the server goes on running the statement (issue 11).

While a run executes, :class:`InterruptGuard` replaces the default SIGINT handler:

- the C-level signal handler writes the signal number to a wake-up pipe at once, whatever the
  main thread is doing; a listener thread (one per process) reads it, records the request and
  asks the backend's watchdog to cancel the running migration statement the way
  ``migration_timeout`` does (libpq cancel, ``KILL QUERY`` from a second connection,
  ``sqlite3_interrupt``), which matters where the main thread is blocked in C (SQLite);
- the Python-level handler records the request and asks for the same cancel, but raises
  nothing, so the driver's socket read is retried and the connection stays usable for writing
  the honest outcome;
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

import atexit
import contextlib
import os
import signal
import threading
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from timescape.store.base import Backend

__all__ = ["InterruptGuard"]

# One wake-up channel and one listener thread per process, made on first use: starting and
# joining a thread per run cost 0.4 ms, a fifth of a small SQLite activation. The guard open
# now, if any, is the one the listener acts for.
_lock = threading.Lock()
_channel: _Channel | None = None
_active: InterruptGuard | None = None


class _Channel:
    """Where the C-level handler writes signal numbers, and where the listener reads them.

    A pipe on POSIX: ``import socket`` (with selectors, select and array) cost 0.46 MB of peak
    RSS on SQLite, whose driver does not load it (issue 14). Windows takes only a socket for
    :func:`signal.set_wakeup_fd`, so a socket pair there.
    """

    def __init__(self) -> None:
        """Open the pair; the write end is non-blocking, as set_wakeup_fd requires."""
        self._sockets: tuple[Any, Any] | None = None
        if os.name == "nt":  # pragma: no cover - Windows
            import socket  # noqa: PLC0415 - only where a pipe will not do

            reader, writer = socket.socketpair()
            writer.setblocking(False)  # noqa: FBT003 - set_wakeup_fd requires it
            self._sockets = (reader, writer)
            self._reader, self.writer_fd = reader.fileno(), writer.fileno()
        else:
            self._reader, self.writer_fd = os.pipe()
            os.set_blocking(self.writer_fd, False)

    def read(self) -> bytes:
        """Wait for the next signal numbers (empty at end-of-file)."""
        if self._sockets is not None:  # pragma: no cover - Windows
            return bytes(self._sockets[0].recv(64))
        return os.read(self._reader, 64)

    def close(self) -> None:
        """Close both ends; the listener's blocked read returns end-of-file."""
        if self._sockets is not None:  # pragma: no cover - Windows
            import socket  # noqa: PLC0415 - loaded already

            reader, writer = self._sockets
            with contextlib.suppress(OSError):
                reader.shutdown(socket.SHUT_RDWR)
            writer.close()
            reader.close()
            return
        os.close(self.writer_fd)  # the only write end: the reader sees end-of-file
        os.close(self._reader)


def _wakeup_writer() -> int:
    """The fd the C-level handler writes signal numbers to (made once per process)."""
    global _channel  # noqa: PLW0603 - one channel and listener per process
    if _channel is None:
        _channel = _Channel()
        threading.Thread(
            target=_listen, args=(_channel,), name="timescape-interrupt", daemon=True
        ).start()
        atexit.register(_close_channel)
    return _channel.writer_fd


def _close_channel() -> None:
    """Close the channel at interpreter exit (else it is reported as an unclosed ResourceWarning).

    Closing the write end wakes the listener's read with end-of-file, so the thread returns
    before the channel goes.
    """
    global _channel  # noqa: PLW0603 - one channel and listener per process
    if _channel is None:
        return
    channel = _channel
    _channel = None
    channel.close()


def _listen(channel: _Channel) -> None:
    """Cancel the open guard's statement as soon as a SIGINT's byte arrives.

    A byte left over from a run that ended just as Ctrl-C was pressed may reach the next run
    of the process: that run is interrupted then, which is what the key press asked for.
    """
    while True:
        try:
            data = channel.read()
        except OSError:  # pragma: no cover - the channel lives as long as the process
            return
        if not data:  # end-of-file: the channel was closed at interpreter exit
            return
        if signal.SIGINT not in data:
            continue
        with _lock:
            guard = _active
        if guard is not None:
            guard.requested = True
            guard.backend.interrupt_statement()


class InterruptGuard:
    """Context manager: while open, SIGINT cancels the backend's running migration statement.

    Attributes:
        requested: True once Ctrl-C was pressed while the guard was open.
        backend: The backend whose statement a Ctrl-C cancels.
    """

    def __init__(self, backend: Backend) -> None:
        """Bind to a backend; nothing is installed until the guard is entered."""
        self.backend = backend
        self.requested = False
        self._presses = 0
        self._installed = False
        self._previous_handler: object = None

    def __enter__(self) -> Self:
        """Install the handler and the wake-up fd (main thread, default handler only)."""
        global _active  # noqa: PLW0603
        if threading.current_thread() is not threading.main_thread():
            return self
        if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            return self
        try:
            previous_fd = signal.set_wakeup_fd(_wakeup_writer(), warn_on_full_buffer=False)
        except (ValueError, OSError):
            return self
        if previous_fd != -1:
            # Someone else (an event loop) listens to signals this way: leave it to them.
            signal.set_wakeup_fd(previous_fd)
            return self
        with _lock:
            _active = self
        self._previous_handler = signal.signal(signal.SIGINT, self._on_signal)
        self._installed = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Restore the previous handler and wake-up fd."""
        global _active  # noqa: PLW0603
        if not self._installed:
            return
        signal.signal(signal.SIGINT, self._previous_handler)  # type: ignore[arg-type]
        signal.set_wakeup_fd(-1)
        with _lock:
            if _active is self:
                _active = None
        self._installed = False

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:  # noqa: ARG002
        """The Python-level handler: the first Ctrl-C is a request, the second is final."""
        self._presses += 1
        self.requested = True
        if self._presses > 1:
            raise KeyboardInterrupt
        # Where the main thread runs Python (PostgreSQL, MySQL: a socket wait interrupted and
        # retried), cancel from here too; the watchdog thread does the work.
        self.backend.interrupt_statement()
