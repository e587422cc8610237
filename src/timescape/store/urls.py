"""Database URLs: parse once, redact at the source.

The redacted form is computed before anything else can fail, so no error, log line or event row can
ever carry the password — even for a URL too malformed to parse.
"""

from __future__ import annotations

from dataclasses import field
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, parse_qsl, unquote, urlencode, urlsplit

from timescape.errors import InputError
from timescape.model._pattern import lazy_pattern
from timescape.model._record import record

__all__ = ["DatabaseURL", "parse_url", "redact", "url_text"]

_DIALECTS = {
    "sqlite": "sqlite",
    "sqlite3": "sqlite",
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
}
# SQLAlchemy's ``dialect+driver`` forms, as Python projects keep them in their settings. Timescape
# connects with its own driver of the same dialect (psycopg 3, PyMySQL, sqlite3): the driver named
# in the URL only tells which library the application uses, not which server it reaches.
_DRIVERS = {
    "sqlite": frozenset({"pysqlite", "aiosqlite", "pysqlcipher"}),
    "postgresql": frozenset(
        {"psycopg", "psycopg2", "psycopg2cffi", "asyncpg", "psycopg_async", "pg8000"}
    ),
    "mysql": frozenset({"pymysql", "mysqldb", "mysqlconnector", "aiomysql", "asyncmy"}),
}
_SECRET_PARAMS = frozenset({"password", "pass", "pwd", "passwd", "sslpassword"})
_MASK = "***"
# Compiled on first use (issue 14): a SQLite URL has no '@' and no query.
_secret_query = lazy_pattern(r"(?i)([?&](?:password|pass|pwd|passwd|sslpassword)=)[^&]*")
# What may follow the '@' that ends the userinfo: a host (name, IPv4 or [IPv6], possibly empty for
# a Unix socket) and an optional numeric port, then the end of the authority.
_host_port = lazy_pattern(r"(?:\[[0-9A-Fa-f:.]*\]|[A-Za-z0-9._~%!$&'()*+,;=\-]*)(?::\d+)?")
_ENCODE_HINT = "percent-encode '@', ':', '/', '?', '#' and '%' in the user name and password"
DEFAULT_CONNECT_TIMEOUT = 10.0


