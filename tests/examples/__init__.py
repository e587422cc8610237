"""The examples under examples/, run as real processes over HTTP."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.web.server import server_env

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def copy_example(name: str, tmp_path: Path) -> Path:
    """A fresh copy of ``examples/NAME`` (no database, lock or cache files)."""
    folder = tmp_path / name
    shutil.copytree(
        EXAMPLES / name,
        folder,
        ignore=shutil.ignore_patterns("*.db", "*.db-*", "*.lock", ".timescape", "__pycache__"),
    )
    return folder


def timescape(folder: Path, *args: str, env: dict[str, str] | None = None,
              expect: int = 0) -> dict[str, Any]:
    """Run ``timescape --json ARGS`` in ``folder`` as the README does; return its document."""
    proc = subprocess.run(
        [sys.executable, "-m", "timescape", "--json", *args],
        cwd=folder, env=server_env(env), capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == expect, proc.stdout + proc.stderr
    return json.loads(proc.stdout)
