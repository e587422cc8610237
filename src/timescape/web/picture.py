"""The schema DAG as an SVG picture, drawn in pure Python (no Graphviz needed).

The dashboard shows it in the page; it is also what a user without Graphviz can save. Layout is a
plain layered drawing: each schema sits one row below its deepest parent, and within a row the
schemas are ordered by the mean position of their parents (one barycentre pass), which keeps
the usual branch-and-merge histories free of crossings. Colours follow the schema's status; a
dashed border marks contract steps still pending; the badge counts the live versions that need
the schema directly.

Everything written into the picture is XML-escaped: names come from a project file, never trusted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

__all__ = ["STATUS_COLOURS", "SchemaNode", "schema_svg"]

STATUS_COLOURS = {
    "applied": ("#d3f9d8", "#2b8a3e"),
    "pending": ("#f1f3f5", "#868e96"),
    "failed": ("#ffe3e3", "#c92a2a"),
    "rolled_back": ("#e7f5ff", "#1c7ed6"),
    "interrupted": ("#fff3bf", "#e67700"),
    "uncertain": ("#fff3bf", "#e67700"),
}
"""Fill and stroke per status (unknown statuses use ``pending``'s)."""

_WIDTH = 176
_HEIGHT = 52
_GAP_X = 28
_GAP_Y = 46
_MARGIN = 16
_NAME_CHARS = 24


@dataclass(frozen=True, slots=True)
class SchemaNode:
    """What the picture needs of one schema.

    Attributes:
        name: The schema.
        parents: Its parents.
        status: Its status (``applied``, ``pending``, ``failed``, …).
        contract: ``none``, ``pending`` or ``done``.
        live_versions: Live versions that need it directly.
    """

    name: str
    parents: tuple[str, ...]
    status: str
    contract: str = "none"
    live_versions: int = 0


def _layers(nodes: Sequence[SchemaNode]) -> list[list[SchemaNode]]:
    known = {n.name: n for n in nodes}
    depth: dict[str, int] = {}
    for node in nodes:  # parents first (the catalog's order); a cycle cannot be defined
        parents = [p for p in node.parents if p in known]
        depth[node.name] = 1 + max((depth.get(p, 0) for p in parents), default=-1)
    rows: list[list[SchemaNode]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for node in nodes:
        rows[depth[node.name]].append(node)
    position: dict[str, float] = {}
    for row in rows:
        for i, node in enumerate(row):
            position.setdefault(node.name, float(i))
        row.sort(key=lambda node: _centre(node, position))
        for i, node in enumerate(row):
            position[node.name] = float(i)
    return rows


def _centre(node: SchemaNode, position: dict[str, float]) -> float:
    """The mean position of a node's parents in their rows (its own slot for a root)."""
    xs = [position[p] for p in node.parents if p in position]
    return sum(xs) / len(xs) if xs else position[node.name]


def schema_svg(nodes: Sequence[SchemaNode], *, title: str = "Schema DAG") -> str:
    """Draw the schema DAG.

    Args:
        nodes: The schemas, parents before children.
        title: The picture's accessible title.

    Returns:
        A standalone SVG document (UTF-8 text); an empty DAG draws a one-line note.
    """
    rows = _layers(nodes)
    widest = max((len(r) for r in rows), default=0)
    width = max(2 * _MARGIN + widest * _WIDTH + max(widest - 1, 0) * _GAP_X, 240)
    height = max(2 * _MARGIN + len(rows) * _HEIGHT + max(len(rows) - 1, 0) * _GAP_Y, 60)
    centres: dict[str, tuple[float, float]] = {}
    for r, row in enumerate(rows):
        row_width = len(row) * _WIDTH + (len(row) - 1) * _GAP_X
        left = (width - row_width) / 2
        for i, node in enumerate(row):
            x = left + i * (_WIDTH + _GAP_X) + _WIDTH / 2
            y = _MARGIN + r * (_HEIGHT + _GAP_Y) + _HEIGHT / 2
            centres[node.name] = (x, y)
    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" class="timescape-dag" '
            'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif">'
        ),
        f"<title>{escape(title)}</title>",
        (
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
            'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
            'fill="#868e96"/></marker></defs>'
        ),
    ]
    if not nodes:
        parts.append(
            f'<text x="{_MARGIN}" y="{height / 2:.0f}" font-size="13" fill="#495057">'
            "No schemas defined.</text>"
        )
    for node in nodes:
        x2, y2 = centres[node.name]
        for parent in node.parents:
            if parent not in centres:
                continue
            x1, y1 = centres[parent]
            top, bottom = y1 + _HEIGHT / 2, y2 - _HEIGHT / 2
            middle = (top + bottom) / 2
            parts.append(
                f'<path class="edge" d="M {x1:.1f} {top:.1f} C {x1:.1f} {middle:.1f}, '
                f'{x2:.1f} {middle:.1f}, {x2:.1f} {bottom - 2:.1f}" fill="none" '
                f'stroke="#adb5bd" stroke-width="1.5" marker-end="url(#arrow)">'
                f"<title>{escape(node.name)} builds on {escape(parent)}</title></path>"
            )
    parts.extend(_node(node, *centres[node.name]) for node in nodes)
    parts.append("</svg>")
    return "\n".join(parts)


def _node(node: SchemaNode, cx: float, cy: float) -> str:
    fill, stroke = STATUS_COLOURS.get(node.status, STATUS_COLOURS["pending"])
    dashed = ' stroke-dasharray="6 3"' if node.contract == "pending" else ""
    name = node.name if len(node.name) <= _NAME_CHARS else node.name[: _NAME_CHARS - 1] + "…"
    detail = node.status.replace("_", " ")
    if node.contract != "none":
        detail += f" · contract {node.contract}"
    x, y = cx - _WIDTH / 2, cy - _HEIGHT / 2
    tooltip = f"{node.name}: {detail}"
    if node.live_versions:
        tooltip += f"; {node.live_versions} live version(s)"
    lines = [
        (
            f'<g class="schema" data-schema={quoteattr(node.name)} '
            f"data-status={quoteattr(node.status)} data-contract={quoteattr(node.contract)}>"
        ),
        f"<title>{escape(tooltip)}</title>",
        (
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{_WIDTH}" height="{_HEIGHT}" rx="8" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="2"{dashed}/>'
        ),
        (
            f'<text x="{cx:.1f}" y="{cy - 4:.1f}" text-anchor="middle" font-size="13" '
            f'font-weight="600" fill="#212529">{escape(name)}</text>'
        ),
        (
            f'<text x="{cx:.1f}" y="{cy + 13:.1f}" text-anchor="middle" font-size="11" '
            f'fill="{stroke}">{escape(detail)}</text>'
        ),
    ]
    if node.live_versions:
        bx, by = x + _WIDTH - 6, y + 6
        lines.append(
            f'<circle cx="{bx:.1f}" cy="{by:.1f}" r="10" fill="#fab005" stroke="#fff" '
            f'stroke-width="1.5"/><text x="{bx:.1f}" y="{by + 4:.1f}" text-anchor="middle" '
            f'font-size="11" font-weight="700" fill="#212529">{node.live_versions}</text>'
        )
    lines.append("</g>")
    return "".join(lines)
