"""The contract of a notification listener, the push half of how serving instances learn of changes.

A backend that can push state changes (PostgreSQL's ``LISTEN``) hands one out from
:meth:`~timescape.store.base.Backend.open_listener`; the web integrations wait on it instead of
polling. Only the protocol lives here, apart from the backend seam, so that the seam and the
read-only commands, which never listen, do not build it at import.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["Listener"]


class Listener(Protocol):
    """A dedicated connection waiting for state-change notifications (see ``open_listener``)."""

    @property
    def connection_id(self) -> int:
        """The server's id for the listening session (PostgreSQL backend pid)."""
        ...

    def wait(self, timeout: float) -> list[str]:
        """Block up to ``timeout`` seconds; return the payloads received (empty on timeout).

        Raises:
            ConnectionFailedError: When the connection is lost; the caller reconnects.
        """
        ...

    def close(self) -> None:
        """Close the connection (idempotent)."""
        ...
