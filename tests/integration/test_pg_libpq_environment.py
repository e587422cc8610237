"""PostgreSQL: a URL that leaves a part out lets libpq fill it, as psql and Django do.

Before, a URL without a host went over TCP to ``localhost`` whatever ``PGHOST`` said, so a
Django app with an empty ``HOST`` and ``PGHOST`` set talked to one server while Timescape
migrated another; ``PGDATABASE`` was refused; libpq's multi-host authority
(``db1:5432,db2:5432``) was "malformed". Each test reads where the migration really ran: the
schema records its own connection's client address, or the table lands in the database.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.dbutil import TestDB, admin_connection
from timescape import Timescape

pytestmark = pytest.mark.dialects("postgresql")


def _apply(url: str) -> None:
    """Activate one schema that records the client address its own connection came from."""
    ts = Timescape(url)
    try:
        ts.add_schema("s1", ["CREATE TABLE seen AS SELECT inet_client_addr() AS addr"],
                      ["DROP TABLE seen"])  # fmt: skip
        ts.activate(ts.add_version("/api/x", "2025-01-01T00:00:00Z", "s1"))
    finally:
        ts.close()


def _seen(db: TestDB) -> list[tuple[str | None]]:
    with admin_connection("postgresql", db.name) as conn:
        cur = conn.cursor()
        cur.execute("SELECT host(addr) FROM seen")
        return [tuple(row) for row in cur.fetchall()]


def _socket_folder() -> str:
    with admin_connection("postgresql") as conn:
        cur = conn.cursor()
        cur.execute("SHOW unix_socket_directories")
        folders = str(cur.fetchone()[0])
    folder = folders.split(",", maxsplit=1)[0].strip()
    if not folder or folder.startswith("@"):
        pytest.skip("this PostgreSQL server listens on no Unix-socket folder")
    return folder


def test_no_host__pghost__migrates_where_psql_would(
    db: TestDB, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts = urlsplit(db.url)
    monkeypatch.setenv("PGHOST", _socket_folder())
    monkeypatch.setenv("PGPORT", str(parts.port or 5432))
    _apply(f"postgresql://{parts.username}@/{db.name}")
    assert _seen(db) == [(None,)]  # a Unix socket: no client address (TCP gave 127.0.0.1)


def test_no_host__no_pghost__tcp_to_localhost_as_before(
    db: TestDB, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts = urlsplit(db.url)
    if parts.hostname not in ("127.0.0.1", "localhost"):
        pytest.skip("the test server is not on this machine")
    for name in ("PGHOST", "PGHOSTADDR", "PGSERVICE"):
        monkeypatch.delenv(name, raising=False)
    _apply(f"postgresql://{parts.username}@:{parts.port or 5432}/{db.name}")
    assert _seen(db) in ([("127.0.0.1",)], [("::1",)])


def test_no_database__pgdatabase__migrates_that_database(
    db: TestDB, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts = urlsplit(db.url)
    monkeypatch.delenv("PGSERVICE", raising=False)
    monkeypatch.setenv("PGDATABASE", db.name)
    _apply(f"postgresql://{parts.netloc}")
    assert len(_seen(db)) == 1


def test_several_hosts__libpq_tries_each__migrates_on_the_one_that_answers(db: TestDB) -> None:
    parts = urlsplit(db.url)
    # Port 1 refuses at once; libpq moves on to the next host of the list.
    dead = f"{parts.hostname}:1"
    _apply(f"postgresql://{parts.username}@{dead},{parts.hostname}:{parts.port or 5432}/"
           f"{db.name}?target_session_attrs=read-write")  # fmt: skip
    assert len(_seen(db)) == 1
