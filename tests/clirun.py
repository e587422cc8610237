"""The real ``timescape`` command in a subprocess, and the project files it reads.

Shared by ``tests/cli`` and ``tests/reliability``:

- :func:`write_project` writes ``timescape.toml`` (``{url}`` filled in) and files beside it.
- :func:`run_process` runs the command (``python -m timescape`` unless told otherwise) with a clean
  ``TIMESCAPE_*`` environment and a timeout; it returns a :class:`Result`, as the in-process runner
  of ``tests/cli`` does.
- :func:`imported_modules` reads what a ``python -X importtime`` run imported.
- :func:`assert_one_line_error` checks the CLI error contract: one ``Error:`` line, no traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PYTHON_M = (sys.executable, "-m", "timescape")
CONSOLE_SCRIPT = (str(Path(sys.executable).with_name("timescape")),)


@dataclass(frozen=True, slots=True)
class Result:
    """One finished CLI run (``argv`` and ``elapsed`` are known for subprocesses)."""

    exit_code: int
    stdout: str
    stderr: str
    argv: tuple[str, ...] = ()
    elapsed: float = 0.0

    def json(self) -> Any:
        """The JSON document on stdout."""
        return json.loads(self.stdout)

    @property
    def output(self) -> str:
        """Stdout, then stderr."""
        return self.stdout + self.stderr

    def describe(self) -> str:
        """Everything, for assertion messages."""
        return (
            f"$ timescape {' '.join(self.argv)}\nexit {self.exit_code} after {self.elapsed:.2f} s\n"
            f"stdout: {self.stdout}\nstderr: {self.stderr}"
        )


def write_project(
    folder: Path,
    text: str,
    files: Mapping[str, str | bytes] | None = None,
    *,
    url: str | None = None,
) -> Path:
    """Write ``folder/timescape.toml`` (``{url}`` replaced by ``url``) and ``files`` below it.

    Returns:
        The project file.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in (files or {}).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    path = folder / "timescape.toml"
    path.write_text(text if url is None else text.replace("{url}", url))
    return path


def run_process(
    *args: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
    drop_env: Iterable[str] = (),
    command: Sequence[str] = PYTHON_M,
) -> Result:
    """Run ``COMMAND ARGS`` in a subprocess, without the caller's ``TIMESCAPE_*`` variables.

    ``command`` is ``python -m timescape`` by default; :data:`CONSOLE_SCRIPT` is the installed
    script, and ``(sys.executable, "-c", SOURCE)`` a wrapped entry point.
    """
    dropped = set(drop_env)
    full = {
        k: v for k, v in os.environ.items() if not k.startswith("TIMESCAPE_") and k not in dropped
    }
    full["PYTHONUNBUFFERED"] = "1"
    full.update(env or {})
    started = time.monotonic()
    done = subprocess.run(
        [*command, *args],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr, args, time.monotonic() - started)


def imported_modules(result: Result) -> set[str]:
    """The modules a run under ``python -X importtime`` imported, read from its stderr."""
    return {
        line.rsplit("|", 1)[-1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }


def assert_one_line_error(
    result: Result, *fragments: str, exit_code: int | None = None, ignore_case: bool = False
) -> str:
    """Assert the CLI error contract: one ``Error:`` line naming every fragment, no traceback.

    Args:
        result: The run.
        fragments: Texts the line must contain.
        exit_code: The exit code the run must have, when given.
        ignore_case: Compare the fragments case-insensitively.

    Returns:
        The line.
    """
    if exit_code is not None:
        assert result.exit_code == exit_code, result.describe()
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.describe()
    assert lines[0].startswith("Error: "), result.describe()
    assert "Traceback" not in result.output, result.describe()
    line = lines[0].lower() if ignore_case else lines[0]
    for fragment in fragments:
        wanted = fragment.lower() if ignore_case else fragment
        assert wanted in line, f"{fragment!r} not in:\n{result.describe()}"
    return lines[0]
