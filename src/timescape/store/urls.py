"""Database URLs: parse once, redact at the source.

The redacted form is computed before anything else can fail, so no error, log line or event row can
ever carry the password — even for a URL too malformed to parse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from timescape.errors import InputError

__all__ = ["DatabaseURL", "parse_url", "redact"]

_SCHEMES = {
    "sqlite": "sqlite",
    "sqlite3": "sqlite",
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "postgresql+psycopg": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
    "mysql+pymysql": "mysql",
}
_SECRET_PARAMS = frozenset({"password", "pass", "pwd", "passwd", "sslpassword"})
_MASK = "***"
_SECRET_QUERY = re.compile(r"(?i)([?&](?:password|pass|pwd|passwd|sslpassword)=)[^&#]*")
DEFAULT_CONNECT_TIMEOUT = 10.0


def redact(url: str) -> str:
    """Mask the password in a URL, whether or not the URL is well formed.

    Args:
        url: Any string that may be a database URL.

    Returns:
        The URL with the userinfo password and password-like query parameters replaced by ``***``;
        user and host stay visible so operators can tell databases apart.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return _SECRET_QUERY.sub(r"\1" + _MASK, url)
    # The authority ends at the first '/', '?' or '#' *after* the last '@': a password may itself
    # contain '/', '?', '#' or '@' when the user forgot to percent-encode it.
    at = rest.rfind("@")
    if at >= 0:
        end = len(rest)
        for mark in "/?#":
            pos = rest.find(mark, at)
            if pos >= 0:
                end = min(end, pos)
        userinfo, hostpart = rest[:at], rest[at + 1 : end]
        user = userinfo.split(":", 1)[0]
        masked = f"{user}:{_MASK}" if ":" in userinfo else user
        rest = f"{masked}@{hostpart}{rest[end:]}"
    return _SECRET_QUERY.sub(r"\1" + _MASK, f"{scheme}{sep}{rest}")


@dataclass(frozen=True, slots=True)
class DatabaseURL:
    """A parsed database URL.

    Attributes:
        dialect: ``sqlite``, ``postgresql`` or ``mysql``.
        redacted: The URL with secrets masked; the only form ever shown.
        host: Server host (None for SQLite).
        port: Server port, if given.
        user: User name, if given.
        database: Database name, or the SQLite file path (``:memory:`` for in-memory).
        params: Query parameters (secrets included; never print them).
        connect_timeout: Seconds allowed to establish a connection.
    """

    dialect: str
    redacted: str
    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    database: str = ""
    params: dict[str, str] = field(default_factory=dict, repr=False)
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT

    def __str__(self) -> str:
        """Return the redacted URL."""
        return self.redacted

    @property
    def is_memory(self) -> bool:
        """True for an in-memory SQLite database."""
        return self.dialect == "sqlite" and self.database in ("", ":memory:")


def parse_url(url: str, *, base_dir: Path | None = None) -> DatabaseURL:
    """Parse a database URL.

    ``sqlite:///rel.db`` is relative to ``base_dir`` (the project folder), ``sqlite:////abs.db`` is
    absolute, ``sqlite://`` is in memory.

    Args:
        url: The URL.
        base_dir: Folder for relative SQLite paths (default: the current directory).

    Returns:
        The parsed URL.

    Raises:
        InputError: For an unsupported scheme, a missing database name, or a malformed URL; the
            message shows only the redacted URL.
    """
    shown = redact(url)
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    dialect = _SCHEMES.get(scheme)
    if dialect is None:
        supported = "sqlite://, postgresql://, mysql:// or mariadb://"
        raise InputError(f"unsupported database URL {shown!r}: expected {supported}")
    if dialect == "sqlite":
        return _parse_sqlite(url, shown, base_dir)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InputError(f"malformed database URL {shown!r}: {_safe_reason(exc, url)}") from None
    database = unquote(parts.path.lstrip("/"))
    if not database:
        raise InputError(f"database URL {shown!r} names no database; add it as the path (…/mydb)")
    params = dict(parse_qsl(parts.query))
    password = unquote(parts.password) if parts.password is not None else None
    password = params.pop("password", password)
    timeout = _timeout(params.pop("connect_timeout", None), shown)
    return DatabaseURL(
        dialect=dialect,
        redacted=shown,
        host=parts.hostname or "localhost",
        port=port,
        user=unquote(parts.username) if parts.username else None,
        password=password,
        database=database,
        params=params,
        connect_timeout=timeout,
    )


def _safe_reason(exc: Exception, url: str) -> str:
    text = str(exc)
    return "invalid port or authority" if url in text or len(text) > 80 else text


def _timeout(value: str | None, shown: str) -> float:
    if value is None:
        return DEFAULT_CONNECT_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 3600:
        raise InputError(f"connect_timeout in {shown!r} must be a number of seconds in (0, 3600]")
    return seconds


def _parse_sqlite(url: str, shown: str, base_dir: Path | None) -> DatabaseURL:
    rest = url.partition("://")[2]
    path, _, query = rest.partition("?")
    params = dict(parse_qsl(query))
    timeout = _timeout(params.pop("connect_timeout", None), shown)
    if path in ("", "/", "/:memory:", ":memory:"):
        return DatabaseURL(
            dialect="sqlite",
            redacted=shown,
            database=":memory:",
            params=params,
            connect_timeout=timeout,
        )
    if not path.startswith("/"):
        raise InputError(
            f"malformed SQLite URL {shown!r}: use sqlite:///relative.db or sqlite:////absolute.db"
        )
    raw = unquote(path[1:])
    file = Path(raw)
    if not file.is_absolute():
        file = (base_dir or Path.cwd()) / file
    return DatabaseURL(
        dialect="sqlite",
        redacted=shown,
        database=str(file),
        params=params,
        connect_timeout=timeout,
    )
