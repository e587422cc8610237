"""What a statement does to code written against the previous schema.

:class:`Effect` is the analyser's verdict on one statement and :class:`Finding` carries it with the
reason and the objects touched. The gate treats ``ADDITIVE`` and ``DATA`` as compatible and
``UNKNOWN`` and ``BREAKING`` as not, so an analyser that cannot tell says ``UNKNOWN`` rather than
guess.

Added in 0.4.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Effect", "Finding", "Verdict", "worst_effect"]


class Effect(StrEnum):
    """The effect of one statement on code written against the previous schema.

    Ordered from harmless to harmful: ``ADDITIVE < DATA < UNKNOWN < BREAKING``.
    """

    ADDITIVE = "additive"
    """Adds or relaxes something; older code keeps working."""
    DATA = "data"
    """Reads or changes rows, or changes nothing in the shape (DML, maintenance, session settings)."""
    UNKNOWN = "unknown"
    """Could not be parsed or judged; the gate treats it as breaking, and says so."""
    BREAKING = "breaking"
    """Removes, renames or restricts something older code may use."""

    @property
    def rank(self) -> int:
        """Position in the order ``ADDITIVE < DATA < UNKNOWN < BREAKING`` (0 to 3)."""
        return _RANK[self]

    @property
    def is_compatible(self) -> bool:
        """Whether the gate lets this effect through while older versions are live."""
        return self in {Effect.ADDITIVE, Effect.DATA}


_RANK = {Effect.ADDITIVE: 0, Effect.DATA: 1, Effect.UNKNOWN: 2, Effect.BREAKING: 3}


@dataclass(frozen=True, slots=True)
class Finding:
    """The analyser's verdict on one statement.

    Attributes:
        statement: The statement text, as given.
        effect: What it does to code written against the previous schema.
        reason: One line, e.g. ``"drops column products.price"``; starts with ``"cannot judge: "``
            when the effect is UNKNOWN.
        objects: Objects touched, as ``table`` or ``table.column`` (``schema.table`` when the
            statement qualifies it); unquoted names lower-cased, quoted ones as written. Indexes,
            sequences, types and functions are named the same way when they are what is touched.
    """

    statement: str
    effect: Effect
    reason: str
    objects: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Verdict:
    """A finding before it is attached to its statement (internal building block).

    Attributes:
        effect: The effect.
        reason: One line.
        objects: Objects touched.
    """

    effect: Effect
    reason: str
    objects: tuple[str, ...] = ()

    @classmethod
    def unknown(cls, reason: str, *objects: str) -> Verdict:
        """Build an UNKNOWN verdict whose reason starts with ``cannot judge:``."""
        return cls(Effect.UNKNOWN, f"cannot judge: {reason}", tuple(o for o in objects if o))

    @classmethod
    def of(cls, effect: Effect, reason: str, *objects: str) -> Verdict:
        """Build a verdict, dropping empty object names."""
        if effect is Effect.UNKNOWN:
            return cls.unknown(reason, *objects)
        return cls(effect, reason, tuple(o for o in objects if o))


def combine(verdicts: Iterable[Verdict]) -> Verdict:
    """Merge the verdicts of several actions of one statement: the worst one names the result.

    Args:
        verdicts: One verdict per action, in statement order (at least one).

    Returns:
        The worst effect, a reason listing the actions worst first, and every object touched.
    """
    items = list(verdicts)
    ranked = sorted(items, key=lambda v: -v.effect.rank)
    reasons: list[str] = []
    for verdict in ranked:
        reason = verdict.reason.removeprefix("cannot judge: ")
        if reason not in reasons:
            reasons.append(reason)
    objects: list[str] = []
    for verdict in items:
        objects.extend(o for o in verdict.objects if o not in objects)
    shown = "; ".join(reasons[:3])
    if len(reasons) > 3:
        shown += f"; and {len(reasons) - 3} more action(s)"
    return Verdict.of(ranked[0].effect, shown, *objects)


def worst_effect(findings: Iterable[Finding]) -> Effect:
    """Return the most harmful effect among findings.

    The order is ``ADDITIVE < DATA < UNKNOWN < BREAKING``. For the gate, DATA and ADDITIVE are
    compatible (:attr:`Effect.is_compatible`); UNKNOWN and BREAKING are not.

    Args:
        findings: Findings from :func:`~timescape.analysis.classify`.

    Returns:
        The worst effect; ``Effect.ADDITIVE`` when there are no findings.
    """
    worst = Effect.ADDITIVE
    for finding in findings:
        if finding.effect.rank > worst.rank:
            worst = finding.effect
    return worst
