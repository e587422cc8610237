"""Workload 4: start-up of a command, as a user types it (a fresh process each time).

Small equivalent SQLite projects (three migrations, applied) for Timescape, Alembic and yoyo;
``python -c pass`` on the same interpreter is the floor. The rounds interleave the commands, and
the median of the rounds is reported.

On PostgreSQL (when the server answers; ``TIMESCAPE_BENCH_PG_URL``) the same project is applied
to a fresh database, and ``timescape schema list`` is set beside its own floor: a ``python -c``
that imports psycopg, connects and runs one ``SELECT`` on the state table, in the same rounds
(issue 14: at most 1.5x). The database is dropped afterwards.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import _dbs
from bench._worker import _alembic_files, _yoyo_files, rollback_statement, statements

N_MIGRATIONS = 3


@dataclass
class ColdResult:
    label: str
    seconds: float  # median
    ratio: float  # to `python -c pass`
    runs: int


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def _timescape_project(root: Path, url: str = "sqlite:///timescape.db") -> Path:
    root.mkdir(parents=True)
    lines = ["[database]", f"url = {json.dumps(url)}", ""]
    previous = None
    for i in range(N_MIGRATIONS):
        lines += ["[[schemas]]", f'name = "m{i:05d}"']
        if previous:
            lines.append(f'parent = "{previous}"')
        script = ";\n".join(statements(i))
        lines.append(f"migrations = {json.dumps([script])}")
        lines.append(f"rollback = {json.dumps([rollback_statement(i)])}")
        lines.append("")
        previous = f"m{i:05d}"
    lines += ["[[versions]]", 'handler = "/api/items"', 'timestamp = "2025-01-01T00:00:00Z"',
              f'schema = "{previous}"', ""]
    (root / "timescape.toml").write_text("\n".join(lines))
    return root


def _alembic_project(root: Path) -> Path:
    root.mkdir(parents=True)
    _alembic_files(N_MIGRATIONS, root)
    (root / "alembic.ini").write_text(
        "[alembic]\nscript_location = alembic\nsqlalchemy.url = sqlite:///alembic.db\n")
    return root


def _yoyo_project(root: Path) -> Path:
    root.mkdir(parents=True)
    _yoyo_files(N_MIGRATIONS, root)
    return root


def _run(cmd: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    # Bytecode caches allowed (the warm-up run writes them), as for any installed package.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False, env=env)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return elapsed


def _raw_status(target: _dbs.Target) -> str:
    """The floor on PostgreSQL: import the driver, connect, one SELECT on the state table."""
    connect = (f"host={target.host!r}, port={target.port}, user={target.user or None!r}, "
               f"password={target.password or None!r}, dbname={target.name!r}")
    return ("import psycopg\n"
            f"conn = psycopg.connect({connect})\n"
            "rows = conn.execute('SELECT name, status, applied_at FROM timescape_schemas "
            "ORDER BY name').fetchall()\n"
            "print(len(rows))\n")


def run_postgresql(rounds: int = 15, log: Any = print) -> list[ColdResult]:
    """``timescape schema list`` against the raw driver's one-line status query, on PostgreSQL.

    Returns:
        The two medians, each with its ratio to the raw query's (empty when no server answers).
    """
    if not _dbs.available("postgresql")[0]:
        log("  cold  postgresql: no server, skipped")
        return []
    workdir = _dbs.scratch_dir("tsbench-coldpg-")
    target = _dbs.create("postgresql", workdir)
    try:
        ts_dir = _timescape_project(workdir / "timescape", target.timescape_url)
        _run([_bin("timescape"), "version", "activate", "--json"], ts_dir)
        commands: list[tuple[str, list[str], Path]] = [
            ("raw psycopg status query (PG floor)", [sys.executable, "-c", _raw_status(target)],
             workdir),
            ("timescape schema list (PG)", [_bin("timescape"), "schema", "list"], ts_dir),
            ("timescape version list (PG)", [_bin("timescape"), "version", "list"], ts_dir),
        ]
        times = _rounds(commands, rounds)
    finally:
        _dbs.drop(target)
        _dbs.remove_dir(workdir)
    return _medians(commands, times, "raw status query", log)


def _rounds(commands: list[tuple[str, list[str], Path]], rounds: int) -> dict[str, list[float]]:
    """Each command once to warm the caches, then ``rounds`` interleaved rounds of all of them."""
    for _, cmd, cwd in commands:
        _run(cmd, cwd)
    times: dict[str, list[float]] = {label: [] for label, _, _ in commands}
    for r in range(rounds):
        order = commands[r % len(commands):] + commands[:r % len(commands)]
        for label, cmd, cwd in order:
            times[label].append(_run(cmd, cwd))
    return times


def run(rounds: int = 15, log: Any = print) -> list[ColdResult]:
    workdir = _dbs.scratch_dir("tsbench-cold-")
    try:
        ts_dir = _timescape_project(workdir / "timescape")
        al_dir = _alembic_project(workdir / "alembic-project")
        yo_dir = _yoyo_project(workdir / "yoyo-project")
        # Apply everything once, so each `list`/`current` reads a real history.
        _run([_bin("timescape"), "version", "activate", "--json"], ts_dir)
        _run([_bin("alembic"), "upgrade", "head"], al_dir)
        yoyo_db = f"sqlite:///{yo_dir / 'yoyo.db'}"
        _run([_bin("yoyo"), "apply", "--batch", "--no-config-file", "--database", yoyo_db,
              str(yo_dir / "yoyo")], yo_dir)
        commands: list[tuple[str, list[str], Path]] = [
            ("python -c pass (floor)", [sys.executable, "-c", "pass"], workdir),
            ("timescape --help", [_bin("timescape"), "--help"], ts_dir),
            ("timescape schema list", [_bin("timescape"), "schema", "list"], ts_dir),
            ("timescape version list", [_bin("timescape"), "version", "list"], ts_dir),
            ("alembic --help", [_bin("alembic"), "--help"], al_dir),
            ("alembic current", [_bin("alembic"), "current"], al_dir),
            ("yoyo list", [_bin("yoyo"), "list", "--batch", "--no-config-file", "--database",
                           yoyo_db, str(yo_dir / "yoyo")], yo_dir),
        ]
        times = _rounds(commands, rounds)
    finally:
        _dbs.remove_dir(workdir)
    return _medians(commands, times, "python -c pass", log)


def _medians(commands: list[tuple[str, list[str], Path]], times: dict[str, list[float]],
             floor_label: str, log: Any) -> list[ColdResult]:
    """Each command's median and its ratio to the first command's (the floor)."""
    floor = statistics.median(times[commands[0][0]])
    results = []
    for label, _, _ in commands:
        med = statistics.median(times[label])
        results.append(ColdResult(label, med, med / floor, len(times[label])))
        log(f"  cold  {label:<36} {med * 1000:7.1f} ms  x{med / floor:5.2f} {floor_label}")
    return results
