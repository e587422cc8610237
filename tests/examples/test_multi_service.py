"""examples/multi_service as its README walks through it: two services, two real server processes
(catalog under uvicorn, orders under werkzeug's ``flask run``), one SQLite database.

Sends 8 requests (two readiness probes included) plus the polls, 0.1 s apart and bounded by 20 s
each, while two state changes reach the running catalog service: 10-14 in all in a typical run.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.examples import copy_example, timescape
from tests.web.server import free_port, serve


def tables(folder: Path) -> set[str]:
    with sqlite3.connect(folder / "shop.db") as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {name for (name,) in rows if not name.startswith(("timescape_", "sqlite_"))}


def test_multi_service__catalog_retired__shared_schema_kept_for_orders(tmp_path: Path) -> None:
    folder = copy_example("multi_service", tmp_path)
    catalog_v1 = timescape(folder, "version", "activate", "catalog-v1")["target"]
    orders_v1 = timescape(folder, "version", "activate", "orders-v1")["target"]
    assert tables(folder) == {"products", "prices", "orders"}

    catalog_port, orders_port = free_port(), free_port()
    catalog_argv = ["-m", "uvicorn", "--app-dir", "catalog", "app:app", "--host", "127.0.0.1",
                    "--port", str(catalog_port), "--log-level", "warning"]
    orders_argv = ["-m", "flask", "--app", "orders/app.py", "run", "--host", "127.0.0.1",
                   "--port", str(orders_port), "--no-reload", "--no-debugger"]
    with (
        serve(catalog_argv, port=catalog_port, cwd=folder, log=tmp_path / "catalog.log",
              ready_path="/docs") as catalog,
        serve(orders_argv, port=orders_port, cwd=folder, log=tmp_path / "orders.log",
              ready_path="/health") as orders,
    ):
        added = catalog.post("/api/catalog", json={"name": "pen", "cents": 150})
        assert added.status_code == 201, catalog.output()
        assert added.json() == {"version": catalog_v1, "id": 1}
        instances = timescape(folder, "instances")["instances"]
        assert len(instances) == 2
        assert sorted("catalog" in i["label"] for i in instances) == [False, True]
        ordered = orders.post("/api/orders", json={"product_id": 1, "quantity": 2})
        assert ordered.status_code == 201, orders.output()
        assert ordered.json() == {"version": orders_v1, "id": 1}
        assert ordered.headers["X-Timescape-Version"] == orders_v1

        catalog_v2 = timescape(folder, "version", "activate", "catalog-v2")["target"]
        newest = catalog.wait_for("/api/catalog", lambda r: r.json().get("version") == catalog_v2)
        assert newest.json()["products"] == [
            {"id": 1, "name": "pen", "price": {"cents": 150, "currency": "EUR"}}
        ]
        old = catalog.get("/api/catalog", headers={"X-API-Version": "catalog-v1"})
        assert old.json()["products"] == [{"id": 1, "name": "pen", "cents": 150}]

        # Retire the whole catalog service: its schemas go, the shared one stays for orders.
        # Each deactivation first drains *both* services' instances, the orders one included.
        timescape(folder, "version", "deactivate", "catalog-v1")
        events = timescape(folder, "history", "--limit", "10")["events"]
        drained = [e for e in events if e["kind"] == "version_drained"]
        assert [e["subject"] for e in drained] == [catalog_v1]
        assert len(drained[0]["detail"]["instances"]) == 2
        result = timescape(folder, "version", "deactivate", "catalog-v2")
        rolled_back = [a["schema"] for a in result["plan"]["actions"] if a["kind"] == "rollback"]
        assert rolled_back == ["catalog_v2", "catalog_v1"]
        assert tables(folder) == {"products", "orders"}
        retired = catalog.wait_for("/api/catalog", lambda r: r.status_code == 404)
        assert retired.status_code == 404
        assert "no version of it is live" in retired.json()["error"]["message"]
        gone = catalog.get("/api/catalog", headers={"X-API-Version": "catalog-v1"})
        assert gone.status_code == 410

        # The orders service never noticed: same schema, same data.
        listed = orders.get("/api/orders")
        assert listed.json() == {
            "version": orders_v1, "orders": [{"id": 1, "product": "pen", "quantity": 2}]
        }
        assert orders.post("/api/orders", json={"product_id": 1, "quantity": 1}).status_code == 201

    refused = timescape(folder, "schema", "rollback", "shared_v1", expect=1)
    assert refused["error"]["type"] == "RollbackRefusedError"
    assert orders_v1 in refused["error"]["used_by"]
    schemas = {s["name"]: s["status"] for s in timescape(folder, "schema", "list")["schemas"]}
    assert schemas == {"shared_v1": "applied", "catalog_v1": "rolled_back",
                       "catalog_v2": "rolled_back", "orders_v1": "applied"}
