"""Loggers that import :mod:`logging` only once a record could go somewhere.

Why: :mod:`logging` and what it imports (``threading``, ``traceback``, ``string``, ``textwrap``)
are about a megabyte of a process's resident memory, a sixth of what Timescape added to one
applying 1,000 schemas (issue 14), while the apply path only asks "is DEBUG on?" per statement
and emits INFO per change. Until something imports :mod:`logging`, no level, handler or filter
can have been set, so the root logger's default level (WARNING) holds and debug and info records
would be dropped: they are dropped here without importing it. A warning or an error imports it
and goes through the real logger, whose last-resort handler prints it to stderr as before; once
:mod:`logging` is imported (by the application, pytest, a driver), every call is the real
logger's.

A program that installs handlers (the CLI's masked stderr handler) need not import :mod:`logging`
up front either: :func:`configure_before_first_record` registers a function that runs once, just
before any lazy logger first reaches the real one, so the handler is in place for the first
record that could be emitted, and a listing that logs nothing never imports :mod:`logging`.
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable

__all__ = ["DEBUG", "INFO", "LazyLogger", "configure_before_first_record"]

DEBUG = 10
"""``logging.DEBUG``, without importing :mod:`logging`."""
INFO = 20
"""``logging.INFO``, likewise."""
_WARNING = 30
_ERROR = 40


class _Deferred:
    """The configuration waiting for the first record that could be emitted, and its lock.

    The lock is held while the configuration runs: a thread logging meanwhile (a served
    dashboard) waits for it, then finds it done. It is re-entrant, so a configuration that
    itself logs goes on instead of waiting for itself.
    """

    __slots__ = ("configure", "lock", "running")

    def __init__(self) -> None:
        self.configure: Callable[[], None] | None = None
        self.lock = threading.RLock()
        self.running = False

    def run(self) -> None:
        """Run the configuration once (every other caller returns once it is done)."""
        with self.lock:
            configure = self.configure
            if configure is None or self.running:  # done already, or asked from inside it
                return
            self.running = True
            try:
                configure()
            finally:
                self.running = False
                if self.configure is configure:  # pending until now: other threads waited
                    self.configure = None


_deferred = _Deferred()


def configure_before_first_record(configure: Callable[[], None] | None) -> None:
    """Run ``configure`` once, just before a lazy logger next reaches the real logger.

    Why: the CLI masks passwords in what it logs with a handler of its own; installing it up front
    imports :mod:`logging` (and ``traceback``, ``textwrap``, ``string``), a few milliseconds of a
    listing's start (issue 14) that logs nothing. Deferred here, the handler is installed before
    the first record that could be emitted, and before any level check once :mod:`logging` is
    imported by anyone, so every record meets the same handlers as if it had been installed first.

    Args:
        configure: The function to run (it may import :mod:`logging`), or None to withdraw the
            one registered before (the CLI does once its command is over).
    """
    _deferred.configure = configure


class LazyLogger:
    """The :class:`logging.Logger` named ``name``, looked up when a record can be emitted.

    Offers the methods Timescape calls (``isEnabledFor``, ``debug``, ``info``, ``warning``,
    ``exception``); the record's source line is the caller's, as with the logger itself.
    """

    __slots__ = ("_logger", "name")

    def __init__(self, name: str) -> None:
        """Name the logger; import nothing.

        Args:
            name: The logger's name (``timescape``, ``timescape.sql``, ...).
        """
        self.name = name
        self._logger: logging.Logger | None = None

    @property
    def logger(self) -> logging.Logger:
        """The real logger (imports :mod:`logging`); looked up once, as at import before."""
        if _deferred.configure is not None:
            _deferred.run()
        logger = self._logger
        if logger is None:
            import logging  # noqa: PLC0415 - the point of this module

            logger = self._logger = logging.getLogger(self.name)
        return logger

    def isEnabledFor(self, level: int) -> bool:  # noqa: N802 - logging.Logger's name
        """Whether a record of ``level`` would be handled (False below WARNING before any setup).

        Args:
            level: A ``logging`` level number.

        Returns:
            What ``logging.getLogger(name).isEnabledFor(level)`` returns.
        """
        logger = self._logger
        # Asked per statement: the common case (nothing set up, nothing pending) first.
        if logger is None or _deferred.configure is not None:
            if level < _WARNING and "logging" not in sys.modules:
                return False
            logger = self.logger
        return logger.isEnabledFor(level)

    def debug(self, msg: str, *args: object, **kwargs: Any) -> None:
        """Log at DEBUG, as :meth:`logging.Logger.debug`."""
        self._log(DEBUG, msg, args, kwargs)

    def info(self, msg: str, *args: object, **kwargs: Any) -> None:
        """Log at INFO, as :meth:`logging.Logger.info`."""
        self._log(INFO, msg, args, kwargs)

    def warning(self, msg: str, *args: object, **kwargs: Any) -> None:
        """Log at WARNING, as :meth:`logging.Logger.warning`."""
        self._log(_WARNING, msg, args, kwargs)

    def exception(self, msg: str, *args: object, **kwargs: Any) -> None:
        """Log at ERROR with the exception being handled, as :meth:`logging.Logger.exception`."""
        kwargs.setdefault("exc_info", True)
        self._log(_ERROR, msg, args, kwargs)

    def _log(self, level: int, msg: str, args: tuple[object, ...], kwargs: dict[str, Any]) -> None:
        if self._logger is None and level < _WARNING and "logging" not in sys.modules:
            return
        logger = self.logger
        if logger.isEnabledFor(level):
            # Skip this method and the public one that called it: the record names the caller.
            kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + 2
            logger.log(level, msg, *args, **kwargs)
