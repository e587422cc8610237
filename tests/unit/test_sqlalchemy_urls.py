"""URLs as Python projects write them: SQLAlchemy's ``dialect+driver://`` and its ``URL`` objects."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest
import sqlalchemy

from timescape import Timescape
from timescape.errors import InputError
from timescape.store.urls import parse_url, url_text


@pytest.mark.parametrize(
    ("url", "dialect"),
    [
        ("postgresql+psycopg://u@h/db", "postgresql"),
        ("postgresql+psycopg2://u@h/db", "postgresql"),
        ("postgresql+asyncpg://u@h/db", "postgresql"),
        ("postgresql+psycopg_async://u@h/db", "postgresql"),
        ("postgres+pg8000://u@h/db", "postgresql"),
        ("mysql+pymysql://u@h/db", "mysql"),
        ("mysql+mysqldb://u@h/db", "mysql"),
        ("mysql+aiomysql://u@h/db", "mysql"),
        ("mysql+asyncmy://u@h/db", "mysql"),
        ("mariadb+pymysql://u@h/db", "mysql"),
        ("MariaDB+MySQLdb://u@h/db", "mysql"),
        ("sqlite+aiosqlite:///x.db", "sqlite"),
        ("sqlite+pysqlite:///x.db", "sqlite"),
    ],
)
def test_parse_url__sqlalchemy_driver_forms__mapped_to_the_dialect(url, dialect):
    parsed = parse_url(url, base_dir=Path("/tmp"))
    assert parsed.dialect == dialect
    if dialect != "sqlite":
        assert (parsed.host, parsed.user, parsed.database) == ("h", "u", "db")


def test_parse_url__unknown_driver__refusal_names_accepted_forms_and_hides_password():
    with pytest.raises(InputError) as info:
        parse_url("postgresql+oracledb://u:topsecret@h/db")
    message = info.value.message
    assert "unsupported driver 'oracledb'" in message
    assert "postgresql+psycopg2" in message
    assert "postgresql+asyncpg" in message
    assert "topsecret" not in message
    assert info.value.exit_code == 2


def test_url_text__sqlalchemy_url_object__password_kept_for_connecting_only(tmp_path):
    url = sqlalchemy.engine.make_url("postgresql+psycopg2://alice:p%40ss@db.example:6543/app")
    text = url_text(url)
    parsed = parse_url(text)
    assert (parsed.user, parsed.password, parsed.host, parsed.port, parsed.database) == (
        "alice",
        "p@ss",
        "db.example",
        6543,
        "app",
    )
    assert "p@ss" not in str(parsed)
    assert "p%40ss" not in str(parsed)


def test_url_text__object_with_only_attributes__built_from_them():
    class LegacyURL:
        drivername = "mysql+mysqldb"
        username = "bob"
        password = "a/b@c"
        host = "127.0.0.1"
        port = 3306
        database = "shop"
        query: ClassVar[dict[str, str]] = {"charset": "utf8mb4"}

    parsed = parse_url(url_text(LegacyURL()))
    assert (parsed.dialect, parsed.user, parsed.password, parsed.database) == (
        "mysql",
        "bob",
        "a/b@c",
        "shop",
    )
    assert parsed.params == {"charset": "utf8mb4"}


def test_url_text__neither_string_nor_url__input_error():
    with pytest.raises(InputError, match="SQLAlchemy URL object, not int"):
        url_text(42)


def test_timescape__sqlalchemy_url_object__connects_to_that_file(tmp_path):
    url = sqlalchemy.engine.URL.create("sqlite+pysqlite", database=str(tmp_path / "app.db"))
    ts = Timescape(url)
    assert ts.url.database == str(tmp_path / "app.db")
    assert ts.url.dialect == "sqlite"
