"""FastAPI under a real uvicorn on 127.0.0.1, on every configured database.

Sends 13 requests per database (one readiness probe included) plus the polls, 0.1 s apart and
bounded by 20 s, until a deactivation reaches the server: 15 in all in a typical run.
"""

from __future__ import annotations

from pathlib import Path

from tests.dbutil import TestDB
from tests.web.apps import write_project
from tests.web.server import ROOT, free_port, serve
from timescape import load_project


def test_fastapi__two_endpoints_one_path__routing_follows_live_versions(
    db: TestDB, tmp_path: Path
) -> None:
    project = write_project(tmp_path, db.url)
    ts = load_project(project).timescape()
    v1 = ts.resolve("v1", "/api/products")
    v2 = ts.resolve("v2", "/api/products")
    ts.activate("v1", handler="/api/products")
    ts.activate("v2", handler="/api/products")
    port = free_port()
    argv = ["-m", "uvicorn", "tests.web.apps.fastapi_app:app", "--host", "127.0.0.1",
            "--port", str(port), "--lifespan", "on", "--log-level", "warning"]
    env = {"APP_PROJECT": str(project), "APP_REFRESH": "0.2"}
    with serve(argv, port=port, cwd=ROOT, log=tmp_path / "uvicorn.log", env=env,
               ready_path="/health") as server:
        newest = server.get("/api/products")
        assert newest.status_code == 200, newest.text
        assert newest.json() == {"variant": "v2", "tsv": v2, "schema": "s2", "tags": ["v2"], "ref": None}
        assert newest.headers["x-timescape-version"] == v2

        pinned = server.get("/api/products", headers={"X-API-Version": "v1"})
        assert pinned.json() == {"variant": "v1", "tsv": v1, "schema": "s1", "tags": ["v1"], "ref": "v1"}
        by_query = server.get("/api/products", params={"api_version": v1})
        assert by_query.json()["variant"] == "v1"
        assert by_query.json()["ref"] == v1
        by_time = server.get("/api/products", headers={"X-API-Version": "2025-01-15T00:00:00Z"})
        assert by_time.json()["tsv"] == v1

        sub = server.get("/api/products/7", headers={"X-API-Version": "v1"})
        assert sub.json() == {"id": 7, "variant": "any", "tsv": v1, "schema": "s1", "tags": ["v1"], "ref": "v1"}

        unknown = server.get("/api/products", headers={"X-API-Version": "v9"})
        assert unknown.status_code == 404
        assert unknown.json()["error"]["type"] == "UnknownRefError"
        assert "v9" in unknown.json()["error"]["message"]

        openapi = server.get("/openapi.json").json()
        operation = openapi["paths"]["/api/products"]["get"]
        declared = {(p["in"], p["name"]) for p in operation["parameters"]}
        assert declared == {("header", "X-API-Version"), ("query", "api_version")}
        assert operation["x-timescape-serves"] == ["v2"]
        # One document per version: each path shows the endpoint serving that version.
        for ref, served in (("v1", ["v1"]), (v2, ["v2"])):
            document = server.get(f"/openapi/{ref}.json").json()
            assert document["paths"]["/api/products"]["get"]["x-timescape-serves"] == served
            assert "/api/products/{product_id}" in document["paths"]
        assert server.get("/openapi/v9.json").status_code == 404
        assert server.get("/health").headers.get("x-timescape-version") is None

        # Another process deactivates v1: the server's background refresh picks it up.
        ts.deactivate("v1", handler="/api/products")
        gone = server.wait_for(
            "/api/products", lambda r: r.status_code == 410, headers={"X-API-Version": "v1"}
        )
        assert gone.status_code == 410, gone.text
        assert gone.json()["error"]["alternatives"] == [{"tsv": v2, "tags": ["v2"]}]
        assert server.get("/api/products").json()["tsv"] == v2
        sent_v2 = 1 + 1  # the two newest-version requests to /api/products above
    assert server.process.returncode == 0, server.output()
    # The server flushed its request counters on shutdown (lifespan → close).
    counts = {info.tsv: info.request_count for info in ts.versions()}
    assert counts[v2] == sent_v2
    assert counts[v1] >= 4
    ts.close()
