"""PostgreSQL notifications: a dedicated session that LISTENs, for serving instances (issue 10).

Its own autocommit connection, apart from the backend's (a wait there would stall every state
read). Through a transaction pooler there is no listener: the LISTEN and the wait would land on
different server sessions, so serving instances poll instead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from timescape._log import LazyLogger
from timescape.errors import ConnectionFailedError

__all__ = ["PostgreSQLListener", "listen"]

logger = LazyLogger("timescape")


def listen(
    conn: Any, statement: str, redacted_url: str, describe: Callable[[BaseException], str]
) -> PostgreSQLListener | None:
    """Run ``statement`` (a ``LISTEN``) on ``conn``, a new autocommit connection, and wrap it.

    Args:
        conn: The psycopg connection, opened for this listener alone.
        statement: ``LISTEN`` and the quoted channel.
        redacted_url: The URL for error messages, password removed.
        describe: The backend's one-line description of a driver error.

    Returns:
        The listener (the caller closes it), or None through a connection pooler (the
        connection is closed).

    Raises:
        ConnectionFailedError: If the server refuses the LISTEN or the session is lost.
    """
    try:
        told = int(conn.info.backend_pid)
        server = int(conn.execute("SELECT pg_backend_pid()").fetchone()[0])
        if told != server:
            # A transaction pooler hands each statement to any server session: the LISTEN
            # would land on one session and the wait on another. Poll instead.
            conn.close()
            logger.warning(
                "the connection goes through a pooler (backend pid %d, server pid %d): "
                "no LISTEN, serving instances poll for changes",
                told,
                server,
            )
            return None
        conn.execute(statement)
    except Exception as exc:
        conn.close()
        raise ConnectionFailedError(redacted_url, describe(exc)) from None
    return PostgreSQLListener(conn, redacted_url)


class PostgreSQLListener:
    """One LISTENing session; :meth:`wait` blocks in psycopg's ``notifies()`` (psycopg ≥ 3.2).

    A notification is delivered only while a session listens, so the caller re-reads the state
    after every (re)connect: whatever committed while nobody listened is seen by that read.
    """

    def __init__(self, conn: Any, redacted_url: str) -> None:
        """Wrap an open connection that already listens.

        Args:
            conn: The psycopg connection (autocommit).
            redacted_url: The URL for error messages, password removed.
        """
        self._conn = conn
        self._url = redacted_url
        self._pid = int(conn.info.backend_pid)

    @property
    def connection_id(self) -> int:
        """The listening session's backend pid (``pg_terminate_backend`` takes it)."""
        return self._pid

    def wait(self, timeout: float) -> list[str]:
        """Wait up to ``timeout`` seconds for notifications; return their payloads.

        Returns after the first notification, with any others already queued.

        Raises:
            ConnectionFailedError: When the session was lost (terminated, network, server down).
        """
        import psycopg  # noqa: PLC0415 - loaded already by the connection; kept lazy for import time

        try:
            payloads = [n.payload for n in self._conn.notifies(timeout=timeout, stop_after=1)]
            if payloads:
                payloads.extend(n.payload for n in self._conn.notifies(timeout=0.0))
        except psycopg.Error as exc:
            raise ConnectionFailedError(self._url, f"notification connection lost: {exc}") from exc
        if self._conn.closed or self._conn.broken:
            raise ConnectionFailedError(self._url, "notification connection lost")
        return payloads

    def close(self) -> None:
        """Close the session (idempotent; errors of an already broken one are ignored)."""
        with contextlib.suppress(Exception):
            self._conn.close()
