"""Backend lookup by dialect; third-party backends register under ``timescape.backends``."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from timescape.errors import InputError

if TYPE_CHECKING:
    from timescape.store.base import Backend
    from timescape.store.urls import DatabaseURL

__all__ = ["backend_class", "create_backend"]

_BUILTIN = {
    "sqlite": ("timescape.store.backends.sqlite", "SQLiteBackend"),
    "postgresql": ("timescape.store.backends.postgresql", "PostgreSQLBackend"),
    "mysql": ("timescape.store.backends.mysql", "MySQLBackend"),
}


def backend_class(dialect: str) -> type[Backend]:
    """Return the backend class for a dialect, importing only that module.

    Args:
        dialect: ``sqlite``, ``postgresql``, ``mysql``, or a name registered by a plugin.

    Returns:
        The class.

    Raises:
        InputError: If no backend is known for the dialect.
    """
    target = _BUILTIN.get(dialect)
    if target is None:
        from importlib.metadata import entry_points  # noqa: PLC0415 - only for plugins

        for entry in entry_points(group="timescape.backends"):
            if entry.name == dialect:
                cls: type[Backend] = entry.load()
                return cls
        raise InputError(f"no Timescape backend for dialect {dialect!r}")
    module = import_module(target[0])
    found: type[Backend] = getattr(module, target[1])
    return found


def create_backend(url: DatabaseURL, **options: Any) -> Backend:
    """Instantiate the backend for ``url`` (it connects lazily).

    Args:
        url: The parsed URL.
        **options: Keyword options of :class:`~timescape.store.base.Backend`.

    Returns:
        The backend.
    """
    return backend_class(url.dialect)(url, **options)
