"""PostgreSQL URL parameters: libpq keywords handed on, the URL's own parts folded in, the rest refused.

Pure parsing; what libpq does with them (TLS, a service file, a socket folder, ``options``) is
tested on real servers in tests/web/test_django_pg_url.py and tests/web/test_django_pg_tls.py.
"""

from __future__ import annotations

import pytest

from timescape.errors import InputError
from timescape.store.urls import parse_url


@pytest.fixture(autouse=True)
def _no_libpq_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own PGHOST/PGDATABASE would change what a URL without them means."""
    for name in ("PGHOST", "PGHOSTADDR", "PGSERVICE", "PGDATABASE"):
        monkeypatch.delenv(name, raising=False)


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
        ("port=5432,x", "'x' in .* is not a number"),
        ("port=70000", "'70000' in .* is not a number"),
        ("sslmode=require&sslmode=disable", "gives sslmode more than once"),
    ],
)
def test_parameter_not_acted_on__exit_2_naming_it(query: str, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment) as caught:
        parse_url(f"postgresql://app:s3cret@db.local/shop?{query}")
    assert caught.value.exit_code == 2
    assert "s3cret" not in str(caught.value)


def test_no_database_and_no_service__refused() -> None:
    with pytest.raises(InputError, match=r"names no database.*or name a service.*PGDATABASE"):
        parse_url("postgresql://db.local/?sslmode=require")


@pytest.mark.parametrize("variable", ["PGHOST", "PGHOSTADDR", "PGSERVICE"])
def test_no_host__libpq_environment_names_the_server__left_to_libpq(
    variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert parse_url("postgresql:///shop").host == "localhost"
    monkeypatch.setenv(variable, "db.internal")
    assert parse_url("postgresql:///shop").host is None  # libpq reads the variable, as psql
    assert parse_url("postgresql://db.local/shop").host == "db.local"  # the URL still wins
    monkeypatch.setenv(variable, "")  # an empty variable is no setting, for libpq too
    assert parse_url("postgresql:///shop").host == "localhost"


def test_no_database__pgdatabase__left_to_libpq(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGDATABASE", "shop")
    url = parse_url("postgresql://db.local/")
    assert (url.host, url.database) == ("db.local", "")


@pytest.mark.parametrize(
    ("url", "host", "port", "params"),
    [
        ("postgresql://app@db1:5432,db2:5433/shop", "db1,db2", None, {"port": "5432,5433"}),
        ("postgresql://db1:5433,db2:5433/shop", "db1,db2", 5433, {}),
        ("postgresql://db1,db2/shop", "db1,db2", None, {}),
        ("postgresql://db1:5433,db2/shop", "db1,db2", None, {"port": "5433,"}),
        ("postgresql://[::1]:5432,[fe80::1]:5433/shop", "::1,fe80::1", None,
         {"port": "5432,5433"}),
        ("postgresql:///shop?host=db1,db2&port=5432,5433", "db1,db2", None, {"port": "5432,5433"}),
    ],
)  # fmt: skip
def test_several_hosts__libpq_lists(
    url: str, host: str, port: int | None, params: dict[str, str]
) -> None:
    parsed = parse_url(url)
    assert (parsed.host, parsed.port, parsed.database, parsed.params) == (
        host, port, "shop", params)  # fmt: skip


def test_several_hosts__and_host_parameter__refused() -> None:
    with pytest.raises(InputError, match="gives host more than once") as caught:
        parse_url("postgresql://app:s3cret@db1,db2/shop?host=db3")
    assert caught.value.exit_code == 2
    assert "s3cret" not in str(caught.value)


def test_sslpassword__masked_in_the_shown_url() -> None:
    url = parse_url(
        "postgresql://app@db.local/shop?sslkey=/k.pem&sslcert=/c.pem&sslpassword=s3cret"
    )
    assert url.params["sslpassword"] == "s3cret"
    assert "s3cret" not in url.redacted
    assert "s3cret" not in repr(url)
