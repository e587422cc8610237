"""Workload 2: the per-request calls, from memory, with 1,000 versions over 100 handlers loaded.

Each call is timed with ``timeit`` (a loop of many calls, repeated; the median repeat is kept) next
to a plain ``dict.get`` as the floor, in the same process; the repeats interleave the calls.
"""

from __future__ import annotations

import itertools
import statistics
import timeit
from dataclasses import dataclass
from typing import Any

from bench import _dbs, scale

VERSIONS = 1000


@dataclass
class HotResult:
    label: str
    usec: float  # median per call
    ratio: float  # to the dict.get floor of the same run


def _per_call(stmt: Any, number: int, repeat: int) -> float:
    times = timeit.repeat(stmt, number=number, repeat=repeat)
    return statistics.median(times) / number * 1e6


def run(quick: bool = False, log: Any = print) -> list[HotResult]:
    from timescape import Timescape

    number = 20_000 if quick else 200_000
    repeat = 5 if quick else 9
    workdir = _dbs.scratch_dir("tsbench-hot-")
    target = _dbs.create("sqlite", workdir)
    try:
        scale.seed(target.timescape_url, VERSIONS, tags=True)
        ts = Timescape(target.timescape_url)
        scale.define(ts, VERSIONS, tags=True)
        ts.refresh()
        handler = scale._handler(42)
        per = VERSIONS // scale.HANDLERS
        versions = [v for v in ts.catalog.versions if v.handler == handler]
        tsv = versions[per // 2].tsv
        stamp = scale._iso(per // 2)  # the exact timestamp of the version in the middle
        between = stamp.replace("00:00+00:00", "30:00+00:00")  # half an hour after it
        schema = scale._schema_name(42, per // 2)
        assert ts.resolve(tsv) == tsv
        assert ts.resolve(f"r{per // 2}", handler=handler) == tsv
        assert ts.resolve(between, handler=handler) == tsv
        assert ts.resolve("latest", handler=handler) == versions[-1].tsv
        assert ts.is_schema_active(schema)
        # Distinct timestamps, more than the index memoises, so every call parses its ref.
        fresh_refs = itertools.cycle([f"2020-01-01T00:{m // 60:02d}:{m % 60:02d}+00:00"
                                      for m in range(3600)] + [
            f"2020-01-01T01:{m // 60:02d}:{m % 60:02d}+00:00" for m in range(3600)])
        floor_map = {v.tsv: v for v in ts.catalog.versions}
        get = floor_map.get
        cases: list[tuple[str, Any]] = [
            ("dict.get (floor)", lambda: get(tsv)),
            ("resolve(TSV)", lambda: ts.resolve(tsv)),
            ("resolve(tag, handler)", lambda: ts.resolve("r5", handler=handler)),
            ("resolve(timestamp, handler)", lambda: ts.resolve(between, handler=handler)),
            ("resolve(timestamp never seen)",
             lambda: ts.resolve(next(fresh_refs), handler=handler)),
            ("resolve('latest', handler)", lambda: ts.resolve("latest", handler=handler)),
            ("is_schema_active(name)", lambda: ts.is_schema_active(schema)),
            ("is_version_active(TSV)", lambda: ts.is_version_active(tsv)),
        ]
        # Interleaved: each repeat times every call once, so all see the same machine load;
        # a ratio is taken within its repeat.
        samples: dict[str, list[float]] = {label: [] for label, _ in cases}
        for _ in range(repeat):
            for label, fn in cases:
                samples[label].append(_per_call(fn, number, 1))
        ts.close()
    finally:
        _dbs.drop(target)
        _dbs.remove_dir(workdir)
    floor = samples[cases[0][0]]
    results = [
        HotResult(label, statistics.median(values),
                  statistics.median(v / f for v, f in zip(values, floor, strict=True)))
        for label, values in samples.items()
    ]
    for r in results:
        log(f"  hot   {r.label:<30} {r.usec:7.3f} µs/call  x{r.ratio:5.1f} the dict lookup")
    return results
