"""One measured run of workload 1 (apply a chain, then roll it all back) in its own process.

``python -m bench._worker TOOL DIALECT URLJSON N WORKDIR`` prints one JSON line:
``{"apply_s": …, "rollback_s": …, "maxrss_apply_kb": …, "maxrss_kb": …, …}``.

Each tool imports only what it needs, so the peak RSS (workload 5) is the tool's own. Generating
migration files (Alembic, yoyo) happens before the clock starts; loading them is timed, as is
registering Timescape's definitions, because that is what each tool does on ``upgrade``. Imports are
not timed (workload 4 measures start-up).

Peak RSS is read twice: ``maxrss_apply_kb`` right after the timed apply, before anything else runs
(the bench's own table count opens a second connection, which costs SQLite about 0.7 MB), and
``maxrss_kb`` at the end of the run, rollback included. Every tool is read at the same two points.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TOOLS = ("raw", "timescape", "alembic", "yoyo")
BEFORE = "before"
"""Timescape from an older source tree (``python -m bench --before SRC``), side by side."""
ALL_TOOLS = (*TOOLS, BEFORE)
DRIVERS = {"sqlite": "sqlite3", "postgresql": "psycopg", "mysql": "pymysql"}
Check = Callable[[], None]
CPU: list[float] = []  # CPU seconds of this process for each timed section, in order


def _start() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _stop(started: tuple[float, float]) -> float:
    CPU.append(time.process_time() - started[1])
    return time.perf_counter() - started[0]


def statements(i: int) -> list[str]:
    return [
        f"CREATE TABLE t_{i} (id INTEGER PRIMARY KEY, name VARCHAR(100), created_at TIMESTAMP)",
        f"CREATE INDEX ix_t_{i}_name ON t_{i} (name)",
        f"INSERT INTO t_{i} (id, name, created_at) VALUES (1, 'row {i}', CURRENT_TIMESTAMP)",
    ]


def rollback_statement(i: int) -> str:
    return f"DROP TABLE t_{i}"


# -- the floor: the raw driver, one transaction and one history row per migration ---------------


def _raw(dialect: str, conn_args: dict[str, Any], n: int, between: Check) -> tuple[float, float]:
    from bench._dbs import Target

    conn = Target(**conn_args).connect()
    cur = conn.cursor()
    ph = "?" if dialect == "sqlite" else "%s"
    cur.execute("CREATE TABLE migration_history (id VARCHAR(64) PRIMARY KEY, applied_at "
                "VARCHAR(40))")
    plan = [(f"m{i:05d}", statements(i)) for i in range(n)]
    transactional = dialect != "mysql"  # MySQL DDL commits implicitly: no transaction to open
    started = _start()
    for mid, stmts in plan:
        if transactional:
            cur.execute("BEGIN")
        for sql in stmts:
            cur.execute(sql)
        cur.execute(f"INSERT INTO migration_history (id, applied_at) VALUES ({ph}, {ph})",
                    (mid, time.strftime("%Y-%m-%dT%H:%M:%S")))
        if transactional:
            cur.execute("COMMIT")
    applied = _stop(started)
    between()
    started = _start()
    for i in reversed(range(n)):
        if transactional:
            cur.execute("BEGIN")
        cur.execute(rollback_statement(i))
        cur.execute(f"DELETE FROM migration_history WHERE id = {ph}", (f"m{i:05d}",))
        if transactional:
            cur.execute("COMMIT")
    rolled = _stop(started)
    conn.close()
    return applied, rolled


# -- Timescape ------------------------------------------------------------------------------


def _timescape(url: str, n: int, workdir: Path, between: Check) -> tuple[float, float]:
    from timescape import Timescape

    started = _start()
    ts = Timescape(url, base_dir=workdir)
    previous = None
    for i in range(n):
        name = f"m{i:05d}"
        ts.add_schema(name, [";\n".join(statements(i)) + ";"], [rollback_statement(i) + ";"],
                      parent=previous)
        previous = name
    tsv = ts.add_version("/api/items", "2025-01-01T00:00:00Z", previous or "")
    result = ts.activate(tsv)
    applied = _stop(started)
    assert len(result.plan.actions) == n, result.plan.notes
    between()
    started = _start()
    result = ts.deactivate(tsv)
    rolled = _stop(started)
    assert len(result.plan.actions) == n, result.plan.notes
    ts.close()
    return applied, rolled


# -- Alembic --------------------------------------------------------------------------------

_ENV_PY = """
from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

