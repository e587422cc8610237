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

from timescape.model._sha import sha256
from timescape.model.catalog import Catalog
from timescape.model.plan import Judge, declared_judge
from timescape.model.schema import SchemaVersion

if TYPE_CHECKING:
    from timescape.analysis import Finding, Knowledge

__all__ = ["Declaration", "SchemaReader", "check_declarations", "infer_schema", "inferred_judge"]

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


class SchemaReader:
    """Reads each schema's SQL once per run, and what the analyser knows before and after it.

    The knowledge after a schema is the knowledge before it (after its parent) plus its own
    statements, so a chain of N schemas is read in N steps, not N squared: a schema's ancestors
    are never re-read for each descendant. A schema with several parents starts from its
    ancestors' statements in topological order (rare). Build one per run over one catalog: the
    caches assume its definitions do not change.

    Added in 0.3.
    """

    def __init__(self, catalog: Catalog, dialect: str, split: SplitText) -> None:
        """Read nothing yet.

        Args:
            catalog: The definitions.
            dialect: ``sqlite``, ``postgresql`` or ``mysql``.
            split: The dialect's statement splitter.
        """
        self.catalog = catalog
        self.dialect = dialect
        self.split = split
        self._sql: dict[str, tuple[list[str], int]] = {}
        self._after: dict[str, Knowledge] = {}
        self._digests: dict[str, str] = {}
        self._empty: Knowledge | None = None

    def digest(self, name: str) -> str:
        """Return a SHA-256 over schema ``name``'s step checksums and its parents' digests.

        Equal digests mean the same SQL in the schema and in every ancestor, so a verdict
        cached under it is still right.
        """
        pending = [name]
        while pending:
            current = pending[-1]
            if current in self._digests:
                pending.pop()
                continue
            schema = self.catalog.schema(current)
            missing = [p for p in schema.parents if p not in self._digests]
            if missing:
                pending.extend(missing)
                continue
            parts = [current, *schema.checksums, *(self._digests[p] for p in schema.parents)]
            self._digests[current] = sha256("\0".join(parts).encode()).hexdigest()
            pending.pop()
        return self._digests[name]

    def sql(self, name: str) -> tuple[list[str], int]:
        """Return the statements of schema ``name``'s steps and how many Python steps it has."""
        found = self._sql.get(name)
        if found is None:
            found = self._sql[name] = _sql_of(self.catalog.schema(name), self.split)
        return found

    def before(self, name: str) -> Knowledge:
        """Return what the analyser knows once every ancestor of ``name`` is applied."""
        parents = self.catalog.schema(name).parents
        if len(parents) == 1:
            return self.after(parents[0])
        empty = self._empty_knowledge()
        if not parents:
            return empty
        graph = self.catalog.graph
        ancestors = graph.topological(graph.ancestors(name))
        return empty.then(text for ancestor in ancestors for text in self.sql(ancestor)[0])

    def after(self, name: str) -> Knowledge:
        """Return what the analyser knows once ``name`` and its ancestors are applied."""
        pending = []
        current = name
        while current not in self._after:
            pending.append(current)
            parents = self.catalog.schema(current).parents
            if len(parents) != 1:
                break
            current = parents[0]
        for schema in reversed(pending):  # parents first: each before() is already cached
            self._after[schema] = self.before(schema).then(self.sql(schema)[0])
        return self._after[name]

    def _empty_knowledge(self) -> Knowledge:
        if self._empty is None:
            from timescape.analysis import Knowledge  # noqa: PLC0415 - sqlglot on demand

            self._empty = Knowledge(self.dialect)
        return self._empty


def infer_schema(
    schema: SchemaVersion,
    dialect: str,
    split: SplitText,
    *,
    ancestors: Sequence[SchemaVersion] = (),
    reader: SchemaReader | None = None,
) -> tuple[bool, str, tuple[Finding, ...]]:
    """Judge a schema from its SQL alone, ignoring its declarations.

    Args:
        schema: The schema.
        dialect: ``sqlite``, ``postgresql`` or ``mysql``.
        split: The dialect's statement splitter (returns objects with ``.text``).
        ancestors: Its ancestors, parents first: their SQL tells the analyser what exists
            (column types, unique indexes), so a widening or a plain index drop is recognised.
        reader: Reads the ancestors once per run instead of once per call (same result);
            then ``ancestors`` is not read.

    Returns:
        ``(is_breaking, reason, findings)``; the reason names the worst statement's effect.
    """
    # What the ancestors created changes the verdict (a unique vs a plain index being dropped),
    # so they are part of the key.
    if reader is not None:
        key: tuple[str, str, tuple[str, ...]] = (
            schema.name,
            dialect,
            (reader.digest(schema.name),),
        )
    else:
        key = (
            schema.name,
            dialect,
            schema.checksums + tuple(c for a in ancestors for c in a.checksums),
        )
    cached = _cache.get(key)
    if cached is not None:
        return cached
    from timescape.analysis import Effect, classify, worst_effect  # noqa: PLC0415 - sqlglot

    if reader is not None:
        statements, python_steps = reader.sql(schema.name)
        findings = tuple(classify(statements, dialect, prior=reader.before(schema.name)))
    else:
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
    reader = SchemaReader(catalog, dialect, split)

    def judge(schema: SchemaVersion) -> tuple[bool, str]:
        if schema.breaking is not None:
            return declared_judge(schema)
        breaking, reason, _ = infer_schema(schema, dialect, split, reader=reader)
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


def check_declarations(
    catalog: Catalog, dialect: str, split: SplitText, *, reader: SchemaReader | None = None
) -> list[Declaration]:
    """Find schemas declared non-breaking (or compatible) whose SQL the analysis finds breaking.

    Args:
        catalog: The definitions.
        dialect: The target dialect.
        split: Its statement splitter.
        reader: Reads each schema once per run (built here when not given).

    Returns:
        One entry per contradicted declaration (a warning; an error under ``--strict``).
    """
    reader = reader or SchemaReader(catalog, dialect, split)
    found = []
    for schema in catalog.schemas:
        declared_safe = schema.breaking is False or bool(schema.compatible_with)
        if not declared_safe:
            continue
        breaking, reason, findings = infer_schema(schema, dialect, split, reader=reader)
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
