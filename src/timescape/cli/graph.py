"""``timescape schema graph``: the schema DAG and the versions using it, as text, Mermaid or DOT."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from typing import Any

from timescape.cli.render import Style, contract_state
from timescape.errors import InputError, TimescapeError
from timescape.reports import SchemaInfo, VersionInfo

__all__ = ["DOT_TIMEOUT_S", "graph_json", "render_graph", "render_picture"]

DOT_TIMEOUT_S = 120.0


def render_picture(fmt: str, dot_text: str) -> bytes:
    """Draw a DOT graph as ``svg`` or ``png`` with Graphviz's ``dot``.

    Args:
        fmt: ``svg`` or ``png``.
        dot_text: The graph, as :func:`render_graph` writes it in ``dot`` form.

    Returns:
        The picture's bytes.

    Raises:
        InputError: When ``dot`` is not installed (exit 2, naming the package to install).
        TimescapeError: When ``dot`` fails or takes longer than two minutes.
    """
    dot = shutil.which("dot")
    if dot is None:
        raise InputError(
            f"--format {fmt} needs Graphviz's dot program, which is not on PATH: install it "
            "(apt-get install graphviz, brew install graphviz, or graphviz.org/download), or use "
            "--format dot and draw it elsewhere"
        )
    try:
        done = subprocess.run(  # noqa: S603 - a fixed program and format; the graph goes to stdin
            [dot, f"-T{fmt}"],
            input=dot_text.encode(),
            capture_output=True,
            timeout=DOT_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise TimescapeError(
            f"Graphviz's dot took more than {DOT_TIMEOUT_S:g} s to draw the graph; use "
            "--format dot and draw it with other layout options"
        ) from None
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        reason = lines[0] if lines else "no output"
        raise TimescapeError(f"Graphviz's dot failed (exit {done.returncode}): {reason}")
    return done.stdout


def graph_json(schemas: Sequence[SchemaInfo], versions: Sequence[VersionInfo]) -> dict[str, Any]:
    """Nodes and edges as JSON."""
    return {
        "schemas": [
            {
                "name": s.name,
                "parents": list(s.parents),
                "status": s.status,
                "used_by": list(s.used_by),
                "contract": contract_state(s),
            }
            for s in schemas
        ],
        "versions": [
            {
                "tsv": v.tsv,
                "handler": v.handler,
                "schema": v.schema,
                "active": v.active,
                "tags": list(v.tags),
            }
            for v in versions
        ],
        "edges": [
            *({"from": p, "to": s.name, "kind": "parent"} for s in schemas for p in s.parents),
            *({"from": v.tsv, "to": v.schema, "kind": "uses"} for v in versions),
        ],
    }


def render_graph(
    fmt: str, schemas: Sequence[SchemaInfo], versions: Sequence[VersionInfo], style: Style
) -> str:
    """Render the graph.

    Args:
        fmt: ``text``, ``mermaid`` or ``dot``.
        schemas: Schemas, parents first.
        versions: Versions.
        style: Colour for the text tree.

    Returns:
        The rendering.
    """
    if fmt == "mermaid":
        return _mermaid(schemas, versions)
    if fmt == "dot":
        return _dot(schemas, versions)
    return _tree(schemas, versions, style)


def _version_label(v: VersionInfo) -> str:
    tags = f" [{', '.join(v.tags)}]" if v.tags else ""
    return f"{v.tsv}{tags}"


def _tree(schemas: Sequence[SchemaInfo], versions: Sequence[VersionInfo], style: Style) -> str:
    if not schemas:
        return "No schemas defined."
    known = {s.name for s in schemas}
    children: dict[str, list[str]] = {s.name: [] for s in schemas}
    for s in schemas:
        if s.parents and s.parents[0] in known:
            children[s.parents[0]].append(s.name)
    by_name = {s.name: s for s in schemas}
    users: dict[str, list[VersionInfo]] = {}
    for v in versions:
        users.setdefault(v.schema, []).append(v)
    lines: list[str] = []

    def walk(name: str, prefix: str, last: bool, root: bool) -> None:  # noqa: FBT001
        info = by_name[name]
        branch = "" if root else ("└── " if last else "├── ")
        extra = ""
        if len(info.parents) > 1:
            extra = style(f"  (also builds on {', '.join(info.parents[1:])})", "dim")
        extra = _contract_mark(info, style) + extra
        lines.append(f"{prefix}{branch}{style(name, 'bold')} [{style.status(info.status)}]{extra}")
        inner = prefix + ("" if root else ("    " if last else "│   "))
        kids = children[name]
        for v in users.get(name, []):
            live = style("live", "green") if v.active else style("inactive", "dim")
            lines.append(f"{inner}{'│' if kids else ' '}   · {_version_label(v)} ({live})")
        for i, kid in enumerate(kids):
            walk(kid, inner, i == len(kids) - 1, root=False)

    roots = [s.name for s in schemas if not s.parents or s.parents[0] not in known]
    for root in roots:
        walk(root, "", last=True, root=True)
    return "\n".join(lines)


def _contract_mark(info: SchemaInfo, style: Style) -> str:
    state = contract_state(info)
    if state == "none":
        return ""
    return style(f" (contract {state})", "yellow" if state == "pending" else "dim")


def _mermaid(schemas: Sequence[SchemaInfo], versions: Sequence[VersionInfo]) -> str:
    ids = {s.name: f"s{i}" for i, s in enumerate(schemas)}
    lines = ["flowchart BT"]
    lines.extend(
        f'    {ids[s.name]}["{s.name}<br/>{s.status}{_contract_note(s, "<br/>")}"]' for s in schemas
    )
    lines.extend(f'    v{i}(["{_version_label(v)}"])' for i, v in enumerate(versions))
    for s in schemas:
        lines.extend(f"    {ids[s.name]} --> {ids[p]}" for p in s.parents if p in ids)
    for i, v in enumerate(versions):
        if v.schema in ids:
            lines.append(f"    v{i} -.-> {ids[v.schema]}")
    lines.append("    classDef applied fill:#d4f4dd,stroke:#2b8a3e")
    lines.append("    classDef live fill:#fff3bf,stroke:#e67700")
    lines.append("    classDef contract_pending stroke-dasharray:5 5,stroke-width:2px")
    applied = [ids[s.name] for s in schemas if s.status == "applied"]
    live = [f"v{i}" for i, v in enumerate(versions) if v.active]
    pending = [ids[s.name] for s in schemas if contract_state(s) == "pending"]
    if applied:
        lines.append(f"    class {','.join(applied)} applied")
    if live:
        lines.append(f"    class {','.join(live)} live")
    if pending:
        lines.append(f"    class {','.join(pending)} contract_pending")
    return "\n".join(lines)


def _contract_note(info: SchemaInfo, newline: str) -> str:
    """``<newline>contract pending`` / ``done``, or nothing for a schema without a contract."""
    state = contract_state(info)
    return "" if state == "none" else f"{newline}contract {state}"


def _dot(schemas: Sequence[SchemaInfo], versions: Sequence[VersionInfo]) -> str:
    lines = ["digraph timescape {", "    rankdir=BT;", "    node [fontname=Helvetica];"]
    for s in schemas:
        styles = ["filled"] if s.status == "applied" else []
        if contract_state(s) == "pending":
            styles.append("dashed")
        shown = ""
        if styles:
            shown = f", style={styles[0]}" if len(styles) == 1 else f', style="{",".join(styles)}"'
        if s.status == "applied":
            shown += ', fillcolor="#d4f4dd"'
        label = s.name + "\\n" + s.status + _contract_note(s, "\\n")
        lines.append(f'    "{s.name}" [shape=box, label="{label}"{shown}];')
    for v in versions:
        fill = ', style=filled, fillcolor="#fff3bf"' if v.active else ""
        lines.append(f'    "{v.tsv}" [shape=ellipse, label="{_version_label(v)}"{fill}];')
    for s in schemas:
        lines.extend(f'    "{s.name}" -> "{p}" [label="builds on"];' for p in s.parents)
    lines.extend(f'    "{v.tsv}" -> "{v.schema}" [style=dashed, label="uses"];' for v in versions)
    lines.append("}")
    return "\n".join(lines)
