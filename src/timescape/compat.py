"""Inferred compatibility: the gate reads a schema's SQL when its author declared nothing.

Explicit declarations (``breaking``, ``compatible_with``) always win. An undeclared schema is judged
by the worst of its statements: additive and data changes keep older live versions working;
breaking or unknown ones (including Python steps, which cannot be read) do not, and the refusal
names the statement and the object. Verdicts are cached per schema definition, so a project with
thousands of schemas parses each one once per process.

Added in 0.2.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from timescape.model.catalog import Catalog
from timescape.model.plan import Judge, declared_judge
from timescape.model.schema import SchemaVersion

if TYPE_CHECKING:
    from timescape.analysis import Finding

__all__ = ["Declaration", "check_declarations", "infer_schema", "inferred_judge"]

SplitText = Callable[[str], Sequence[object]]
_cache: dict[tuple[str, str, tuple[str, ...]], tuple[bool, str, tuple[Finding, ...]]] = {}


def _sql_of(schema: SchemaVersion, split: SplitText) -> tuple[list[str], int]:
    statements: list[str] = []
    python_steps = 0
    for step in schema.steps:
        if isinstance(step.migration, str):
            statements.extend(str(getattr(s, "text", s)) for s in split(step.migration))
        else:
            python_steps += 1
    return statements, python_steps


def infer_schema(
    schema: SchemaVersion,
    dialect: str,
    split: SplitText,
    *,
    ancestors: Sequence[SchemaVersion] = (),
) -> tuple[bool, str, tuple[Finding, ...]]:
    """Judge a schema from its SQL alone, ignoring its declarations.

    Args:
        schema: The schema.
        dialect: ``sqlite``, ``postgresql`` or ``mysql``.
        split: The dialect's statement splitter (returns objects with ``.text``).
        ancestors: Its ancestors, parents first: their SQL tells the analyser what exists
            (column types, unique indexes), so a widening or a plain index drop is recognised.

    Returns:
        ``(is_breaking, reason, findings)``; the reason names the worst statement's effect.
    """
    # What the ancestors created changes the verdict (a unique vs a plain index being dropped),
    # so they are part of the key.
    key = (
        schema.name,
        dialect,
        schema.checksums + tuple(c for a in ancestors for c in a.checksums),
    )
    cached = _cache.get(key)
    if cached is not None:
        return cached
    from timescape.analysis import Effect, classify, worst_effect  # noqa: PLC0415 - sqlglot

    statements, python_steps = _sql_of(schema, split)
    applied = [text for ancestor in ancestors for text in _sql_of(ancestor, split)[0]]
    findings = tuple(classify(statements, dialect, applied=applied))
    worst = worst_effect(findings)
    if python_steps:
        result = (True, "it has Python steps, which cannot be analysed", findings)
    elif worst in (Effect.ADDITIVE, Effect.DATA):
        result = (False, "inferred additive from its SQL", findings)
    else:
        culprit = next(f for f in findings if f.effect is worst)
        result = (True, f"{culprit.reason} ({worst.value})", findings)
    _cache[key] = result
    return result


def inferred_judge(catalog: Catalog, dialect: str, split: SplitText) -> Judge:
    """Build the gate's judge: declarations first, then the SQL analysis.

    Args:
        catalog: The definitions (for each schema's ancestors).
        dialect: The target dialect.
        split: Its statement splitter.

    Returns:
        A judge for :func:`timescape.model.plan.plan_activation`.
    """

    def judge(schema: SchemaVersion) -> tuple[bool, str]:
        if schema.breaking is not None:
            return declared_judge(schema)
        ancestors = [
            catalog.schema(n)
            for n in catalog.graph.topological(catalog.graph.ancestors(schema.name))
        ]
        breaking, reason, _ = infer_schema(schema, dialect, split, ancestors=ancestors)
        return breaking, reason

    return judge


@dataclass(frozen=True, slots=True)
class Declaration:
    """A declaration the analysis disagrees with.

    Attributes:
        schema: The schema.
        declared: What the author declared.
        inferred: What the SQL says.
        reason: The analysis's reason.
    """

    schema: str
    declared: str
    inferred: str
    reason: str


def check_declarations(catalog: Catalog, dialect: str, split: SplitText) -> list[Declaration]:
    """Find schemas declared non-breaking (or compatible) whose SQL the analysis finds breaking.

    Args:
        catalog: The definitions.
        dialect: The target dialect.
        split: Its statement splitter.

    Returns:
        One entry per contradicted declaration (a warning; an error under ``--strict``).
    """
    found = []
    for schema in catalog.schemas:
        declared_safe = schema.breaking is False or bool(schema.compatible_with)
        if not declared_safe:
            continue
        ancestors = [
            catalog.schema(n)
            for n in catalog.graph.topological(catalog.graph.ancestors(schema.name))
        ]
        breaking, reason, findings = infer_schema(schema, dialect, split, ancestors=ancestors)
        # Only a statement judged breaking contradicts a declaration; "cannot judge" is exactly
        # what a declaration is for.
        if breaking and any(f.effect.value == "breaking" for f in findings):
            declared = (
                "breaking = false"
                if schema.breaking is False
                else f"compatible_with {', '.join(sorted(schema.compatible_with))}"
            )
            found.append(Declaration(schema.name, declared, "breaking", reason))
    return found
