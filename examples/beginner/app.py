"""The beginner example: a FastAPI todo list whose v1 and v2 are served side by side.

    timescape version activate v1
    uvicorn app:app --port 8000
    curl -X POST localhost:8000/api/todos -H 'content-type: application/json' -d '{"title": "milk"}'
    curl localhost:8000/api/todos                      # newest live version

Each endpoint says which versions it serves (``@versioning.serves``); the request's version comes
from the ``X-API-Version`` header or ``?api_version=``, and defaults to the newest live version.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI
from pydantic import BaseModel

from timescape import load_project
from timescape.web.fastapi import ResolvedVersion, Versioning

HERE = Path(__file__).resolve().parent
timescape = load_project(HERE / "timescape.toml").timescape()
versioning = Versioning(timescape)

app = FastAPI(title="todos")
versioning.install(app)  # middleware, lifespan, per-version routing
Version = Annotated[ResolvedVersion, Depends(versioning.current)]


class NewTodo(BaseModel):
    title: str


def connect() -> sqlite3.Connection:
    return sqlite3.connect(timescape.url.database, isolation_level=None, timeout=10)


@app.get("/api/todos")
@versioning.serves("v1")
def list_todos_v1(version: Version) -> dict[str, object]:
    with connect() as conn:
        rows = conn.execute("SELECT id, title FROM todos ORDER BY id").fetchall()
    return {"version": version.tsv, "todos": [{"id": i, "title": t} for i, t in rows]}


@app.get("/api/todos")
@versioning.serves(since="v2")  # v2 and every later version
def list_todos_v2(version: Version) -> dict[str, object]:
    with connect() as conn:
        rows = conn.execute("SELECT id, title, done FROM todos ORDER BY id").fetchall()
    todos = [{"id": i, "title": t, "done": bool(d)} for i, t, d in rows]
    return {"version": version.tsv, "todos": todos}


@app.post("/api/todos", status_code=201)
def add_todo(todo: NewTodo, version: Version) -> dict[str, object]:
    # The same code serves v1 and v2: the column v2 added has a default.
    with connect() as conn:
        cursor = conn.execute("INSERT INTO todos (title) VALUES (?)", (todo.title,))
    return {"version": version.tsv, "id": cursor.lastrowid, "title": todo.title}
