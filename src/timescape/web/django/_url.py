"""A ``settings.DATABASES`` entry as a Timescape URL, read the way Django's backend reads it.

Pure: reads only the entry and, for MySQL/MariaDB, the option files it names. Kept apart from the
middleware so the mapping can be tested without configured settings. PostgreSQL's order is in
:mod:`timescape.web.django._postgresql`.

Django's MySQL backend hands ``NAME``/``USER``/``PASSWORD``/``HOST``/``PORT`` to mysqlclient and
then ``OPTIONS`` on top, and mysqlclient fills what is still missing from the option file in
``OPTIONS["read_default_file"]`` (the form Django's documentation recommends). Timescape connects
with its own driver, so the same precedence is reproduced here: otherwise a site configured
through ``my.cnf`` would yield a URL with no database, and ``OPTIONS["db"]`` would be ignored while
the application's own connection honours it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from timescape.errors import InputError
from timescape.web.django._postgresql import postgresql_fields

__all__ = ["url_from_settings"]

_ENGINES = {
    "django.db.backends.sqlite3": "sqlite",
    "django.db.backends.postgresql": "postgresql",
    "django.contrib.gis.db.backends.postgis": "postgresql",
    "django.db.backends.mysql": "mysql",
    "django.contrib.gis.db.backends.mysql": "mysql",
}
# mysqlclient's connect() keywords (and their deprecated aliases) that an OPTIONS dict may carry.
_MYSQL_OPTION_KEYS = {
    "user": "user",
    "password": "password",
    "passwd": "password",
    "database": "database",
    "db": "database",
    "host": "host",
    "port": "port",
}
# The option-file groups MariaDB Connector/C (libmariadb, what mysqlclient links on Debian) reads
# for a client, in order; OPTIONS["read_default_group"] is read after them.
_CLIENT_GROUPS = ("client", "client-server", "client-mariadb")
_FILE_SSL_KEYS = ("ssl-ca", "ssl-capath", "ssl-cert", "ssl-key", "ssl-mode")
_FILE_KEYS = ("user", "password", "host", "port", "database", "socket", *_FILE_SSL_KEYS)
# mysqlclient's OPTIONS["ssl"] keys, as the URL parameters Timescape's MySQL backend takes.
_SSL_KEYS = {
    "ca": "ssl_ca",
    "capath": "ssl_capath",
    "cert": "ssl_cert",
    "key": "ssl_key",
    "check_hostname": "ssl_check_hostname",
}
_MAX_INCLUDE_DEPTH = 10


def url_from_settings(entry: Mapping[str, Any], *, alias: str = "default") -> str:
    """The Timescape URL of one ``DATABASES`` entry.

    MySQL/MariaDB entries are read as Django's backend reads them: ``OPTIONS`` keys ``user``,
    ``password`` (``passwd``), ``database`` (``db``), ``host`` and ``port`` win over the top-level
    keys, which win over the option file named by ``OPTIONS["read_default_file"]`` (groups
    ``[client]``, ``[client-server]``, ``[client-mariadb]`` and ``read_default_group``).
    A socket (``OPTIONS["unix_socket"]``, a ``HOST`` starting with ``/``, or the option file's
    ``socket`` when no host is set) becomes ``?unix_socket=``; ``OPTIONS["ssl"]`` (``ca``,
    ``capath``, ``cert``, ``key``, ``check_hostname``), the option file's ``ssl-*`` settings and
    ``OPTIONS["ssl_mode"]`` become the ``ssl_*`` parameters, checked as any URL's are.
    ``charset``, ``init_command`` and ``isolation_level`` concern the application's connection
    only: Timescape's own always uses utf8mb4 and runs each schema's statements as written.

    PostgreSQL entries are read as Django's PostgreSQL backend reads them (see
    :func:`~timescape.web.django._postgresql.postgresql_fields`): ``OPTIONS`` keys that are
    libpq connection keywords (``sslmode``, ``sslrootcert``, ``sslcert``, ``sslkey``,
    ``options``, ``service``, ``passfile``, ``connect_timeout``, ``target_session_attrs``, ...)
    become URL parameters, ``assume_role`` becomes ``-c role=`` in ``options``, and the keys
    that shape only Django's own session (``isolation_level``, ``server_side_binding``,
    ``pool``, ``cursor_factory``, ``prepare_threshold``, ``client_encoding``,
    ``application_name``, ...) are left out.

    Args:
        entry: The entry (``ENGINE``, ``NAME``, ``USER``, ``PASSWORD``, ``HOST``, ``PORT``,
            ``OPTIONS``).
        alias: Its alias, for messages.

    Returns:
        The URL; user, password, database name and parameters percent-encoded, a relative
        SQLite path made absolute, an empty host ``127.0.0.1`` (left empty for PostgreSQL when
        ``OPTIONS["service"]`` or a socket folder names the host).

    Raises:
        InputError: For an engine Timescape does not support, an in-memory SQLite database, an
            ``OPTIONS`` key Timescape cannot honour, an unreadable option file, a PostgreSQL
            entry with neither ``NAME`` nor ``OPTIONS["service"]``, or a non-numeric port.

    Changed in 0.5: PostgreSQL ``OPTIONS`` are carried over (they were dropped).
    """
    engine = str(entry.get("ENGINE", ""))
    dialect = _ENGINES.get(engine)
    if dialect is None:
        raise InputError(
            f"settings.DATABASES[{alias!r}] uses ENGINE {engine!r}; Timescape supports the "
            "sqlite3, postgresql and mysql backends"
        )
    if dialect == "sqlite":
        return _sqlite_url(str(entry.get("NAME") or ""), alias)
    if dialect == "postgresql":
        fields, query = postgresql_fields(entry, f"settings.DATABASES[{alias!r}]")
        # With ?host= or a service, an empty authority keeps libpq's host (not 127.0.0.1).
        named_elsewhere = "host" in query or "service" in query
        url = _server_url(dialect, fields, alias, default_host="" if named_elsewhere else None)
        # %20, not '+', for spaces: the URL stays one libpq (psql) reads the same way.
        return f"{url}?{urlencode(query, safe='/', quote_via=quote)}" if query else url
    fields = {
        "user": entry.get("USER"),
        "password": entry.get("PASSWORD"),
        "host": entry.get("HOST"),
        "port": entry.get("PORT"),
        "database": entry.get("NAME"),
    }
    fields, query = _mysql_fields(fields, entry.get("OPTIONS") or {}, alias)
    url = _server_url(dialect, fields, alias)
    return f"{url}?{urlencode(query, safe='/')}" if query else url


def _sqlite_url(name: str, alias: str) -> str:
    if not name or name == ":memory:" or name.startswith("file:"):
        raise InputError(
            f"settings.DATABASES[{alias!r}] is an in-memory SQLite database; Timescape needs "
            "a file that outlives the process"
        )
    return f"sqlite:///{Path(name).resolve()}"


def _server_url(
    dialect: str, fields: Mapping[str, Any], alias: str, *, default_host: str | None = None
) -> str:
    user = quote(str(fields.get("user") or ""), safe="")
    password = quote(str(fields.get("password") or ""), safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = str(fields.get("host") or (default_host if default_host is not None else "127.0.0.1"))
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    port = ""
    if fields.get("port"):
        try:
            port = f":{int(str(fields['port']).strip())}"
        except ValueError:
            raise InputError(
                f"settings.DATABASES[{alias!r}] has PORT {fields['port']!r}; a port is a number"
            ) from None
    return f"{dialect}://{auth}{host}{port}/{quote(str(fields.get('database') or ''), safe='')}"


def _mysql_fields(
    top: Mapping[str, Any], options: Mapping[str, Any], alias: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """Merge option file < top-level keys < OPTIONS; return the fields and the URL parameters."""
    where = f"settings.DATABASES[{alias!r}]"
    if not isinstance(options, Mapping):
        raise InputError(f"{where}['OPTIONS'] must be a dict")
    merged: dict[str, Any] = {}
    default_file = options.get("read_default_file")
    if default_file:
        group = options.get("read_default_group")
        groups = (*_CLIENT_GROUPS, str(group)) if group else _CLIENT_GROUPS
        merged.update(read_option_file(Path(str(default_file)).expanduser(), groups, where))
    query = {key.replace("-", "_"): str(merged.pop(key)) for key in _FILE_SSL_KEYS if key in merged}
    file_socket = merged.pop("socket", None)
    merged.update({k: v for k, v in top.items() if v not in (None, "")})
    for key, field_name in _MYSQL_OPTION_KEYS.items():
        if options.get(key) not in (None, ""):
            merged[field_name] = options[key]
    host = str(merged.get("host") or "")
    # The client library takes the option file's socket when no host (or localhost) is set.
    socket = options.get("unix_socket") or (host if host.startswith("/") else None)
    if not socket and file_socket and host in ("", "localhost"):
        socket = file_socket
    if socket:
        merged.update(host="localhost", port=None)
        query["unix_socket"] = str(socket)
    query.update(_ssl_query(options, where))
    return merged, query


def _ssl_query(options: Mapping[str, Any], where: str) -> dict[str, str]:
    """``OPTIONS["ssl"]`` and ``OPTIONS["ssl_mode"]`` as URL parameters."""
    ssl = options.get("ssl") or {}
    if not isinstance(ssl, Mapping):
        raise InputError(f"{where}['OPTIONS']['ssl'] must be a dict (ca, cert, key, ...)")
    query: dict[str, str] = {}
    for key, value in ssl.items():
        if key not in _SSL_KEYS:
            raise InputError(
                f"{where}['OPTIONS']['ssl'] has {key!r}, which Timescape's MySQL connection "
                f"cannot honour; it takes {', '.join(_SSL_KEYS)}"
            )
        if value not in (None, ""):
            query[_SSL_KEYS[key]] = str(value).lower() if isinstance(value, bool) else str(value)
    if options.get("ssl_mode"):
        query["ssl_mode"] = str(options["ssl_mode"])
    return query


def read_option_file(path: Path, groups: tuple[str, ...], where: str) -> dict[str, str]:
    """The client settings of a MySQL/MariaDB option file (``my.cnf``), as mysqlclient reads it.

    Reads ``user``, ``password``, ``host``, ``port``, ``database``, ``socket`` and the
    ``ssl-ca``/``ssl-capath``/``ssl-cert``/``ssl-key``/``ssl-mode`` from ``groups``
    (later lines win; ``-`` and ``_`` are the same in a key; quotes are stripped) and follows
    ``!include FILE`` and ``!includedir DIR`` (its ``*.cnf`` files, sorted), as the client library
    does.

    Args:
        path: The option file.
        groups: The ``[group]`` names to read.
        where: The settings entry, for messages.

    Returns:
        The values found, by key.

    Raises:
        InputError: When the file cannot be read (the client library would refuse it too).
    """
    values: dict[str, str] = {}
    _read_options(path, groups, where, values, depth=0)
    return values


def _read_options(
    path: Path, groups: tuple[str, ...], where: str, values: dict[str, str], *, depth: int
) -> None:
    if depth > _MAX_INCLUDE_DEPTH:
        raise InputError(f"{where}: option files include each other more than 10 deep ({path})")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise InputError(f"{where}: cannot read option file {str(path)!r}: {reason}") from None
    wanted = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("!include"):
            directive, _, target = line.partition(" ")
            target_path = (path.parent / target.strip()).expanduser()
            files = (
                sorted(target_path.glob("*.cnf")) if directive == "!includedir" else [target_path]
            )
            for file in files:
                _read_options(file, groups, where, values, depth=depth + 1)
        elif line.startswith("["):
            wanted = line.strip("[] ") in groups
        elif wanted:
            key, sep, value = line.partition("=")
            key = key.strip().replace("_", "-")
            if sep and key in _FILE_KEYS:
                values[key] = _unquote(value.strip())


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value.split(" #", 1)[0].rstrip()
