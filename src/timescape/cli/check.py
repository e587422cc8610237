"""``timescape schema check``: what the gate would refuse right now, the SQL analysis, and lint.

:func:`build_check_report` is the seam: it builds the whole report from the public facade, so
further sections (SQL analysis, lint) can be added to :attr:`CheckReport.sections` without
touching the command. A section that finds blocking problems sets ``ok`` to False through
:attr:`CheckReport.failed_sections`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from timescape.cli.findings import (
    AnalysisSection,
    LintSection,
    analysis_lines,
    analysis_section,
    lint_lines,
    lint_section,
    schema_analysis_lines,
)
from timescape.cli.render import Style, jsonable

if TYPE_CHECKING:
    from timescape.manager import Timescape

__all__ = ["CheckReport", "GateVerdict", "SchemaCheck", "build_check_report", "check_lines"]


@dataclass(frozen=True, slots=True)
class GateVerdict:
    """Would applying a schema keep one live version working?

    Attributes:
        tsv: The live version.
        live_schema: Its schema.
        allowed: True when the gate lets the schema through.
        reason: Why.
    """

    tsv: str
    live_schema: str
    allowed: bool
    reason: str


@dataclass(frozen=True, slots=True)
class SchemaCheck:
    """One schema in the check report.

    Attributes:
        name: The schema.
        status: Its status in the database.
        parents: Its parents.
        declared: What the project file declares about compatibility, in words.
        compatible_with: Declared compatible schemas.
        breaking: Declared breaking flag (None: undeclared).
        reversible: Whether every step has a rollback.
        used_by: Live versions that need it.
        gate: One verdict per live version, for schemas not applied yet (empty otherwise).
    """

    name: str
    status: str
    parents: tuple[str, ...]
    declared: str
    compatible_with: tuple[str, ...]
    breaking: bool | None
    reversible: bool
    used_by: tuple[str, ...]
    gate: tuple[GateVerdict, ...] = ()

    @property
    def refused_by(self) -> tuple[str, ...]:
        """Live versions that make the gate refuse this schema."""
        return tuple(v.tsv for v in self.gate if not v.allowed)


@dataclass(frozen=True, slots=True)
class CheckReport:
    """The result of ``schema check``.

    Attributes:
        schemas: The schemas checked, parents first.
        live_versions: Live TSVs and their schemas.
        sections: Further named sections: ``analysis`` and ``lint`` (JSON-serialisable values).
        failed_sections: Names of sections that found blocking problems.
    """

    schemas: tuple[SchemaCheck, ...]
    live_versions: Mapping[str, str]
    sections: Mapping[str, Any] = field(default_factory=dict)
    failed_sections: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when no schema would be refused and no section failed."""
        return self.verdict_ok and self.lint_ok

    @property
    def verdict_ok(self) -> bool:
        """True when the gate would refuse no schema and no declaration is contradicted (strict).

        Added in 0.3.
        """
        return "analysis" not in self.failed_sections and not any(
            s.refused_by for s in self.schemas
        )

    @property
    def lint_ok(self) -> bool:
        """True when no error-level lint rule fires on a schema not applied yet. Added in 0.3."""
        return "lint" not in self.failed_sections

    def fails(self, fail_on: str) -> bool:
        """Whether the check should exit 1 under ``--fail-on``.

        Args:
            fail_on: ``both``, ``verdict``, ``lint`` or ``none``.

        Returns:
            True when a failure of the chosen kind was found.

        Added in 0.3.
        """
        return (fail_on in {"both", "verdict"} and not self.verdict_ok) or (
            fail_on in {"both", "lint"} and not self.lint_ok
        )

    def to_json(self) -> dict[str, Any]:
        """The report as one JSON document (``format`` 1)."""
        return {
            "format": 1,
            "ok": self.ok,
            "verdict_ok": self.verdict_ok,
            "lint_ok": self.lint_ok,
            "live_versions": [{"tsv": t, "schema": s} for t, s in self.live_versions.items()],
            "schemas": [{**jsonable(s), "refused_by": list(s.refused_by)} for s in self.schemas],
            "sections": jsonable(self.sections),
            "failed_sections": list(self.failed_sections),
        }


def _declared(compatible_with: tuple[str, ...], *, breaking: bool | None) -> str:
    parts = []
    if compatible_with:
        parts.append("compatible_with " + ", ".join(compatible_with))
    if breaking is not None:
        parts.append(f"breaking = {str(breaking).lower()}")
    return "; ".join(parts) or "undeclared (the gate judges its SQL)"


