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
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import logging

__all__ = ["DEBUG", "INFO", "LazyLogger"]

DEBUG = 10
"""``logging.DEBUG``, without importing :mod:`logging`."""
INFO = 20
"""``logging.INFO``, likewise."""
_WARNING = 30
_ERROR = 40


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
        if logger is None:  # asked per statement: the common case first
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
