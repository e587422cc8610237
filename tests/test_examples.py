"""The example project under examples/products_api works as its README says (real SQLite)."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "products_api"


def timescape(folder: Path, *args: str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-m", "timescape", "--json", *args],
        cwd=folder, capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_products_example__expand_contract_walkthrough__columns_follow_live_versions(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "products_api"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("*.db", "*.lock"))
    timescape(folder, "version", "activate", "v1.0.0")
    with sqlite3.connect(folder / "products.db") as conn:
        conn.execute("INSERT INTO products (id, name, price) VALUES (1, 'pen', '1.50')")
    timescape(folder, "version", "activate", "v2.0.0")
    with sqlite3.connect(folder / "products.db") as conn:
        assert conn.execute("SELECT price, price_cents FROM products").fetchall() == [("1.50", 150)]

    spec = importlib.util.spec_from_file_location("products_app", folder / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    async def get(headers: dict[str, str]) -> dict[str, object]:
        transport = httpx.ASGITransport(app=module.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/api/products", headers=headers)
            assert response.status_code == 200, response.text
            return response.json()

    v1 = asyncio.run(get({"X-API-Version": "v1.0.0"}))
    latest = asyncio.run(get({}))
    assert v1["products"] == [{"id": 1, "name": "pen", "price": "1.50"}]
    assert latest["products"] == [{"id": 1, "name": "pen", "price_cents": 150}]
    asyncio.run(module.app.aclose())  # stop the serving threads the first request started
    module.timescape.close()

    timescape(folder, "version", "deactivate", "v1.0.0")
    with sqlite3.connect(folder / "products.db") as conn:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(products)")]
    assert columns == ["id", "name", "price_cents"]
    plan = timescape(folder, "version", "activate", "v1.0.0", "--dry-run")
    kinds = [a["kind"] for a in plan["plan"]["actions"]]  # type: ignore[index]
    assert kinds == ["uncontract"]
