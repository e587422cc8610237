"""Flask behind the WSGI middleware under werkzeug's server (``flask run``) on 127.0.0.1.

Sends 6 requests per database (one readiness probe included) plus the polls, 0.1 s apart and
bounded by 20 s, until a deactivation reaches the server: 8-9 in all in a typical run.
"""

from __future__ import annotations

from pathlib import Path

from tests.dbutil import TestDB
from tests.web.apps import write_project
from tests.web.server import ROOT, free_port, serve
from timescape import load_project


def test_flask__werkzeug_server__version_per_request_and_refresh(db: TestDB, tmp_path: Path) -> None:
    project = write_project(tmp_path, db.url)
    ts = load_project(project).timescape()
    v1 = ts.resolve("v1", "/api/products")
    v2 = ts.resolve("v2", "/api/products")
    ts.activate("v1", handler="/api/products")
    ts.activate("v2", handler="/api/products")
    port = free_port()
    argv = ["-m", "flask", "--app", "tests.web.apps.flask_app:app", "run",
            "--host", "127.0.0.1", "--port", str(port), "--no-reload", "--no-debugger"]
    env = {"APP_PROJECT": str(project), "APP_REFRESH": "0.2"}
    with serve(argv, port=port, cwd=ROOT, log=tmp_path / "flask.log", env=env,
               ready_path="/health") as server:
        health = server.get("/health")
        assert health.json() == {"status": "ok", "version": None}
        assert "x-timescape-version" not in health.headers

        newest = server.get("/api/products")
        assert newest.status_code == 200, newest.text
        assert newest.json() == {"tsv": v2, "schema": "s2", "tags": ["v2"], "ref": None, "context": v2}
        assert newest.headers["x-timescape-version"] == v2
        pinned = server.get("/api/products", headers={"X-API-Version": "v1"})
        assert pinned.json() == {"tsv": v1, "schema": "s1", "tags": ["v1"], "ref": "v1", "context": v1}
        by_query = server.get("/api/products?api_version=v1")
        assert by_query.json()["tsv"] == v1

        unknown = server.get("/api/products", headers={"X-API-Version": "nope"})
        assert unknown.status_code == 404
        assert unknown.json()["error"]["handler"] == "/api/products"

        ts.deactivate("v1", handler="/api/products")
        gone = server.wait_for(
            "/api/products", lambda r: r.status_code == 410, headers={"X-API-Version": "v1"}
        )
        assert gone.status_code == 410, gone.text
        assert gone.json()["error"]["alternatives"] == [{"tsv": v2, "tags": ["v2"]}]
    # SIGINT stops werkzeug; the middleware's atexit hook flushed the request counters.
    counts = {info.tsv: info.request_count for info in ts.versions()}
    assert counts[v2] == 1
    assert counts[v1] >= 2
    ts.close()
