"""What ``verify`` finds in the snapshot alone: drift, vanished schemas, inconsistent state.

Pure (catalog + snapshot in, :class:`Problem` values out); :mod:`timescape.execution.verification`
adds what needs the database (missing tables, a run that died, live versions whose schemas are
gone) and returns the :class:`VerifyReport`.
"""

from __future__ import annotations

from dataclasses import field

from timescape.model._record import record
from timescape.model.catalog import Catalog
from timescape.model.schema import CHECKSUM_ALGORITHMS, checksum_matches, unknown_algorithms
from timescape.model.state import SchemaStatus, StateSnapshot

__all__ = ["Problem", "VerifyReport", "drift_problems", "inconsistency_problems"]


@record
class Problem:
    """One finding of ``verify``.

    Attributes:
        kind: ``drift``, ``missing``, ``failed``, ``interrupted``, ``uncertain``,
            ``in_progress``, ``live_version_unmet``, ``state``, ``retiring``.
        subject: The schema or TSV.
        message: One line.
        facts: Structured detail.
    """

    kind: str
    subject: str
    message: str
    facts: dict[str, object] = field(default_factory=dict)


@record
class VerifyReport:
    """The result of ``verify``.

    Attributes:
        problems: Everything found; empty when healthy.
        checked_schemas: How many schemas were checked.
    """

    problems: tuple[Problem, ...]
    checked_schemas: int

    @property
    def ok(self) -> bool:
        """True when nothing was found (``in_progress`` and ``retiring`` alone are not problems).

        A retiring version is a deactivation under way or stopped safely: nothing is broken.
        """
        return all(p.kind in ("in_progress", "retiring") for p in self.problems)


def drift_problems(catalog: Catalog, snapshot: StateSnapshot) -> list[Problem]:
    """Find applied steps whose migration or rollback script changed, and vanished schemas."""
    problems: list[Problem] = []
    for name, row in sorted(snapshot.schemas.items()):
        if not row.has_objects:
            continue
        if not catalog.has_schema(name):
            problems.append(
                Problem(
                    "missing",
                    name,
                    f"schema {name} is applied but no longer defined in the project",
                    {"steps_done": row.steps_done},
                )
            )
            continue
        schema = catalog.schema(name)
        done = row.steps_done
        unknown = unknown_algorithms([*row.checksums[:done], *row.rollback_checksums[:done]])
        if unknown:
            # One problem for the schema, not a wall of false drift: these cannot be verified.
            problems.append(
                Problem(
                    "unverifiable",
                    name,
                    f"schema {name} was applied with checksum algorithm {', '.join(unknown)}, "
                    f"which this Timescape cannot verify (it knows "
                    f"{', '.join(sorted(CHECKSUM_ALGORITHMS))}); upgrade Timescape to verify it",
                    {"algorithms": unknown, "steps_done": done},
                )
            )
            continue
        for i in range(row.steps_done):
            stored = row.checksums[i] if i < len(row.checksums) else None
            current = schema.steps[i] if i < len(schema.steps) else None
            if current is None or not checksum_matches(stored, current.migration):
                problems.append(
                    _drift(name, i + 1, stored, current.checksum if current else None, "migration")
                )
            stored_rb = row.rollback_checksums[i] if i < len(row.rollback_checksums) else None
            if (
                current is not None
                and stored_rb is not None
                and not checksum_matches(stored_rb, current.rollback)
            ):
                problems.append(
                    _drift(name, i + 1, stored_rb, current.rollback_checksum, "rollback")
                )
    return problems


def inconsistency_problems(catalog: Catalog, snapshot: StateSnapshot) -> list[Problem]:
    """Find schemas with objects in place whose ancestors are not recorded as applied.

    Timescape applies ancestors first and rolls back descendants first, so this only happens when
    the state tables were edited or lost (a deleted row): reported, never guessed at.
    """
    problems: list[Problem] = []
    for name, row in sorted(snapshot.schemas.items()):
        if not row.has_objects or name not in catalog.graph:
            continue
        lost = sorted(
            a
            for a in catalog.graph.ancestors(name)
            if snapshot.status_of(a) is not SchemaStatus.APPLIED
        )
        if lost:
            problems.append(
                Problem(
                    "inconsistent",
                    name,
                    f"schema {name} has {row.steps_done} step(s) in place but its ancestor(s) "
                    f"{', '.join(lost)} are not recorded as applied: the state tables were "
                    "edited or lost. Check the database, then run: timescape schema resolve "
                    f"{lost[0]} --steps-done K",
                    {"ancestors": lost},
                )
            )
    return problems


def _drift(name: str, step: int, stored: str | None, current: str | None, kind: str) -> Problem:
    return Problem(
        "drift",
        name,
        f"schema {name} {kind} step {step} was applied with checksum {stored}, definition now "
        f"{current}",
        {"step": step, "stored": stored, "current": current, "script": kind},
    )
