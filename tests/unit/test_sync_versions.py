"""Versions reach the state tables once; a definition that would renumber a stored TSV is refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from timescape import DefinitionError, Timescape

T1, T2, T3 = "2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z", "2025-03-01T00:00:00Z"


def _define(url: str, tmp_path: Path, timestamps: list[str]) -> tuple[Timescape, list[str]]:
    ts = Timescape(url, base_dir=tmp_path)
    ts.add_schema("s1", ["CREATE TABLE t1 (id INTEGER)"], ["DROP TABLE t1"])
    return ts, [ts.add_version("/api/x", moment, "s1") for moment in timestamps]


def test_new_version_after_stored_ones__inserted_and_activated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    ts, tsvs = _define(url, tmp_path, [T1, T2])
    ts.activate(tsvs[0])
    ts.close()
    ts, tsvs = _define(url, tmp_path, [T1, T2, T3])
    ts.activate(tsvs[2])
    ts.close()
    with sqlite3.connect(tmp_path / "app.db") as conn:
        rows = conn.execute("SELECT tsv, active FROM timescape_versions ORDER BY ts").fetchall()
    assert rows == [(tsvs[0], 1), (tsvs[1], 0), (tsvs[2], 1)]


def test_version_inserted_before_stored_ones__refused_nothing_written(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    ts, tsvs = _define(url, tmp_path, [T1, T3])
    ts.activate(tsvs[0])
    ts.close()
    ts, renumbered = _define(url, tmp_path, [T1, T2, T3])
    with pytest.raises(DefinitionError, match="inserted before existing"):
        ts.activate(renumbered[1])
    ts.close()
    with sqlite3.connect(tmp_path / "app.db") as conn:
        rows = conn.execute("SELECT tsv FROM timescape_versions ORDER BY ts").fetchall()
    assert rows == [(tsvs[0],), (tsvs[1],)]
