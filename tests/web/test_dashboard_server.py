"""The dashboard's HTTP server: read-only routes, 405 for every write method, no secret anywhere."""

from __future__ import annotations

import http.client
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.cli.conftest import TSV1, run_cli, write_project
from tests.clirun import assert_one_line_error
from tests.dbutil import TestDB
from timescape import Timescape
from timescape.cli._context import secret_forms
from timescape.config import load_project
from timescape.errors import DrainTimeoutError
from timescape.web.dashboard import DashboardServer, dashboard_state

SECRET = "Zk9#p@ss:w0rd/?"
ENCODED = quote(SECRET, safe="")


def _with_password(db: TestDB) -> str:
    if db.dialect == "sqlite":
        return f"{db.url}?password={ENCODED}"
    scheme, _, rest = db.url.partition("://")
    user, _, host = rest.partition("@")
    return f"{scheme}://{user}:{ENCODED}@{host}"


@contextmanager
def _serving(server: DashboardServer) -> Iterator[DashboardServer]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
        server.timescape.close()


def _request(
    server: DashboardServer, method: str, path: str, *, host: str | None = None, body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
    try:
        headers = {"Host": host} if host is not None else {}
        conn.request(method, path, body=body or None, headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def _server(
    db: TestDB, tmp_path: Path, *, url: str | None = None, secrets: bool = True
) -> DashboardServer:
    path = write_project(tmp_path, db.url)
    assert run_cli("--project", str(path), "version", "activate", "v1").exit_code == 0
    project = load_project(path)
    database = url or db.url
    return DashboardServer(
        project.timescape(database),
        port=0,
        secrets=secret_forms(database) if secrets else (),
    )


def test_dashboard_state__live_database__versions_schemas_graph_history_verify(
    db: TestDB, tmp_path: Path
) -> None:
    with _serving(_server(db, tmp_path)) as server:
        status, headers, body = _request(server, "GET", "/api/state")
        assert status == 200
        assert headers["Content-Type"] == "application/json"
        state = json.loads(body)
        assert state["format"] == 1
        (handler,) = state["handlers"]
        assert handler["handler"] == "/api/products"
        rows = {v["tsv"]: v for v in handler["versions"]}
        assert rows[TSV1]["active"]
        assert rows[TSV1]["state"] == "live"
        assert rows[TSV1]["tags"] == ["v1"]
        assert rows[TSV1]["status"] == "warm"  # just activated: never cold
        assert {s["name"]: s["status"] for s in state["schemas"]} == {
            "s1": "applied",
            "s2": "pending",
            "s3": "pending",
        }
        assert 'data-schema="s1" data-status="applied"' in state["graph_svg"]
        assert [e["kind"] for e in state["history"]][:2] == ["version_activated", "schema_applied"]
        assert state["verify"]["ok"]
        assert state["instances"] == []
        assert state["drains"] == []
        page = _request(server, "GET", "/")
        assert page[0] == 200
        assert b'<script src="/app.js"' in page[2]
        assert "script-src 'self'" in page[1]["Content-Security-Policy"]
        svg = _request(server, "GET", "/graph.svg")
        assert svg[0] == 200
        assert svg[1]["Content-Type"] == "image/svg+xml"
        assert svg[2].startswith(b"<svg")
        assert _request(server, "GET", "/nope")[0] == 404
        assert _request(server, "HEAD", "/api/state")[2] == b""


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND"])
def test_dashboard__any_write_method__405_and_nothing_changed(
    db: TestDB, tmp_path: Path, method: str
) -> None:
    with _serving(_server(db, tmp_path)) as server:
        before = (db.active_versions(), db.count("timescape_events"))
        for path in ("/", "/api/state", "/api/activate"):
            status, headers, _ = _request(server, method, path, body=b'{"ref": "v2"}')
            assert status == 405, (method, path)
            assert headers["Allow"] == "GET, HEAD"
        assert (db.active_versions(), db.count("timescape_events")) == before


def test_dashboard__foreign_host_header__refused(db: TestDB, tmp_path: Path) -> None:
    with _serving(_server(db, tmp_path)) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert _request(server, "GET", "/api/state", host="evil.example:80")[0] == 421
        assert _request(server, "GET", "/api/state", host=f"localhost:{server.port}")[0] == 200


@pytest.mark.parametrize("scrubbed", [True, False], ids=["with-mask", "redaction-alone"])
def test_dashboard__password_in_database_url__never_in_any_response(
    db: TestDB, tmp_path: Path, *, scrubbed: bool
) -> None:
    url = _with_password(db)
    with _serving(_server(db, tmp_path, url=url, secrets=scrubbed)) as server:
        responses = [
            _request(server, "GET", path)
            for path in ("/", "/app.js", "/app.css", "/api/state", "/graph.svg", "/missing")
        ]
        responses.append(_request(server, "GET", f"/?password={ENCODED}"))
        responses.append(_request(server, "POST", f"/api/state?password={ENCODED}"))
        state = json.loads(responses[3][2])
        if db.dialect == "mysql":  # root has no password: the connection is refused
            assert state["error"]["type"] == "ConnectionFailedError"
        else:
            assert "***" in state["database"]
        for _, headers, body in responses:
            text = body.decode() + json.dumps(headers)
            for form in (SECRET, ENCODED, "Zk9", "w0rd"):
                assert form not in text


def test_dashboard_state__instance_and_timed_out_drain__shown(db: TestDB, tmp_path: Path) -> None:
    with _serving(_server(db, tmp_path)) as server:
        serving = Timescape(db.url)
        instance = serving.register_instance(label="web-1")
        serving.heartbeat(instance, generation=0, in_flight={TSV1: 2})
        with pytest.raises(DrainTimeoutError):
            server.timescape.deactivate(TSV1, drain_timeout=0.2)
        state = json.loads(_request(server, "GET", "/api/state")[2])
        (shown,) = state["instances"]
        assert shown["id"] == instance
        assert shown["label"] == "web-1"
        assert shown["in_flight"] == {TSV1: 2}
        assert not shown["stale"]
        (drain,) = state["drains"]
        assert drain["tsv"] == TSV1
        assert drain["in_flight"] == 2
        assert drain["holders"] == [shown["name"]]
        rows = {v["tsv"]: v for v in state["handlers"][0]["versions"]}
        assert rows[TSV1]["state"] == "retiring"
        serving.unregister_instance(instance)
        serving.close()


@pytest.mark.dialects("sqlite")
def test_dashboard_state__large_dag__picture_capped_with_a_note(db: TestDB) -> None:
    ts = Timescape(db.url)
    for i in range(305):
        parent = f"s{i - 1}" if i else None
        ts.add_schema(
            f"s{i}", [f"CREATE TABLE t{i} (id INTEGER)"], [f"DROP TABLE t{i}"], parent=parent
        )
    state = dashboard_state(ts)
    assert len(state["schemas"]) == 305
    assert state["graph_svg"].count('class="schema"') == 300
    assert 'data-schema="s304"' in state["graph_svg"]
    assert 'data-schema="s4"' not in state["graph_svg"]
    assert "newest 300 of 305" in state["graph_note"]
    ts.close()


def test_dashboard_cli__port_in_use__exit_2_one_line(db: TestDB, tmp_path: Path) -> None:
    path = write_project(tmp_path, db.url)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("--project", str(path), "dashboard", "--port", str(port))
    assert result.exit_code == 2
    assert_one_line_error(result, f"127.0.0.1:{port}", "--port")


def test_dashboard_cli__json__first_line_is_a_document_then_sigterm_stops_it(
    db: TestDB, tmp_path: Path
) -> None:
    path = write_project(tmp_path, db.url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIMESCAPE_")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "timescape",
            "--project",
            str(path),
            "dashboard",
            "--port",
            "0",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            assert selector.select(30), "no output within 30 s"
        text = ""
        while not text.endswith("}\n"):  # the document is indented: read to its closing brace
            line = process.stdout.readline()
            assert line, "the output ended before the document did"
            text += line
        document = json.loads(text)
        assert document["format"] == 1
        assert document["read_only"] is True
        assert document["url"].startswith("http://127.0.0.1:")
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=15)
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdout.close()
        process.stderr.close()
    assert code == 0
