"""Callbacks: user functions told about committed changes.

They run after the change is committed, so a failing callback is logged and never undoes
anything; the ``timescape`` logger hears the same events.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from timescape._log import LazyLogger
from timescape.errors import InputError

__all__ = ["CALLBACKS", "Callbacks"]

logger = LazyLogger("timescape")

CALLBACKS = (
    "on_schema_applied",
    "on_schema_rolled_back",
    "on_schema_failed",
    "on_schema_contract",
    "on_version_activated",
    "on_version_deactivated",
    "on_version_drained",
)


class Callbacks:
    """The callback registry behind :class:`~timescape.Timescape`'s ``on_*`` methods."""

    def __init__(self) -> None:
        """Start with no callbacks."""
        self._callbacks: dict[str, list[Callable[..., Any]]] = {name: [] for name in CALLBACKS}

    def on(self, event: str, callback: Callable[..., Any]) -> Callable[..., Any]:
        """Register a callback; usable as a decorator."""
        if event not in self._callbacks:
            raise InputError(f"unknown callback {event!r}; expected one of {', '.join(CALLBACKS)}")
        self._callbacks[event].append(callback)
        return callback

    def emit(self, event: str, payload: dict[str, Any]) -> None:
        """Tell the ``timescape`` logger and each callback of ``event`` (one raising is logged)."""
        subject = payload.get("schema") or payload.get("tsv") or payload.get("tsvs")
        logger.info("%s %s", event.removeprefix("on_"), subject)
        for callback in self._callbacks.get(event, ()):
            try:
                callback(**payload)
            except Exception:
                logger.exception("callback %s raised; the change was already committed", event)
