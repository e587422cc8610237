"""PostgreSQL URL parameters: libpq keywords handed on, the URL's own parts folded in, the rest refused.

Pure parsing; what libpq does with them (TLS, a service file, a socket folder, ``options``) is
tested on real servers in tests/web/test_django_pg_url.py and tests/web/test_django_pg_tls.py.
"""

from __future__ import annotations

import pytest

from timescape.errors import InputError
from timescape.store.urls import parse_url


def test_libpq_keywords__handed_on_as_given() -> None:
    url = parse_url(
        "postgresql://u@h/app?sslmode=verify-full&sslrootcert=/ca.pem&options=-c%20x"
        "&passfile=/p&target_session_attrs=read-write&keepalives_idle=30"
    )
    assert url.params == {
        "sslmode": "verify-full", "sslrootcert": "/ca.pem", "options": "-c x", "passfile": "/p",
        "target_session_attrs": "read-write", "keepalives_idle": "30"}  # fmt: skip
    assert (url.host, url.database) == ("h", "app")


@pytest.mark.parametrize(
    ("url", "host", "port", "user", "database"),
    [
        # libpq's Unix-socket form: the folder as ?host=, the port naming the socket file.
        ("postgresql://app@/shop?host=/run/postgresql&port=5433", "/run/postgresql", 5433, "app",
         "shop"),
        ("postgresql:///?host=db.local&dbname=shop&user=app", "db.local", None, "app", "shop"),
        # The same value twice is no contradiction.
        ("postgresql://app@db.local/shop?host=db.local&dbname=shop", "db.local", None, "app",
         "shop"),
        ("postgresql://db.local/shop", "db.local", None, None, "shop"),
        # No host and no service: TCP to localhost, as before.
        ("postgresql:///shop", "localhost", None, None, "shop"),
    ],
)  # fmt: skip
def test_url_parts__given_as_parameters__folded_in(
    url: str, host: str, port: int | None, user: str | None, database: str
) -> None:
    parsed = parse_url(url)
    assert (parsed.host, parsed.port, parsed.user, parsed.database) == (host, port, user, database)
    assert parsed.params == {}


def test_service__leaves_host_and_database_to_the_service_file() -> None:
    url = parse_url("postgresql:///?service=shop")
    assert (url.host, url.port, url.database, url.params) == (None, None, "", {"service": "shop"})
    # What the URL does give still wins over the service file, as in libpq.
    url = parse_url("postgresql://app@db.local:5433/other?service=shop")
    assert (url.host, url.port, url.user, url.database) == ("db.local", 5433, "app", "other")


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("sslmod=require", "unknown parameter 'sslmod'"),
        ("ssl_mode=REQUIRED", "unknown parameter 'ssl_mode'"),
        ("autocommit=false", "unknown parameter 'autocommit'"),
        ("prepare_threshold=0", "unknown parameter 'prepare_threshold'"),
        ("application_name=app", "application_name setting"),
        ("replication=database", "cannot run migrations"),
        ("sslmode=verify", "not a libpq TLS mode"),
        ("host=/run/postgresql", "gives host twice"),
        ("dbname=other", "gives dbname twice"),
        ("user=other", "gives user twice"),
        ("port=5432,5433", "one number"),
    ],
)
def test_parameter_not_acted_on__exit_2_naming_it(query: str, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment) as caught:
        parse_url(f"postgresql://app:s3cret@db.local/shop?{query}")
    assert caught.value.exit_code == 2
    assert "s3cret" not in str(caught.value)


def test_no_database_and_no_service__refused() -> None:
    with pytest.raises(InputError, match=r"names no database.*or name a service"):
        parse_url("postgresql://db.local/?sslmode=require")


def test_sslpassword__masked_in_the_shown_url() -> None:
    url = parse_url(
        "postgresql://app@db.local/shop?sslkey=/k.pem&sslcert=/c.pem&sslpassword=s3cret"
    )
    assert url.params["sslpassword"] == "s3cret"
    assert "s3cret" not in url.redacted
    assert "s3cret" not in repr(url)
