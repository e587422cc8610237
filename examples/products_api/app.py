"""A pure-ASGI products API serving v1 (price as text) and v2 (price_cents) side by side.

Run it with any ASGI server from this folder, e.g. ``uvicorn app:app``, after activating versions:

    timescape version activate v1.0.0
    timescape version activate v2.0.0
    curl -H 'X-API-Version: v1.0.0' localhost:8000/api/products
    curl localhost:8000/api/products            # the newest live version

The middleware resolves the version from memory; the handler reads it from ``scope["state"]``.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from timescape.asgi import TimescapeMiddleware
from timescape.config import load_project

HERE = Path(__file__).resolve().parent
project = load_project(HERE / "timescape.toml")
timescape = project.timescape(None)


async def products(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    tsv = scope["state"]["timescape_version"]
    version = timescape.catalog.version(tsv)
    with sqlite3.connect(HERE / "products.db") as conn:
        if version.schema == "schema_v1":
            rows = conn.execute("SELECT id, name, price FROM products").fetchall()
            items = [{"id": i, "name": n, "price": p} for i, n, p in rows]
        else:
            rows = conn.execute("SELECT id, name, price_cents FROM products").fetchall()
            items = [{"id": i, "name": n, "price_cents": c} for i, n, c in rows]
    body = json.dumps({"version": tsv, "products": items}).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


app = TimescapeMiddleware(products, timescape=timescape)
