"""Helpers of the import/adopt tests: a second fresh database and a full catalog comparison."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy

from tests.dbutil import TestDB, create_database, drop_database


@pytest.fixture
def other_db(db: TestDB, tmp_path: Path) -> Iterator[TestDB]:
    """Another fresh database of the same dialect as ``db`` (for the original tool's result)."""
    (tmp_path / "other").mkdir(exist_ok=True)
    handle = create_database(db.dialect, tmp_path / "other")
    try:
        yield handle
    finally:
        drop_database(handle)


def sqlalchemy_url(db: TestDB) -> str:
    """The SQLAlchemy form of the test database's URL."""
    if db.dialect == "sqlite":
        return f"sqlite:///{db.name}"
    scheme = {"postgresql": "postgresql+psycopg", "mysql": "mysql+pymysql"}[db.dialect]
    return scheme + db.url[db.url.index("://") :]


def catalog(
    db: TestDB, *, exclude: tuple[str, ...] = ("timescape_", "alembic_version")
) -> dict[str, Any]:
    """Tables with columns (name, type, nullable, default), primary key, indexes, unique and
    foreign-key constraints, as SQLAlchemy's inspector reads them; tool tables left out."""
    engine = sqlalchemy.create_engine(sqlalchemy_url(db), poolclass=sqlalchemy.pool.NullPool)
    try:
        inspector = sqlalchemy.inspect(engine)
        out: dict[str, Any] = {}
        for table in sorted(inspector.get_table_names()):
            if table.startswith(exclude):
                continue
            out[table] = {
                "columns": [
                    (c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                    for c in inspector.get_columns(table)
                ],
                "pk": inspector.get_pk_constraint(table)["constrained_columns"],
                "indexes": sorted(
                    (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                    for i in inspector.get_indexes(table)
                ),
                "unique": sorted(
                    (u["name"], tuple(u["column_names"]))
                    for u in inspector.get_unique_constraints(table)
                ),
                "fks": sorted(
                    (
                        tuple(f["constrained_columns"]),
                        f["referred_table"],
                        tuple(f["referred_columns"]),
                    )
                    for f in inspector.get_foreign_keys(table)
                ),
            }
        out["__views__"] = sorted(inspector.get_view_names())
        return out
    finally:
        engine.dispose()
