"""MySQL URL parameters: each one resolved to a TLS mode or socket, or refused by name.

Pure parsing; what the connection really does with them is tested on real servers in
tests/integration/test_mysql_tls_socket.py.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from timescape.errors import InputError
from timescape.store.mysql_params import MySQLParams, mysql_params, pymysql_arguments
from timescape.store.urls import parse_url


def resolve(query: str, host: str = "db.example.com") -> MySQLParams:
    url = parse_url(f"mysql://u:p@{host}/app?{query}")
    return mysql_params(url.params, url.redacted, url.host)


@pytest.mark.parametrize(
    ("query", "mode"),
    [
        ("", None),
        ("ssl_mode=required", "REQUIRED"),
        ("ssl-mode=VERIFY_IDENTITY", "VERIFY_IDENTITY"),
        ("ssl_ca=/etc/ca.pem", "VERIFY_IDENTITY"),
        ("ssl_ca=/etc/ca.pem&ssl_check_hostname=false", "VERIFY_CA"),
        ("ssl=true", "VERIFY_IDENTITY"),
        ("ssl=false", "DISABLED"),
        ("ssl_mode=VERIFY_CA&ssl_ca=/etc/ca.pem", "VERIFY_CA"),
        ("ssl_mode=REQUIRED&ssl_cert=/c.pem&ssl_key=/k.pem", "REQUIRED"),
        ("charset=utf8mb4&connect_timeout=5", None),
    ],
)
def test_tls_mode__explicit_or_implied(query: str, mode: str | None) -> None:
    assert resolve(query).ssl_mode == mode


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("sslmode=require", "unknown parameter 'sslmode'"),
        ("ssl_mode=VERIFY", "not a MySQL TLS mode"),
        ("ssl_mode=PREFERRED&ssl_ca=/ca.pem", "certificate would not be used"),
        ("ssl_mode=DISABLED&ssl_cert=/c.pem", "certificate would not be used"),
        ("ssl_mode=REQUIRED&ssl_ca=/ca.pem", "ssl_ca would be ignored"),
        ("ssl_mode=VERIFY_IDENTITY&ssl_check_hostname=false", "contradicts"),
        ("ssl=false&ssl_mode=REQUIRED", "contradicts"),
        ("ssl=maybe", "must be true or false"),
        ("ssl_key=/k.pem&ssl_mode=REQUIRED", "needs the client certificate"),
        ("ssl_mode=REQUIRED&ssl-mode=DISABLED", "sets ssl_mode twice"),
        ("charset=latin1", "utf8mb4"),
        ("unix_socket=relative.sock", "absolute path"),
    ],
)
def test_refused__at_parse_time_naming_the_parameter(query: str, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment):
        parse_url(f"mysql://u:p@localhost/app?{query}")


def test_unknown_parameter__message_lists_the_accepted_ones_and_hides_the_password() -> None:
    with pytest.raises(InputError) as caught:
        parse_url("mysql+pymysql://u:s3cret@h/app?local_infile=1")
    text = str(caught.value)
    assert "local_infile" in text
    assert "ssl_mode, ssl_ca" in text
    assert "unix_socket" in text
    assert "s3cret" not in text


def test_unix_socket__only_without_a_remote_host() -> None:
    assert resolve("unix_socket=/run/mysqld/mysqld.sock", host="").unix_socket == (
        "/run/mysqld/mysqld.sock"
    )
    with pytest.raises(InputError, match="names both the host"):
        resolve("unix_socket=/run/mysqld/mysqld.sock")


def test_driver_arguments__context_per_mode(tmp_path: Path) -> None:
    assert pymysql_arguments(resolve(""), "u") == {}
    assert pymysql_arguments(resolve("ssl_mode=DISABLED"), "u") == {"ssl_disabled": True}
    required = pymysql_arguments(resolve("ssl_mode=REQUIRED"), "u")["ssl"]
    assert (required.verify_mode, required.check_hostname) == (ssl.CERT_NONE, False)
    verify = pymysql_arguments(resolve("ssl_mode=VERIFY_IDENTITY"), "u")["ssl"]
    assert (verify.verify_mode, verify.check_hostname) == (ssl.CERT_REQUIRED, True)
    missing = tmp_path / "missing.pem"
    with pytest.raises(InputError, match=f"cannot load ssl_ca.*{missing.name}"):
        pymysql_arguments(resolve(f"ssl_ca={missing}"), "u")
