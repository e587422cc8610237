"""The query parameters of a MySQL/MariaDB URL: a closed list, each honoured or refused by name.

Why a closed list: the MySQL backend used to drop every parameter it did not know, so
``?ssl_mode=VERIFY_IDENTITY&ssl_ca=…`` connected without TLS and ``?unix_socket=…`` went over TCP
to whatever listened on the host. A parameter is now either acted on or an :class:`InputError`
(exit 2) naming it, checked when the URL is parsed so nothing has connected yet.

TLS follows the MySQL client's ``--ssl-mode`` names. Giving a CA or client certificate without a
mode verifies the certificate and the host name, as SQLAlchemy's ``mysql+pymysql`` URLs
(``?ssl_ca=…``) do; ``ssl_check_hostname=false`` (SQLAlchemy's spelling) keeps the CA check only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from timescape.errors import InputError
from timescape.model._record import record

if TYPE_CHECKING:
    import ssl

__all__ = ["SSL_MODES", "MySQLParams", "mysql_params", "pymysql_arguments"]

SSL_MODES = ("DISABLED", "PREFERRED", "REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY")
_FILES = ("ssl_ca", "ssl_capath", "ssl_cert", "ssl_key")
_ACCEPTED = (
    "ssl_mode",
    *_FILES,
    "ssl_check_hostname",
    "ssl",
    "unix_socket",
    "charset",
    "connect_timeout",
    "password",
)
# Timescape reads schema files as text and always sends it as utf8mb4; these names ask for a
# subset of it (utf8 is utf8mb3 on MySQL and MariaDB), so honouring them changes nothing.
_CHARSETS = frozenset({"utf8mb4", "utf8mb3", "utf8"})
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


@record
class MySQLParams:
    """What a MySQL URL's parameters ask of the connection.

    Attributes:
        ssl_mode: One of :data:`SSL_MODES`, or None for the driver's default (``PREFERRED`` in
            recent PyMySQL releases, plain text in older ones).
        ssl_ca: CA certificate file (PEM) the server certificate must chain to.
        ssl_capath: Folder of CA certificates (``c_rehash`` layout).
        ssl_cert: Client certificate (PEM), for servers that require one.
        ssl_key: Its private key, when not in ``ssl_cert``.
        unix_socket: Path of the server's Unix socket; the host and port are then not used.
    """

    ssl_mode: str | None = None
    ssl_ca: str | None = None
    ssl_capath: str | None = None
    ssl_cert: str | None = None
    ssl_key: str | None = None
    unix_socket: str | None = None


def mysql_params(params: Mapping[str, str], shown: str, host: str | None) -> MySQLParams:
    """Check a MySQL URL's query parameters and resolve the TLS mode.

    ``-`` and ``_`` are the same in a name (``ssl-mode`` as in ``my.cnf``); mode values are
    case-insensitive.

    Args:
        params: The parameters (``connect_timeout`` and ``password`` may already be taken out).
        shown: The redacted URL, for messages.
        host: The URL's host; a Unix socket is only taken with ``localhost`` (or no host).

    Returns:
        The resolved parameters.

    Raises:
        InputError: For an unknown parameter, an unknown mode, or settings that contradict each
            other (a CA with ``DISABLED``/``PREFERRED``/``REQUIRED``, a socket with a remote
            host, a charset other than UTF-8).
    """
    given = _known(params, shown)
    charset = given.get("charset")
    if charset is not None and charset.lower() not in _CHARSETS:
        raise InputError(
            f"charset={charset} in {shown!r}: Timescape reads schema files as UTF-8 and always "
            "connects with utf8mb4 (the server converts to each column's character set); "
            "use charset=utf8mb4 or leave it out"
        )
    files = {name: given[name] for name in _FILES if given.get(name)}
    mode = _mode(given, shown, has_files=bool(files))
    if files and mode in ("DISABLED", "PREFERRED"):
        raise InputError(
            f"{', '.join(files)} in {shown!r} with ssl_mode={mode}: the certificate would not be "
            "used; use ssl_mode=VERIFY_IDENTITY (or VERIFY_CA, REQUIRED)"
        )
    if mode == "REQUIRED" and ({"ssl_ca", "ssl_capath"} & files.keys()):
        raise InputError(
            f"ssl_mode=REQUIRED in {shown!r} encrypts without checking the server certificate, "
            "so ssl_ca would be ignored; use ssl_mode=VERIFY_CA (or VERIFY_IDENTITY) to check it"
        )
    if "ssl_key" in files and "ssl_cert" not in files:
        raise InputError(f"ssl_key in {shown!r} needs the client certificate too (ssl_cert)")
    return MySQLParams(ssl_mode=mode, unix_socket=_socket(given, shown, host), **files)


def _known(params: Mapping[str, str], shown: str) -> dict[str, str]:
    """The parameters by canonical name; an unknown one is refused, naming the accepted ones."""
    given: dict[str, str] = {}
    for raw, value in params.items():
        name = raw.replace("-", "_").lower()
        if name not in _ACCEPTED:
            raise InputError(
                f"unknown parameter {raw!r} in MySQL/MariaDB URL {shown!r}: Timescape would "
                f"ignore it; the accepted parameters are {', '.join(_ACCEPTED)}"
            )
        if name in given and given[name] != value:
            raise InputError(f"MySQL/MariaDB URL {shown!r} sets {name} twice, differently")
        given[name] = value
    return given


def _socket(given: Mapping[str, str], shown: str, host: str | None) -> str | None:
    socket = given.get("unix_socket") or None
    if socket is not None:
        if not socket.startswith("/"):
            raise InputError(f"unix_socket in {shown!r} must be an absolute path, not {socket!r}")
        if host not in (None, "", "localhost"):
            raise InputError(
                f"MySQL/MariaDB URL {shown!r} names both the host {host!r} and unix_socket; "
                "a socket reaches the local server only: leave the host out (mysql://user@/db?…)"
            )
    return socket


def _mode(given: Mapping[str, str], shown: str, *, has_files: bool) -> str | None:
    """The TLS mode asked for, explicit (``ssl_mode``) or implied (``ssl``, certificates)."""
    explicit = given.get("ssl_mode")
    mode = explicit.upper() if explicit is not None else None
    if mode is not None and mode not in SSL_MODES:
        raise InputError(
            f"ssl_mode={explicit} in {shown!r} is not a MySQL TLS mode; use one of "
            + ", ".join(SSL_MODES)
        )
    switch = _flag(given, "ssl", shown)
    check_hostname = _flag(given, "ssl_check_hostname", shown)
    implied = None
    if switch is False:
        implied = "DISABLED"
    elif switch or has_files or check_hostname is not None:
        implied = "VERIFY_IDENTITY" if check_hostname is not False else "VERIFY_CA"
    if mode is None:
        return implied
    if (switch is not None and (mode == "DISABLED") != (switch is False)) or (
        check_hostname is not None and check_hostname != (mode == "VERIFY_IDENTITY")
    ):
        raise InputError(
            f"MySQL/MariaDB URL {shown!r} contradicts ssl_mode={mode} with ssl or "
            "ssl_check_hostname; keep ssl_mode only"
        )
    return mode


def _flag(given: Mapping[str, str], name: str, shown: str) -> bool | None:
    value = given.get(name)
    if value is None:
        return None
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise InputError(f"{name}={value} in {shown!r} must be true or false")


def pymysql_arguments(params: MySQLParams, shown: str) -> dict[str, Any]:
    """PyMySQL ``connect()`` arguments for the socket and TLS mode.

    ``REQUIRED`` and ``VERIFY_*`` hand PyMySQL an :class:`ssl.SSLContext`, which makes TLS
    mandatory: a server that offers none is refused before the password is sent, never used in
    plain text. ``VERIFY_*`` without ``ssl_ca``/``ssl_capath`` checks against the system's CA
    store (managed services with publicly trusted certificates need no file).

    Args:
        params: The resolved parameters.
        shown: The redacted URL, for messages.

    Returns:
        Keyword arguments to merge into ``pymysql.connect``.

    Raises:
        InputError: When a certificate or key file cannot be read or parsed.
    """
    kwargs: dict[str, Any] = {}
    if params.unix_socket:
        kwargs["unix_socket"] = params.unix_socket
    mode = params.ssl_mode
    if mode == "DISABLED":
        kwargs["ssl_disabled"] = True
    elif mode in ("REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY"):
        kwargs["ssl"] = _context(params, mode, shown)
    return kwargs


def _context(params: MySQLParams, mode: str, shown: str) -> ssl.SSLContext:
    import ssl  # noqa: PLC0415 - parsed on every start-up, only a TLS connection needs it

    step = f"ssl_ca/ssl_capath ({params.ssl_ca or params.ssl_capath or 'system CA store'})"
    try:
        ctx = ssl.create_default_context(cafile=params.ssl_ca, capath=params.ssl_capath)
        # Certificates made by mysql_ssl_rsa_setup and MariaDB's docs lack extensions the strict
        # X.509 profile wants (Python 3.13 turns it on); the chain and name are still checked.
        ctx.verify_flags &= ~getattr(ssl, "VERIFY_X509_STRICT", 0)
        ctx.check_hostname = mode == "VERIFY_IDENTITY"
        if mode == "REQUIRED":
            ctx.verify_mode = ssl.CERT_NONE
        if params.ssl_cert:
            step = f"ssl_cert/ssl_key ({params.ssl_cert}, {params.ssl_key or 'key in ssl_cert'})"
            ctx.load_cert_chain(params.ssl_cert, keyfile=params.ssl_key)
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InputError(f"cannot load {step} of {shown!r}: {reason}") from None
    return ctx
