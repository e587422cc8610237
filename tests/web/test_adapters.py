"""The adapters' edges, in-process on a real SQLite database: Django's URL from its settings,
WSGI in-flight accounting until the response is closed, FastAPI's start-up checks and OpenAPI.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.web.apps import write_project
from timescape import (
    InputError,
    ResolvedVersion,
    ServingInstance,
    TimescapeMiddleware,
    TimescapeWSGIMiddleware,
    load_project,
)
from timescape.store.urls import parse_url
from timescape.web.django import url_from_settings
from timescape.web.fastapi import Versioning


def test_url_from_settings__each_engine__parses_back_to_the_same_database(tmp_path: Path,
                                                                           monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    sqlite = url_from_settings({"ENGINE": "django.db.backends.sqlite3", "NAME": "app.db"})
    assert sqlite == f"sqlite:///{tmp_path / 'app.db'}"
    assert parse_url(sqlite).database == str(tmp_path / "app.db")
    pg = url_from_settings({"ENGINE": "django.db.backends.postgresql", "NAME": "shop",
                            "USER": "app", "PASSWORD": "p@ss:/w#rd", "HOST": "db.local",
                            "PORT": 5433})
    parsed = parse_url(pg)
    assert (parsed.dialect, parsed.host, parsed.port, parsed.user, parsed.password,
            parsed.database) == ("postgresql", "db.local", 5433, "app", "p@ss:/w#rd", "shop")
    mysql = parse_url(url_from_settings({"ENGINE": "django.db.backends.mysql", "NAME": "shop",
                                         "USER": "root", "HOST": "::1"}))
    assert (mysql.dialect, mysql.host, mysql.password, mysql.database) == ("mysql", "::1", None, "shop")


@pytest.mark.parametrize(("entry", "fragment"), [
    ({"ENGINE": "django.db.backends.oracle", "NAME": "x"}, "uses ENGINE 'django.db.backends.oracle'"),
    ({"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}, "in-memory SQLite"),
])
def test_url_from_settings__unusable_database__input_error(entry: dict[str, str],
                                                           fragment: str) -> None:
    with pytest.raises(InputError, match=fragment):
        url_from_settings(entry, alias="default")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = write_project(tmp_path, f"sqlite:///{tmp_path / 'app.db'}")
    ts = load_project(path).timescape()
    ts.activate("v1", handler="/api/products")
    ts.close()
    return path


def test_wsgi__streamed_response__in_flight_until_closed(project: Path) -> None:
    ts = load_project(project).timescape()
    v1 = ts.resolve("v1", "/api/products")

    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        version = environ.get("timescape.version")
        yield version.tsv.encode() if version else b"unversioned"
        yield b"|done"

    seen: list[tuple[str, list[tuple[str, str]]]] = []
    middleware = TimescapeWSGIMiddleware(app, timescape=ts,
                                         serving=ServingInstance(ts, register=False))
    try:
        environ = {"PATH_INFO": "/api/products/3", "QUERY_STRING": "api_version=v1",
                   "REQUEST_METHOD": "GET"}
        body = middleware(environ, lambda status, headers, *_: seen.append((status, headers)))
        chunks = iter(body)
        assert next(chunks) == v1.encode()
        assert seen == [("200 OK", [("Content-Type", "text/plain"), ("X-Timescape-Version", v1)])]
        assert middleware.serving.in_flight() == {v1: 1}
        assert next(chunks) == b"|done"
        body.close()  # type: ignore[attr-defined]
        assert middleware.serving.in_flight() == {}

        refused = middleware({"PATH_INFO": "/api/products", "HTTP_X_API_VERSION": "v9"},
                             lambda status, headers, *_: seen.append((status, headers)))
        assert seen[-1][0] == "404 Not Found"
        assert b"v9" in b"".join(refused)
        assert middleware.serving.in_flight() == {}
        untouched: dict[str, Any] = {"PATH_INFO": "/health"}
        assert list(middleware(untouched, lambda *_: None)) == [b"unversioned", b"|done"]
        assert "timescape.version" not in untouched
    finally:
        middleware.close()
        ts.close()


def fastapi_app(project: Path, *, ref: str, query_param: str | None = "api_version") -> FastAPI:
    ts = load_project(project).timescape()
    versioning = Versioning(ts, query_param=query_param,
                            serving=ServingInstance(ts, register=False))
    app = FastAPI()
    versioning.install(app)
    current = Depends(versioning.current)  # a local: Annotated[...] would need module scope

    @app.get("/api/products")
    @versioning.serves(ref)
    def products(version: ResolvedVersion = current) -> dict[str, str]:
        return {"tsv": version.tsv}

    @app.get("/elsewhere")
    def elsewhere(version: ResolvedVersion = current) -> dict[str, str]:
        return {"tsv": version.tsv}

    return app


async def started(app: FastAPI) -> None:
    async with app.router.lifespan_context(app):
        pass


def test_fastapi__serves_unknown_ref__start_up_refused_naming_route(project: Path) -> None:
    app = fastapi_app(project, ref="v7")
    with pytest.raises(InputError, match=r"route /api/products: unknown ref 'v7'"):
        asyncio.run(started(app))


def test_fastapi__header_only__openapi_declares_header_and_dependency_off_handler_500(
    project: Path,
) -> None:
    app = fastapi_app(project, ref="v1", query_param=None)

    async def run() -> list[httpx.Response]:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                return [await client.get(path)
                        for path in ("/openapi.json", "/api/products", "/elsewhere")]

    openapi, served, outside = asyncio.run(run())
    operation = openapi.json()["paths"]["/api/products"]["get"]
    assert [(p["in"], p["name"]) for p in operation["parameters"]] == [("header", "X-API-Version")]
    assert served.status_code == 200
    assert outside.status_code == 500
    assert "under no Timescape handler" in outside.json()["detail"]


def test_fastapi__serves_without_refs__input_error(project: Path) -> None:
    ts = load_project(project).timescape()
    with pytest.raises(InputError, match="at least one ref"):
        Versioning(ts).serves()
    ts.close()


def test_starlette__plain_app__version_from_request_state(project: Path) -> None:
    async def products(request: Request) -> JSONResponse:
        version = ResolvedVersion.of(request.state.timescape_decision)
        return JSONResponse({"tsv": version.tsv, "schema": version.schema})

    ts = load_project(project).timescape()
    serving = ServingInstance(ts, register=False)
    app = Starlette(
        routes=[Route("/api/products", products)],
        middleware=[Middleware(TimescapeMiddleware, timescape=ts, serving=serving)],
    )

    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/api/products", headers={"X-API-Version": "v1"})

    response = asyncio.run(run())
    assert response.json() == {"tsv": ts.resolve("v1", "/api/products"), "schema": "s1"}
    serving.close()
    ts.close()
