"""The catalog service (FastAPI): products with prices; v2 adds a currency.

Run from examples/multi_service:  uvicorn --app-dir catalog app:app --port 8001
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI
from pydantic import BaseModel

from timescape import load_project
from timescape.web.fastapi import ResolvedVersion, Versioning

PROJECT = Path(__file__).resolve().parents[1] / "timescape.toml"
timescape = load_project(PROJECT).timescape()
versioning = Versioning(timescape)
app = FastAPI(title="catalog")
versioning.install(app)
Version = Annotated[ResolvedVersion, Depends(versioning.current)]


class NewProduct(BaseModel):
    name: str
    cents: int


def connect() -> sqlite3.Connection:
    return sqlite3.connect(timescape.url.database, isolation_level=None, timeout=10)


@app.post("/api/catalog", status_code=201)
def add_product(product: NewProduct, version: Version) -> dict[str, object]:
    with connect() as conn:
        conn.execute("BEGIN")
        cursor = conn.execute("INSERT INTO products (name) VALUES (?)", (product.name,))
        conn.execute(
            "INSERT INTO prices (product_id, cents) VALUES (?, ?)",
            (cursor.lastrowid, product.cents),
        )
        conn.execute("COMMIT")
    return {"version": version.tsv, "id": cursor.lastrowid}


@app.get("/api/catalog")
@versioning.serves("catalog-v1")
def products_v1(version: Version) -> dict[str, object]:
    with connect() as conn:
        rows = conn.execute(
            "SELECT p.id, p.name, c.cents FROM products p JOIN prices c ON c.product_id = p.id"
            " ORDER BY p.id"
        ).fetchall()
    return {
        "version": version.tsv,
        "products": [{"id": i, "name": n, "cents": c} for i, n, c in rows],
    }


@app.get("/api/catalog")
@versioning.serves(since="catalog-v2")
def products_v2(version: Version) -> dict[str, object]:
    with connect() as conn:
        rows = conn.execute(
            "SELECT p.id, p.name, c.cents, c.currency FROM products p"
            " JOIN prices c ON c.product_id = p.id ORDER BY p.id"
        ).fetchall()
    products = [{"id": i, "name": n, "price": {"cents": c, "currency": k}} for i, n, c, k in rows]
    return {"version": version.tsv, "products": products}
