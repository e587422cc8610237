"""The orders service (Flask, any WSGI server): orders of the shared products.

Run from examples/multi_service:  flask --app orders/app.py run --port 8002
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue

from timescape import TimescapeWSGIMiddleware, load_project

PROJECT = Path(__file__).resolve().parents[1] / "timescape.toml"
timescape = load_project(PROJECT).timescape()
app = Flask(__name__)
app.wsgi_app = TimescapeWSGIMiddleware(app.wsgi_app, timescape=timescape)  # type: ignore[method-assign]


def connect() -> sqlite3.Connection:
    return sqlite3.connect(timescape.url.database, isolation_level=None, timeout=10)


@app.post("/api/orders")
def add_order() -> ResponseReturnValue:
    version = request.environ["timescape.version"]
    order = request.get_json()
    with connect() as conn:
        known = conn.execute(
            "SELECT 1 FROM products WHERE id = ?", (order["product_id"],)
        ).fetchone()
        if known is None:
            return jsonify(error=f"no product {order['product_id']}"), 422
        cursor = conn.execute(
            "INSERT INTO orders (product_id, quantity) VALUES (?, ?)",
            (order["product_id"], order["quantity"]),
        )
    return jsonify(version=version.tsv, id=cursor.lastrowid), 201


@app.get("/api/orders")
def list_orders() -> ResponseReturnValue:
    version = request.environ["timescape.version"]
    with connect() as conn:
        rows = conn.execute(
            "SELECT o.id, p.name, o.quantity FROM orders o JOIN products p ON p.id = o.product_id"
            " ORDER BY o.id"
        ).fetchall()
    orders = [{"id": i, "product": n, "quantity": q} for i, n, q in rows]
    return jsonify(version=version.tsv, orders=orders)


@app.get("/health")
def health() -> ResponseReturnValue:
    return jsonify(status="ok")
