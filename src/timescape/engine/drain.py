"""The drain: wait until every live serving instance has let go of the versions being retired.

An instance has let go of a version once its heartbeat reports a view of at least the generation
that marked the version retiring (so it routes no new request there) and no request in flight on
it. Instances whose heartbeat expired are gone and not waited for. The wait takes no lock: it
only reads the instances table, so heartbeats, and other runs, proceed meanwhile.

Added in 0.2.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from timescape.engine.instances import Instances
from timescape.errors import DrainTimeoutError
from timescape.model._record import record
from timescape.model.instance import InstanceInfo

__all__ = ["DrainOutcome", "DrainProgress", "holders", "wait_for_drain"]

_FIRST_LOOK_S = 0.02
_MAX_LOOK_S = 0.25

DrainProgress = Callable[[float, list[tuple[InstanceInfo, str]]], None]
"""Called while waiting with the seconds waited and each instance still holding, with why."""


@record
class DrainOutcome:
    """How a drain ended (it only ends well: a timeout raises).

    Attributes:
        tsvs: The versions drained.
        generation: The highest generation the instances had to load.
        instances: The live instances that had to acknowledge (``host pid N (id)``).
        waited_s: Seconds spent waiting.
        forced: True when the drain was skipped (``--no-drain``).
    """

    tsvs: tuple[str, ...]
    generation: int
    instances: tuple[str, ...] = ()
    waited_s: float = 0.0
    forced: bool = False

    def as_dict(self) -> dict[str, object]:
        """The outcome as JSON-ready data (the ``drain`` member of ``--json`` outputs)."""
        return {
            "tsvs": list(self.tsvs),
            "generation": self.generation,
            "instances": list(self.instances),
            "waited_s": round(self.waited_s, 3),
            "forced": self.forced,
        }


def holders(
    instances: list[InstanceInfo], need: Mapping[str, int]
) -> list[tuple[InstanceInfo, str]]:
    """The instances that still hold one of ``need``'s versions, each with the reason.

    Args:
        instances: Instances as read (stale ones hold nothing).
        need: TSV → the generation that marked it retiring.

    Returns:
        ``(instance, "tsv:…: not yet loaded")`` pairs, in the order given.
    """
    result = []
    for instance in instances:
        reasons = [
            f"{tsv}: {why}"
            for tsv, generation in sorted(need.items())
            if (why := instance.holds(tsv, generation)) is not None
        ]
        if reasons:
            result.append((instance, "; ".join(reasons)))
    return result


def wait_for_drain(
    instances: Instances,
    need: Mapping[str, int],
    *,
    timeout: float,
    poll_interval: float,
    progress: DrainProgress | None = None,
    abandon: Callable[[], bool] | None = None,
) -> DrainOutcome | None:
    """Wait, without any lock, until no live instance holds a version of ``need``.

    Looks quickly at first (an idle instance acknowledges within a few milliseconds of the
    change reaching it), then every ``poll_interval`` at most a quarter second apart.

    Args:
        instances: The facade's instances part.
        need: TSV → the generation that marked it retiring.
        timeout: Seconds to wait at most.
        poll_interval: The longest pause between two looks (capped at 0.25 s).
        progress: Told, at each look that finds holders, who still holds what.
        abandon: Asked at each look that finds holders: True stops the wait (another run
            activated or deactivated a version meanwhile; the caller decides again).

    Returns:
        The outcome, or None when abandoned.

    Raises:
        DrainTimeoutError: When instances still hold a version after ``timeout`` seconds.
    """
    started = time.monotonic()
    waited_for: dict[str, None] = {}
    pause = min(_FIRST_LOOK_S, poll_interval)
    longest = min(poll_interval, _MAX_LOOK_S)
    tsvs = tuple(sorted(need))
    generation = max(need.values(), default=0)
    while True:
        live = instances.live()
        if not waited_for:  # every instance alive at the start had to acknowledge
            waited_for.update((i.name, None) for i in live)
        pending = holders(live, need)
        waited_for.update((i.name, None) for i, _ in pending)
        elapsed = time.monotonic() - started
        if not pending:
            return DrainOutcome(tsvs, generation, tuple(waited_for), elapsed)
        if elapsed >= timeout:
            raise DrainTimeoutError(
                tsvs, [f"{i.name}: {why}" for i, why in pending], waited_s=elapsed
            )
        if progress is not None:
            progress(elapsed, pending)
        if abandon is not None and abandon():
            return None
        time.sleep(max(0.0, min(pause, timeout - elapsed)))
        pause = min(pause * 2, longest)
