"""examples/beginner as its README walks through it: the CLI and a real uvicorn on 127.0.0.1.

Sends 8 requests (one readiness probe included) plus the polls, 0.1 s apart and bounded by 20 s
each, while two state changes reach the running server: 12-16 in all in a typical run.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.examples import copy_example, timescape
from tests.web.server import free_port, serve


def test_beginner__additive_change__v1_and_v2_side_by_side_then_v1_retired(tmp_path: Path) -> None:
    folder = copy_example("beginner", tmp_path)
    v1 = timescape(folder, "version", "activate", "v1")["target"]
    port = free_port()
    argv = ["-m", "uvicorn", "app:app", "--port", str(port), "--host", "127.0.0.1",
            "--log-level", "warning"]
    with serve(argv, port=port, cwd=folder, log=tmp_path / "uvicorn.log",
               ready_path="/docs") as server:
        added = server.post("/api/todos", json={"title": "milk"})
        assert added.status_code == 201, server.output()
        assert added.json() == {"version": v1, "id": 1, "title": "milk"}
        assert server.get("/api/todos").json() == {
            "version": v1, "todos": [{"id": 1, "title": "milk"}]
        }

        check = timescape(folder, "schema", "check", "todos_v2")
        assert check["ok"] is True
        v2 = timescape(folder, "version", "activate", "v2")["target"]
        newest = server.wait_for("/api/todos", lambda r: r.json()["version"] == v2)
        assert newest.json() == {"version": v2, "todos": [{"id": 1, "title": "milk", "done": False}]}
        assert newest.headers["x-timescape-version"] == v2
        pinned = server.get("/api/todos", headers={"X-API-Version": "v1"})
        assert pinned.json() == {"version": v1, "todos": [{"id": 1, "title": "milk"}]}
        assert server.get("/api/todos", params={"api_version": "v1"}).json() == pinned.json()
        # v1 still writes, v2 reads the default.
        assert server.post("/api/todos", json={"title": "eggs"},
                           headers={"X-API-Version": "v1"}).json()["version"] == v1
        assert server.get("/api/todos").json()["todos"][1] == {"id": 2, "title": "eggs", "done": False}

        operation = server.get("/openapi.json").json()["paths"]["/api/todos"]["get"]
        assert {p["name"] for p in operation["parameters"]} == {"X-API-Version", "api_version"}

        timescape(folder, "version", "deactivate", "v1")
        gone = server.wait_for("/api/todos", lambda r: r.status_code == 410,
                               headers={"X-API-Version": "v1"})
        assert gone.status_code == 410
        assert gone.json()["error"]["alternatives"] == [{"tsv": v2, "tags": ["v2"]}]
    assert server.process.returncode == 0, server.output()
    with sqlite3.connect(folder / "todos.db") as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(todos)")]
    assert columns == ["id", "title", "done"]  # todos_v1 is todos_v2's parent: nothing rolled back
    schemas = {s["name"]: s["status"] for s in timescape(folder, "schema", "list")["schemas"]}
    assert schemas == {"todos_v1": "applied", "todos_v2": "applied"}
