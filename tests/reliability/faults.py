"""Run the driver in subprocesses and steer them through Timescape's named fault points.

The API, all a test needs::

    proc = start(spec_path, "activate", "V1", faults="pause:after_lock")
    proc.wait_ready("after_lock")          # the process is now paused there (or noted it)
    proc.release("after_lock")             # let it go on
    proc.sigkill() / proc.sigstop() / proc.sigcont()
    result = proc.wait(timeout=30)         # Result: exit_code, stdout, stderr, data, error

    result = run(spec_path, "verify")      # start + wait
    cli = start_cli(project, "version", "activate", tsv)   # the real CLI, same handle
    results = race([RaceEntry(spec_path, "activate", ("V1",))] * 8)   # forked, one barrier

Fault syntax is Timescape's (``TIMESCAPE_TEST_FAULTS``): ``pause:P``, ``kill:P``, ``fail:P``,
``note:P``, comma-separated. Each started process gets its own fault folder, so two processes
pausing at the same point never confuse each other. Every process started here is killed at the
end of the test by :func:`reap_all` (an autouse fixture in ``conftest.py``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DRIVER = "tests.reliability.driver"

__all__ = [
    "DriverProcess",
    "RaceEntry",
    "Result",
    "point_file",
    "race",
    "reap_all",
    "release",
    "run",
    "sigcont",
    "sigkill",
    "sigstop",
    "start",
    "start_cli",
    "wait_ready",
    "wait_until",
]

_live: list[subprocess.Popen[str]] = []


def point_file(point: str) -> str:
    """The file stem Timescape uses for a point (``after_step:2`` → ``after_step_2``)."""
    return point.replace(":", "_").replace("/", "_")


def wait_until(predicate: Any, timeout: float, *, interval: float = 0.01, what: str = "") -> float:
    """Poll ``predicate()`` until true; return the monotonic time it became true.

    Raises:
        AssertionError: After ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return time.monotonic()
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(interval)


@dataclass
class Result:
    """A finished driver process.

    Attributes:
        exit_code: Its exit status (negative: killed by that signal).
        stdout: What it printed (one JSON object, or a JSON list in race mode).
        stderr: ``Error: …`` for a Timescape error, a traceback for a bug.
        elapsed: Seconds from start to exit as seen by the test (start includes interpreter start).
        pid: The process id.
        started: Wall time the operation began (race mode: after the barrier), if known.
        ended: Wall time the operation ended, if known.
    """

    exit_code: int
    stdout: str
    stderr: str
    elapsed: float
    pid: int
    started: float | None = None
    ended: float | None = None

    @property
    def data(self) -> Any:
        """The JSON the driver printed (None when it printed none)."""
        lines = [line for line in self.stdout.splitlines() if line.strip()]
        if not lines:
            return None
        try:
            return json.loads(lines[-1])
        except ValueError:
            return None

    @property
    def error(self) -> str | None:
        """The text after ``Error:`` on stderr, if any."""
        for line in self.stderr.splitlines():
            if line.startswith("Error: "):
                return line[len("Error: "):]
        return None

    def describe(self) -> str:
        """Everything about the run, for assertion messages."""
        return f"exit {self.exit_code}\nstdout: {self.stdout}\nstderr: {self.stderr}"

    def expect(self, code: int = 0) -> Result:
        """Assert the exit code (and, for errors, a single clean ``Error:`` line)."""
        assert self.exit_code == code, self.describe()
        if code in (1, 2):
            assert self.error is not None, self.describe()
            assert "Traceback" not in self.stderr, self.describe()
        return self


class DriverProcess:
    """One driver subprocess with its own fault folder."""

    def __init__(self, argv: Sequence[str], *, faults: str | None, fault_dir: Path | None,
                 env: dict[str, str] | None = None, python_flags: Sequence[str] = (),
                 module: str = DRIVER) -> None:
        """Start ``python -m MODULE ARGV`` (the driver, or ``timescape`` for the real CLI)."""
        self.fault_dir = Path(fault_dir or tempfile.mkdtemp(prefix="tsfault-"))
        self.fault_dir.mkdir(parents=True, exist_ok=True)
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("TIMESCAPE_TEST_F")}
        full_env.update(env or {})
        full_env["PYTHONUNBUFFERED"] = "1"
        if faults:
            full_env["TIMESCAPE_TEST_FAULTS"] = faults
            full_env["TIMESCAPE_TEST_FAULT_DIR"] = str(self.fault_dir)
        self.argv = [sys.executable, *python_flags, "-m", module, *argv]
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            self.argv, cwd=ROOT, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )
        _live.append(self.proc)
        self._result: Result | None = None

    @property
    def pid(self) -> int:
        """The process id."""
        return self.proc.pid

    def is_ready(self, point: str) -> bool:
        """True once the process reached ``point`` (a pause or note fault)."""
        return (self.fault_dir / f"{point_file(point)}.ready").exists()

    def wait_ready(self, point: str, timeout: float = 30.0) -> float:
        """Wait until the process reaches ``point``; fail fast if it exits first.

        Returns:
            The monotonic time it was seen there.
        """
        return wait_ready(self.fault_dir, point, timeout, proc=self)

    def release(self, point: str) -> None:
        """Let a process paused at ``point`` go on."""
        release(self.fault_dir, point)

    def sigkill(self) -> None:
        """SIGKILL it (no cleanup at all) and reap it."""
        sigkill(self.proc)

    def sigstop(self) -> None:
        """Freeze it."""
        sigstop(self.proc)

    def sigcont(self) -> None:
        """Thaw it."""
        sigcont(self.proc)

    def poll(self) -> int | None:
        """Its exit code, or None while it runs."""
        return self.proc.poll()

    def wait(self, timeout: float = 60.0) -> Result:
        """Wait for the exit and return the :class:`Result` (kills it after ``timeout``)."""
        if self._result is None:
            try:
                out, err = self.proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                out, err = self.proc.communicate()
                raise AssertionError(
                    f"driver {self.argv[3:]} did not finish within {timeout} s\n"
                    f"stdout: {out}\nstderr: {err}"
                ) from None
            self._result = Result(self.proc.returncode, out, err,
                                  time.monotonic() - self.started, self.proc.pid)
        return self._result


