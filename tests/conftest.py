"""Test configuration: the ``db`` fixture over real databases.

Which databases run:
- ``--db sqlite,postgresql,mysql`` or ``TIMESCAPE_TEST_DATABASES`` pick them explicitly; a picked
  server that does not answer fails the run.
- With ``CI=true`` all three are picked: PostgreSQL and MariaDB must answer, nothing skips.
- Otherwise SQLite always runs, and each server runs when it answers; the tests of a server that
  does not answer are skipped with the reason printed in the summary.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dbutil import (
    ALL_DIALECTS,
    TestDB,
    create_database,
    drain_pool,
    drop_database,
    server_reachable,
)

_reachability: dict[str, tuple[bool, str]] = {}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        action="store",
        default=None,
        help="comma-separated dialects to test: sqlite,postgresql,mysql",
    )


def _requested(config: pytest.Config) -> tuple[list[str], bool]:
    """Return (dialects, strict): strict means an unreachable server fails the run."""
    raw = config.getoption("--db") or os.environ.get("TIMESCAPE_TEST_DATABASES")
    if raw:
        names = [n.strip() for n in raw.split(",") if n.strip()]
        unknown = [n for n in names if n not in ALL_DIALECTS]
        if unknown:
            raise pytest.UsageError(f"unknown --db dialect(s): {', '.join(unknown)}")
        return names, True
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        return list(ALL_DIALECTS), True
    return list(ALL_DIALECTS), False


def pytest_configure(config: pytest.Config) -> None:
    dialects, strict = _requested(config)
    config._timescape_dialects = dialects  # type: ignore[attr-defined]
    for dialect in dialects:
        _reachability[dialect] = server_reachable(dialect)
    if strict:
        down = [reason for d, (ok, reason) in _reachability.items() if not ok]
        if down:
            raise pytest.UsageError(
                "required test database(s) unreachable (CI=true or --db given): " + "; ".join(down)
            )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    drain_pool()


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = []
    for dialect in config._timescape_dialects:  # type: ignore[attr-defined]
        ok, reason = _reachability.get(dialect, (False, "not checked"))
        lines.append(f"timescape db {dialect}: {'ok' if ok else 'SKIPPED - ' + reason}")
    return lines


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db" not in metafunc.fixturenames:
        return
    dialects = list(metafunc.config._timescape_dialects)  # type: ignore[attr-defined]
    marker = metafunc.definition.get_closest_marker("dialects")
    if marker is not None:
        dialects = [d for d in dialects if d in marker.args]
    metafunc.parametrize("db", dialects, indirect=True, ids=dialects)


@pytest.fixture
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestDB]:
    """A fresh, empty database of the parametrised dialect, dropped after the test."""
    dialect: str = request.param
    ok, reason = _reachability.get(dialect, (True, ""))
    if not ok:
        pytest.skip(reason)
    handle = create_database(dialect, tmp_path)
    try:
        yield handle
    finally:
        drop_database(handle)
