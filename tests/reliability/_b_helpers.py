"""Helpers of reliability suite part B (failure atomicity, timeouts, drift, bad input, security).

Everything here talks to the databases through the raw drivers (``tests.dbutil``) or runs the
real CLI in a subprocess; the shared harness (``driver``, ``invariants``, ``faults``) is used as is.

- :func:`seed` fills a populated fixture: ``products`` (unique names), ``orders`` (FK ``ON DELETE
  CASCADE``), ``reviews`` (FK ``ON DELETE SET NULL``) and an unrelated ``audit`` table;
  :func:`fingerprint` gives each table's row count and a checksum of its rows, so a test can
  assert that unrelated and child tables are byte-for-byte unchanged after an operation.
- :func:`state_fingerprint` does the same for the ``timescape_*`` tables ("nothing changed").
- :func:`cli` runs ``timescape`` in a subprocess (cwd = a project folder) with a timeout;
  :func:`one_error_line` asserts the CLI's error contract (one ``Error:`` line, no traceback).
- :func:`write_project` writes a ``timescape.toml`` and migration files.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.dbutil import TestDB
from tests.reliability.driver import build_timescape
from tests.reliability.invariants import leftover_problems, timescape_sessions

ROOT = Path(__file__).resolve().parents[2]
TIMESCAPE_BIN = str(Path(sys.executable).parent / "timescape")
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
    deadline = time.monotonic() + settle
    while True:
        left = leftover_problems(db, prefix)
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.05)
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


@dataclass
class CLIResult:
    """A finished ``timescape`` subprocess."""

    code: int
    stdout: str
    stderr: str
    elapsed: float
    argv: list[str]

    def describe(self) -> str:
        """Everything, for assertion messages."""
        return (f"$ timescape {' '.join(self.argv)}\nexit {self.code} after {self.elapsed:.2f} s\n"
                f"stdout: {self.stdout}\nstderr: {self.stderr}")


def cli(*args: str, cwd: Path, env: Mapping[str, str] | None = None,
        timeout: float = 60.0, drop_env: Iterable[str] = ()) -> CLIResult:
    """Run the real ``timescape`` command in a subprocess (cwd = the project folder)."""
    full = {k: v for k, v in os.environ.items()
            if not k.startswith("TIMESCAPE_") and k not in set(drop_env)}
    full.update(env or {})
    full["PYTHONUNBUFFERED"] = "1"
    started = time.monotonic()
    proc = subprocess.run(
        [TIMESCAPE_BIN, *args], cwd=cwd, env=full, capture_output=True, text=True,
        timeout=timeout, check=False,
    )
    return CLIResult(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started,
                     list(args))


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
                timeout: float = 60.0) -> CLIResult:
    """Like :func:`cli`, under an audit hook that logs every attempt to start a child process
    (``subprocess``, ``os.system``/``exec``/``spawn``/``posix_spawn``/``fork``) to ``spawn_log``."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("TIMESCAPE_")}
    full.update(env or {})
    full["TSB_SPAWN_LOG"] = str(spawn_log)
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", _AUDITED_MAIN, *args], cwd=cwd, env=full, capture_output=True,
        text=True, timeout=timeout, check=False,
    )
    return CLIResult(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started,
                     list(args))


def one_error_line(result: CLIResult, code: int, *fragments: str) -> str:
    """Assert the CLI error contract: exit ``code``, one ``Error:`` line on stderr naming every
    fragment (case-insensitive), no traceback. Returns the line."""
    assert result.code == code, result.describe()
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.describe()
    assert lines[0].startswith("Error: "), result.describe()
    assert "Traceback" not in result.stderr, result.describe()
    for fragment in fragments:
        assert fragment.lower() in lines[0].lower(), f"{fragment!r} not in:\n{result.describe()}"
    return lines[0]


def write_project(root: Path, toml: str, files: Mapping[str, str | bytes] | None = None) -> Path:
    """Write ``root/timescape.toml`` and the given files (paths relative to ``root``)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "timescape.toml").write_text(toml)
    for name, content in (files or {}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root / "timescape.toml"


def toml_string(value: str) -> str:
    """A TOML basic string for ``value`` (URLs and SQL in generated project files)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