engine = create_engine(context.config.get_main_option("sqlalchemy.url"), poolclass=NullPool)
with engine.connect() as connection:
    # One transaction per migration, like the floor, yoyo and Timescape (Alembic's default
    # on PostgreSQL is one transaction around the whole upgrade).
    context.configure(connection=connection, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
"""

_REVISION = """from alembic import op

revision = "r{i:05d}"
down_revision = {down}
branch_labels = None
depends_on = None


def upgrade():
{body}


def downgrade():
    op.execute("{rollback}")
"""


def _alembic_files(n: int, workdir: Path) -> Path:
    root = workdir / "alembic"
    (root / "versions").mkdir(parents=True)
    (root / "env.py").write_text(_ENV_PY)
    (root / "script.py.mako").write_text("")
    for i in range(n):
        down = f'"r{i - 1:05d}"' if i else "None"
        body = "\n".join(f'    op.execute("{s}")' for s in statements(i))
        (root / "versions" / f"r{i:05d}.py").write_text(
            _REVISION.format(i=i, down=down, body=body, rollback=rollback_statement(i)))
    return root


def _alembic(url: str, n: int, workdir: Path, between: Check) -> tuple[float, float]:
    root = _alembic_files(n, workdir)
    from alembic import command
    from alembic.config import Config

    started = _start()
    cfg = Config()
    cfg.set_main_option("script_location", str(root))
    cfg.set_main_option("sqlalchemy.url", url)
    command.upgrade(cfg, "head")
    applied = _stop(started)
    between()
    started = _start()
    command.downgrade(cfg, "base")
    rolled = _stop(started)
    return applied, rolled


# -- yoyo -----------------------------------------------------------------------------------

def _yoyo_files(n: int, workdir: Path) -> Path:
    root = workdir / "yoyo"
    root.mkdir(parents=True)
    for i in range(n):
        depends = f'"m{i - 1:05d}"' if i else ""
        # yoyo runs one step's text as one execute(); sqlite3 refuses several statements in
        # one execute(), so each statement is its own step (the migration stays one transaction).
        steps = ",\n    ".join(
            f"step({s!r}, {rollback_statement(i)!r})" if k == 0 else f"step({s!r})"
            for k, s in enumerate(statements(i)))
        (root / f"m{i:05d}.py").write_text(
            f"from yoyo import step\n\n__depends__ = {{{depends}}}\n\nsteps = [\n    {steps},\n]\n")
    return root


def _yoyo(url: str, n: int, workdir: Path, between: Check) -> tuple[float, float]:
    root = _yoyo_files(n, workdir)
    from yoyo import get_backend, read_migrations

    started = _start()
    backend = get_backend(url)
    migrations = read_migrations(str(root))
    with backend.lock():
        backend.apply_migrations(backend.to_apply(migrations))
    applied = _stop(started)
    between()
    started = _start()
    with backend.lock():
        backend.rollback_migrations(backend.to_rollback(migrations))
    rolled = _stop(started)
    return applied, rolled


def _count_tables(conn_args: dict[str, Any]) -> int:
    from bench._dbs import Target

    target = Target(**conn_args)
    conn = target.connect()
    cur = conn.cursor()
    if target.dialect == "sqlite":
        cur.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name LIKE 't\\_%' "
                    "ESCAPE '\\'")
    elif target.dialect == "postgresql":
        cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = "
                    "current_schema() AND table_name LIKE 't\\_%'")
    else:
        cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = "
                    "DATABASE() AND table_name LIKE 't\\_%'")
    count = int(cur.fetchone()[0])
    conn.close()
    return count


def peak_rss_kb() -> int:
    """Peak resident set size of this process, in KiB.

    Linux's ``ru_maxrss`` keeps the parent's peak across fork and exec (the orchestrator's RSS
    would leak into every worker), so read the address space's own high-water mark instead.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _check_tree(tool: str) -> None:
    """Make sure ``before`` runs the older tree and ``timescape`` this one (PYTHONPATH order)."""
    import timescape

    before = os.environ.get("TIMESCAPE_BENCH_BEFORE_SRC")
    loaded = str(Path(timescape.__file__).resolve())
    if tool == BEFORE and (not before or not loaded.startswith(str(Path(before).resolve()))):
        raise SystemExit(f"'before' loaded timescape from {loaded}, not from {before}")
    if tool == "timescape" and before and loaded.startswith(str(Path(before).resolve())):
        raise SystemExit(f"'timescape' loaded the older tree {loaded}")


def run(tool: str, conn_args: dict[str, Any], n: int, workdir: Path) -> dict[str, Any]:
    from bench._dbs import Target

    target = Target(**conn_args)
    seen: list[int] = []
    apply_peak: list[int] = []

    def between() -> None:
        # Each tool calls this right after its timed apply: the peak so far is the apply's.
        apply_peak.append(peak_rss_kb())
        seen.append(_count_tables(conn_args))

    # "Imports are not timed" holds for every tool alike: the driver module loads before any
    # clock starts (the raw floor connects before its clock; the others would otherwise import
    # psycopg or PyMySQL inside theirs, about 0.1 s of CPU).
    importlib.import_module(DRIVERS[target.dialect])
    if tool == "raw":
        applied, rolled = _raw(target.dialect, conn_args, n, between)
    elif tool in ("timescape", BEFORE):
        _check_tree(tool)
        applied, rolled = _timescape(target.timescape_url, n, workdir, between)
    elif tool == "alembic":
        applied, rolled = _alembic(target.sqlalchemy_url, n, workdir, between)
    elif tool == "yoyo":
        applied, rolled = _yoyo(target.yoyo_url, n, workdir, between)
    else:
        raise SystemExit(f"unknown tool {tool}")
    maxrss_kb = peak_rss_kb()
    return {"tool": tool, "dialect": target.dialect, "n": n, "apply_s": applied,
            "rollback_s": rolled, "cpu_apply_s": CPU[0], "cpu_rollback_s": CPU[1],
            "maxrss_apply_kb": apply_peak[0], "maxrss_kb": maxrss_kb,
            "tables_after_apply": seen[0], "tables_after_rollback": _count_tables(conn_args)}


def main(argv: list[str]) -> int:
    tool, conn_json, n, workdir = argv
    result = run(tool, json.loads(conn_json), int(n), Path(workdir))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
