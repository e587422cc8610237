"""Real serving instances for the end-to-end tests: the products example under uvicorn processes.

``ServerFleet`` copies ``examples/products_api`` to a temporary folder, starts N ``uvicorn``
processes on free 127.0.0.1 ports with ``TIMESCAPE_DATABASE_URL`` set, waits until each answers,
and stops them (SIGTERM, then SIGKILL) on exit. ``LoadClients`` runs concurrent httpx clients in a
thread of their own, asking every instance for both versions, and classifies every response.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import httpx

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "products_api"
V1, V2 = "v1.0.0", "v2.0.0"
HANDLER = "/api/products"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SLOW_APP = """
import asyncio

from app import products, timescape
from timescape.asgi import TimescapeMiddleware


async def slow_products(scope, receive, send):
    # Inside the middleware: the request counts as in flight while it sleeps.
    if scope["type"] == "http" and b"slow=1" in scope.get("query_string", b""):
        await asyncio.sleep(60)
    await products(scope, receive, send)


app = TimescapeMiddleware(slow_products, timescape=timescape)
"""


def copy_example(tmp_path: Path, *, settings: str = "") -> Path:
    """The example in a temporary folder, plus ``slowapp.py`` (a ``?slow=1`` request sleeps).

    ``settings`` (TOML lines) go into its project file's ``[database]`` table.
    """
    folder = tmp_path / "products_api"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("*.db", "*.lock", "__pycache__"))
    (folder / "slowapp.py").write_text(SLOW_APP)
    if settings:
        project = folder / "timescape.toml"
        project.write_text(project.read_text().replace("[database]\n", f"[database]\n{settings}\n", 1))
    return folder


@dataclass
class Server:
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        """SIGKILL: no lifespan shutdown, no unregister; the heartbeat simply stops."""
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)


class ServerFleet:
    """N uvicorn processes serving the example against one database."""

    def __init__(self, folder: Path, url: str, count: int, *, app: str = "app:app") -> None:
        self.folder = folder
        self.url = url
        self.count = count
        self.app = app
        self.servers: list[Server] = []

    def __enter__(self) -> Self:
        try:
            for index in range(self.count):
                self.servers.append(self._start(index))
            for server in self.servers:
                self._wait_ready(server)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _start(self, index: int) -> Server:
        port = free_port()
        log = self.folder / f"uvicorn-{index}.log"
        env = {**os.environ, "TIMESCAPE_DATABASE_URL": self.url}
        env.pop("TIMESCAPE_TEST_FAULTS", None)
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "--app-dir", str(self.folder), self.app,
                 "--host", "127.0.0.1", "--port", str(port), "--lifespan", "on",
                 "--log-level", "warning", "--no-access-log"],
                cwd=self.folder, env=env, stdout=out, stderr=subprocess.STDOUT,
            )
        return Server(port, proc, log)

    def _wait_ready(self, server: Server, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if server.proc.poll() is not None:
                raise AssertionError(f"uvicorn exited {server.proc.returncode}: {server.log.read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                response = httpx.get(server.base_url + "/health", timeout=1.0)
                if response.status_code < 500:
                    return
            time.sleep(0.05)
        raise AssertionError(f"uvicorn on port {server.port} not ready: {server.log.read_text()}")

    def stop(self) -> None:
        for server in self.servers:
            if server.proc.poll() is None:
                server.proc.send_signal(signal.SIGTERM)
        for server in self.servers:
            try:
                server.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.proc.kill()
                server.proc.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join(f"--- {s.log.name}\n{s.log.read_text()}" for s in self.servers)


@dataclass
class Tally:
    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    wrong: list[str] = field(default_factory=list)
    transport_errors: int = 0
    served: Counter[str] = field(default_factory=Counter)

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


def check_payload(ref: str, response: httpx.Response, tsvs: dict[str, str]) -> str | None:  # noqa: PLR0911
    """None when the response is a correct answer for ``ref``; else what is wrong with it."""
    status = response.status_code
    if status in (404, 410):
        error = response.json().get("error", {})
        if status == 410 and error.get("version") != tsvs[ref]:
            return f"410 names {error.get('version')} for {ref}"
        return None
    if status != 200:
        return f"status {status}: {response.text[:200]}"
    body = response.json()
    if body.get("version") != tsvs[ref] or response.headers.get("x-timescape-version") != tsvs[ref]:
        return f"{ref} answered by {body.get('version')}"
    for item in body["products"]:
        if ref == V1 and (set(item) != {"id", "name", "price"} or float(item["price"]) != item["id"] * 1.5):
            return f"bad v1 item {item}"
        if ref == V2 and item != {"id": item["id"], "name": item["name"], "price_cents": item["id"] * 150}:
            return f"bad v2 item {item}"
    if len(body["products"]) != 3:
        return f"{len(body['products'])} products"
    return None


class LoadClients:
    """Concurrent httpx clients in a background thread, until :meth:`stop`."""

    def __init__(self, base_urls: list[str], tsvs: dict[str, str], *, workers: int = 8) -> None:
        self.base_urls = base_urls
        self.tsvs = tsvs
        self.workers = workers
        self.tally = Tally()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> Tally:
        self._stop.set()
        self._thread.join(timeout=30)
        return self.tally

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        limits = httpx.Limits(max_connections=self.workers * 2)
        async with httpx.AsyncClient(timeout=10.0, limits=limits) as client:
            await asyncio.gather(*(self._worker(client, i) for i in range(self.workers)))

    async def _worker(self, client: httpx.AsyncClient, index: int) -> None:
        rng = random.Random(index)
        tally = self.tally
        while not self._stop.is_set():
            base = rng.choice(self.base_urls)
            ref = rng.choice((V1, V2))
            tally.sent += 1
            try:
                response = await client.get(base + HANDLER, headers={"X-API-Version": ref})
            except httpx.HTTPError as exc:
                tally.transport_errors += 1
                tally.wrong.append(f"{base} {ref}: {exc!r}")
                continue
            tally.statuses[response.status_code] += 1
            problem = check_payload(ref, response, self.tsvs)
            if problem is not None:
                tally.wrong.append(f"{base} {ref}: {problem}")
            elif response.status_code == 200:
                tally.served[ref] += 1


def poll_until(check: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``check()`` every 5 ms until true; return the seconds it took."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.005)
    return time.monotonic() - started
