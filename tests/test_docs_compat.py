"""docs/compatibility.md stays true: its rules table, examples, figures and code match the code.

When a check here fails after a change to the analyser or its rules, update the page. The lint rules
table is generated: paste the output of
``python -c "from tests.test_docs_compat import rules_table; print(rules_table())"``.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

from tests.unit.test_analysis import confusion_table, hazard_table
from timescape.analysis import RULES, Effect, classify
from timescape.model.catalog import Catalog
from timescape.project.config import load_project
from timescape.store.split import split_statements

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "compatibility.md"
EXAMPLE = ROOT / "docs_src" / "compatibility_price_cents.py"
PROJECT = ROOT / "docs_src" / "compatibility_price_cents.toml"
_DIALECT_NAMES = {"postgresql": "PostgreSQL", "mysql": "MySQL", "sqlite": "SQLite", "all": "all"}
_DIALECT_HEADINGS = {"PostgreSQL": "postgresql", "MySQL": "mysql", "SQLite": "sqlite"}
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
_CODE_CELL = re.compile(r"^`([^`]+)`$")


def rules_table() -> str:
    """Render :data:`timescape.analysis.RULES` as the Markdown table the page shows."""
    lines = [
        "| Rule | Dialect | Level | What it catches | The fix |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines.extend(
        f"| `{rule.id}` | {_DIALECT_NAMES[rule.dialect]} | {rule.level.value} | {rule.summary} "
        f"| {rule.fix} |"
        for rule in RULES.values()
    )
    return "\n".join(lines)


def _doc() -> str:
    return DOC.read_text(encoding="utf-8")


def _section(text: str, heading: str) -> str:
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def _blocks(text: str, language: str) -> list[str]:
    return [body for lang, body in _FENCE.findall(text) if lang == language]


def _is_excerpt(block: str, source: str) -> bool:
    """Whether ``block`` is a run of consecutive lines of ``source``, possibly dedented."""
    wanted = textwrap.dedent(block).rstrip("\n").split("\n")
    lines = source.split("\n")
    for start in range(len(lines) - len(wanted) + 1):
        indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
        if all(
            lines[start + k] == (indent + line if line else "")
            or (not line and not lines[start + k].strip())
            for k, line in enumerate(wanted)
        ):
            return True
    return False


def _load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("compatibility_price_cents", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _example_rows() -> list[tuple[str, str, tuple[str, ...], Effect]]:
    """Return ``(dialect, statement, applied, effect)`` for each row of the per-dialect tables."""
    section = _section(_doc(), "What each statement counts as")
    effects = {e.value: e for e in Effect}
    dialect = ""
    rows = []
    for line in section.splitlines():
        if line.startswith("### "):
            dialect = _DIALECT_HEADINGS.get(line[4:].strip(), "")
        if not dialect or not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        at = next((i for i, cell in enumerate(cells) if cell in effects), 0)
        statement = _CODE_CELL.match(cells[at - 1]) if at else None
        if statement is None:
            continue
        applied = tuple(
            m.group(1) for c in cells[: at - 1] if (m := _CODE_CELL.match(c)) is not None
        )
        rows.append((dialect, statement.group(1), applied, effects[cells[at]]))
    return rows


# -- lint rules ---------------------------------------------------------------------------------


def test_compatibility_doc__every_rule_id__mentioned() -> None:
    text = _doc()
    missing = [rule_id for rule_id in RULES if f"`{rule_id}`" not in text]
    assert missing == []


def test_compatibility_doc__rules_table__matches_registry() -> None:
    section = _section(_doc(), "Lint rules")
    assert rules_table() in section, (
        "the lint rules table is out of date; regenerate it with: python -c "
        '"from tests.test_docs_compat import rules_table; print(rules_table())"'
    )


def test_compatibility_doc__rule_ids_named__all_exist() -> None:
    named = set(re.findall(r"`((?:PG|MY|SL|GEN)\d{3})`", _doc()))
    assert named - set(RULES) == set()


# -- classification examples and figures ---------------------------------------------------------


def test_compatibility_doc__classification_examples__cover_every_dialect_and_effect() -> None:
    rows = _example_rows()
    for dialect in ("postgresql", "mysql", "sqlite"):
        assert {effect for d, _, _, effect in rows if d == dialect} == set(Effect), dialect


@pytest.mark.parametrize(
    ("dialect", "statement", "applied", "effect"),
    _example_rows(),
    ids=[f"{row[0]}:{row[1][:50]}" for row in _example_rows()],
)
def test_compatibility_doc__classification_example__analyser_agrees(
    dialect: str, statement: str, applied: tuple[str, ...], effect: Effect
) -> None:
    finding = classify([statement], dialect, applied=applied)[0]
    assert finding.effect is effect, finding.reason


def test_compatibility_doc__text_blocks__are_real_output() -> None:
    # Every ```text block is an excerpt of the worked example's output or of the measured table.
    result = subprocess.run(
        [sys.executable, "-W", "error", str(EXAMPLE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    sources = (result.stdout, confusion_table() + "\n", hazard_table() + "\n")
    blocks = _blocks(_doc(), "text")
    assert blocks
    stale = [b for b in blocks if not any(_is_excerpt(b, s) for s in sources)]
    assert stale == []


def test_compatibility_doc__confusion_table__shown_whole() -> None:
    assert confusion_table() + "\n" in _blocks(_doc(), "text")


# -- the worked example ---------------------------------------------------------------------------


def test_compatibility_doc__python_blocks__are_excerpts_of_docs_src() -> None:
    sources = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs_src").glob("*.py"))]
    blocks = _blocks(_doc(), "python")
    assert blocks
    stale = [b for b in blocks if not any(_is_excerpt(b, s) for s in sources)]
    assert stale == []


def test_compatibility_doc__toml_blocks__parse_and_show_the_example_project() -> None:
    blocks = _blocks(_doc(), "toml")
    for block in blocks:
        tomllib.loads(block)
    assert PROJECT.read_text(encoding="utf-8") in blocks


def _shape(catalog: Catalog) -> tuple[object, ...]:
    def statements(script: object) -> tuple[str, ...]:
        if script is None:
            return ()
        assert isinstance(script, str)
        return tuple(" ".join(s.text.split()) for s in split_statements(script, "sqlite"))

    schemas = tuple(
        (
            s.name,
            s.parents,
            s.breaking,
            tuple((statements(t.migration), statements(t.rollback)) for t in s.steps),
            tuple((statements(t.migration), statements(t.rollback)) for t in s.contract),
        )
        for s in catalog.schemas
    )
    versions = tuple((v.tsv, v.schema, v.tags) for v in catalog.versions)
    return schemas, versions


def test_compatibility_doc__toml_and_python_forms__define_the_same_project(
    tmp_path: Path,
) -> None:
    ts, _, _ = _load_example().define(f"sqlite:///{tmp_path / 'unused.db'}")
    project = load_project(PROJECT)
    assert _shape(project.catalog) == _shape(ts.catalog)
