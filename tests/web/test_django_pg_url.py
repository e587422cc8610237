"""Django's PostgreSQL ``DATABASES`` entry as a Timescape URL: ``OPTIONS`` carried over in Django's
order, Django's own keys left out, the rest refused.

The real effects are checked against Django's own connection (psycopg, in a subprocess with the
test site's settings): with ``OPTIONS["options"] = "-c search_path=app"`` and ``assume_role``,
``manage.py timescape`` creates its tables in the schema, and as the role, that Django's
connection reports; with ``OPTIONS["service"]`` and an empty ``NAME`` (a ``PGSERVICEFILE`` written
here), both reach the database the service names. Before PostgreSQL ``OPTIONS`` were carried over,
the table landed in ``public``, owned by the login user, and the service entry was refused for
lack of a ``NAME``. TLS is in tests/web/test_django_pg_tls.py.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.dbutil import PG_ADMIN_URL, TestDB, admin_connection
from tests.web.apps.django_run import django_sees, run_django
from tests.web.server import free_port
from timescape import InputError, Timescape
from timescape.store.urls import parse_url
from timescape.web.django import url_from_settings

PG = "django.db.backends.postgresql"


def admin_entry(**extra: Any) -> dict[str, Any]:
    admin = urlsplit(PG_ADMIN_URL)
    return {
        "ENGINE": PG,
        "USER": admin.username or "postgres",
        "PASSWORD": admin.password or "",
        "HOST": admin.hostname,
        "PORT": str(admin.port or 5432),
        **extra,
    }


def activate_v1(entry: dict[str, Any], tmp_path: Path, env: dict[str, str] | None = None) -> None:
    run_django(entry, tmp_path, "-m", "django", "timescape", "version", "activate", "v1", env=env)


@pytest.mark.dialects("postgresql")
def test_pg_entry__options_search_path_and_assume_role__tables_where_django_reads(
    db: TestDB, tmp_path: Path
) -> None:
    role = f"ts_owner_{uuid.uuid4().hex[:8]}"
    db.execute("CREATE SCHEMA app")
    db.execute(f"CREATE ROLE {role}")
    db.execute(f"GRANT CREATE, USAGE ON SCHEMA app TO {role}")
    entry = admin_entry(NAME=db.name, OPTIONS={
        "options": "-c search_path=app", "assume_role": role,
        "isolation_level": 3, "server_side_binding": False})  # fmt: skip
    try:
        activate_v1(entry, tmp_path)
        assert django_sees(entry, tmp_path)[:4] == [db.name, role, "app", True]
        placed = db.query(
            "SELECT schemaname, tableowner FROM pg_tables WHERE tablename = 'products' "
            "OR tablename LIKE 'timescape\\_%' GROUP BY 1, 2"
        )
        assert placed == [("app", role)]
    finally:
        db.execute(f"DROP OWNED BY {role}")
        with admin_connection("postgresql") as conn:
            conn.execute(f"DROP ROLE {role}")


@pytest.mark.dialects("postgresql")
def test_pg_entry__service_and_empty_name__the_services_database(
    db: TestDB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = urlsplit(PG_ADMIN_URL)
    services = tmp_path / "pg_service.conf"
    services.write_text(
        f"[shop]\nhost={admin.hostname}\nport={admin.port or 5432}\ndbname={db.name}\n"
        f"user={admin.username or 'postgres'}\n"
    )
    env = {"PGSERVICEFILE": str(services)}
    entry = {"ENGINE": PG, "NAME": "", "OPTIONS": {"service": "shop"}}
    url = url_from_settings(entry)
    assert url == "postgresql:///?service=shop"
    activate_v1(entry, tmp_path, env)
    assert "products" in db.tables()
    assert django_sees(entry, tmp_path, env)[0] == db.name
    # The lock is the same as through the database's plain URL, so the two exclude each other.
    monkeypatch.setenv("PGSERVICEFILE", str(services))
    with Timescape(url) as through_service, Timescape(db.url) as plain:
        assert through_service.backend.lock_key == plain.backend.lock_key


@pytest.mark.dialects("postgresql")
def test_pg_entry__host_is_a_socket_folder__connects_through_the_socket(db: TestDB) -> None:
    folder = (
        str(
            db.query("SELECT setting FROM pg_settings WHERE name = 'unix_socket_directories'")[0][0]
        )
        .split(",")[0]
        .strip()
    )
    url = url_from_settings(admin_entry(NAME=db.name, HOST=folder))
    assert parse_url(url).host == folder
    with Timescape(url) as ts:
        # A Unix-socket session has no client address.
        assert ts.backend.query("SELECT inet_client_addr() IS NULL, current_database()") == [
            (True, db.name)
        ]


@pytest.mark.dialects("postgresql")
def test_pg_entry__connection_fails__manage_py_prints_no_password(
    db: TestDB, tmp_path: Path
) -> None:
    secrets = ("pw-S3cret-1", "ssl-S3cret-2")
    entry = admin_entry(NAME=db.name, HOST="127.0.0.1", PORT=str(free_port()),
                        PASSWORD=secrets[0], OPTIONS={"sslmode": "require", "sslcert": "/c.pem",
                                                      "sslkey": "/k.pem",
                                                      "sslpassword": secrets[1]})  # fmt: skip
    argv = ("-m", "django", "timescape", "-v", "schema", "list")
    done = run_django(entry, tmp_path, *argv, check=False)
    assert done.returncode == 1, done.stderr
    assert "cannot connect to postgresql://postgres:***@127.0.0.1:" in done.stderr
    assert "sslpassword=***" in done.stderr
    for secret in secrets:
        assert secret not in done.stdout + done.stderr


@pytest.mark.parametrize(("entry", "url"), [
    ({"NAME": "shop", "OPTIONS": {"sslmode": "verify-full", "sslrootcert": "/etc/ca.pem",
                                  "sslcert": "/c.pem", "sslkey": "/k.pem"}},
     ("postgresql://127.0.0.1/shop?sslmode=verify-full&sslrootcert=/etc/ca.pem&sslcert=/c.pem"
      "&sslkey=/k.pem")),
    ({"NAME": "shop", "OPTIONS": {"options": "-c search_path=app,public", "connect_timeout": 5,
                                  "target_session_attrs": "read-write"}},
     ("postgresql://127.0.0.1/shop?options=-c%20search_path%3Dapp%2Cpublic&connect_timeout=5"
      "&target_session_attrs=read-write")),
    # Django's own keys shape only its session: left out.
    ({"NAME": "shop", "OPTIONS": {"isolation_level": 4, "server_side_binding": True,
                                  "pool": {"min_size": 2}, "prepare_threshold": 5,
                                  "client_encoding": "LATIN1", "application_name": "site"}},
     "postgresql://127.0.0.1/shop"),
    # OPTIONS["dbname"] wins over NAME; USER, PASSWORD, HOST and PORT win over OPTIONS.
    ({"NAME": "shop", "USER": "app", "PASSWORD": "pw", "HOST": "db.local", "PORT": "5433",
      "OPTIONS": {"dbname": "other", "user": "x", "password": "y", "host": "h", "port": 1}},
     "postgresql://app:pw@db.local:5433/other"),
    ({"NAME": "shop", "OPTIONS": {"user": "x", "password": "p@ss", "host": "h", "port": 1}},
     "postgresql://x:p%40ss@h:1/shop"),
    # A service names the database when NAME is empty; NAME = None is the postgres database.
    ({"NAME": "", "USER": "app", "OPTIONS": {"service": "shop", "passfile": "/home/app/.pgpass"}},
     "postgresql://app@/?service=shop&passfile=/home/app/.pgpass"),
    ({"NAME": None, "OPTIONS": {"service": "shop"}}, "postgresql://127.0.0.1/postgres"),
    ({"NAME": "shop", "HOST": "/run/postgresql", "PORT": 5433},
     "postgresql://:5433/shop?host=/run/postgresql"),
    ({"NAME": "shop", "OPTIONS": {"assume_role": "site owner", "options": "-c work_mem=64MB"}},
     "postgresql://127.0.0.1/shop?options=-c%20work_mem%3D64MB%20-c%20role%3Dsite%5C%20owner"),
])  # fmt: skip
def test_pg_entry__options__carried_as_django_passes_them(entry: dict[str, Any], url: str) -> None:
    built = url_from_settings({"ENGINE": PG, **entry})
    assert built == url
    parse_url(built)  # and the PostgreSQL backend takes every parameter


def test_pg_entry__options_survive_the_url__parsed_back() -> None:
    url = parse_url(
        url_from_settings(
            {
                "ENGINE": PG,
                "NAME": "shop db",
                "USER": "app",
                "PASSWORD": "p@ss:/w#rd",
                "HOST": "db.local",
                "OPTIONS": {"options": "-c search_path=app", "sslmode": "require"},
            }
        )
    )
    assert (url.host, url.user, url.password, url.database) == (
        "db.local",
        "app",
        "p@ss:/w#rd",
        "shop db",
    )
    assert url.params == {"options": "-c search_path=app", "sslmode": "require"}
    assert "p@ss" not in url.redacted


@pytest.mark.parametrize(("entry", "fragment"), [
    ({"NAME": "shop", "OPTIONS": {"sslmod": "require"}}, "has 'sslmod'"),
    ({"NAME": "shop", "OPTIONS": {"replication": "database"}}, "has 'replication'"),
    ({"NAME": "shop", "OPTIONS": {"sslmode": "verify"}}, "not a libpq TLS mode"),
    ({"NAME": "shop", "OPTIONS": "sslmode=require"}, r"\['OPTIONS'\] must be a dict"),
    ({"NAME": ""}, r"needs NAME or OPTIONS\['service'\]"),
    ({"NAME": "shop", "PORT": "pg"}, "PORT 'pg'; a port is a number"),
])  # fmt: skip
def test_pg_entry__not_honourable__input_error(entry: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InputError, match=fragment) as caught:
        parse_url(url_from_settings({"ENGINE": PG, "PASSWORD": "s3cret", **entry}))
    assert caught.value.exit_code == 2
    assert "s3cret" not in str(caught.value)
