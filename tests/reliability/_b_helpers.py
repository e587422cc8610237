"""Helpers of reliability suite part B (failure atomicity, timeouts, drift, bad input, security).

Everything here talks to the databases through the raw drivers (``tests.dbutil``) or runs the
real CLI in a subprocess; the shared harness (``driver``, ``invariants``, ``faults``) is used as is.

- :func:`seed` fills a populated fixture: ``products`` (unique names), ``orders`` (FK ``ON DELETE
  CASCADE``), ``reviews`` (FK ``ON DELETE SET NULL``) and an unrelated ``audit`` table;
  :func:`fingerprint` gives each table's row count and a checksum of its rows, so a test can
  assert that unrelated and child tables are byte-for-byte unchanged after an operation.
- :func:`state_fingerprint` does the same for the ``timescape_*`` tables ("nothing changed").
- :func:`cli` runs the installed ``timescape`` script in a subprocess (cwd = a project folder)
  through :func:`tests.clirun.run_process`; :func:`one_error_line` asserts the CLI's error
  contract (one ``Error:`` line, no traceback) through :func:`tests.clirun.assert_one_line_error`.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tests.clirun import CONSOLE_SCRIPT, Result, assert_one_line_error, run_process
from tests.dbutil import TestDB
from tests.reliability.driver import build_timescape
from tests.reliability.invariants import settled_leftover_problems, timescape_sessions

SEEDED = ("products", "orders", "reviews", "audit")
UNRELATED = ("orders", "reviews", "audit")
STATE_TABLES = ("timescape_meta", "timescape_schemas", "timescape_versions", "timescape_tags",
                "timescape_events")
T0 = "2025-01-01T00:00:00Z"
T1 = "2025-02-01T00:00:00Z"
T2 = "2025-03-01T00:00:00Z"

SLEEP = {
    "postgresql": "SELECT pg_sleep({s})",
    "mysql": "SELECT SLEEP({s})",
}
# A statement that runs for minutes on SQLite unless interrupted (no sleep() in SQLite).
SQLITE_SPIN = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
               "SELECT count(*) FROM c")


# -- populated data ---------------------------------------------------------------------------


def seed(db: TestDB, rows: int = 40) -> None:
    """Create and fill products, its FK children (CASCADE / SET NULL) and an unrelated table."""
    db.execute("CREATE TABLE products (id INTEGER PRIMARY KEY, name VARCHAR(60) NOT NULL UNIQUE, "
               "price INTEGER NOT NULL)")
    db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, product_id INTEGER NOT NULL "
               "REFERENCES products (id) ON DELETE CASCADE, qty INTEGER NOT NULL)")
    db.execute("CREATE TABLE reviews (id INTEGER PRIMARY KEY, product_id INTEGER "
               "REFERENCES products (id) ON DELETE SET NULL, body VARCHAR(200))")
    db.execute("CREATE TABLE audit (id INTEGER PRIMARY KEY, note VARCHAR(200) NOT NULL)")
    if db.dialect == "mysql":
        # MariaDB ignores inline REFERENCES; declare the foreign keys the way it honours them.
        db.execute("ALTER TABLE orders ADD CONSTRAINT fk_orders_product FOREIGN KEY "
                   "(product_id) REFERENCES products (id) ON DELETE CASCADE")
        db.execute("ALTER TABLE reviews ADD CONSTRAINT fk_reviews_product FOREIGN KEY "
                   "(product_id) REFERENCES products (id) ON DELETE SET NULL")
    values = ", ".join(f"({i}, 'product {i}', {i * 10})" for i in range(1, rows + 1))
    db.execute(f"INSERT INTO products (id, name, price) VALUES {values}")
    values = ", ".join(f"({i}, {(i % rows) + 1}, {i})" for i in range(1, 2 * rows + 1))
    db.execute(f"INSERT INTO orders (id, product_id, qty) VALUES {values}")
    values = ", ".join(f"({i}, {(i % rows) + 1}, 'review ''{i}'' ; -- not a comment')"
                       for i in range(1, rows + 1))
    db.execute(f"INSERT INTO reviews (id, product_id, body) VALUES {values}")
    values = ", ".join(f"({i}, 'note {i}')" for i in range(1, rows + 1))
    db.execute(f"INSERT INTO audit (id, note) VALUES {values}")


def fingerprint(db: TestDB, tables: Iterable[str] = SEEDED) -> dict[str, tuple[int, str]]:
    """Row count and a SHA-256 of the ordered rows of each table that exists."""
    present = db.tables()
    out: dict[str, tuple[int, str]] = {}
    for table in tables:
        if table not in present:
            continue
        rows = db.query(f"SELECT * FROM {table} ORDER BY 1")
        digest = hashlib.sha256(repr([tuple(map(str, r)) for r in rows]).encode()).hexdigest()
        out[table] = (len(rows), digest)
    return out


def state_fingerprint(db: TestDB, prefix: str = "timescape_") -> dict[str, tuple[int, str]]:
    """Fingerprint of the state tables (``timescape_meta`` included: the generation counter)."""
    return fingerprint(db, [t.replace("timescape_", prefix, 1) for t in STATE_TABLES])


# -- specs and facades ------------------------------------------------------------------------


def spec_for(db: TestDB, schemas: list[dict[str, Any]], versions: list[dict[str, Any]] | None = None,
             **options: Any) -> dict[str, Any]:
    """A driver spec (see ``tests.reliability.driver``) for ``db``."""
    return {"url": db.url, "schemas": schemas, "versions": versions or [], **options}


def timescape_for(spec: dict[str, Any], **overrides: Any) -> Any:
    """The facade of a spec (in this process)."""
    return build_timescape(spec, **overrides)


def verify_report(spec: dict[str, Any]) -> Any:
    """``Timescape.verify()`` of a spec, closing the facade."""
    with build_timescape(spec) as ts:
        return ts.verify()


def assert_clean(db: TestDB, prefix: str = "timescape_", settle: float = 5.0) -> None:
    """No Timescape lock held or awaited and no Timescape statement running (polled)."""
    left = settled_leftover_problems(db, prefix, settle=settle)
    assert not left, left


def running_statements(db: TestDB) -> list[tuple[Any, ...]]:
    """Statements Timescape's sessions are running on the server right now (not idle)."""
    rows = timescape_sessions(db)
    if db.dialect == "postgresql":
        return [r for r in rows if r[1] not in ("idle", None)]
    if db.dialect == "mysql":
        return [r for r in rows if r[1] not in ("Sleep", "Killed") and r[2]]
    return []


