"""A pure-ASGI products API serving v1 (price as text) and v2 (price_cents) side by side.

Run it under any ASGI server, from any folder; the project file is read from this file's folder
and the database comes from ``TIMESCAPE_DATABASE_URL`` (else the project file's ``products.db``):

    export TIMESCAPE_DATABASE_URL=postgresql://postgres@127.0.0.1/shop   # optional
    timescape --project examples/products_api version activate v1.0.0
    uvicorn --app-dir examples/products_api app:app --port 8000
    curl -H 'X-API-Version: v1.0.0' localhost:8000/api/products
    curl localhost:8000/api/products            # the newest live version

The middleware resolves the version from memory; the handler reads it from ``scope["state"]``.
At start-up (ASGI lifespan) the middleware registers this process as a serving instance, so
``timescape version deactivate`` waits for its requests on a retiring version to finish before it
rolls the schema back; requests for that version then get 410 Gone.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from timescape.asgi import TimescapeMiddleware
from timescape.config import load_project
from timescape.store.urls import DatabaseURL

HERE = Path(__file__).resolve().parent
project = load_project(HERE / "timescape.toml")
timescape = project.timescape(None)  # TIMESCAPE_DATABASE_URL wins over [database] url

QUERIES = {
    "schema_v1": ("SELECT id, name, price FROM products ORDER BY id", "price"),
    "schema_v2": ("SELECT id, name, price_cents FROM products ORDER BY id", "price_cents"),
}

_local = threading.local()


def connect(url: DatabaseURL) -> Any:
    """The app's own connection, in autocommit: an idle transaction would hold table locks
    that a migration has to wait for."""
    if url.dialect == "sqlite":
        return sqlite3.connect(url.database, isolation_level=None, timeout=10)
    if url.dialect == "postgresql":
        import psycopg  # noqa: PLC0415 - only the driver of the database in use

        return psycopg.connect(
            host=url.host, port=url.port or 5432, user=url.user, password=url.password,
            dbname=url.database, autocommit=True,
        )
    import pymysql  # noqa: PLC0415 - only the driver of the database in use

    return pymysql.connect(
        host=url.host or "127.0.0.1", port=url.port or 3306, user=url.user or "root",
        password=url.password or "", database=url.database, autocommit=True,
    )


def read_products(schema: str) -> list[dict[str, object]]:
    """One query on this worker thread's connection (opened on first use)."""
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = connect(timescape.url)
    sql, price_key = QUERIES[schema]
    cursor = conn.cursor()
    try:
        cursor.execute(sql)
        rows = cursor.fetchall()
    finally:
        cursor.close()
    return [{"id": i, "name": n, price_key: p} for i, n, p in rows]


async def products(scope: dict[str, Any], receive: Any, send: Any) -> None:  # noqa: ARG001
    if scope["type"] != "http":
        return
    if scope["path"] == "/health":  # not a versioned handler: the middleware passes it through
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        return
    tsv = scope["state"]["timescape_version"]
    schema = timescape.catalog.version(tsv).schema
    items = await asyncio.to_thread(read_products, schema)
    body = json.dumps({"version": tsv, "products": items}).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


app = TimescapeMiddleware(products, timescape=timescape)
