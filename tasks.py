"""Timescape's task runner: needs only python3 (3.11+). Run `python3 tasks.py --help`.

Every task creates `.venv` on first use and installs the project into it from pyproject.toml, so a
fresh machine needs nothing else. The README's quick start, the Makefile and `.ci/run` all call
these same tasks.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"


def run(*cmd: str | Path, env: dict[str, str] | None = None) -> int:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.call([str(c) for c in cmd], cwd=ROOT, env={**os.environ, **(env or {})})


def setup(extras: str = "dev") -> None:
    """Create .venv and install the project with `extras` when pyproject.toml changed."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this file runs on any python3 to say so
        sys.exit("Timescape needs Python 3.11 or newer")
    if not PY.exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    stamp = VENV / f".installed-{extras}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    quiet = [] if os.environ.get("CI") else ["-q"]
    if run(PY, "-m", "pip", "install", *quiet, "--upgrade", "pip") != 0:
        sys.exit("pip upgrade failed")
    if run(PY, "-m", "pip", "install", *quiet, "-e", f".[{extras}]") != 0:
        sys.exit(f"installing .[{extras}] failed")
    stamp.write_text(digest)


def task_demo(_: list[str]) -> int:
    setup()
    return run(BIN / "timescape", "demo")


def task_test(args: list[str]) -> int:
    setup()
    return run(PY, "-m", "pytest", *args)


def task_lint(_: list[str]) -> int:
    setup()
    codes = [
        run(PY, "-m", "ruff", "check", "src", "tests", "bench", "tasks.py"),
        run(PY, "-m", "ruff", "format", "--check", "src"),
        run(PY, "-m", "mypy", "--strict", "src"),
    ]
    return max(codes)


def task_soak(args: list[str]) -> int:
    setup()
    return run(PY, "-m", "pytest", "-m", "stress", *args, env={"TIMESCAPE_SOAK": "1"})


def task_bench(args: list[str]) -> int:
    setup("dev,bench")
    return run(PY, "-m", "bench", *args)


def task_docs(args: list[str]) -> int:
    setup()
    command = args[:1] or ["build"]  # `docs serve` previews on 127.0.0.1:8000
    extra = ["--strict"] if command == ["build"] else []
    return run(PY, "-m", "mkdocs", *command, *extra, *args[1:], env={"NO_MKDOCS_2_WARNING": "1"})


def task_ci(args: list[str]) -> int:
    return task_test(args) or task_lint([])


TASKS = {
    "demo": (task_demo, "set up .venv and run the guided demo on a throwaway SQLite database"),
    "test": (task_test, "set up .venv and run the whole test suite (extra args go to pytest)"),
    "lint": (task_lint, "ruff check, ruff format --check, mypy --strict src"),
    "soak": (task_soak, "the long race and soak variants (stress marker, full counts)"),
    "bench": (task_bench, "run the benchmarks against the raw driver, Alembic and yoyo"),
    "docs": (task_docs, "build the documentation site into site/ (mkdocs --strict); 'docs serve'"),
    "ci": (task_ci, "what .ci/run does: test, then lint"),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task", choices=sorted(TASKS), help=" | ".join(
        f"{name}: {help_}" for name, (_, help_) in TASKS.items()))
    parser.add_argument("args", nargs=argparse.REMAINDER)
    ns = parser.parse_args()
    return TASKS[ns.task][0](ns.args)


if __name__ == "__main__":
    sys.exit(main())
