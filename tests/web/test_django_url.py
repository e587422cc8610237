"""Django's ``DATABASES`` entry as a Timescape URL for MySQL/MariaDB: the precedence Django's
backend uses (option file < NAME/USER/... < OPTIONS), the option-file reader, and the refusals.

The precedence is checked against the real thing: a subprocess opens Django's own connection
(mysqlclient) for each entry shape and asks the server which database and user it got, and
``manage.py timescape`` then creates its tables through the URL built from the same entry. The
reader and the refusals are pure and run once.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.dbutil import MYSQL_ADMIN_URL, TestDB
from tests.web.apps import write_project
from tests.web.server import server_env
from timescape import InputError
from timescape.store.urls import parse_url
from timescape.web.django import url_from_settings
from timescape.web.django._url import read_option_file

MYSQL = "django.db.backends.mysql"
SETTINGS = "tests.web.apps.django_site"

# Django's connection and Timescape's URL for the same entry, seen from one process.
PROBE = """
import json, django
django.setup()
from django.db import connection
from timescape.store.urls import parse_url
from timescape.web.django import database_url
with connection.cursor() as cursor:
    cursor.execute("SELECT DATABASE(), SUBSTRING_INDEX(USER(), '@', 1), @@port")
    database, user, port = cursor.fetchone()
