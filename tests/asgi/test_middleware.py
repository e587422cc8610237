"""The ASGI middleware against real databases, driven through httpx's ASGI transport."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
import pytest

from tests.dbutil import TestDB
from timescape import Timescape
from timescape.asgi import TimescapeMiddleware, current_version


async def echo_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = f"{scope.get('state', {}).get('timescape_version')}|{current_version.get()}"
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body.encode()})


def make(url: str) -> Timescape:
    ts = Timescape(url)
    ts.add_schema("s1", ["CREATE TABLE products (id INTEGER PRIMARY KEY)"], ["DROP TABLE products"])
    ts.add_schema(
        "s2",
        ["ALTER TABLE products ADD COLUMN price_cents INTEGER"],
        ["ALTER TABLE products DROP COLUMN price_cents"],
        parent="s1",
    )
    ts.add_version("/api/products", "2025-01-01T00:00:00Z", "s1", tags=["v1"])
    ts.add_version("/api/products", "2025-02-01T00:00:00Z", "s2", tags=["v2"])
    return ts


@pytest.fixture
def apps() -> Any:
    """Middlewares made by a test; closed (threads stopped, instance unregistered) after it."""
    made: list[TimescapeMiddleware] = []
    yield made
    for app in made:
        asyncio.run(app.aclose())
        app.timescape.close()


def get(app: Any, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(path, headers=headers)

    return asyncio.run(go())


def test_middleware__no_header__routes_to_newest_live_version(db: TestDB, apps: list[TimescapeMiddleware]) -> None:
    ts = make(db.url)
    v1 = ts.resolve("v1", "/api/products")
    v2 = ts.resolve("v2", "/api/products")
    ts.activate(v1)
    ts.activate(v2)
    app = TimescapeMiddleware(echo_app, timescape=ts, refresh_interval=60)
    apps.append(app)
    response = get(app, "/api/products/42")
    assert response.status_code == 200
    assert response.text == f"{v2}|{v2}"
    assert response.headers["x-timescape-version"] == v2
    pinned = get(app, "/api/products", {"X-API-Version": "v1"})
    assert pinned.text == f"{v1}|{v1}"
    ts.close()


def test_middleware__inactive_or_unknown_ref__404_json(db: TestDB, apps: list[TimescapeMiddleware]) -> None:
    ts = make(db.url)
    ts.activate(ts.resolve("v1", "/api/products"))
    app = TimescapeMiddleware(echo_app, timescape=ts, refresh_interval=60)
    apps.append(app)
    assert get(app, "/api/products", {"X-API-Version": "v2"}).status_code == 404
    response = get(app, "/api/products", {"X-API-Version": "nope"})
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "UnknownRefError"
    ts.close()


def test_middleware__unversioned_path__passes_through(db: TestDB, apps: list[TimescapeMiddleware]) -> None:
    ts = make(db.url)
    app = TimescapeMiddleware(echo_app, timescape=ts, refresh_interval=60)
    apps.append(app)
    response = get(app, "/health")
    assert response.status_code == 200
    assert response.text == "None|None"
    assert "x-timescape-version" not in response.headers
    ts.close()


@pytest.mark.dialects("sqlite")
def test_middleware__request_path__issues_no_queries(db: TestDB, apps: list[TimescapeMiddleware]) -> None:
    ts = make(db.url)
    ts.activate(ts.resolve("v1", "/api/products"))
    app = TimescapeMiddleware(echo_app, timescape=ts, refresh_interval=3600)
    apps.append(app)
    get(app, "/api/products")  # warm up: view built
    calls: list[str] = []
    backend = ts.backend
    original_query, original_execute = backend.query, backend.execute
    main = threading.main_thread()

    def spy_query(sql: str, params: Any = ()) -> Any:
        if threading.current_thread() is main:  # the request path; the background threads may read
            calls.append(sql)
        return original_query(sql, params)

    def spy_execute(sql: str, params: Any = None) -> Any:
        if threading.current_thread() is main:
            calls.append(sql)
        return original_execute(sql, params)

    backend.query = spy_query  # type: ignore[method-assign]
    backend.execute = spy_execute  # type: ignore[method-assign]
    for _ in range(50):
        assert get(app, "/api/products").status_code == 200
    assert calls == []
    ts.close()


def test_middleware__counts_requests__flushed_to_database(db: TestDB, apps: list[TimescapeMiddleware]) -> None:
    ts = make(db.url)
    v1 = ts.resolve("v1", "/api/products")
    ts.activate(v1)
    app = TimescapeMiddleware(echo_app, timescape=ts, refresh_interval=60)
    apps.append(app)
    for _ in range(3):
        get(app, "/api/products")
    assert ts.flush_usage() == 1
    rows = db.query("SELECT request_count FROM timescape_versions WHERE tsv = ?", (v1,))
    assert rows == [(3,)]
    ts.close()


async def lifespan_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    await echo_app(scope, receive, send)


def run_lifespan(app: TimescapeMiddleware, during: Any) -> list[str]:
    """Drive a lifespan: startup, ``during()`` while up, shutdown; return what the app sent."""

    async def go() -> list[str]:
        inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        sent: list[str] = []

        async def send(message: Any) -> None:
            sent.append(message["type"])
            if message["type"] == "lifespan.startup.complete":
                await asyncio.to_thread(during)
                await inbox.put({"type": "lifespan.shutdown"})

        await inbox.put({"type": "lifespan.startup"})
        await app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, send)
        return sent

    return asyncio.run(go())


@pytest.mark.parametrize("inner", [lifespan_app, echo_app], ids=["app-lifespan", "no-lifespan"])
def test_middleware__lifespan__registered_while_up_unregistered_after(
    db: TestDB, apps: list[TimescapeMiddleware], inner: Any
) -> None:
    ts = make(db.url)
    ts.activate(ts.resolve("v1", "/api/products"))
    app = TimescapeMiddleware(inner, timescape=ts, label="lifespan-test")
    apps.append(app)
    seen: list[list[str | None]] = []

    def during() -> None:
        with make(db.url) as control:
            seen.append([i.label for i in control.instances()])

    sent = run_lifespan(app, during)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert seen == [["lifespan-test"]]
    assert not app.serving.is_open
    control = make(db.url)
    assert control.instances() == []
    control.close()


def test_middleware__retired_version__410_json_with_headers(
    db: TestDB, apps: list[TimescapeMiddleware]
) -> None:
    ts = make(db.url)
    v1, v2 = ts.resolve("v1", "/api/products"), ts.resolve("v2", "/api/products")
    ts.activate(v1)
    ts.activate(v2)
    ts.deactivate(v2)
    app = TimescapeMiddleware(echo_app, timescape=ts, refresh_interval=60)
    apps.append(app)
    response = get(app, "/api/products", {"X-API-Version": "v2"})
    assert response.status_code == 410
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-timescape-alternatives"] == v1
    assert "sunset" in response.headers
    assert response.json()["error"]["alternatives"] == [{"tsv": v1, "tags": ["v1"]}]
    assert get(app, "/api/products", {"X-API-Version": "v2"}).json()["error"]["version"] == v2


def test_middleware__streamed_body__in_flight_until_the_app_returns(
    db: TestDB, apps: list[TimescapeMiddleware]
) -> None:
    ts = make(db.url)
    v1 = ts.resolve("v1", "/api/products")
    ts.activate(v1)
    seen: list[dict[str, int]] = []

    async def streaming(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for chunk in (b"a", b"b", b""):
            seen.append(app.serving.in_flight())
            await send({"type": "http.response.body", "body": chunk, "more_body": bool(chunk)})
        seen.append(app.serving.in_flight())  # the last body is sent: still in flight

    app = TimescapeMiddleware(streaming, timescape=ts, refresh_interval=60)
    apps.append(app)
    response = get(app, "/api/products")
    assert response.text == "ab"
    assert seen == [{v1: 1}] * 4
    assert app.serving.in_flight() == {}