def redact(url: str) -> str:
    """Mask the password in a URL, whether or not the URL is well formed.

    The password is taken as long as it can be: it ends at the *last* ``@`` that is followed by
    something that can be a host and port, so unencoded ``@``, ``/``, ``?`` and ``#`` in it stay
    hidden. When no ``@`` is followed by a plausible host, everything after ``user:`` is masked.
    Password-like query parameters are masked up to the next ``&`` (a ``#`` does not end them).

    Args:
        url: Any string that may be a database URL.

    Returns:
        The URL with the userinfo password and password-like query parameters replaced by ``***``;
        user and host stay visible so operators can tell databases apart.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return _mask_query(url)
    at = _userinfo_end(rest)
    if at < 0:
        user, colon, _ = rest.partition(":")
        if "@" in rest and colon and "@" not in user:
            return f"{scheme}{sep}{user}:{_MASK}"
        return f"{scheme}{sep}{_mask_query(rest)}"
    user, colon, _ = rest[:at].partition(":")
    masked = f"{user}:{_MASK}" if colon else user
    return f"{scheme}{sep}{masked}@{_mask_query(rest[at + 1 :])}"


def _mask_query(text: str) -> str:
    if "=" not in text:  # every match holds one
        return text
    return _secret_query().sub(r"\1" + _MASK, text)


def _userinfo_end(rest: str) -> int:
    """Return the index of the ``@`` ending the userinfo in ``rest`` (after ``://``), or -1."""
    at = rest.rfind("@")
    if at < 0:
        return -1
    host_port = _host_port()
    while at >= 0:
        match = host_port.match(rest, at + 1)
        end = match.end() if match else at + 1
        if end == len(rest) or rest[end] in "/?#":
            return at
        at = rest.rfind("@", 0, at)
    return -1


@record
class DatabaseURL:
    """A parsed database URL.

    Attributes:
        dialect: ``sqlite``, ``postgresql`` or ``mysql``.
        redacted: The URL with secrets masked; the only form ever shown.
        host: Server host (None for SQLite, and for a PostgreSQL ``service`` that names it).
        port: Server port, if given.
        user: User name, if given.
        database: Database name, or the SQLite file path (``:memory:`` for in-memory); empty
            when a PostgreSQL ``service`` names it.
        params: Query parameters (secrets included; never print them); for PostgreSQL, libpq
            connection keywords only (see :mod:`timescape.store.postgresql_params`).
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
        InputError: For an unsupported scheme, a missing database name, a malformed URL, or a
            query parameter the backend would not act on; the message shows only the redacted
            URL.

    Changed in 0.5: a PostgreSQL URL's parameters are checked (libpq's keywords only), and
    ``?host=``, ``?port=``, ``?dbname=``, ``?user=`` and ``?service=`` are honoured.
    """
    shown = redact(url)
    dialect = _dialect(url.partition("://")[0].lower() if "://" in url else "", shown)
    if dialect == "sqlite":
        return _parse_sqlite(url, shown, base_dir)
    try:
        # urlsplit knows no '_' in a scheme (postgresql+psycopg_async): parse the plain one.
        parts = urlsplit(f"{dialect}://{url.partition('://')[2]}")
        if dialect == "postgresql":
            parts = _hosts_as_parameters(parts)
        # A '#' or an '@' in the path means the authority ended early: an unencoded '/', '?' or
        # '#' in the password. Parsing on would connect somewhere else with part of the password.
        if parts.fragment or "@" in parts.path:
            raise ValueError(_ENCODE_HINT)
        port = parts.port
    except ValueError:
        # Never echo the parser's reason: it quotes the "port", which may be part of a password.
        raise InputError(
            f"malformed database URL {shown!r}: invalid authority or port; {_ENCODE_HINT}"
        ) from None
    database = unquote(parts.path.lstrip("/"))
    pairs = parse_qsl(parts.query)
    params = dict(pairs)
    if len(params) < len(pairs):
        twice = sorted({name for name, _ in pairs if sum(n == name for n, _ in pairs) > 1})
        raise InputError(
            f"database URL {shown!r} gives {', '.join(twice)} more than once"
            + (" (hosts in the URL's authority count as ?host=)" if "host" in twice else "")
            + "; keep one"
        )
    password = unquote(parts.password) if parts.password is not None else None
    password = params.pop("password", password)
    timeout = _timeout(params.pop("connect_timeout", None), shown)
    user = unquote(parts.username) if parts.username else None
    host = parts.hostname
    if dialect == "postgresql":
        from timescape.store.postgresql_params import postgresql_target  # noqa: PLC0415 - PG only

        target = postgresql_target(
            params, shown, host=host, port=port, user=user, database=database
        )
        host, port, user, database, params = (
            target.host, target.port, target.user, target.database, target.params
        )  # fmt: skip
    else:
        if not database:
            raise InputError(
                f"database URL {shown!r} names no database; add it as the path (…/mydb)"
            )
        host = host or "localhost"
        from timescape.store.mysql_params import mysql_params  # noqa: PLC0415 - MySQL URLs only

        mysql_params(params, shown, host)  # refuse what the backend would not act on, early
    return DatabaseURL(
        dialect=dialect,
        redacted=shown,
        host=host,
        port=port,
        user=user,
        password=password,
        database=database,
        params=params,
        connect_timeout=timeout,
    )


def _hosts_as_parameters(parts: SplitResult) -> SplitResult:
    """A libpq multi-host authority (``db1:5432,db2:5433``) rewritten as ``?host=&port=``.

    urlsplit reads ``db1:5432,db2`` as one host with a port it cannot parse; libpq takes the
    list and tries each host in turn (``target_session_attrs=read-write`` finds the primary).
    """
    from timescape.store.postgresql_params import multi_host_authority  # noqa: PLC0415

    split = multi_host_authority(parts.netloc)
    if split is None:
        return parts
    userinfo, hosts, ports = split
    extra = [("host", hosts)] + ([("port", ports)] if ports else [])
    query = "&".join(filter(None, [parts.query, urlencode(extra, safe=",:")]))
    return parts._replace(netloc=userinfo, query=query)


def _dialect(scheme: str, shown: str) -> str:
    """The dialect of a scheme, plain (``postgresql``) or SQLAlchemy's ``dialect+driver``."""
    name, plus, driver = scheme.partition("+")
    dialect = _DIALECTS.get(name)
    if dialect is None:
        supported = "sqlite://, postgresql://, mysql:// or mariadb://"
        raise InputError(f"unsupported database URL {shown!r}: expected {supported}")
    if plus and driver not in _DRIVERS[dialect]:
        accepted = ", ".join(f"{name}+{d}" for d in sorted(_DRIVERS[dialect]))
        raise InputError(
            f"unsupported driver {driver!r} in database URL {shown!r}: Timescape connects with its "
            f"own {dialect} driver and accepts {name}://, {accepted}"
        )
    return dialect


def url_text(url: object) -> str:
    """The text of a URL given as a string or as a SQLAlchemy ``URL`` object.

    SQLAlchemy is never imported: an object is recognised by its ``render_as_string`` method
    (SQLAlchemy 1.4+) or, failing that, by its ``drivername``/``host``/``database`` attributes, so
    an application can hand over ``engine.url`` as it is.

    Args:
        url: A URL string or an object shaped like ``sqlalchemy.engine.URL``.

    Returns:
        The URL as text, password included (redact before showing it).

    Raises:
        InputError: When ``url`` is neither.
    """
    if isinstance(url, str):
        return url
    render = getattr(url, "render_as_string", None)
    if callable(render):
        text = render(hide_password=False)
        if isinstance(text, str):
            return text
    drivername = getattr(url, "drivername", None)
    if isinstance(drivername, str):
        return _url_from_parts(url, drivername)
    raise InputError(
        f"database must be a URL string or a SQLAlchemy URL object, not {type(url).__name__}"
    )


def _url_from_parts(url: Any, drivername: str) -> str:
    from urllib.parse import quote, urlencode  # noqa: PLC0415 - only for URL objects

    user, password = getattr(url, "username", None), getattr(url, "password", None)
    host, port = getattr(url, "host", None), getattr(url, "port", None)
    database = getattr(url, "database", None) or ""
    query = dict(getattr(url, "query", None) or {})
    auth = ""
    if user:
        auth = quote(str(user), safe="")
        if password is not None:
            auth += ":" + quote(str(password), safe="")
        auth += "@"
    where = f"{host or ''}{f':{port}' if port else ''}"
    tail = f"?{urlencode(query, doseq=True)}" if query else ""
    return f"{drivername}://{auth}{where}/{database}{tail}"


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
