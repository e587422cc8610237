"""A schema's SQL as ``timescape schema check`` reviews it: statements with their origin, and lint.

The gate (:mod:`timescape.compat`) needs only a verdict per schema; a review needs to say where each
statement came from (step, contract step, file, line), so that a finding or a lint issue can be
fixed where it is written. Pure: definitions in, values out; nothing connects or executes.

Added in 0.2.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from timescape.errors import DefinitionError, SQLSplitError
from timescape.model.plan import Splitter
from timescape.model.schema import SchemaVersion

if TYPE_CHECKING:
    from timescape.analysis import Knowledge
    from timescape.compat import SchemaReader

__all__ = ["SchemaLintIssue", "SourceStatement", "lint_schema", "schema_statements"]


@dataclass(frozen=True, slots=True)
class SourceStatement:
    """One statement of a schema, with where it is written.

    Attributes:
        schema: The schema.
        step: 1-based step number, within the schema's steps or within its contract steps.
        contract: True for a contract step.
        file: The file the step came from, relative to the project, if any.
        line: 1-based line of the statement's first token in the step's text (in the file, for a
            step from a file).
        text: The statement exactly as it runs.
        ignored: Rule ids silenced by ``timescape:ignore`` comments beside it (above it, or after
            its ``;``), which the splitter leaves out of ``text``.
    """

    schema: str
    step: int
    contract: bool
    file: str | None
    line: int
    text: str
    ignored: frozenset[str] = frozenset()

    @property
    def where(self) -> str:
        """``file:line`` for a step from a file, else ``schema step N, line L``."""
        if self.file:
            return f"{self.file}:{self.line}"
        kind = "contract step" if self.contract else "step"
        return f"{self.schema} {kind} {self.step}, line {self.line}"


def schema_statements(
    schema: SchemaVersion, dialect: str, split: Splitter, *, contract: bool = False
) -> tuple[list[SourceStatement], int]:
    """Split a schema's SQL steps (or contract steps) into statements, in execution order.

    Args:
        schema: The schema.
        dialect: ``sqlite``, ``postgresql`` or ``mysql`` (for the comments beside statements).
        split: The dialect's statement splitter (the same one the planner uses).
        contract: True for the contract steps instead of the schema's own steps.

    Returns:
        The statements, and how many Python steps were skipped (they cannot be read).

    Raises:
        DefinitionError: A step cannot be split safely, naming the schema, step, file and line.
    """
    from timescape.analysis import attached_ignores  # noqa: PLC0415 - keeps import light

    statements: list[SourceStatement] = []
    python_steps = 0
    steps = schema.contract if contract else schema.steps
    for number, step in enumerate(steps, start=1):
        script = step.migration
        if not isinstance(script, str):
            python_steps += 1
            continue
        try:
            parts = list(split(script))
        except SQLSplitError as exc:
            kind = "contract" if contract else "step"
            raise DefinitionError(
                f"cannot split SQL at line {exc.line}: {exc.reason}",
                file=step.file,
                key=f"{schema.name}.{kind}{number}",
                line=exc.line if step.file else None,
            ) from None
        texts = [part.text for part in parts]
        ignored = attached_ignores(script, texts, dialect)
        statements.extend(
            SourceStatement(
                schema=schema.name,
                step=number,
                contract=contract,
                file=step.file,
                line=part.line,
                text=part.text,
                ignored=ignored[i],
            )
            for i, part in enumerate(parts)
        )
    return statements, python_steps


@dataclass(frozen=True, slots=True)
class SchemaLintIssue:
    """One lint rule firing on one statement of a schema.

    Attributes:
        source: The statement and where it is written.
        rule: The rule id, e.g. ``"PG002"``.
        level: ``"error"`` or ``"warning"``.
        reason: One line naming the objects involved.
        fix: One line: what to do instead.
    """

    source: SourceStatement
    rule: str
    level: str
    reason: str
    fix: str


def lint_schema(
    schema: SchemaVersion,
    dialect: str,
    split: Splitter,
    *,
    ancestors: Sequence[SchemaVersion] = (),
    disabled: Collection[str] = (),
    enabled: Collection[str] = (),
    reader: SchemaReader | None = None,
) -> list[SchemaLintIssue]:
    """Lint a schema's steps, then its contract steps.

    The ancestors' statements are read first, only to learn what exists. Tables created earlier in
    the schema's own steps count as new for those steps; for the contract steps, which run once
    versions use the schema, everything the steps created counts as existing. ``timescape:ignore``
    comments inside a statement, on the lines directly above it, or after its ``;`` silence rules
    for it; ``disabled`` silences them everywhere.

    Args:
        schema: The schema.
        dialect: ``sqlite``, ``postgresql`` or ``mysql``.
        split: The dialect's statement splitter.
        ancestors: Its ancestors, parents first.
        disabled: Rule ids silenced for the whole project (``[lint] disabled``).
        enabled: Optional rules turned on for the whole project (``[lint] enabled``).
        reader: Reads the ancestors once per run (then ``ancestors`` is not read): the
            knowledge before the schema comes from it. Added in 0.3.

    Returns:
        The issues, steps first, in statement order.

    Raises:
        DefinitionError: A step cannot be split safely.
    """
    from timescape.analysis import lint  # noqa: PLC0415 - keeps import light

    priors: tuple[Knowledge | None, Knowledge | None] = (None, None)
    if reader is not None:
        applied: list[str] = []
        priors = (reader.before(schema.name), reader.after(schema.name))
    else:
        applied = [s.text for a in ancestors for s in schema_statements(a, dialect, split)[0]]
    issues: list[SchemaLintIssue] = []
    for contract in (False, True):
        statements, _ = schema_statements(schema, dialect, split, contract=contract)
        if not statements:
            continue
        found = lint(
            [s.text for s in statements],
            dialect,
            disabled=disabled,
            enabled=enabled,
            applied=applied if priors[contract] is None else (),
            ignored=[s.ignored for s in statements],
            prior=priors[contract],
            transactional=schema.transactional,
        )
        issues.extend(
            SchemaLintIssue(statements[i.index], i.rule, str(i.level), i.reason, i.fix)
            for i in found
        )
        if priors[0] is None:
            applied = [*applied, *(s.text for s in statements)]
    return issues
