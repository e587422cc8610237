"""The query parameters of a PostgreSQL URL: libpq's connection keywords, each honoured or refused.

Why a closed list: the PostgreSQL backend used to hand psycopg every parameter after its own
``host``, ``dbname``, ``user``, ``port`` and ``application_name``, so ``?host=/run/postgresql``
(libpq's form for a Unix socket) was silently replaced by TCP to ``localhost``, a ``?service=``
had its host and database overridden by Timescape's defaults, and a misspelt name reached libpq
only at connect time. A parameter is now either a libpq keyword passed on unchanged (TLS, the
``options`` startup string, service files, keepalives, ...), folded into the URL's own parts
(``host``, ``port``, ``dbname``, ``user``), or an :class:`InputError` (exit 2) naming it, checked
when the URL is parsed so nothing has connected yet.

A libpq keyword this module lists but the installed libpq predates (``sslnegotiation`` needs
libpq 17, ``min_protocol_version`` 18) is refused by libpq itself when connecting.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from timescape.errors import InputError
from timescape.model._record import record

__all__ = [
    "LIBPQ_KEYWORDS",
    "SSL_MODES",
    "PostgreSQLTarget",
    "multi_host_authority",
    "postgresql_target",
]

# libpq's connection keywords (https://www.postgresql.org/docs/current/libpq-connect.html
# #LIBPQ-PARAMKEYWORDS) that Timescape hands to psycopg as they are; host, hostaddr's siblings
# and the credentials are parts of the URL instead.
LIBPQ_KEYWORDS = frozenset(
    {
        "hostaddr",
        "passfile",
        "require_auth",
        "channel_binding",
        "client_encoding",
        "options",
        "fallback_application_name",
        "keepalives",
        "keepalives_idle",
        "keepalives_interval",
        "keepalives_count",
        "tcp_user_timeout",
        "sslmode",
        "sslnegotiation",
        "sslcompression",
        "sslcert",
        "sslkey",
        "sslpassword",
        "sslcertmode",
        "sslrootcert",
        "sslcrl",
        "sslcrldir",
        "sslsni",
        "requirepeer",
        "ssl_min_protocol_version",
        "ssl_max_protocol_version",
        "min_protocol_version",
        "max_protocol_version",
        "gssencmode",
        "krbsrvname",
        "gsslib",
        "gssdelegation",
        "service",
        "target_session_attrs",
        "load_balance_hosts",
    }
)
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
# Keywords libpq knows that Timescape's connection cannot take, with the reason shown.
_REFUSED = {
    "application_name": (
        "Timescape names its own connection with the application_name setting "
        "(timescape.toml [database] application_name, or Timescape(application_name=...)); "
        "set it there"
    ),
    "replication": "a replication connection cannot run migrations; leave it out",
}
_PARTS = ("host", "port", "dbname", "user")
_ENV_HOST = frozenset({"PGHOST", "PGHOSTADDR"})
"""libpq's environment variables naming the server: with one set, a URL without a host goes
where ``psql`` would (a Django app with an empty ``HOST`` connects there too), not to
``localhost``."""


@record
class PostgreSQLTarget:
    """Where a PostgreSQL URL connects, once its query parameters are folded in.

    Attributes:
        host: Host name, address, Unix-socket folder or comma-separated list; None when a
            ``service`` is named and no host is, so the service file's host applies.
        port: Port, if given.
        user: User name, if given.
        database: Database name; empty only when a ``service`` names it.
        params: The remaining parameters, all libpq keywords, for ``psycopg.connect``.
    """

    host: str | None
    port: int | None
    user: str | None
    database: str
    params: dict[str, str]


def postgresql_target(
    params: Mapping[str, str],
    shown: str,
    *,
    host: str | None,
    port: int | None,
    user: str | None,
    database: str,
) -> PostgreSQLTarget:
    """Check a PostgreSQL URL's query parameters and fold ``host``/``port``/``dbname``/``user`` in.

    ``?host=`` is libpq's way to name a Unix-socket folder (``postgresql://app@/shop?host=
    /run/postgresql``) or several hosts; ``?dbname=`` and ``?user=`` are libpq's spellings of
    the path and user name. Each is taken when the URL's authority or path leaves it out, and
    refused when both give it differently, since libpq and Timescape would then disagree on the
    server. A part the URL leaves out is libpq's to fill, as for ``psql`` and Django: from a
    ``service`` (the URL's or ``PGSERVICE``), then from ``PGHOST``/``PGHOSTADDR``, ``PGPORT``,
    ``PGDATABASE`` and ``PGUSER`` (libpq's rule: explicit values win). Without any host, from
    the URL or the environment, Timescape connects over TCP to ``localhost`` as before:
    libpq's own default, a Unix socket, may authenticate differently (``peer``), so it is
    taken only when asked for (``?host=/run/postgresql``).

    Args:
        params: The parameters (``connect_timeout`` and ``password`` already taken out).
        shown: The redacted URL, for messages.
        host: The authority's host, if any.
        port: The authority's port, if any.
        user: The authority's user name, if any.
        database: The path's database name, possibly empty.

    Returns:
        The target, with only libpq keywords left in its parameters.

    Raises:
        InputError: For an unknown parameter, one Timescape's connection cannot take
            (``application_name``, ``replication``), a part given twice differently, an
            unknown ``sslmode``, a non-numeric port, or no database from the URL, a
            ``service`` or ``PGDATABASE``.
    """
    given = dict(params)
    parts = {name: given.pop(name) for name in _PARTS if name in given}
    for name in given:
        if name in _REFUSED:
            raise InputError(f"parameter {name!r} in PostgreSQL URL {shown!r}: {_REFUSED[name]}")
        if name not in LIBPQ_KEYWORDS:
            raise InputError(
                f"unknown parameter {name!r} in PostgreSQL URL {shown!r}: Timescape would not "
                "act on it; the accepted parameters are libpq's connection keywords "
                f"({', '.join(sorted(LIBPQ_KEYWORDS | set(_PARTS)))}), connect_timeout and "
                "password"
            )
    mode = given.get("sslmode")
    if mode is not None and mode not in SSL_MODES:
        raise InputError(
            f"sslmode={mode} in {shown!r} is not a libpq TLS mode; use one of "
            + ", ".join(SSL_MODES)
        )
    host = _one("host", host, parts.get("host"), shown)
    user = _one("user", user, parts.get("user"), shown)
    database = _one("dbname", database or None, parts.get("dbname"), shown) or ""
    port_text = _one("port", None if port is None else str(port), parts.get("port"), shown)
    libpq_decides = "service" in given or bool(os.environ.get("PGSERVICE"))
    if not database and not (libpq_decides or os.environ.get("PGDATABASE")):
        raise InputError(
            f"database URL {shown!r} names no database; add it as the path (…/mydb), "
            "or name a service (?service=…) whose entry gives dbname, or set PGDATABASE"
        )
    if host is None and not (libpq_decides or any(map(os.environ.get, _ENV_HOST))):
        host = "localhost"
    return PostgreSQLTarget(
        host=host, port=_port(port_text, shown, given), user=user, database=database, params=given
    )


def _one(name: str, authority: str | None, query: str | None, shown: str) -> str | None:
    """The value of a part the URL may give in its authority/path or as a parameter."""
    if query is None or query == "":
        return authority or None
    if authority not in (None, "", query):
        raise InputError(
            f"PostgreSQL URL {shown!r} gives {name} twice, differently (in the URL and as "
            f"?{name}=); keep one"
        )
    return query


def _port(text: str | None, shown: str, given: dict[str, str]) -> int | None:
    """The one port, or ``None`` with libpq's per-host list left in ``given`` (``5432,5433``)."""
    if text is None:
        return None
    ports = set(text.split(","))
    for port in ports - {""}:
        if not (port.isdigit() and 0 < int(port) < 65536):
            raise InputError(
                f"port {port!r} in {shown!r} is not a number in 1-65535 (several servers: "
                "one port each, in the order of the hosts, ?host=a,b&port=5432,5433)"
            )
    if len(ports) == 1 and "" not in ports:
        return int(ports.pop())
    given["port"] = text  # libpq pairs them with the hosts; an empty one is the default 5432
    return None


def multi_host_authority(netloc: str) -> tuple[str, str, str] | None:
    """Split a libpq multi-host authority (``u@db1:5432,db2:5433``) urlsplit cannot parse.

    Args:
        netloc: The URL's authority.

    Returns:
        ``(userinfo with its "@", hosts, ports)`` as libpq's comma lists (``db1,db2`` and
        ``5432,5433``, a port empty where a host gives none), or ``None`` for a single host.
    """
    userinfo, at, hostlist = netloc.rpartition("@")
    if "," not in hostlist:
        return None
    hosts, ports = [], []
    for entry in hostlist.split(","):
        if entry.startswith("["):  # [::1]:5432, an IPv6 literal
            address, _, rest = entry[1:].partition("]")
            port = rest.removeprefix(":")
        else:
            address, _, port = entry.partition(":")
        hosts.append(address)
        ports.append(port)
    return userinfo + at, ",".join(hosts), ",".join(ports) if any(ports) else ""
