"""The benchmark report says "slower" when Timescape is slower, from paired per-round ratios."""

from __future__ import annotations

import os
import subprocess
import sys

from bench._dbs import _abandoned
from bench.chain import ChainRun, summarise
from bench.report import Results, chain_table, summary_lines, versus


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


def test_summary__before_tree__gets_its_own_ratio_rows() -> None:
    runs = [
        ChainRun("raw", "sqlite", 10, 0, 2.0, 2.0, 1),
        ChainRun("timescape", "sqlite", 10, 0, 2.2, 1.0, 1),
        ChainRun("before", "sqlite", 10, 0, 3.0, 1.0, 1),
    ]
    res = Results(started="now", command="test", quick=True, rounds=1)
    res.chain = summarise(runs)
    lines = summary_lines(res)
    assert any("apply N=10: Timescape before" in line and "1.50x" in line for line in lines)
    assert any("apply N=10: Timescape / raw driver" in line and "1.10x" in line for line in lines)


def test_drop_leftovers__spares_a_live_run__drops_a_dead_or_old_one() -> None:
    assert not _abandoned(f"tsbench_{os.getpid()}_0123456789ab")
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert _abandoned(f"tsbench_{gone}_0123456789ab")
    assert _abandoned("tsbench_0123456789ab")  # named before pids were recorded


def test_summary__peak_rss__apply_phase_and_whole_run_each_above_raw() -> None:
    # The apply-phase peak is read before the rollback and the bench's own table count, so it is
    # lower; each phase is compared with raw's figure for the same phase in the same round.
    runs = [
        ChainRun("raw", "sqlite", 10, 0, 1.0, 1.0, 21 * 1024, 0.5, 20 * 1024),
        ChainRun("timescape", "sqlite", 10, 0, 1.0, 1.0, 26 * 1024, 0.5, 24 * 1024),
        ChainRun("raw", "sqlite", 10, 1, 1.0, 1.0, 22 * 1024, 0.5, 21 * 1024),
        ChainRun("timescape", "sqlite", 10, 1, 1.0, 1.0, 27 * 1024, 0.5, 25 * 1024),
    ]
    res = Results(started="now", command="test", quick=True, rounds=2)
    res.chain = summarise(runs)
    ts = next(s for s in res.chain if s.tool == "timescape")
    assert (ts.maxrss_apply_mb, ts.rss_apply_over_raw_mb) == (24.5, 4.0)
    assert (ts.maxrss_mb, ts.rss_over_raw_mb) == (26.5, 5.0)
    lines = summary_lines(res)
    assert "| peak RSS during apply N=10: Timescape | 24.5 MB | - | - |" in lines
    assert ("| peak RSS during apply N=10: Timescape above the raw driver (same round) "
            "| +4.0 MB | - | - |") in lines
    assert "| peak RSS, whole run N=10: Timescape | 26.5 MB | - | - |" in lines
    table = chain_table(res.chain)
    assert table[0].count("above raw") == 2
    assert table[-1].endswith("| 24.5 MB | +4.0 MB | 26.5 MB | +5.0 MB |")