def wait_for(predicate: Any, timeout: float, interval: float = 0.02) -> bool:
    """Poll until ``predicate()`` is true; return whether it became true in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


# -- the CLI ----------------------------------------------------------------------------------


def cli(*args: str, cwd: Path, env: Mapping[str, str] | None = None,
        timeout: float = 60.0, drop_env: Iterable[str] = ()) -> Result:
    """Run the installed ``timescape`` script in a subprocess (cwd = the project folder)."""
    return run_process(*args, cwd=cwd, env=env, timeout=timeout, drop_env=drop_env,
                       command=CONSOLE_SCRIPT)


_AUDITED_MAIN = """
import os, sys
_log = os.environ["TSB_SPAWN_LOG"]
_SPAWNS = {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
           "os.forkpty"}
def _hook(event, args):
    if event in _SPAWNS:
        with open(_log, "a") as handle:
            handle.write(event + "\\n")
sys.addaudithook(_hook)
sys.argv[0] = "timescape"
from timescape.cli.main import main
sys.exit(main())
"""


def cli_audited(*args: str, cwd: Path, spawn_log: Path, env: Mapping[str, str] | None = None,
                timeout: float = 60.0) -> Result:
    """Like :func:`cli`, under an audit hook that logs every attempt to start a child process
    (``subprocess``, ``os.system``/``exec``/``spawn``/``posix_spawn``/``fork``) to ``spawn_log``."""
    return run_process(*args, cwd=cwd, env={**(env or {}), "TSB_SPAWN_LOG": str(spawn_log)},
                       timeout=timeout, command=(sys.executable, "-c", _AUDITED_MAIN))


def one_error_line(result: Result, code: int, *fragments: str) -> str:
    """Assert the CLI error contract with exit ``code``, fragments compared case-insensitively."""
    return assert_one_line_error(result, *fragments, exit_code=code, ignore_case=True)
