"""Pure parts of issue 10: who still holds a version, the serving settings, retiring rows."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from timescape.engine.drain import DrainOutcome, holders
from timescape.engine.instances import ServingSettings
from timescape.errors import DrainTimeoutError, InputError, RetirementCancelledError
from timescape.model.instance import InstanceInfo
from timescape.model.state import StateSnapshot, VersionState
from timescape.reports import UsageStatus, usage_status

NOW = datetime(2026, 1, 1, tzinfo=UTC)
TSV = "tsv:1-items-002"


def _instance(**changes: object) -> InstanceInfo:
    base = InstanceInfo(id="ab" * 16, host="web1", pid=42, label=None, started_at=NOW,
                        heartbeat_at=NOW, generation=10)
    return replace(base, **changes)  # type: ignore[arg-type]


def test_holds__not_loaded_in_flight_released_stale() -> None:
    assert _instance(generation=9).holds(TSV, 10) == "not yet loaded"
    assert _instance(in_flight={TSV: 2}).holds(TSV, 10) == "2 in flight"
    assert _instance(in_flight={"tsv:other": 2}).holds(TSV, 10) is None
    assert _instance(generation=11).holds(TSV, 10) is None
    assert _instance(generation=1, in_flight={TSV: 5}, is_stale=True).holds(TSV, 10) is None
    assert _instance().name == "web1 pid 42 (abababab)"


def test_holders__every_reason_per_instance_in_order() -> None:
    behind = _instance(id="1" * 32, generation=3)
    busy = _instance(id="2" * 32, in_flight={TSV: 1, "tsv:b": 1})
    done = _instance(id="3" * 32)
    pending = holders([behind, busy, done], {TSV: 10, "tsv:b": 4})
    assert [(i.id[0], why) for i, why in pending] == [
        ("1", f"{TSV}: not yet loaded; tsv:b: not yet loaded"),
        ("2", f"{TSV}: 1 in flight; tsv:b: 1 in flight"),
    ]


def test_serving_settings__defaults_and_refusals() -> None:
    settings = ServingSettings()
    assert settings.effective_stale_after == 3 * settings.heartbeat_interval
    assert ServingSettings(heartbeat_interval=1, stale_after=2.5).effective_stale_after == 2.5
    for bad in ({"heartbeat_interval": 0}, {"poll_interval": -1}, {"drain_timeout": True},
                {"stale_after": "3"}, {"heartbeat_interval": 3, "stale_after": 3}):
        with pytest.raises(InputError):
            ServingSettings(**bad)  # type: ignore[arg-type]


def test_retiring_row__live_for_its_schemas__not_routed() -> None:
    live = VersionState(tsv="tsv:a", handler="/h", timestamp=NOW, schema="s1", active=True)
    retiring = replace(live, tsv=TSV, retiring_generation=7, retiring_at=NOW)
    gone = replace(live, tsv="tsv:c", active=False)
    snapshot = StateSnapshot(versions={v.tsv: v for v in (live, retiring, gone)})
    assert snapshot.live() == {"tsv:a", TSV}
    assert snapshot.routed() == {"tsv:a"}
    assert snapshot.retiring() == {TSV}
    assert retiring.is_retiring
    assert not retiring.is_routed
    assert live.is_routed
    assert not live.is_retiring
    assert not replace(gone, retiring_generation=3).is_retiring  # only a live row can retire
    assert usage_status(retiring, NOW) is UsageStatus.RETIRING
    assert usage_status(gone, NOW) is UsageStatus.INACTIVE


def test_errors__facts_and_next_step() -> None:
    error = DrainTimeoutError([TSV], ["web1 pid 42 (abababab): not yet loaded"], waited_s=30.04)
    assert error.exit_code == 1
    assert error.facts() == {"tsvs": [TSV], "holders": ["web1 pid 42 (abababab): not yet loaded"],
                             "waited_s": 30.04}
    assert "Nothing was rolled back" in error.message
    assert "--no-drain" in error.message
    cancelled = RetirementCancelledError([TSV])
    assert cancelled.exit_code == 1
    assert "activated again" in cancelled.message
    outcome = DrainOutcome((TSV,), 7, ("web1 pid 42 (abababab)",), 0.12345)
    assert outcome.as_dict() == {"tsvs": [TSV], "generation": 7,
                                 "instances": ["web1 pid 42 (abababab)"], "waited_s": 0.123,
                                 "forced": False}