url = parse_url(database_url())
print(json.dumps({"django": [database, user, port], "timescape": [url.database, url.user, url.port]}))
"""


def probe(entry: dict[str, Any], project: Path) -> dict[str, list[Any]]:
    env = {"DJANGO_SETTINGS_MODULE": SETTINGS, "APP_PROJECT": str(project),
           "APP_DATABASE": json.dumps(entry)}
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=project.parent,
                            env=server_env(env), capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.dialects("mysql")
def test_mysql_entry__each_precedence_form__timescape_reaches_djangos_database(
    db: TestDB, tmp_path: Path
) -> None:
    admin = urlsplit(MYSQL_ADMIN_URL)
    user, host, port = admin.username or "root", admin.hostname, admin.port or 3306
    cnf = tmp_path / "my.cnf"
    cnf.write_text(f"[client]\nuser={user}\nhost={host}\nport={port}\ndatabase=not_this_one\n"
                   f"!include {tmp_path / 'site.cnf'}\n")
    (tmp_path / "site.cnf").write_text(f"[timescape_site]\ndatabase = '{db.name}'\n")
    entries = [
        # The top-level keys only.
        {"ENGINE": MYSQL, "NAME": db.name, "USER": user, "HOST": host, "PORT": str(port)},
        # OPTIONS win over NAME and HOST, as in Django's backend (mysqlclient's old key names).
        {"ENGINE": MYSQL, "NAME": "not_this_one", "USER": user, "HOST": "nowhere.invalid",
         "OPTIONS": {"db": db.name, "host": host, "port": port, "isolation_level": "read committed"}},
        # Everything from my.cnf, the database from an included file's own group.
        {"ENGINE": MYSQL, "OPTIONS": {"read_default_file": str(cnf),
                                      "read_default_group": "timescape_site"}},
    ]
    project = write_project(tmp_path, None)
    for entry in entries:
        seen = probe(entry, project)
        assert seen["django"] == [db.name, user, port]
        assert seen["timescape"] == [db.name, user, port], entry

    env = {"DJANGO_SETTINGS_MODULE": SETTINGS, "APP_PROJECT": str(project),
           "APP_DATABASE": json.dumps(entries[2])}
    activated = subprocess.run([sys.executable, "-m", "django", "timescape", "version", "activate",
                                "v1"], cwd=tmp_path, env=server_env(env), capture_output=True,
                               text=True, timeout=120, check=False)
    assert activated.returncode == 0, activated.stderr
    assert "products" in db.tables()


def test_mysql_entry__plain_keys__url_parses_back(tmp_path: Path) -> None:
    url = parse_url(url_from_settings({"ENGINE": MYSQL, "NAME": "shop db", "USER": "app",
                                       "PASSWORD": "p@ss:/w#rd", "HOST": "db.local",
                                       "PORT": " 3307 ", "OPTIONS": {"charset": "utf8mb4"}}))
    assert (url.dialect, url.host, url.port, url.user, url.password, url.database) == (
        "mysql", "db.local", 3307, "app", "p@ss:/w#rd", "shop db")
    # An empty HOST is TCP on the loopback (Django's mysqlclient would use the default socket).
    assert parse_url(url_from_settings({"ENGINE": MYSQL, "NAME": "shop"})).host == "127.0.0.1"


def test_option_file__groups_quotes_includes_and_later_lines_win(tmp_path: Path) -> None:
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "b.cnf").write_text("[client]\nport=3310\n")
    (tmp_path / "conf.d" / "a.cnf").write_text("[client]\nport=3309\nhost=inc.local\n")
    (tmp_path / "conf.d" / "ignored.txt").write_text("[client]\nport=1\n")
    cnf = tmp_path / "my.cnf"
    cnf.write_text(
        "# comment\n[mysqld]\nport=9999\nuser=server\n"
        '[client]\nuser = app  # trailing comment\npassword = "p#ss word"\nport=3306\n'
        f"!includedir {tmp_path / 'conf.d'}\n"
        "; another comment\n[client-mariadb]\ndefault_character_set=latin1\nno-beep\n"
        "[site]\ndatabase='shop'\n"
    )
    assert read_option_file(cnf, ("client", "client-server", "client-mariadb", "site"), "x") == {
        "user": "app", "password": "p#ss word", "port": "3310", "host": "inc.local",
        "database": "shop"}
    url = parse_url(url_from_settings({"ENGINE": MYSQL, "OPTIONS": {
        "read_default_file": str(cnf), "read_default_group": "site"}}))
    assert (url.user, url.password, url.host, url.port, url.database) == (
        "app", "p#ss word", "inc.local", 3310, "shop")


@pytest.mark.parametrize(("entry", "fragment"), [
    ({"OPTIONS": {"ssl": {"ca": "/etc/ca.pem", "cipher": "AES256-SHA"}}}, "has 'cipher'"),
    ({"OPTIONS": {"ssl": "/etc/ca.pem"}}, r"\['ssl'\] must be a dict"),
    ({"OPTIONS": {"read_default_file": "/nonexistent/my.cnf"}}, "cannot read option file"),
    ({"OPTIONS": "read_default_file=/etc/my.cnf"}, r"\['OPTIONS'\] must be a dict"),
    ({"PORT": "mysql"}, "PORT 'mysql'; a port is a number"),
])
def test_mysql_entry__unreachable_over_tcp_or_unreadable__input_error(
    entry: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(InputError, match=fragment):
        url_from_settings({"ENGINE": MYSQL, "NAME": "shop", **entry}, alias="default")


@pytest.mark.parametrize(("entry", "url"), [
    ({"OPTIONS": {"ssl_mode": "DISABLED"}}, "mysql://127.0.0.1/shop?ssl_mode=DISABLED"),
    ({"HOST": "/run/mysqld/mysqld.sock", "PORT": "3306"},
     "mysql://localhost/shop?unix_socket=/run/mysqld/mysqld.sock"),
    ({"HOST": "db.local", "OPTIONS": {"unix_socket": "/tmp/my.sock"}},
     "mysql://localhost/shop?unix_socket=/tmp/my.sock"),
    ({"HOST": "db.local", "OPTIONS": {"ssl": {"ca": "/etc/ca.pem", "cert": "/c.pem",
                                              "key": "/k.pem"}, "ssl_mode": "VERIFY_IDENTITY"}},
     ("mysql://db.local/shop?ssl_ca=/etc/ca.pem&ssl_cert=/c.pem&ssl_key=/k.pem"
      "&ssl_mode=VERIFY_IDENTITY")),
    ({"HOST": "db.local", "OPTIONS": {"ssl": {"ca": "/etc/ca.pem", "check_hostname": False}}},
     "mysql://db.local/shop?ssl_ca=/etc/ca.pem&ssl_check_hostname=false"),
])
def test_mysql_entry__socket_and_tls__passed_to_the_url(entry: dict[str, Any], url: str) -> None:
    built = url_from_settings({"ENGINE": MYSQL, "NAME": "shop", **entry})
    assert built == url
    parse_url(built)  # and the MySQL backend takes every parameter


def test_option_file__socket_without_host_and_ssl_paths__in_the_url(tmp_path: Path) -> None:
    cnf = tmp_path / "my.cnf"
    cnf.write_text("[client]\nsocket=/run/mysqld/mysqld.sock\nssl_ca=/etc/ca.pem\n"
                   "ssl-mode=VERIFY_CA\n")
    options = {"read_default_file": str(cnf)}
    assert url_from_settings({"ENGINE": MYSQL, "NAME": "shop", "OPTIONS": options}) == (
        "mysql://localhost/shop?ssl_ca=/etc/ca.pem&ssl_mode=VERIFY_CA"
        "&unix_socket=/run/mysqld/mysqld.sock")
    # A TCP host wins over the file's socket, as in the client library.
    assert url_from_settings({"ENGINE": MYSQL, "NAME": "shop", "HOST": "db.local",
                              "OPTIONS": options}) == (
        "mysql://db.local/shop?ssl_ca=/etc/ca.pem&ssl_mode=VERIFY_CA")


@pytest.mark.dialects("mysql")
def test_mysql_entry__socket_host__timescape_connects_through_the_socket(db: TestDB) -> None:
    from timescape import Timescape  # noqa: PLC0415

    path = str(db.query("SELECT @@socket")[0][0])
    user = urlsplit(MYSQL_ADMIN_URL).username or "root"
    url = url_from_settings({"ENGINE": MYSQL, "NAME": db.name, "USER": user, "HOST": path})
    with Timescape(url) as ts:
        rows = ts.backend.query(
            "SELECT host, DATABASE() FROM information_schema.processlist WHERE id = CONNECTION_ID()"
        )
    assert rows == [("localhost", db.name)]
