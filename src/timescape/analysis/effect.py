"""What a statement does to code written against the previous schema.

:class:`Effect` is the analyser's verdict on one statement and :class:`Finding` carries it with the
reason and the objects touched. The gate treats ``ADDITIVE`` and ``DATA`` as compatible and
``UNKNOWN`` and ``BREAKING`` as not, so an analyser that cannot tell says ``UNKNOWN`` rather than
guess.

Added in 0.2.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Effect", "Finding", "worst_effect"]


class Effect(StrEnum):
    """The effect of one statement on code written against the previous schema.

    Ordered from harmless to harmful: ``ADDITIVE < DATA < UNKNOWN < BREAKING``.
    """

    ADDITIVE = "additive"
    """Adds or relaxes something; older code keeps working."""
    DATA = "data"
    """Reads or changes rows, or leaves the shape alone (DML, maintenance, session settings)."""
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
