"""The scale benchmark's floor and its report: a fair floor, paired figures, both cache states."""

from __future__ import annotations

import sqlite3
import statistics
from pathlib import Path

from bench import scale
from bench._dbs import Target
from bench.report import Results, summary_lines, write_markdown
from bench.scale import ScaleResult


def _tables(path: str) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        conn.close()


def test_twin__a_byte_copy_the_floor_migrates__leaves_timescape_file_alone(tmp_path: Path) -> None:
    target = Target("sqlite", str(tmp_path / "bench_x.db"))
    scale._create_history(target)
    conn = sqlite3.connect(target.name)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE seeded (id INTEGER PRIMARY KEY)")
    conn.commit()
    conn.close()

    twin = scale._twin(target)
    floor = scale._RawFloor(twin)
    wall, cpu = floor.activate("raw_1", None)
    floor.close()

    assert wall > 0
    assert cpu >= 0
    assert _tables(twin.name) == {scale.HISTORY, "seeded", "raw_1"}
    assert _tables(target.name) == {scale.HISTORY, "seeded"}
    row = sqlite3.connect(twin.name).execute(f"SELECT id FROM {scale.HISTORY}").fetchall()
    assert row == [("raw_1",)]


def test_measure__sqlite__cooled_and_warm_rounds_each_paired_with_a_floor() -> None:
    res = scale.measure("sqlite", 100, 2, log=lambda *_: None)

    assert len(res.activate_s) == len(res.raw_s) == len(res.activate_cpu_s) == 2
    assert len(res.warm_activate_s) == len(res.warm_raw_s) == len(res.warm_raw_cpu_s) == 2
    assert all(t > 0 for t in res.activate_s + res.raw_s + res.warm_activate_s + res.warm_raw_s)
    pairs = [a - f for a, f in zip(res.activate_s, res.raw_s, strict=True)]
    assert res.own_median == statistics.median(pairs)
    warm = [a - f for a, f in zip(res.warm_activate_s, res.warm_raw_s, strict=True)]
    assert res.warm_own_median == statistics.median(warm)


def _result(size: int, total: float, floor: float, warm_total: float, warm_floor: float) -> ScaleResult:
    return ScaleResult(
        "sqlite", size, [total, total], [floor, floor], 0.0, 0.0, 0.0, 0.0, 0.0,
        [total, total], [floor, floor],
        warm_activate_s=[warm_total, warm_total], warm_raw_s=[warm_floor, warm_floor],
        warm_activate_cpu_s=[warm_total, warm_total], warm_raw_cpu_s=[warm_floor, warm_floor],
    )


def test_report__own_share_growth__cooled_in_the_summary__warm_beside_it(tmp_path: Path) -> None:
    res = Results(started="now", command="test", quick=True, rounds=1)
    # Cooled: own share 3.0 -> 4.2 ms (1.40x); warm: 2.0 -> 4.0 ms (2.00x).
    res.scale = [_result(100, 0.0045, 0.0015, 0.0030, 0.0010),
                 _result(10000, 0.0080, 0.0038, 0.0070, 0.0030)]

    lines = summary_lines(res)
    assert any("own share" in line and "1.40x (4.2 / 3.0 ms)" in line for line in lines)

    out = tmp_path / "report.md"
    write_markdown(res, out, [])
    text = out.read_text()
    assert "| 1.40x (4.2 / 3.0 ms) | 1.40x (4.2 / 3.0 ms) | 2.00x (4.0 / 2.0 ms); 2.00x" in text
