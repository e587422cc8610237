"""Workload 4: start-up of a command, as a user types it (a fresh process each time).

Small equivalent SQLite projects (three migrations, applied) for Timescape, Alembic and yoyo;
``python -c pass`` on the same interpreter is the floor. The rounds interleave the commands, and
the median of the rounds is reported.
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


def _timescape_project(root: Path) -> Path:
    root.mkdir(parents=True)
    lines = ["[database]", 'url = "sqlite:///timescape.db"', ""]
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
        for _, cmd, cwd in commands:  # warm the OS file cache once
            _run(cmd, cwd)
        times: dict[str, list[float]] = {label: [] for label, _, _ in commands}
        for r in range(rounds):
            order = commands[r % len(commands):] + commands[:r % len(commands)]
            for label, cmd, cwd in order:
                times[label].append(_run(cmd, cwd))
    finally:
        _dbs.remove_dir(workdir)
    floor = statistics.median(times[commands[0][0]])
    results = []
    for label, _, _ in commands:
        med = statistics.median(times[label])
        results.append(ColdResult(label, med, med / floor, len(times[label])))
        log(f"  cold  {label:<26} {med * 1000:7.1f} ms  x{med / floor:5.2f} python -c pass")
    return results
