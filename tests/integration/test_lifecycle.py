"""Lifecycle: cold versions are retired, the newest and protected ones never."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.dbutil import TestDB
from timescape import Timescape
from timescape.lifecycle import Lifecycle


def test_retire_cold__old_idle_version__deactivated_and_schema_kept_for_newer(db: TestDB) -> None:
    ts = Timescape(db.url)
    ts.add_schema("s1", ["CREATE TABLE items (id INTEGER PRIMARY KEY)"], ["DROP TABLE items"])
    v1 = ts.add_version("/api/items", "2025-01-01T00:00:00Z", "s1")
    v2 = ts.add_version("/api/items", "2025-02-01T00:00:00Z", "s1", tags=["stable"])
    v3 = ts.add_version("/api/items", "2025-03-01T00:00:00Z", "s1")
    for tsv in (v1, v2, v3):
        ts.activate(tsv)
    life = Lifecycle(ts, cold_after=timedelta(days=30))
    later = datetime.now(UTC) + timedelta(days=31)
    verdicts = {c.version.tsv: c for c in life.candidates(now=later)}
    assert verdicts[v1].retire
    assert not verdicts[v2].retire  # protected tag
    assert not verdicts[v3].retire  # newest live version
    assert life.candidates()
    assert not any(c.retire for c in life.candidates())  # just used
    ts.deactivate(v1)
    assert db.active_versions() == {v2, v3}
    assert "items" in db.tables()
    ts.close()
