"""Lifecycle: cold versions are retired, the newest and protected ones never."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from tests.dbutil import TestDB
from timescape import Timescape
from timescape.lifecycle import AUTO_RETIRE_EVENT, Lifecycle, run_auto_retirement
from timescape.model.usage import LifecycleSettings


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


def _aged(db: TestDB, tsv: str, days: int) -> None:
    moment = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="milliseconds")
    db.execute("UPDATE timescape_versions SET activated_at = ? WHERE tsv = ?", (moment, tsv))


def _facade(db: TestDB) -> Timescape:
    ts = Timescape(db.url)
    ts.add_schema("s1", ["CREATE TABLE items (id INTEGER PRIMARY KEY)"], ["DROP TABLE items"])
    ts.add_schema("s2", ["CREATE TABLE notes (id INTEGER PRIMARY KEY)"], ["DROP TABLE notes"])
    ts.add_version("/api/items", "2025-01-01T00:00:00Z", "s1")
    ts.add_version("/api/items", "2025-02-01T00:00:00Z", "s2")
    return ts


def test_auto_retirement__two_instances__one_round_retires_and_is_logged(
    db: TestDB, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = _facade(db), _facade(db)
    v1, v2 = (v.tsv for v in first.catalog.versions)
    first.activate(v1)
    first.activate(v2)
    _aged(db, v1, 40)
    settings = LifecycleSettings(auto_retire=True, auto_retire_interval=timedelta(hours=1))
    assert run_auto_retirement(first, LifecycleSettings()) is None  # off by default
    with caplog.at_level(logging.INFO, logger="timescape.lifecycle"):
        outcomes = run_auto_retirement(first, settings)
    assert outcomes is not None
    assert [o.candidate.version.tsv for o in outcomes] == [v1]
    assert all(o.error is None for o in outcomes)
    assert f"retired {v1}" in caplog.text
    assert db.active_versions() == {v2}
    assert "items" not in db.tables()  # s1 rolled back: nobody needs it any more
    assert "notes" in db.tables()
    # The other instance's timer fires within the interval: it does not run a round.
    assert run_auto_retirement(second, settings) is None
    assert db.event_kinds().count(AUTO_RETIRE_EVENT) == 1
    # After the interval, the other instance takes the next round (nothing left to retire).
    later = datetime.now(UTC) + timedelta(hours=2)
    assert run_auto_retirement(second, settings, now=later) == []
    assert db.event_kinds().count(AUTO_RETIRE_EVENT) == 2
    assert db.active_versions() == {v2}
    first.close()
    second.close()
