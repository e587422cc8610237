"""The dashboard's DAG picture: layered layout, statuses, contract marks, escaping (pure)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from timescape.web.picture import SchemaNode, schema_svg

SVG = "{http://www.w3.org/2000/svg}"


def _parse(text: str) -> ET.Element:
    return ET.fromstring(text)  # noqa: S314 - our own output


def _boxes(root: ET.Element) -> dict[str, tuple[float, float, ET.Element]]:
    boxes = {}
    for group in root.iter(f"{SVG}g"):
        rect = group.find(f"{SVG}rect")
        assert rect is not None
        boxes[group.get("data-schema", "")] = (
            float(rect.get("x", 0)),
            float(rect.get("y", 0)),
            group,
        )
    return boxes


def test_schema_svg__branch_and_merge__children_below_parents_statuses_kept() -> None:
    nodes = [
        SchemaNode("base", (), "applied", live_versions=2),
        SchemaNode("left", ("base",), "failed"),
        SchemaNode("right", ("base",), "pending", contract="pending"),
        SchemaNode("merge", ("left", "right"), "rolled_back", contract="done"),
    ]
    root = _parse(schema_svg(nodes))
    boxes = _boxes(root)
    assert set(boxes) == {"base", "left", "right", "merge"}
    assert boxes["base"][1] < boxes["left"][1] == boxes["right"][1] < boxes["merge"][1]
    assert boxes["left"][0] < boxes["right"][0]
    assert boxes["left"][2].get("data-status") == "failed"
    assert boxes["right"][2].get("data-contract") == "pending"
    dashed = [r for r in root.iter(f"{SVG}rect") if r.get("stroke-dasharray")]
    assert len(dashed) == 1
    assert len(list(root.iter(f"{SVG}path"))) >= 4  # four edges (plus the arrow head)
    assert "2" in [t.text for t in root.iter(f"{SVG}text")]  # the live-versions badge


def test_schema_svg__hostile_names__escaped_and_well_formed() -> None:
    name = 'x"><script>alert(1)</script>&'
    root = _parse(schema_svg([SchemaNode(name, (), "applied")]))
    assert not list(root.iter("script"))
    assert not list(root.iter(f"{SVG}script"))
    (group,) = root.iter(f"{SVG}g")
    assert group.get("data-schema") == name


def test_schema_svg__no_schemas__a_note() -> None:
    root = _parse(schema_svg([]))
    assert "No schemas defined." in [t.text for t in root.iter(f"{SVG}text")]
