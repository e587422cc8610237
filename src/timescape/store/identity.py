"""Who is acting and on which machine, for the event log, the lock file and the instance rows.

Kept apart from the backend seam: none of it touches a database, and the facade, the serving
instances and the SQLite lock file all ask it. It must stay cheap to import, since every
``Timescape`` computes :func:`actor`, read-only commands included.
"""

from __future__ import annotations

import os
from typing import Final

__all__ = ["actor", "host_name"]

_USER_VARIABLES: Final = ("LOGNAME", "USER", "LNAME", "USERNAME")  # getpass.getuser's order


def actor() -> str:
    """Return who is acting, for the event log: ``user@host pid N`` (never a URL or password).

    Every ``Timescape`` computes it, read-only commands included, so it avoids getpass (which
    imports termios) and socket: the same environment variables getpass reads, then the password
    database, and the node name socket.gethostname() would return.
    """
    user = (
        next((value for name in _USER_VARIABLES if (value := os.environ.get(name))), None)
        or _account_name()
    )
    return f"{user}@{host_name()} pid {os.getpid()}"


def host_name() -> str:
    """This machine's name, as ``socket.gethostname()`` gives it, without importing socket."""
    return os.uname().nodename if hasattr(os, "uname") else _gethostname()


def _account_name() -> str:
    try:
        import pwd  # noqa: PLC0415 - POSIX only

        return pwd.getpwuid(os.getuid()).pw_name
    except Exception:  # no user database in some containers
        return "unknown"


def _gethostname() -> str:  # pragma: no cover - platforms without os.uname
    import socket  # noqa: PLC0415

    return socket.gethostname()
