"""Run an Alembic revision's ``upgrade()``/``downgrade()`` on Timescape's connection.

Alembic is an optional extra (``timescape[alembic]``): this module is imported only when such a
step runs, never by the core. The revision runs through Alembic's own operations
(:class:`alembic.operations.Operations` on a :class:`alembic.migration.MigrationContext`), so
batch mode on SQLite, ``op.get_bind()`` data steps and ``op.execute`` all behave as under
``alembic upgrade``.

SQLAlchemy gets Timescape's DB-API connection, not a new one: the revision's statements run inside
the schema's transaction (where the database has transactional DDL), under the same server-side
timeout. The engine is made for this one call, and its dialect's ``do_commit``, ``do_rollback``
and ``do_close`` are turned into no-ops, because SQLAlchemy ends its own transactions and closes
what its pool holds, and neither may end Timescape's transaction or close its connection. (A
proxy object cannot be lent instead: psycopg checks the connection's class.)
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

from timescape.errors import InputError

__all__ = ["run_revision"]

_SQLALCHEMY_URL = {
    "sqlite": "sqlite+pysqlite://",
    "postgresql": "postgresql+psycopg://",
    "mysql": "mysql+pymysql://",
}


def _leave_alone(_dbapi_connection: Any) -> None:
    """Stand-in for SQLAlchemy's commit, rollback and close: the connection is Timescape's."""


def run_revision(path: Path, direction: str, connection: Any) -> None:
    """Run ``upgrade()`` or ``downgrade()`` of the revision file at ``path``.

    Args:
        path: The revision file.
        direction: ``upgrade`` or ``downgrade``.
        connection: Timescape's migration connection (``dialect`` and ``raw``).

    Raises:
        InputError: When Alembic is not installed, or the file has no such function.
    """
    try:
        import sqlalchemy  # noqa: PLC0415 - optional extra
        from alembic.migration import MigrationContext  # noqa: PLC0415
        from alembic.operations import Operations  # noqa: PLC0415
        from sqlalchemy.pool import StaticPool  # noqa: PLC0415
    except ImportError:
        raise InputError(
            f"{path.name} is an Alembic revision and Alembic is not installed; "
            "pip install 'timescape-db[alembic]'"
        ) from None
    module = _load(path)
    function = getattr(module, direction, None)
    if not callable(function):
        raise InputError(f"Alembic revision {path} defines no {direction}() function")
    raw = connection.raw
    engine = sqlalchemy.create_engine(
        _SQLALCHEMY_URL[connection.dialect],
        creator=lambda: raw,
        poolclass=StaticPool,
        pool_reset_on_return=None,
    )
    dialect: Any = engine.dialect
    dialect.do_commit = dialect.do_rollback = dialect.do_close = _leave_alone
    try:
        with engine.connect() as bind:
            context = MigrationContext.configure(connection=bind)
            with Operations.context(context):
                function()
    except sqlalchemy.exc.DBAPIError as exc:
        if exc.orig is None:  # pragma: no cover - SQLAlchemy always wraps a driver error
            raise
        # The driver's own error, as a SQL step raises it: the executor classifies it (lost
        # connection, lock timeout, cancelled statement) and reports it the same way.
        raise exc.orig from exc


def _load(path: Path) -> ModuleType:
    """Load the revision file afresh (as Alembic does), under a name unique to its path."""
    name = "_timescape_alembic_" + hashlib.sha256(str(path).encode()).hexdigest()[:16]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - a .py path always has a spec
        raise InputError(f"cannot load Alembic revision {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
