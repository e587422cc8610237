"""The Python API guide (docs/python-api.md), end to end, on a throwaway SQLite database.

Run it with ``python docs_src/python_api.py`` from any folder; the test suite does.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

from timescape import (
    Lifecycle,
    OperationResult,
    RollbackRefusedError,
    Timescape,
    UnknownRefError,
    load_project,
)

PROJECT = """
[database]
url = "sqlite:///shop.db"

[[schemas]]
name = "s1"
migrations = ["CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL)"]
rollback = ["DROP TABLE products"]

[[schemas]]
name = "s2"
parent = "s1"
migrations = ["ALTER TABLE products ADD COLUMN price_cents INTEGER"]
rollback = ["ALTER TABLE products DROP COLUMN price_cents"]

[[versions]]
handler = "/api/products"
timestamp = "2025-01-01T00:00:00Z"
schema = "s1"
tags = ["v1"]

[[versions]]
handler = "/api/products"
timestamp = "2025-06-01T00:00:00Z"
schema = "s2"
tags = ["v2"]
"""


def main(folder: Path) -> None:
    # --8<-- [start:load]
    (folder / "timescape.toml").write_text(PROJECT)
    project = load_project(folder / "timescape.toml")  # validated; no connection yet
    ts = project.timescape()  # the facade; TIMESCAPE_DATABASE_URL would override the URL
    # --8<-- [end:load]

    # --8<-- [start:callbacks]
    applied: list[str] = []

    @ts.on_schema_applied
    def remember(*, schema: str, duration_ms: int, **_: object) -> None:
        applied.append(schema)
        print(f"applied {schema} in {duration_ms} ms")

    # --8<-- [end:callbacks]

    # --8<-- [start:activate]
    result: OperationResult = ts.activate("v1", handler="/api/products")
    assert result.changed
    print(result.message)  # apply s1; activate tsv:1735689600-products-001
    ts.activate("v2", handler="/api/products")
    assert applied == ["s1", "s2"]
    # --8<-- [end:activate]

    # --8<-- [start:memory]
    v1 = ts.resolve("v1", "/api/products")  # tag → TSV, from memory
    assert v1 == "tsv:1735689600-products-001"
    assert ts.resolve("2025-03-01", "/api/products") == v1  # newest at or before a date
    assert ts.latest_live("/api/products") == "tsv:1748736000-products-002"
    assert ts.is_version_active(v1)
    assert ts.is_schema_active("s2")
    assert ts.active_schemas() == ["s1", "s2"]
    assert ts.schema_usage("s1") == [v1, "tsv:1748736000-products-002"]
    assert ts.version_tags(v1) == ["v1"]
    # --8<-- [end:memory]

    # --8<-- [start:reports]
    info = ts.schema_info("s2")
    assert (info.status, info.used_by) == ("applied", ("tsv:1748736000-products-002",))
    listed = {v.tsv: v.active for v in ts.versions(handler="/api/products")}
    assert all(listed.values())
    stats = ts.stats()
    assert stats.active_schemas == 2
    assert ts.verify().ok
    # --8<-- [end:reports]

    # --8<-- [start:errors]
    try:
        ts.resolve("v9", "/api/products")
    except UnknownRefError as exc:
        print(exc.message)  # names the ref and the handler
    try:
        ts.rollback_schema("s1")
    except RollbackRefusedError as exc:
        print(exc.message)  # still used by live versions: deactivate them first
    plan = ts.deactivate("v1", handler="/api/products", dry_run=True).plan
    assert not plan.actions  # s1 is s2's parent: nothing would be rolled back
    # --8<-- [end:errors]

    # --8<-- [start:lifecycle]
    lifecycle = Lifecycle(ts, cold_after=timedelta(days=30))
    verdicts = {c.version.tsv: (c.retire, c.reason) for c in lifecycle.candidates()}
    assert verdicts["tsv:1748736000-products-002"][0] is False  # the newest is never retired
    # --8<-- [end:lifecycle]
    ts.close()

    # --8<-- [start:code]
    with Timescape(f"sqlite:///{folder / 'other.db'}") as other:
        other.add_schema("s1", ["CREATE TABLE t (id INTEGER)"], ["DROP TABLE t"])
        other.add_version("/api/things", "2025-01-01T00:00:00Z", "s1", tags=["v1"])
        other.activate("v1")
        assert other.active_schemas() == ["s1"]
    # --8<-- [end:code]


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        main(Path(tmp))
        print("ok")
