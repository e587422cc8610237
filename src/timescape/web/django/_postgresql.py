"""A PostgreSQL ``DATABASES`` entry as the parts of a Timescape URL, in Django's own order.

Pure. Django's PostgreSQL backend (``DatabaseWrapper.get_connection_params``) hands psycopg
``dbname=NAME`` then every ``OPTIONS`` key on top, then ``USER``, ``PASSWORD``, ``HOST`` and
``PORT`` over those when they are set; psycopg passes what it does not use itself to libpq as
connection keywords. Timescape used to keep only the top-level keys, so a site whose ``OPTIONS``
ask for ``sslmode=verify-full``, a ``service``, or ``options="-c search_path=app"`` was migrated
over a connection without TLS checks, to another database, or in another schema than the one the
application reads. Each key is therefore carried over, or left out because it only shapes
Django's own session, or refused (exit 2): never dropped unseen.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from timescape.errors import InputError
from timescape.store.postgresql_params import LIBPQ_KEYWORDS

__all__ = ["postgresql_fields"]

# Keys Django or psycopg consume for the application's own session: its transactions
# (isolation_level, autocommit), cursors and adaptation (server_side_binding, cursor_factory,
# row_factory, context, prepare_threshold, connection_factory), its pool, and its encoding
# (Django always sets client_encoding=UTF8 over OPTIONS). application_name labels the
# application's connection; Timescape labels its own (the application_name setting).
_SESSION_ONLY = frozenset(
    {
        "isolation_level",
        "autocommit",
        "server_side_binding",
        "cursor_factory",
        "row_factory",
        "context",
        "prepare_threshold",
        "connection_factory",
        "pool",
        "client_encoding",
        "application_name",
    }
)
_TOP_LEVEL = {"USER": "user", "PASSWORD": "password", "HOST": "host", "PORT": "port"}


def postgresql_fields(
    entry: Mapping[str, Any], where: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """The URL parts (user, password, host, port, database) and libpq parameters of an entry.

    ``NAME`` is the database unless ``OPTIONS["dbname"]`` is set; an empty ``NAME`` leaves it
    to ``OPTIONS["service"]`` (Django requires one or the other), and ``NAME = None`` means the
    ``postgres`` database with any ``service`` left out, as Django does. ``OPTIONS["assume_role"]``,
    which Django applies with ``SET ROLE`` on every connection, becomes ``-c role=…`` in the
    ``options`` startup string, so objects Timescape creates belong to that role too. A ``HOST``
    that is a Unix-socket folder (``/run/postgresql``) or a list of hosts becomes ``?host=``.

    Args:
        entry: The ``DATABASES`` entry.
        where: ``settings.DATABASES['alias']``, for messages.

    Returns:
        The URL parts (None where the entry gives none) and the query parameters.

    Raises:
        InputError: For ``OPTIONS`` that are not a dict, an ``OPTIONS`` key that is neither a
            libpq keyword nor one of Django's own, ``replication``, or an empty ``NAME``
            without ``OPTIONS["service"]``.
    """
    conn = _connection_params(entry, where)
    fields = {field: conn.pop(field, None) for field in (*_TOP_LEVEL.values(), "dbname")}
    fields["database"] = fields.pop("dbname")
    query = {}
    for key, value in conn.items():
        if key in _SESSION_ONLY or value is None:
            continue
        if key not in LIBPQ_KEYWORDS and key != "connect_timeout":
            raise InputError(
                f"{where}['OPTIONS'] has {key!r}, which Timescape's PostgreSQL connection "
                "cannot honour: it takes libpq's connection keywords (sslmode, sslrootcert, "
                "options, service, passfile, target_session_attrs, ...) and leaves out those "
                f"that shape Django's own session ({', '.join(sorted(_SESSION_ONLY))})"
            )
        query[key] = str(value)
    host = str(fields["host"] or "")
    if host.startswith(("/", "@")) or "," in host:
        query["host"] = host
        fields["host"] = None
    return fields, query


def _connection_params(entry: Mapping[str, Any], where: str) -> dict[str, Any]:
    """What Django's ``get_connection_params`` builds, ``assume_role`` made a startup option."""
    options = entry.get("OPTIONS") or {}
    if not isinstance(options, Mapping):
        raise InputError(f"{where}['OPTIONS'] must be a dict")
    name = entry.get("NAME", "")
    if name:
        conn: dict[str, Any] = {"dbname": name, **options}
    elif name is None:
        conn = {"dbname": "postgres", **{k: v for k, v in options.items() if k != "service"}}
    elif options.get("service"):
        conn = dict(options)
    else:
        raise InputError(f"{where} needs NAME or OPTIONS['service'] (as Django does)")
    role = conn.pop("assume_role", None)
    if role:
        startup = str(conn.get("options") or "")
        conn["options"] = f"{startup} -c role={_escape(str(role))}".strip()
    for key, field in _TOP_LEVEL.items():
        if entry.get(key):
            conn[field] = entry[key]
    return conn


def _escape(value: str) -> str:
    """A value for libpq's ``options`` string, where spaces separate arguments."""
    return value.replace("\\", "\\\\").replace(" ", "\\ ")