def build_check_report(
    ts: Timescape,
    name: str | None = None,
    *,
    strict: bool = False,
    disabled: Collection[str] = (),
    enabled: Collection[str] = (),
) -> CheckReport:
    """Build the check report from the facade (reads the state; changes nothing).

    For every schema (or ``name`` and its ancestors) not applied yet, asks the gate about each
    live version through :meth:`Timescape.compatibility`, exactly as ``activate`` and ``schema
    migrate`` would. Then reads every defined schema's SQL (the ``analysis`` section) and lints
    it (the ``lint`` section).

    Args:
        ts: The facade.
        name: One schema, or None for all.
        strict: Make declarations the analysis contradicts fail the check.
        disabled: Lint rule ids disabled project-wide (``[lint] disabled``).
        enabled: Optional lint rules enabled project-wide (``[lint] enabled``).

    Returns:
        The report.

    Raises:
        UnknownRefError: For an unknown schema name.
        DefinitionError: When a step's SQL cannot be split.
    """
    catalog = ts.catalog
    if name is not None:
        catalog.schema(name)
        wanted = catalog.graph.closure([name])
    else:
        wanted = frozenset(s.name for s in catalog.schemas)
    infos = [i for i in ts.schemas() if i.name in wanted]
    live = {v.tsv: v.schema for v in ts.versions() if v.active}
    checks = []
    for info in infos:
        gate: list[GateVerdict] = []
        if info.defined and info.status != "applied":
            for tsv, live_schema in live.items():
                allowed, reason = ts.compatibility(info.name, live_schema)
                gate.append(GateVerdict(tsv, live_schema, allowed, reason))
        checks.append(
            SchemaCheck(
                name=info.name,
                status=info.status,
                parents=info.parents,
                declared=_declared(info.compatible_with, breaking=info.breaking),
                compatible_with=info.compatible_with,
                breaking=info.breaking,
                reversible=info.reversible,
                used_by=info.used_by,
                gate=tuple(gate),
            )
        )
    defined = [i.name for i in infos if i.defined]
    applied = {i.name for i in infos if i.status == "applied"}
    dialect, split = ts.backend.dialect, ts.backend.split
    from timescape.compat import SchemaReader  # noqa: PLC0415 - sqlglot on demand

    reader = SchemaReader(catalog, dialect, split)
    analysis = analysis_section(catalog, defined, dialect, split, strict=strict, reader=reader)
    lint = lint_section(
        catalog,
        defined,
        dialect,
        split,
        applied=applied,
        disabled=disabled,
        enabled=enabled,
        reader=reader,
    )
    failed = tuple(n for n, s in (("analysis", analysis), ("lint", lint)) if s.failed)
    return CheckReport(
        schemas=tuple(checks),
        live_versions=live,
        sections={"analysis": analysis, "lint": lint},
        failed_sections=failed,
    )


def check_lines(report: CheckReport, style: Style) -> list[str]:
    """The report for humans."""
    lines = []
    if report.live_versions:
        lines.append(style("Live versions:", "bold"))
        lines.extend(f"  {tsv}  (schema {schema})" for tsv, schema in report.live_versions.items())
    else:
        lines.append("No live versions: the gate allows any schema.")
    analysis = report.sections.get("analysis")
    by_schema = (
        {a.schema: a for a in analysis.schemas} if isinstance(analysis, AnalysisSection) else {}
    )
    for check in report.schemas:
        lines.extend(_schema_lines(check, style))
        if check.name in by_schema:
            lines.extend(schema_analysis_lines(by_schema[check.name], style))
    for section, content in report.sections.items():
        if isinstance(content, AnalysisSection):
            lines.extend(analysis_lines(content, style))
        elif isinstance(content, LintSection):
            lines.extend(lint_lines(content, style))
        else:
            lines += ["", style(f"{section}:", "bold"), f"  {content}"]
    refused = [c.name for c in report.schemas if c.refused_by]
    lines.append("")
    if refused:
        lines.append(
            style(
                f"The gate would refuse {', '.join(refused)}: deactivate the versions it breaks, "
                "declare compatible_with / breaking = false, or pass --force.",
                "red",
            )
        )
    elif report.ok:
        lines.append(style("OK: nothing the gate would refuse, no lint error.", "green"))
    lines.extend(
        style(_failure(section, report.sections.get(section)), "red")
        for section in report.failed_sections
    )
    return lines


def _failure(section: str, content: object) -> str:
    if isinstance(content, LintSection):
        return (
            f"Lint found {content.blocking} error(s) in schemas not applied yet: fix them, or "
            "silence a rule with a '-- timescape:ignore RULE' comment or [lint] disabled."
        )
    if isinstance(content, AnalysisSection):
        return (
            f"--strict: the analysis contradicts {len(content.contradicted)} declaration(s): "
            "correct the declaration, or change the SQL."
        )
    return f"Section {section} found blocking problems."


def _schema_lines(check: SchemaCheck, style: Style) -> list[str]:
    lines = ["", f"{style(check.name, 'bold')}  [{style.status(check.status)}]"]
    lines.append(f"  declared    {check.declared}")
    if not check.reversible:
        lines.append(f"  reversible  {style('no', 'yellow')} (no rollback scripts)")
    if check.status == "applied":
        users = ", ".join(check.used_by) or "no live version"
        lines.append(f"  gate        not needed: already applied (used by {users})")
        return lines
    if not check.gate:
        lines.append("  gate        would allow it (no live version)")
    for verdict in check.gate:
        mark = style("allows", "green") if verdict.allowed else style("REFUSES", "red", "bold")
        lines.append(f"  gate        {mark} it with {verdict.tsv} live: {verdict.reason}")
    return lines
