"""Database URL parsing and password redaction (pure)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from timescape.errors import InputError
from timescape.store.urls import DEFAULT_CONNECT_TIMEOUT, parse_url, redact

SENTINEL = "Xq7@:/%23#?!pw"
ENCODED = quote(SENTINEL, safe="")


def _fragments(secret: str) -> list[str]:
    """The secret, its encoded form, and its fragments after each '@' and ':' (T37)."""
    pieces = {secret, quote(secret, safe=""), secret.replace("%23", "#")}
    for mark in "@:":
        start = secret.find(mark)
        while start >= 0:
            tail = secret[start + 1 :]
            if len(tail) >= 3:
                pieces.add(tail)
            start = secret.find(mark, start + 1)
    pieces.add(secret.split("@", maxsplit=1)[0])
    pieces.add("?!pw")
    return sorted(pieces)


def _assert_hidden(text: str) -> None:
    for piece in _fragments(SENTINEL):
        assert piece not in text, f"{piece!r} leaked in {text!r}"


# -- parsing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "dialect"),
    [
        ("postgresql://u@h/db", "postgresql"),
        ("postgres://u@h/db", "postgresql"),
        ("postgresql+psycopg://u@h/db", "postgresql"),
        ("mysql://u@h/db", "mysql"),
        ("mariadb://u@h/db", "mysql"),
        ("mysql+pymysql://u@h/db", "mysql"),
        ("sqlite:///x.db", "sqlite"),
        ("sqlite3:///x.db", "sqlite"),
        ("SQLITE:///x.db", "sqlite"),
    ],
)
def test_parse_url__schemes__dialect(url, dialect):
    assert parse_url(url, base_dir=Path("/tmp")).dialect == dialect


def test_parse_url__full_server_url__every_part():
    url = parse_url(
        "postgresql://alice:s3cret@db.example:6543/app?sslmode=require&connect_timeout=4"
    )
    assert (url.host, url.port, url.user, url.password, url.database) == (
        "db.example",
        6543,
        "alice",
        "s3cret",
        "app",
    )
    assert url.params == {"sslmode": "require"}
    assert url.connect_timeout == 4.0
    assert (
        url.redacted
        == "postgresql://alice:***@db.example:6543/app?sslmode=require&connect_timeout=4"
    )
    assert str(url) == url.redacted


def test_parse_url__no_host__localhost_default_timeout():
    url = parse_url("postgresql:///app")
    assert url.host == "localhost"
    assert url.port is None
    assert url.connect_timeout == DEFAULT_CONNECT_TIMEOUT


def test_parse_url__percent_encoded_parts__decoded():
    url = parse_url(f"mysql://us%40er:{ENCODED}@h:3306/my%2Ddb")
    assert url.user == "us@er"
    assert url.password == SENTINEL
    assert url.database == "my-db"
    _assert_hidden(url.redacted)
    _assert_hidden(repr(url))


def test_parse_url__password_query_param__used_and_hidden():
    url = parse_url(f"postgresql://u@h/db?password={ENCODED}&sslmode=disable")
    assert url.password == SENTINEL
    assert "password" not in url.params
    _assert_hidden(url.redacted)
    _assert_hidden(repr(url))


def test_parse_url__unencoded_at_and_percent_in_password__parsed_and_hidden():
    url = parse_url("mysql://root:p@ss%word@db.example/app")
    assert (url.user, url.password, url.host, url.database) == (
        "root",
        "p@ss%word",
        "db.example",
        "app",
    )
    assert url.redacted == "mysql://root:***@db.example/app"


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://user:{SENTINEL}@db.example:5432/app",
        "postgresql://user:ab/cd@db.example/app",
        "postgresql://user:ab?cd@db.example/app",
        "postgresql://user:ab#cd@db.example/app",
    ],
)
def test_parse_url__unencoded_slash_query_hash_in_password__input_error_hidden(url):
    with pytest.raises(InputError, match="malformed database URL") as info:
        parse_url(url)
    assert "percent-encode" in info.value.message
    assert "user:***@db.example" in info.value.message
    _assert_hidden(info.value.message)
    for piece in ("ab/cd", "ab?cd", "ab#cd", "'ab'", "'cd'"):
        assert piece not in info.value.message


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("oracle://u:pw@h/db", "unsupported database URL"),
        ("no-scheme-at-all", "unsupported database URL"),
        ("postgresql://u:pw@h", "names no database"),
        ("postgresql://u:pw@h/", "names no database"),
        ("postgresql://u:pw@h:99999/db", "malformed"),
        ("postgresql://u:pw@h:port/db", "malformed"),
        ("postgresql://u:pw@h/db?connect_timeout=0", "connect_timeout"),
        ("postgresql://u:pw@h/db?connect_timeout=abc", "connect_timeout"),
        ("postgresql://u:pw@h/db?connect_timeout=99999", "connect_timeout"),
        ("sqlite://relative.db", "malformed SQLite URL"),
    ],
)
def test_parse_url__bad_input__input_error_without_password(url, reason):
    with pytest.raises(InputError, match=reason) as info:
        parse_url(url)
    assert ":pw@" not in info.value.message


def test_parse_url__sqlite_paths__relative_absolute_memory(tmp_path):
    assert parse_url("sqlite:///app.db", base_dir=tmp_path).database == str(tmp_path / "app.db")
    assert parse_url("sqlite:////var/x.db").database == "/var/x.db"
    for memory in ("sqlite://", "sqlite:///:memory:", "sqlite:///"):
        assert parse_url(memory).is_memory
    assert not parse_url("sqlite:////var/x.db").is_memory


def test_parse_url__sqlite_params__kept_timeout_parsed():
    url = parse_url("sqlite:////tmp/x.db?connect_timeout=2&mode=ro")
    assert url.connect_timeout == 2.0
    assert url.params == {"mode": "ro"}


# -- redaction ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://alice:s3cret@db:5432/app", "postgresql://alice:***@db:5432/app"),
        ("postgresql://alice@db/app", "postgresql://alice@db/app"),
        ("postgresql://db/app", "postgresql://db/app"),
        ("mysql://root:@db/app", "mysql://root:***@db/app"),
        ("postgresql://u@h/db?password=s3cret&x=1", "postgresql://u@h/db?password=***&x=1"),
        ("postgresql://u@h/db?PWD=s3cret", "postgresql://u@h/db?PWD=***"),
        ("postgresql://u@h/db?sslpassword=s3cret", "postgresql://u@h/db?sslpassword=***"),
        ("host=db password=s3cret", "host=db password=s3cret"),  # not a URL: left alone
        ("sqlite:////x.db?password=s3cret", "sqlite:////x.db?password=***"),
    ],
)
def test_redact__forms__password_masked_user_host_visible(url, shown):
    assert redact(url) == shown


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://user:{SENTINEL}@db.example:5432/app",
        f"postgresql://user:{ENCODED}@db.example:5432/app",
        f"postgresql://user@db.example/app?password={SENTINEL}",
        f"postgresql://user@db.example/app?password={ENCODED}",
        f"mysql://user:{SENTINEL}@db.example/app?password={SENTINEL}",
        f"postgresql://user:{SENTINEL}@db.example",
        f"postgresql://user:{SENTINEL}",
    ],
)
def test_redact__sentinel_in_any_position__no_fragment_left(url):
    shown = redact(url)
    _assert_hidden(shown)
    assert "user" in shown
