"""The console script's fast help path: byte-identical to click, and really fast (no click import)."""

from __future__ import annotations

import fcntl
import importlib.metadata
import json
import os
import pty
import shutil
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from tests.clirun import CONSOLE_SCRIPT, Result, imported_modules, run_process
from timescape.cli import _entry, _helpgen, _helptext

SLOW = [sys.executable, "-c", "from timescape.cli.main import main; main()"]
FAST = [sys.executable, "-m", "timescape"]
# Below click's 50-column floor, the 80-column fallback, between, at and above the 100 maximum.
ENV_DROPPED = frozenset({"TIMESCAPE_DATABASE_URL", "COLUMNS", "_TIMESCAPE_COMPLETE"})
COLUMNS = (None, "30", "60", "79", "80", "81", "101", "102", "250", "0", "wide")


def _env(**changes: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ENV_DROPPED}
    env.update({key: value for key, value in changes.items() if value is not None})
    return env


def _run(command: list[str], env: dict[str, str]) -> tuple[int, bytes, bytes]:
    done = subprocess.run(command, capture_output=True, env=env, timeout=60, check=False)
    return done.returncode, done.stdout, done.stderr


def _run_script(*args: str, cwd: Path, python_flags: tuple[str, ...] = ()) -> Result:
    """The console script (run by this interpreter when ``python_flags`` are given)."""
    command = (sys.executable, *python_flags, *CONSOLE_SCRIPT) if python_flags else CONSOLE_SCRIPT
    return run_process(*args, cwd=cwd, drop_env=ENV_DROPPED, command=command)


def test_helptext__regenerated__matches_the_module() -> None:
    if importlib.metadata.version("click") != _helptext.CLICK:
        # Another click release renders help its own way: the recording must then never be
        # replayed (regenerate it when moving to that release).
        assert _entry.recorded_output(("--help",)) is None
        return
    expected = _helpgen.source()
    assert Path(_helptext.__file__).read_text(encoding="utf-8") == expected, (
        "src/timescape/cli/_helptext.py is stale: run `python -m timescape.cli._helpgen`"
    )


@pytest.mark.parametrize("argv", _helpgen.ARGV_FORMS, ids=lambda argv: " ".join(argv) or "none")
def test_fast_path__every_width__identical_to_click(argv: tuple[str, ...]) -> None:
    for columns in COLUMNS:
        env = _env(COLUMNS=columns)
        assert _run([*FAST, *argv], env) == _run([*SLOW, *argv], env), columns


@pytest.mark.parametrize(
    "changes",
    [
        {"TIMESCAPE_DATABASE_URL": "postgresql://u:project@db/app"},  # masked on stderr
        {"TIMESCAPE_DATABASE_URL": "sqlite:///app.db"},
        {"_TIMESCAPE_COMPLETE": "bash_source"},
    ],
)
def test_fast_path__environment_that_changes_output__identical_to_click(
    changes: dict[str, str],
) -> None:
    for argv in _helpgen.ARGV_FORMS:
        env = _env(**changes)
        assert _run([*FAST, *argv], env) == _run([*SLOW, *argv], env), argv


@pytest.mark.parametrize("columns", [80, 90, 120])
def test_fast_path__terminal__identical_to_click(columns: int) -> None:
    def run(command: list[str]) -> tuple[int, bytes, bytes]:
        leader, follower = pty.openpty()
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
        with subprocess.Popen(
            command, stdout=follower, stderr=subprocess.PIPE, env=_env()
        ) as process:
            os.close(follower)
            _, err = process.communicate(timeout=60)
        out = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal and nothing is left
                break
            if not chunk:
                break
            out += chunk
        os.close(leader)
        return process.returncode, out, err

    assert run([*FAST, "--help"]) == run([*SLOW, "--help"])


def test_fast_path__stdout_closed__exit_1_like_click() -> None:
    def run(command: list[str]) -> tuple[int, bytes]:
        with subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env()
        ) as process:
            assert process.stdout is not None
            process.stdout.close()  # before the child can write
            _, err = process.communicate(timeout=60)
        return process.returncode, err

    assert run([*FAST, "--help"]) == run([*SLOW, "--help"]) == (1, b"")


def test_console_script__help__imports_neither_click_nor_typing(tmp_path: Path) -> None:
    done = _run_script("--help", cwd=tmp_path, python_flags=("-X", "importtime"))
    assert done.exit_code == 0, done.stderr[-2000:]
    modules = imported_modules(done)
    assert "timescape.cli._entry" in modules
    assert not {m for m in modules if m.split(".")[0] in {"click", "typing", "shutil"}}
    assert done.stdout.startswith("Usage: timescape")


def test_console_script__other_command__runs_the_click_cli(tmp_path: Path) -> None:
    done = _run_script("schema", "list", "--json", cwd=tmp_path)
    assert done.exit_code == 2
    assert json.loads(done.stdout)["error"]["type"] == "InputError"


@pytest.mark.parametrize("columns", ["", "0", "-3", "abc", "1", "60", "80", "200"])
def test_terminal_columns__any_columns_value__same_as_shutil(
    columns: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    monkeypatch.setenv("LINES", "24")  # shutil queries the terminal only for a missing value
    assert _entry.terminal_columns() == shutil.get_terminal_size().columns


def test_recorded_output__other_click_version__none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("_TIMESCAPE_COMPLETE", raising=False)
    assert _entry.recorded_output(("--version",)) is not None
    monkeypatch.setattr(_helptext, "CLICK", "0.0.1")
    assert _entry.recorded_output(("--version",)) is None


def test_recorded_output__other_timescape_version__none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("_TIMESCAPE_COMPLETE", raising=False)
    monkeypatch.setattr(_helptext, "VERSION", "0.0.1")
    assert _entry.recorded_output(("--version",)) is None


def test_recorded_output__unrecorded_command_line__none() -> None:
    assert _entry.recorded_output(("schema", "--help")) is None
    assert _entry.recorded_output(("--help", "--json")) is None


def test_import_timescape__loads_no_other_module() -> None:
    code = (
        "import sys; before = set(sys.modules); import timescape, timescape.cli; "
        "print(sorted(set(sys.modules) - before))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(), check=True
    )
    assert json.loads(done.stdout.replace("'", '"')) == ["__future__", "timescape", "timescape.cli"]
