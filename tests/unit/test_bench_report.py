"""The benchmark report says "slower" when Timescape is slower, from paired per-round ratios."""

from __future__ import annotations

from bench.chain import ChainRun, summarise
from bench.report import versus


def test_versus__peer_slower__says_faster() -> None:
    assert versus(1.5) == "1.50x faster"


def test_versus__peer_faster__says_slower() -> None:
    assert versus(1 / 1.4) == "1.40x slower"


def test_versus__within_two_percent__says_level() -> None:
    assert versus(1.01) == "level"
    assert versus(0.99) == "level"


def test_summarise__pairs_rounds__not_medians_of_absolute_seconds() -> None:
    # Round 0 is slow for everyone (a noisy machine), round 1 fast: Alembic is 10 % slower than
    # Timescape in each round, so the paired ratio is 1.10 whatever the medians of seconds say.
    runs = [
        ChainRun("raw", "sqlite", 10, 0, 2.0, 2.0, 1),
        ChainRun("timescape", "sqlite", 10, 0, 4.0, 4.0, 1),
        ChainRun("alembic", "sqlite", 10, 0, 4.4, 8.0, 1),
        ChainRun("raw", "sqlite", 10, 1, 1.0, 1.0, 1),
        ChainRun("timescape", "sqlite", 10, 1, 1.0, 1.0, 1),
        ChainRun("alembic", "sqlite", 10, 1, 1.1, 0.5, 1),
    ]
    by_tool = {s.tool: s for s in summarise(runs)}
    assert round(by_tool["alembic"].apply_vs_timescape, 3) == 1.1
    assert versus(by_tool["alembic"].apply_vs_timescape) == "1.10x faster"
    # Rollback: 2.0x in round 0, 0.5x in round 1 -> the median of the pair is 1.25.
    assert round(by_tool["alembic"].rollback_vs_timescape, 3) == 1.25
    assert by_tool["timescape"].apply_vs_timescape == 1.0
