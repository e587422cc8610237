"""MySQL URL parameters reach the connection: a Unix socket and TLS, on real MariaDB servers.

The shared MariaDB on 3306 serves the socket test and the "no TLS offered" case. TLS needs a server
that offers it, so a private ``mariadbd`` is started on a free port with a CA and server
certificate made by ``openssl`` for this run, and stopped at the end of the module.

What is asserted is the server's view of Timescape's own connection: ``information_schema``'s
process list shows ``localhost`` (not ``127.0.0.1:port``) for a socket, and the session's
``Ssl_cipher`` is not empty for TLS.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dbutil import TestDB, admin_connection
from tests.tlsutil import make_certificates
from timescape import ConnectionFailedError, InputError, Timescape

pytestmark = [pytest.mark.timeout(180), pytest.mark.dialects("mysql")]

T0 = "2025-01-01T00:00:00Z"
_START_TIMEOUT = 60.0
_STOP_TIMEOUT = 30.0


def _processlist_host(ts: Timescape) -> str:
    rows = ts.backend.query(
        "SELECT host FROM information_schema.processlist WHERE id = CONNECTION_ID()"
    )
    return str(rows[0][0])


def _cipher(ts: Timescape) -> str:
    rows = ts.backend.query("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
    return str(rows[0][1] or "")


def _apply_table(ts: Timescape, table: str) -> None:
    ts.add_schema("tls", [f"CREATE TABLE {table} (id INTEGER)"], rollback=[f"DROP TABLE {table}"])
    ts.apply_schema("tls")


# -- Unix socket ----------------------------------------------------------------------------------


def test_unix_socket__apply_goes_through_the_socket_not_tcp(db: TestDB) -> None:
    with admin_connection("mysql") as conn:
        cur = conn.cursor()
        cur.execute("SELECT @@socket")
        path = str(cur.fetchone()[0])
    assert Path(path).exists(), f"the MariaDB socket {path} is not reachable from the tests"
    url = f"mysql://root@/{db.name}?unix_socket={path}"
    with Timescape(url) as ts:
        _apply_table(ts, "sock_t")
        host = _processlist_host(ts)
    # TCP shows "127.0.0.1:<port>"; the socket shows "localhost" with no port.
    assert host == "localhost", host
    assert db.query(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ? "
        "AND table_name = 'sock_t'",
        (db.name,),
    ) == [(1,)]


def test_unix_socket__with_a_remote_host__refused_before_connecting(db: TestDB) -> None:
    with pytest.raises(InputError, match=r"names both the host 'db\.example\.com' and unix_socket"):
        Timescape(f"mysql://root@db.example.com/{db.name}?unix_socket=/run/mysqld/mysqld.sock")


# -- TLS: the shared server offers none --------------------------------------------------------------


def test_ssl_mode_required__server_without_tls__fails_and_applies_nothing(db: TestDB) -> None:
    have_ssl = db.query("SHOW VARIABLES LIKE 'have_ssl'")
    if have_ssl and have_ssl[0][1] == "YES":
        pytest.skip("the shared MariaDB offers TLS; the refusal is tested on the private server")
    with Timescape(f"{db.url}?ssl_mode=REQUIRED") as ts:
        ts.add_schema("tls", ["CREATE TABLE plain_t (id INTEGER)"])
        with pytest.raises(ConnectionFailedError, match="SSL is required") as caught:
            ts.apply_schema("tls")
    assert caught.value.exit_code == 1
    assert db.query(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ?", (db.name,)
    ) == [(0,)]


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("sslmode=require", "unknown parameter 'sslmode'"),
        ("autocommit=false", "unknown parameter 'autocommit'"),
        ("ssl_mode=VERIFY", "not a MySQL TLS mode"),
        ("ssl_mode=REQUIRED&ssl_ca=/etc/ca.pem", "ssl_ca would be ignored"),
        ("charset=latin1", "always connects with utf8mb4"),
    ],
)
def test_mysql_url__parameter_not_acted_on__exit_2_naming_it(
    db: TestDB, query: str, fragment: str
) -> None:
    with pytest.raises(InputError, match=fragment) as caught:
        Timescape(f"{db.url}?{query}")
    assert caught.value.exit_code == 2
    if fragment.startswith("unknown"):
        assert "accepted parameters are ssl_mode, ssl_ca" in str(caught.value)


# -- TLS: a private server that offers it ----------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _require(binary: str) -> str:
    found = shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/usr/local/sbin")
    if found is None:
        pytest.fail(f"{binary} is needed to start a private MariaDB with TLS and is not installed")
    return found


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """A private ``mariadbd`` offering TLS on 127.0.0.1:<port>; yields (port, certificate folder)."""
    home = tmp_path_factory.mktemp("tlsdb")
    certs = home / "certs"
    certs.mkdir()
    _require("openssl")
    make_certificates(certs)
    data = home / "data"
    root = ["--user=root"] if os.geteuid() == 0 else []
    subprocess.run(
        [
            _require("mariadb-install-db"), "--no-defaults", f"--datadir={data}", *root,
            "--auth-root-authentication-method=normal", "--skip-test-db",
        ],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    port = _free_port()
    log = home / "error.log"
    server = subprocess.Popen(
        [
            _require("mariadbd"), "--no-defaults", f"--datadir={data}", *root,
            f"--port={port}", "--bind-address=127.0.0.1", f"--socket={home / 'sock'}",
            f"--pid-file={home / 'pid'}", f"--log-error={log}", "--skip-grant-tables",
            "--skip-log-bin", "--innodb-buffer-pool-size=16M",
            f"--ssl-ca={certs / 'ca.pem'}", f"--ssl-cert={certs / 'server.pem'}",
            f"--ssl-key={certs / 'server.key'}",
        ],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_until_up(server, port, log)
        yield port, certs
    finally:
        server.terminate()
        try:
            server.wait(timeout=_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=_STOP_TIMEOUT)


def _wait_until_up(server: subprocess.Popen[bytes], port: int, log: Path) -> None:
    import pymysql  # noqa: PLC0415 - the mysql extra

    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"private mariadbd exited: {log.read_text(errors='replace')[-2000:]}")
        with contextlib.suppress(pymysql.Error):
            pymysql.connect(host="127.0.0.1", port=port, user="root", connect_timeout=2).close()
            return
        time.sleep(0.2)
    pytest.fail(f"private mariadbd did not answer in {_START_TIMEOUT:.0f}s")


def _tls_url(port: int, query: str, host: str = "127.0.0.1") -> str:
    return f"mysql://root@{host}:{port}/mysql?{query}"


def test_verify_ca__apply_runs_over_tls(db: TestDB, tls_server: tuple[int, Path]) -> None:
    port, certs = tls_server
    url = _tls_url(port, f"ssl_mode=VERIFY_CA&ssl_ca={certs / 'ca.pem'}")
    with Timescape(url, table_prefix="tlsca_") as ts:
        _apply_table(ts, "tls_ca_t")
        cipher = _cipher(ts)
    assert cipher, "Timescape's connection is not encrypted"
    with Timescape(url, table_prefix="tlsca_") as ts:
        assert ts.backend.query("SELECT COUNT(*) FROM tls_ca_t") == [(0,)]


def test_ssl_ca_alone__verifies_the_host_name(db: TestDB, tls_server: tuple[int, Path]) -> None:
    """As SQLAlchemy's ``?ssl_ca=`` does: the certificate names localhost, not 127.0.0.1."""
    port, certs = tls_server
    ca = certs / "ca.pem"
    with Timescape(_tls_url(port, f"ssl_ca={ca}", host="localhost")) as ts:
        assert _cipher(ts)
    with (
        Timescape(_tls_url(port, f"ssl_ca={ca}")) as ts,
        pytest.raises(ConnectionFailedError, match=r"(?i)certificate verify failed|mismatch"),
    ):
        ts.backend.query("SELECT 1")
    with Timescape(_tls_url(port, f"ssl_ca={ca}&ssl_check_hostname=false")) as ts:
        assert _cipher(ts)


def test_verify_ca__wrong_ca__refused(db: TestDB, tls_server: tuple[int, Path]) -> None:
    port, certs = tls_server
    url = _tls_url(port, f"ssl_mode=VERIFY_CA&ssl_ca={certs / 'other-ca.pem'}")
    with Timescape(url, table_prefix="tlsbad_") as ts:
        ts.add_schema("tls", ["CREATE TABLE tls_bad_t (id INTEGER)"])
        with pytest.raises(ConnectionFailedError, match=r"(?i)certificate verify failed"):
            ts.apply_schema("tls")
    with Timescape(_tls_url(port, "ssl_mode=DISABLED")) as ts:
        assert ts.backend.query("SHOW TABLES LIKE 'tls_bad_t'") == []


def test_required_and_disabled__encrypted_or_not_as_asked(
    db: TestDB, tls_server: tuple[int, Path]
) -> None:
    port, _ = tls_server
    with Timescape(_tls_url(port, "ssl_mode=REQUIRED")) as ts:
        assert _cipher(ts)
    with Timescape(_tls_url(port, "ssl-mode=disabled")) as ts:
        assert _cipher(ts) == ""
