"""Callbacks: user functions told about committed changes.

They run after the change is committed, so a failing callback is logged and never undoes
anything; the ``timescape`` logger hears the same events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from timescape.errors import InputError

__all__ = ["CALLBACKS", "Callbacks"]

logger = logging.getLogger("timescape")

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
        """Register a callback; usable as a decorator.

        Callbacks run after the change is committed, with keyword arguments (``schema``,
        ``duration_ms``, ``tsv``, ``error``, …). An exception in a callback is logged, never
        raised: the database change has already happened.

        Args:
            event: One of :data:`CALLBACKS`.
            callback: The function.

        Returns:
            The callback.

        Raises:
            InputError: For an unknown event name.
        """
        if event not in self._callbacks:
            raise InputError(f"unknown callback {event!r}; expected one of {', '.join(CALLBACKS)}")
        self._callbacks[event].append(callback)
        return callback

    def on_schema_applied(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        """Register a callback for applied schemas (``schema``, ``duration_ms``)."""
        return self.on("on_schema_applied", callback)

    def on_schema_rolled_back(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        """Register a callback for rolled-back schemas (``schema``, ``duration_ms``)."""
        return self.on("on_schema_rolled_back", callback)

    def on_schema_failed(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        """Register a callback for failed schemas (``schema``, ``error``)."""
        return self.on("on_schema_failed", callback)

    def on_version_activated(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        """Register a callback for activated versions (``tsv``)."""
        return self.on("on_version_activated", callback)

    def on_version_deactivated(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        """Register a callback for deactivated versions (``tsv``)."""
        return self.on("on_version_deactivated", callback)

    def on_version_drained(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        """Register a callback for drains (``tsvs``, ``waited_s``, ``drained``: False on timeout).

        Added in 0.2.
        """
        return self.on("on_version_drained", callback)

    def _emit(self, event: str, payload: dict[str, Any]) -> None:
        subject = payload.get("schema") or payload.get("tsv") or payload.get("tsvs")
        logger.info("%s %s", event.removeprefix("on_"), subject)
        for callback in self._callbacks.get(event, ()):
            try:
                callback(**payload)
            except Exception:
                logger.exception("callback %s raised; the change was already committed", event)
