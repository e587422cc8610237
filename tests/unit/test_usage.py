"""Hot, warm and cold: thresholds, the young-version rule and the retirement verdicts (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from timescape.model.usage import (
    LiveVersion,
    UsagePolicy,
    UsageStatus,
    classify,
    format_duration,
    judge_retirement,
    parse_duration,
)

NOW = datetime(2026, 6, 1, tzinfo=UTC)
POLICY = UsagePolicy(hot_within=timedelta(hours=1), cold_after=timedelta(days=30))


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("12h", 43200), ("30d", 2592000), ("2w", 1209600), (3600, 3600)],
)
def test_parse_duration__valid_forms__seconds(text: str | int, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "30", "30 days", "-1d", "0s", "d", True, "1y"])
def test_parse_duration__invalid__value_error_names_the_forms(text: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)  # type: ignore[arg-type]


def test_format_duration__round_trips_largest_unit() -> None:
    assert format_duration(timedelta(days=30)) == "30d"
    assert format_duration(timedelta(hours=36)) == "36h"
    assert format_duration(timedelta(seconds=90)) == "90s"
    assert parse_duration(format_duration(timedelta(weeks=2))) == timedelta(weeks=2)


def test_policy__cold_not_after_hot__refused() -> None:
    with pytest.raises(ValueError, match="cold_after"):
        UsagePolicy(hot_within=timedelta(days=2), cold_after=timedelta(days=1))


def _status(last: timedelta | None, activated: timedelta | None, *, active: bool = True) -> str:
    return classify(
        active=active,
        last_accessed=NOW - last if last is not None else None,
        activated_at=NOW - activated if activated is not None else None,
        moment=NOW,
        policy=POLICY,
    )


def test_classify__recent_request__hot() -> None:
    assert _status(timedelta(minutes=5), timedelta(days=90)) == UsageStatus.HOT


def test_classify__activated_minutes_ago_no_request__warm_never_cold() -> None:
    assert _status(None, timedelta(minutes=3)) == UsageStatus.WARM
    assert _status(None, timedelta(days=29)) == UsageStatus.WARM


def test_classify__reactivated_after_long_idle__warm() -> None:
    assert _status(timedelta(days=90), timedelta(days=1)) == UsageStatus.WARM


def test_classify__idle_past_threshold__cold() -> None:
    assert _status(timedelta(days=31), timedelta(days=60)) == UsageStatus.COLD
    assert _status(None, timedelta(days=30)) == UsageStatus.COLD
    assert _status(None, None) == UsageStatus.COLD


def test_classify__not_live__inactive() -> None:
    assert _status(timedelta(minutes=1), timedelta(days=1), active=False) == UsageStatus.INACTIVE


def _live(tsv: str, month: int, *, tags: tuple[str, ...] = (), idle_days: int = 60) -> LiveVersion:
    return LiveVersion(
        tsv,
        "/api/items",
        datetime(2025, month, 1, tzinfo=UTC),
        tags,
        None,
        NOW - timedelta(days=idle_days),
    )


def test_judge_retirement__cold_protected_newest_young() -> None:
    verdicts = judge_retirement(
        [
            _live("a", 1),
            _live("b", 2, tags=("stable",)),
            _live("c", 3, idle_days=2),
            _live("d", 4),
        ],
        protected_tags=("stable",),
        policy=POLICY,
        moment=NOW,
    )
    by = {v.tsv: v for v in verdicts}
    assert by["a"].retire
    assert by["a"].status == UsageStatus.COLD
    assert "idle for 60d" in by["a"].reason
    assert not by["b"].retire
    assert by["b"].is_protected
    assert "protected by tag stable" in by["b"].reason
    assert not by["c"].retire
    assert by["c"].status == UsageStatus.WARM
    assert "activated 2d ago" in by["c"].reason
    assert not by["d"].retire
    assert by["d"].is_newest
    assert by["d"].status == UsageStatus.COLD
    assert "newest live version" in by["d"].reason


@st.composite
def _live_sets(draw: st.DrawFn) -> list[LiveVersion]:
    count = draw(st.integers(min_value=1, max_value=12))
    versions = []
    for i in range(count):
        handler = draw(st.sampled_from(["/api/a", "/api/b", "/api/c"]))
        idle = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=90)))
        requested = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=90)))
        versions.append(
            LiveVersion(
                f"tsv:{i}",
                handler,
                datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=i),
                tuple(draw(st.lists(st.sampled_from(["stable", "beta"]), max_size=1))),
                NOW - timedelta(days=requested) if requested is not None else None,
                NOW - timedelta(days=idle) if idle is not None else None,
            )
        )
    return versions


@given(_live_sets())
def test_judge_retirement__any_live_set__never_empties_a_handler_or_drops_protected(
    live: list[LiveVersion],
) -> None:
    verdicts = judge_retirement(live, protected_tags=("stable",), policy=POLICY, moment=NOW)
    by_tsv = {v.tsv: v for v in live}
    kept = {by_tsv[v.tsv].handler for v in verdicts if not v.retire}
    assert kept == {v.handler for v in live}  # every handler keeps a live version
    for verdict in verdicts:
        version = by_tsv[verdict.tsv]
        if verdict.retire:
            assert verdict.status == UsageStatus.COLD
            assert "stable" not in version.tags
            assert not verdict.is_newest
        newest = max((v for v in live if v.handler == version.handler), key=lambda v: v.timestamp)
        assert verdict.is_newest == (newest.tsv == version.tsv)
