"""A finding before it is attached to its statement: the analyser's internal building block."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from timescape.analysis.effect import Effect

__all__ = ["Verdict", "combine"]


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
        return cls(Effect.UNKNOWN, f"cannot judge: {reason}", _distinct(objects))

    @classmethod
    def of(cls, effect: Effect, reason: str, *objects: str) -> Verdict:
        """Build a verdict, dropping empty object names."""
        if effect is Effect.UNKNOWN:
            return cls.unknown(reason, *objects)
        return cls(effect, reason, _distinct(objects))


def _distinct(objects: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(o for o in objects if o))


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
