"""The ``analysis`` and ``lint`` sections of ``timescape schema check``.

*analysis*: what each statement does to older code (the gate's reading of the SQL), each schema's
inferred verdict beside its declaration, declarations the analysis contradicts (warnings; errors
under ``--strict``), and contracts without ``contract_rollback`` (warnings). *lint*: operational
hazards per statement; an ERROR-level issue in a schema not applied yet fails the check. An applied
schema's issues are reported but never fail it: its SQL has run, and editing it now would be drift.

Both sections are built from the definitions alone (no connection beyond what ``check`` already
reads) and are plain frozen values, so ``--json`` and the text output say the same thing.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from timescape.cli.render import Style
from timescape.model.catalog import Catalog
from timescape.model.plan import Splitter
from timescape.model.schema import SchemaVersion

if TYPE_CHECKING:
    from timescape.compat import SchemaReader

__all__ = [
    "AnalysisSection",
    "ContractWarning",
    "Contradiction",
    "LintFinding",
    "LintSection",
    "SchemaAnalysis",
    "StatementFinding",
    "analysis_lines",
    "analysis_section",
    "lint_lines",
    "lint_section",
    "schema_analysis_lines",
]

_ERROR, _WARNING = "error", "warning"


@dataclass(frozen=True, slots=True)
class StatementFinding:
    """What one statement does to code written against the previous schema.

    Attributes:
        step: 1-based step number.
        file: The step's file, if any.
        line: Line of the statement in the step's text (in the file, for a file).
        where: ``file:line``, or ``schema step N, line L``.
        sql: The statement as it runs.
        effect: ``additive``, ``data``, ``unknown`` or ``breaking``.
        reason: One line.
        objects: Objects touched (``table``, ``table.column``).
    """

    step: int
    file: str | None
    line: int
    where: str
    sql: str
    effect: str
    reason: str
    objects: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SchemaAnalysis:
    """One schema as the analysis reads it, beside what it declares.

    Attributes:
        schema: The schema.
        declared: ``breaking = true``, ``breaking = false``, ``compatible_with a, b``, or None.
        inferred: ``compatible`` or ``breaking``: the verdict from the SQL alone.
        effect: The worst statement effect.
        reason: Why (names the worst statement's effect and objects).
        contradicted: True when the declaration says safe and a statement is judged breaking.
        python_steps: Steps the analysis cannot read.
        statements: One finding per SQL statement, in order (contract steps are not read).
    """

    schema: str
    declared: str | None
    inferred: str
    effect: str
    reason: str
    contradicted: bool
    python_steps: int
    statements: tuple[StatementFinding, ...]


@dataclass(frozen=True, slots=True)
class Contradiction:
    """A declaration the analysis disagrees with.

    Attributes:
        schema: The schema.
        declared: What it declares.
        inferred: What the SQL says (``breaking``).
        reason: The analysis's reason.
        level: ``warning``, or ``error`` under ``--strict``.
    """

    schema: str
    declared: str
    inferred: str
    reason: str
    level: str


@dataclass(frozen=True, slots=True)
class ContractWarning:
    """A contract that cannot be undone.

    Attributes:
        schema: The schema.
        steps: Its contract steps.
        level: Always ``warning``.
        message: What it means and what to do.
    """

    schema: str
    steps: int
    level: str
    message: str


@dataclass(frozen=True, slots=True)
class AnalysisSection:
    """The ``analysis`` section.

    Attributes:
        strict: Whether ``--strict`` was given.
        schemas: Every defined schema checked, parents first.
        contradicted: Declarations the analysis contradicts.
        contracts: Contracts without ``contract_rollback``.
    """

    strict: bool
    schemas: tuple[SchemaAnalysis, ...]
    contradicted: tuple[Contradiction, ...]
    contracts: tuple[ContractWarning, ...]

    @property
    def failed(self) -> bool:
        """True under ``--strict`` when a declaration is contradicted."""
        return self.strict and bool(self.contradicted)


@dataclass(frozen=True, slots=True)
class LintFinding:
    """One lint issue, located.

    Attributes:
        rule: The rule id.
        level: ``error`` or ``warning``.
        schema: The schema.
        step: 1-based step number (within the contract steps when ``contract``).
        contract: True for a contract step.
        file: The step's file, if any.
        line: Line of the statement.
        where: ``file:line``, or ``schema step N, line L``.
        statement: The statement as it runs.
        reason: One line.
        fix: What to do instead.
        blocking: True when it fails the check (an error in a schema not applied yet).
    """

    rule: str
    level: str
    schema: str
    step: int
    contract: bool
    file: str | None
    line: int
    where: str
    statement: str
    reason: str
    fix: str
    blocking: bool


@dataclass(frozen=True, slots=True)
class LintSection:
    """The ``lint`` section.

    Attributes:
        disabled: Rule ids disabled project-wide (``[lint] disabled``), upper-cased.
        errors: Error-level issues.
        warnings: Warning-level issues.
        blocking: Error-level issues in schemas not applied yet: they fail the check.
        issues: Every issue, schema by schema, in statement order.
        enabled: Optional rules enabled project-wide (``[lint] enabled``), upper-cased. Added in
            0.3.
    """

    disabled: tuple[str, ...]
    errors: int
    warnings: int
    blocking: int
    issues: tuple[LintFinding, ...]
    enabled: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        """True when an error-level rule fired on a schema not applied yet."""
        return self.blocking > 0


def _declared(schema: SchemaVersion) -> str | None:
    if schema.breaking is not None:
        return f"breaking = {str(schema.breaking).lower()}"
    if schema.compatible_with:
        return "compatible_with " + ", ".join(sorted(schema.compatible_with))
    return None


def analysis_section(
    catalog: Catalog,
    names: Sequence[str],
    dialect: str,
    split: Splitter,
    *,
    strict: bool,
    reader: SchemaReader | None = None,
) -> AnalysisSection:
    """Read the SQL of the schemas ``names`` as the gate would, whatever they declare.

    Args:
        catalog: The definitions.
        names: Defined schemas to report, parents first.
        dialect: The database's dialect.
        split: Its statement splitter.
        strict: ``--strict``: contradicted declarations are errors.
        reader: Reads each schema's SQL once for the whole report (built here if not given).

    Returns:
        The section.

    Raises:
        DefinitionError: A step cannot be split safely.
    """
    from timescape.analysis import worst_effect  # noqa: PLC0415 - sqlglot on demand
    from timescape.compat import (  # noqa: PLC0415
        SchemaReader,
        check_declarations,
        infer_schema,
    )
    from timescape.review import schema_statements  # noqa: PLC0415

    reader = reader or SchemaReader(catalog, dialect, split)
    wanted = set(names)
    contradicted = tuple(
        Contradiction(d.schema, d.declared, d.inferred, d.reason, _ERROR if strict else _WARNING)
        for d in check_declarations(catalog, dialect, split, reader=reader)
        if d.schema in wanted
    )
    against = {c.schema for c in contradicted}
    schemas = []
    contracts = []
    for name in names:
        schema = catalog.schema(name)
        breaking, reason, findings = infer_schema(schema, dialect, split, reader=reader)
        statements, python_steps = schema_statements(schema, dialect, split)
        schemas.append(
            SchemaAnalysis(
                schema=name,
                declared=_declared(schema),
                inferred="breaking" if breaking else "compatible",
                effect=str(worst_effect(findings)),
                reason=reason,
                contradicted=name in against,
                python_steps=python_steps,
                statements=tuple(
                    StatementFinding(
                        step=source.step,
                        file=source.file,
                        line=source.line,
                        where=source.where,
                        sql=source.text,
                        effect=str(finding.effect),
                        reason=finding.reason,
                        objects=finding.objects,
                    )
                    for source, finding in zip(statements, findings, strict=True)
                ),
            )
        )
        if schema.contract and any(step.rollback is None for step in schema.contract):
            contracts.append(
                ContractWarning(
                    name,
                    len(schema.contract),
                    _WARNING,
                    f"schema {name} has contract steps without contract_rollback: once they "
                    "run, no version on an older schema can be activated again (the planner "
                    "refuses). Add contract_rollback, or keep the older versions retired",
                )
            )
    return AnalysisSection(strict, tuple(schemas), contradicted, tuple(contracts))


def lint_section(
    catalog: Catalog,
    names: Sequence[str],
    dialect: str,
    split: Splitter,
    *,
    applied: Collection[str],
    disabled: Collection[str],
    enabled: Collection[str] = (),
    reader: SchemaReader | None = None,
) -> LintSection:
    """Lint the schemas ``names``.

    Args:
        catalog: The definitions.
        names: Defined schemas to lint, parents first.
        dialect: The database's dialect.
        split: Its statement splitter.
        applied: Schemas already applied: their issues never fail the check.
        disabled: Rule ids disabled project-wide.
        enabled: Optional rules enabled project-wide (``[lint] enabled``).
        reader: Reads each schema's SQL once for the whole report (built here if not given).

    Returns:
        The section.

    Raises:
        DefinitionError: A step cannot be split safely.
    """
    from timescape.compat import SchemaReader  # noqa: PLC0415 - sqlglot on demand
    from timescape.review import lint_schema  # noqa: PLC0415 - sqlglot on demand

    reader = reader or SchemaReader(catalog, dialect, split)
    found = []
    for name in names:
        for issue in lint_schema(
            catalog.schema(name),
            dialect,
            split,
            disabled=disabled,
            enabled=enabled,
            reader=reader,
        ):
            source = issue.source
            found.append(
                LintFinding(
                    rule=issue.rule,
                    level=issue.level,
                    schema=name,
                    step=source.step,
                    contract=source.contract,
                    file=source.file,
                    line=source.line,
                    where=source.where,
                    statement=source.text,
                    reason=issue.reason,
                    fix=issue.fix,
                    blocking=issue.level == _ERROR and name not in applied,
                )
            )
    errors = sum(1 for f in found if f.level == _ERROR)
    return LintSection(
        disabled=tuple(sorted({d.upper() for d in disabled})),
        errors=errors,
        warnings=len(found) - errors,
        blocking=sum(1 for f in found if f.blocking),
        issues=tuple(found),
        enabled=tuple(sorted({e.upper() for e in enabled})),
    )


# -- text ---------------------------------------------------------------------------------------

_EFFECT_COLOURS = {"additive": "green", "data": "cyan", "unknown": "yellow", "breaking": "red"}


def schema_analysis_lines(analysis: SchemaAnalysis, style: Style) -> list[str]:
    """The analysis of one schema, for its block in the report."""
    if analysis.inferred == "breaking":
        verdict = f"{style('breaking', 'red')}: {analysis.reason}"
    else:
        verdict = f"{style('compatible', 'green')} (worst statement: {analysis.effect})"
    lines = [f"  analysis    {verdict}"]
    if analysis.contradicted:
        lines.append(
            "              " + style(f"contradicts its declaration ({analysis.declared})", "yellow")
        )
    width = max((len(s.where) for s in analysis.statements), default=0)
    for finding in analysis.statements:
        effect = style(f"{finding.effect:<8}", _EFFECT_COLOURS.get(finding.effect, "dim"))
        lines.append(f"    {effect}  {finding.where:<{width}}  {finding.reason}")
    if analysis.python_steps:
        lines.append(f"    {analysis.python_steps} Python step(s): cannot be analysed")
    return lines


def _level(level: str, style: Style) -> str:
    return style(f"{level:<7}", "red" if level == _ERROR else "yellow")


def analysis_lines(section: AnalysisSection, style: Style) -> list[str]:
    """Contradicted declarations and irreversible contracts (per-schema lines come first)."""
    lines: list[str] = []
    if section.contradicted:
        lines += ["", style("Declarations the analysis contradicts:", "bold")]
        lines.extend(
            f"  {_level(c.level, style)}  {c.schema} declares {c.declared}, but its SQL is "
            f"{c.inferred}: {c.reason}"
            for c in section.contradicted
        )
        if not section.strict:
            lines.append("  (warnings; --strict makes them errors)")
    if section.contracts:
        lines += ["", style("Contracts:", "bold")]
        lines.extend(f"  {_level(c.level, style)}  {c.message}" for c in section.contracts)
    return lines


def lint_lines(section: LintSection, style: Style) -> list[str]:
    """The lint issues, with their place, reason and fix."""
    disabled = f"; disabled: {', '.join(section.disabled)}" if section.disabled else ""
    enabled = f"; enabled: {', '.join(section.enabled)}" if section.enabled else ""
    head = f"Lint: {section.errors} error(s), {section.warnings} warning(s){disabled}{enabled}"
    lines = ["", style(head, "bold")]
    if not section.issues:
        lines.append("  no issues")
    for issue in section.issues:
        note = ""
        if issue.level == _ERROR and not issue.blocking:
            note = style("  (already applied: reported, does not fail the check)", "dim")
        lines.append(f"  {_level(issue.level, style)}  {issue.rule:<6}  {issue.where}{note}")
        lines.append(f"           {issue.reason}")
        lines.append(style(f"           fix: {issue.fix}", "dim"))
    return lines
