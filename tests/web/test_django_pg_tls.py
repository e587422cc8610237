"""Django's PostgreSQL TLS ``OPTIONS`` reach Timescape's connection, on a private TLS-only server.

A PostgreSQL instance is made for this module with ``initdb`` and started with ``pg_ctl`` on a free
127.0.0.1 port, ``ssl = on`` with a CA and server certificate made by ``openssl`` now, and a
``pg_hba.conf`` that admits TCP clients only over TLS (``hostssl``, SCRAM password). It is stopped
and its folder removed at the end. Outside CI a machine without the server binaries skips these
tests; with ``CI=true`` they must run (``.ci/run`` installs the ``postgresql`` package).

What is asserted is the server's view of Timescape's own backend (``pg_stat_ssl`` for its pid,
as for Django's own connection on the same entry),
and what Timescape refuses: a certificate signed by another CA under ``verify-full`` (before
``OPTIONS`` were carried over, that entry connected anyway, with libpq's default ``prefer``: TLS
without any check of whom it talks to), and plain text (the server's ``hostssl`` rule).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.tlsutil import make_certificates
from tests.web.apps.django_run import django_sees
from tests.web.server import free_port
from timescape import ConnectionFailedError, Timescape
from timescape.web.django import url_from_settings

pytestmark = [pytest.mark.timeout(180)]

PG = "django.db.backends.postgresql"
PASSWORD = "s3cr3t-tls-pw"  # the private instance's superuser, made for this run
_IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@dataclass
class Cluster:
    port: int
    certs: Path


def _server_binaries() -> Path | None:
    """The newest installed server's ``bin`` folder (Debian keeps them out of ``PATH``)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _run(argv: list[str], *, as_owner: list[str]) -> None:
    done = subprocess.run(
        [*as_owner, *argv], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"{argv[0]} failed: {done.stdout}{done.stderr}"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    binaries = _server_binaries()
    if binaries is None:
        if _IN_CI:
            pytest.fail("initdb is not installed; .ci/run installs the postgresql package")
        pytest.skip("initdb not installed (needs the postgresql server package)")
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make the private server's certificates")
    # initdb refuses to run as root: the instance then belongs to the postgres user, in a
    # folder outside pytest's root-only temporary tree.
    as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    home = Path(tempfile.mkdtemp(prefix="ts-pgtls-"))
    data = home / "data"
    try:
        certs = home / "certs"
        certs.mkdir()
        make_certificates(certs)
        (certs / "server.key").chmod(0o600)
        (home / "pw").write_text(PASSWORD + "\n")
        if as_owner:
            shutil.chown(home, "postgres")
            for path in home.rglob("*"):
                shutil.chown(path, "postgres")
        _run(
            [
                str(binaries / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                f"--pwfile={home / 'pw'}",
                "--no-sync",
                "-E",
                "UTF8",
            ],
            as_owner=as_owner,
        )
        port = free_port()
        (data / "pg_hba.conf").write_text(
            "local all all trust\n"
            "hostssl all all 127.0.0.1/32 scram-sha-256\n"
            "hostssl all all ::1/128 scram-sha-256\n"
        )
        with (data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{home}'\nssl = on\n"
                f"ssl_cert_file = '{certs / 'server.pem'}'\nssl_key_file = '{certs / 'server.key'}'\n"
                "fsync = off\nmax_connections = 20\nshared_buffers = 16MB\n"
            )
        _run(
            [
                str(binaries / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(home / "log"),
                "-w",
                "-t",
                "60",
                "start",
            ],
            as_owner=as_owner,
        )
        yield Cluster(port, certs)
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [
                    *as_owner,
                    str(binaries / "pg_ctl"),
                    "-D",
                    str(data),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ],
                capture_output=True,
                timeout=60,
                check=False,
            )
        shutil.rmtree(home, ignore_errors=True)


def entry(cluster: Cluster, **options: str) -> dict[str, object]:
    # The certificate names localhost (not 127.0.0.1), as verify-full checks.
    return {
        "ENGINE": PG,
        "NAME": "postgres",
        "USER": "postgres",
        "PASSWORD": PASSWORD,
        "HOST": "localhost",
        "PORT": str(cluster.port),
        "OPTIONS": options,
    }


def _backend_ssl(ts: Timescape) -> list[tuple[object, ...]]:
    return ts.backend.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")


def test_verify_full__timescape_connects_over_tls_and_applies(
    cluster: Cluster, tmp_path: Path
) -> None:
    settings = entry(cluster, sslmode="verify-full", sslrootcert=str(cluster.certs / "ca.pem"))
    # Django's own connection, on the same entry, is encrypted too.
    assert django_sees(settings, tmp_path)[4] is True
    url = url_from_settings(settings)
    with Timescape(url, table_prefix="tls_") as ts:
        assert _backend_ssl(ts) == [(True,)]
        ts.add_schema("tls", ["CREATE TABLE tls_t (id INTEGER)"], rollback=["DROP TABLE tls_t"])
        ts.apply_schema("tls")
        assert ts.backend.query("SELECT to_regclass('tls_t') IS NOT NULL") == [(True,)]
        ts.rollback_schema("tls")


def test_verify_full__another_ca__refused_without_the_password_shown(cluster: Cluster) -> None:
    url = url_from_settings(
        entry(cluster, sslmode="verify-full", sslrootcert=str(cluster.certs / "other-ca.pem"))
    )
    with (
        Timescape(url) as ts,
        pytest.raises(ConnectionFailedError, match="certificate verify failed") as caught,
    ):
        ts.backend.query("SELECT 1")
    assert PASSWORD not in str(caught.value)


def test_plain_text__refused_by_the_servers_hostssl_rule(cluster: Cluster) -> None:
    url = url_from_settings(entry(cluster, sslmode="disable"))
    with (
        Timescape(url) as ts,
        pytest.raises(ConnectionFailedError, match="no encryption") as caught,
    ):
        ts.backend.query("SELECT 1")
    assert PASSWORD not in str(caught.value)


def test_passfile__supplies_the_password__a_wrong_one_refused(
    cluster: Cluster, tmp_path: Path
) -> None:
    """``passfile`` supplies the password Django would read from it; none is in the settings."""
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"localhost:{cluster.port}:*:postgres:{PASSWORD}\n")
    passfile.chmod(0o600)
    settings = entry(
        cluster,
        sslmode="verify-ca",
        sslrootcert=str(cluster.certs / "ca.pem"),
        passfile=str(passfile),
    )
    settings["PASSWORD"] = ""
    with Timescape(url_from_settings(settings)) as ts:
        assert _backend_ssl(ts) == [(True,)]
    passfile.write_text(f"localhost:{cluster.port}:*:postgres:wrong\n")
    with (
        Timescape(url_from_settings(settings)) as ts,
        pytest.raises(ConnectionFailedError, match="password authentication failed"),
    ):
        ts.backend.query("SELECT 1")
