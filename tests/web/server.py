"""Run a real web server process on 127.0.0.1 for a test, bounded in time, and always stop it.

Every request goes through :class:`Client`, which counts them, so each test can say how many
requests it sent.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0
REQUEST_TIMEOUT = 15.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A started server: its base URL, process and log file."""

    base_url: str
    process: subprocess.Popen[bytes]
    log: Path
    client: httpx.Client = field(init=False)
    requests: int = 0

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.base_url, timeout=REQUEST_TIMEOUT)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        self.requests += 1
        return self.client.request(method, path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def wait_for(self, path: str, predicate: Any, *, timeout: float = 20.0, **kwargs: Any) -> httpx.Response:
        """Poll ``path`` (at most every 0.1 s, bounded) until ``predicate(response)`` holds."""
        deadline = time.monotonic() + timeout
        while True:
            response = self.get(path, **kwargs)
            if predicate(response) or time.monotonic() > deadline:
                return response
            time.sleep(0.1)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def server_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIMESCAPE_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


@contextlib.contextmanager
def serve(
    argv: Sequence[str],
    *,
    port: int,
    cwd: Path,
    log: Path,
    env: Mapping[str, str] | None = None,
    ready_path: str = "/",
) -> Iterator[Server]:
    """Start ``argv`` (a server listening on ``port``), wait until it answers, stop it after.

    The server is stopped with SIGINT (a graceful shutdown: lifespan and atexit run), then
    SIGKILL if it has not exited 15 s later.
    """
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, *argv] if argv[0] != sys.executable else list(argv),
            cwd=cwd,
            env=server_env(env),
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise AssertionError(f"server exited with {process.returncode}:\n{server.output()}")
            try:
                server.client.get(ready_path, timeout=2)
                server.requests += 1
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"server did not start:\n{server.output()}") from None
                time.sleep(0.1)
        yield server
    finally:
        server.client.close()
        stop(process)
        # Shown with `pytest -rP` (or -s): how many requests the test sent to this server.
        print(f"{' '.join(argv[:3])}: {server.requests} requests")


def stop(process: subprocess.Popen[bytes]) -> int:
    """Stop a server gracefully (SIGINT, then SIGKILL after 15 s); return its exit code."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(15)
    return process.returncode
