"""``schema graph --format svg|png``: drawn by Graphviz's dot; a clear exit 2 without it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from tests.cli.conftest import run_cli, write_project
from tests.clirun import assert_one_line_error
from tests.dbutil import TestDB


def test_graph_svg__applied_schema_and_live_version__drawn_by_dot(
    db: TestDB, tmp_path: Path
) -> None:
    path = str(write_project(tmp_path, db.url))
    assert run_cli("--project", path, "version", "activate", "v1").exit_code == 0
    result = run_cli("--project", path, "schema", "graph", "--format", "svg")
    assert result.exit_code == 0, result.output
    root = ET.fromstring(result.stdout.split("\n", 3)[3])  # noqa: S314 - our own dot output
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    for fragment in ("s1", "s2", "s3", "applied", "pending", "tsv:1735689600-products-001"):
        assert fragment in texts
    fills = {shape.get("fill") for shape in root.iter() if shape.get("fill")}
    assert "#d4f4dd" in fills  # s1 applied
    assert "#fff3bf" in fills  # v1 live


def test_graph_png__output_file__real_png(db: TestDB, tmp_path: Path) -> None:
    path = str(write_project(tmp_path, db.url))
    target = tmp_path / "graph.png"
    result = run_cli("--project", path, "schema", "graph", "--format", "png", "-o", str(target))
    assert result.exit_code == 0, result.output
    assert f"Wrote {target}" in result.stdout
    data = target.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 1000


def test_graph_svg__no_graphviz__exit_2_naming_the_package(db: TestDB, tmp_path: Path) -> None:
    path = str(write_project(tmp_path, db.url))
    empty = tmp_path / "bin"
    empty.mkdir()
    result = run_cli(
        "--project", path, "schema", "graph", "--format", "svg", env={"PATH": str(empty)}
    )
    assert result.exit_code == 2
    assert_one_line_error(result, "dot", "apt-get install graphviz", "--format dot")
    assert result.stdout == ""