def start(spec: Path | str, op: str, *args: str, faults: str | None = None,
          fault_dir: Path | None = None, env: dict[str, str] | None = None,
          python_flags: Sequence[str] = (), options: Sequence[str] = ()) -> DriverProcess:
    """Start ``driver SPEC OP ARGS OPTIONS`` with the given faults (see module docstring)."""
    return DriverProcess([str(spec), op, *args, *options], faults=faults, fault_dir=fault_dir,
                         env=env, python_flags=python_flags)


def start_cli(project: Path | str, *args: str, faults: str | None = None,
              env: dict[str, str] | None = None) -> DriverProcess:
    """Start the real CLI: ``python -m timescape --project PROJECT ARGS`` (see
    :func:`tests.reliability.driver.write_project`)."""
    return DriverProcess(["--project", str(project), *args], faults=faults, fault_dir=None,
                         env=env, module="timescape")


def run(spec: Path | str, op: str, *args: str, timeout: float = 60.0, **kwargs: Any) -> Result:
    """Start the driver and wait for it."""
    return start(spec, op, *args, **kwargs).wait(timeout)


def wait_ready(fault_dir: Path, point: str, timeout: float = 30.0,
               proc: DriverProcess | None = None) -> float:
    """Wait for ``FAULT_DIR/POINT.ready``; fail fast if ``proc`` exits first."""
    path = Path(fault_dir) / f"{point_file(point)}.ready"

    def seen() -> bool:
        if path.exists():
            return True
        if proc is not None and proc.poll() is not None:
            result = proc.wait()
            raise AssertionError(f"driver exited before reaching {point}:\n{result.describe()}")
        return False

    return wait_until(seen, timeout, interval=0.005, what=f"fault point {point}")


def release(fault_dir: Path, point: str) -> None:
    """Create ``FAULT_DIR/POINT.go``, releasing a process paused there."""
    (Path(fault_dir) / f"{point_file(point)}.go").write_text("go")


def sigkill(proc: subprocess.Popen[str]) -> None:
    """SIGKILL a process and reap it."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def sigstop(proc: subprocess.Popen[str]) -> None:
    """SIGSTOP a process."""
    os.kill(proc.pid, signal.SIGSTOP)


def sigcont(proc: subprocess.Popen[str]) -> None:
    """SIGCONT a process."""
    os.kill(proc.pid, signal.SIGCONT)


def reap_all() -> None:
    """Kill every driver process still running (end of each test)."""
    while _live:
        proc = _live.pop()
        if proc.poll() is None:
            with contextlib.suppress(OSError):
                os.kill(proc.pid, signal.SIGCONT)
            with contextlib.suppress(OSError):
                proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None and not pipe.closed:
                pipe.close()


# -- race mode ------------------------------------------------------------------------------------


@dataclass
class RaceEntry:
    """One process of a race.

    Attributes:
        spec: The spec file.
        op: The operation.
        args: Its arguments.
        faults: Fault points for this process only.
        delay: Seconds to wait after the barrier (start skew).
        options: Extra driver options (``--force``, ``--lock-timeout 2`` …).
        fault_dir: Its fault folder (default: its own output folder).
    """

    spec: Path | str
    op: str
    args: tuple[str, ...] = ()
    faults: str | None = None
    delay: float = 0.0
    options: tuple[str, ...] = ()
    fault_dir: Path | None = field(default=None)


def race(entries: Sequence[RaceEntry], *, timeout: float = 120.0,
         workdir: Path | None = None) -> list[Result]:
    """Fork one process per entry from one warm interpreter and release them together.

    The children start the operation within a millisecond or so of each other (a pipe barrier);
    each has its own database connection and its own fault folder.

    Returns:
        One :class:`Result` per entry, in order (``elapsed`` is the operation's own wall time).
    """
    folder = Path(workdir or tempfile.mkdtemp(prefix="tsrace-"))
    folder.mkdir(parents=True, exist_ok=True)
    plan = {
        "timeout": timeout,
        "out": str(folder / "out"),
        "entries": [
            {"argv": [str(e.spec), e.op, *e.args, *e.options], "faults": e.faults,
             "delay": e.delay, **({"fault_dir": str(e.fault_dir)} if e.fault_dir else {})}
            for e in entries
        ],
    }
    plan_path = folder / "race.json"
    plan_path.write_text(json.dumps(plan))
    proc = DriverProcess(["--race", str(plan_path)], faults=None, fault_dir=folder)
    outer = proc.wait(timeout + 30)
    assert outer.exit_code == 0, outer.describe()
    results = []
    for item in json.loads(outer.stdout):
        started, ended = item["started"] or None, item["ended"] or None
        results.append(Result(
            item["exit_code"], item["stdout"], item["stderr"],
            (ended - started) if started and ended else 0.0, item["pid"], started, ended,
        ))
    return results
