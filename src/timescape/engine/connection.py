"""The facade's connection: the backend and state store it opens lazily, and their error boundary.

Nothing connects until the first operation needs the database; every part reads the backend
and the state store through one :class:`Connection`, so there is one connection per facade and
one place where a driver error escaping a state read or write becomes a Timescape error.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from timescape.errors import ConnectionFailedError, StateError, TimescapeError
from timescape.store.backends import create_backend
from timescape.store.base import Backend, ErrorKind
from timescape.store.state import StateStore
from timescape.store.urls import DatabaseURL

__all__ = ["Connection"]


class Connection:
    """The backend and state store of one facade, created on first use."""

    def __init__(
        self,
        url: DatabaseURL,
        *,
        lock_timeout: float,
        ddl_lock_timeout: float,
        migration_timeout: float,
        table_prefix: str,
        application_name: str,
    ) -> None:
        """Remember how to connect; nothing connects yet.

        Args:
            url: The database.
            lock_timeout: Seconds to wait for another Timescape process.
            ddl_lock_timeout: Seconds a DDL statement may wait for a table lock.
            migration_timeout: Seconds each schema may take.
            table_prefix: Prefix of the state tables.
            application_name: Name shown to the server.
        """
        self.url = url
        self._lock_timeout = lock_timeout
        self._ddl_lock_timeout = ddl_lock_timeout
        self._migration_timeout = migration_timeout
        self._table_prefix = table_prefix
        self._application_name = application_name
        self._backend: Backend | None = None
        self._store: StateStore | None = None

    @property
    def is_open(self) -> bool:
        """Whether a backend was created (an operation has used the database)."""
        return self._backend is not None

    @property
    def backend(self) -> Backend:
        """The backend (created on first use; it connects lazily)."""
        if self._backend is None:
            self._backend = create_backend(
                self.url,
                lock_timeout=self._lock_timeout,
                ddl_lock_timeout=self._ddl_lock_timeout,
                migration_timeout=self._migration_timeout,
                table_prefix=self._table_prefix,
                application_name=self._application_name,
            )
        return self._backend

    @property
    def store(self) -> StateStore:
        """The state store over the backend."""
        if self._store is None:
            self._store = StateStore(self.backend)
        return self._store

    @property
    def notification_channel(self) -> str | None:
        """The ``LISTEN`` channel of the state changes; None where the backend has no ``NOTIFY``."""
        if self.backend.NOTIFY_SQL is None:
            return None
        return self.store.notification_channel

    def close(self) -> None:
        """Close the backend's connection, if one was opened."""
        if self._backend is not None:
            self._backend.close()

    @contextlib.contextmanager
    def boundary(self) -> Iterator[None]:
        """Translate a driver error escaping a state read or write into a Timescape error.

        Steps have their own, richer translation in the executor; this catches the rest (the run
        marker, bootstrap, tags, reports), so no driver exception ever reaches the caller. Whatever
        the exception, a transaction left open (a failed COMMIT keeps it open, holding SQLite's
        write lock) is rolled back first.

        Yields:
            Nothing; the block runs inside the boundary.

        Raises:
            ConnectionFailedError: When the connection was lost.
            StateError: For any other driver error.
        """
        try:
            yield
        except BaseException as exc:
            backend = self._backend
            if backend is not None and backend.is_connected and backend.in_transaction:
                backend.rollback()
            if isinstance(exc, TimescapeError) or not isinstance(exc, Exception):
                raise
            if backend is None or not backend.is_driver_error(exc):
                raise
            reason = backend.describe_error(exc)
            kind = backend.classify_error(exc)
            if kind == ErrorKind.CONNECTION_LOST:
                backend.drop_broken()
                lost = f"connection lost: {reason}"
                raise ConnectionFailedError(self.url.redacted, lost) from exc
            if kind == ErrorKind.LOCK_NOT_AVAILABLE:
                waited = f"waited {self._ddl_lock_timeout:g} s"
                reason += f" (another connection holds the database; {waited})"
            raise StateError(
                f"reading or writing the Timescape state tables failed: {reason}"
            ) from exc
