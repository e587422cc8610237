"""The PostgreSQL notification listener: a dedicated LISTEN session, and what happens when it dies."""

from __future__ import annotations

import time

import pytest

from tests.dbutil import TestDB, admin_connection
from timescape.errors import ConnectionFailedError
from timescape.store.backends.postgresql import PostgreSQLBackend
from timescape.store.urls import parse_url

pytestmark = pytest.mark.dialects("postgresql")


def _backend(db: TestDB) -> PostgreSQLBackend:
    return PostgreSQLBackend(parse_url(db.url))


def test_listener__notify_committed__payload_delivered_without_polling(db: TestDB) -> None:
    backend = _backend(db)
    listener = backend.open_listener("ts_w10w_test")
    try:
        assert listener.wait(0.05) == []
        db.execute("SELECT pg_notify('ts_w10w_test', '42')")
        started = time.monotonic()
        assert listener.wait(5.0) == ["42"]
        assert time.monotonic() - started < 5.0
        # The listening session is its own, not the backend's.
        assert listener.connection_id != backend.connection_id()
    finally:
        listener.close()
        backend.close()


def test_listener__notify_in_rolled_back_transaction__never_delivered(db: TestDB) -> None:
    backend = _backend(db)
    listener = backend.open_listener("ts_w10w_test")
    try:
        conn = db.connect()
        with conn.transaction(force_rollback=True):
            conn.execute("NOTIFY ts_w10w_test, 'lost'")
        db.execute("NOTIFY ts_w10w_test, 'kept'")
        assert listener.wait(5.0) == ["kept"]
    finally:
        listener.close()
        backend.close()


def test_listener__backend_terminated__wait_raises_connection_failed(db: TestDB) -> None:
    backend = _backend(db)
    listener = backend.open_listener("ts_w10w_test")
    try:
        with admin_connection("postgresql") as admin:
            admin.cursor().execute("SELECT pg_terminate_backend(%s)", (listener.connection_id,))
        def wait_until_lost() -> None:
            for _ in range(50):
                listener.wait(0.1)

        with pytest.raises(ConnectionFailedError, match="notification connection lost"):
            wait_until_lost()
    finally:
        listener.close()
        backend.close()
