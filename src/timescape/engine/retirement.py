"""Two-phase retirement: mark versions retiring, drain every live instance, then roll back.

Phase (a), under the lock: plan the deactivation from fresh state (so a protected tag or an
irreversible schema is refused before anything changes); if live instances are registered, one
transaction marks the versions *retiring* at generation G and announces it. Phase (b), with no
lock held: wait until every live instance has loaded G and finished its in-flight requests on
them (:mod:`timescape.engine.drain`). Phase (c), under the lock again: re-plan from fresh state
and run the smart rollback exactly as a one-phase deactivation would, which also clears the mark.

A crash or a drain timeout between the phases leaves the versions retiring: not routed, their
schemas still applied and protected by the gate. The next deactivation finds the mark and
continues from (b); an activation of such a version clears the mark instead. Two deactivations
racing both drain and then serialise on the lock in (c): the second finds the version inactive
and does nothing. With no live instance registered, (a) costs one read of the instances table
and the deactivation runs as it always did.

Added in 0.2.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from timescape._faults import fault_point
from timescape.engine.drain import DrainOutcome, DrainProgress, holders, wait_for_drain
from timescape.engine.instances import Instances
from timescape.errors import RetirementCancelledError
from timescape.model.plan import Plan
from timescape.model.state import StateSnapshot
from timescape.reports import OperationResult
from timescape.store.state import StateStore

__all__ = ["NO_DRAIN", "Retirement"]

NO_DRAIN = "drain skipped (--no-drain)"
"""The note a deactivation without a drain leaves in ``Plan.forced`` and the event log."""

Work = Callable[[StateSnapshot], OperationResult]


@dataclass(slots=True)
class _Run:
    """What one retirement carries from phase to phase."""

    plan_for: Callable[[StateSnapshot], Plan]
    drain: bool
    marked: set[str] = field(default_factory=set)
    """Versions this run marked retiring (if one is no longer marked, it was activated again)."""
    need: dict[str, int] = field(default_factory=dict)
    """Versions to drain next, with the generation the instances must load."""
    outcome: DrainOutcome | None = None


class Retirement:
    """Runs deactivating plans in two phases around a drain (owned by the facade)."""

    def __init__(
        self,
        *,
        instances: Instances,
        store: Callable[[], StateStore],
        locked: Callable[[Work], OperationResult],
        execute: Callable[[Plan, StateSnapshot], OperationResult],
        actor: str,
    ) -> None:
        """Bind to the facade's parts.

        Args:
            instances: The serving-instances part.
            store: Returns the state store.
            locked: Runs work under the lock on freshly read state (the facade's runner).
            execute: Executes a plan (the facade's executor entry).
            actor: Who acts, for the event log.
        """
        self.instances = instances
        self._store = store
        self._locked = locked
        self._execute = execute
        self.actor = actor

    def run(
        self,
        plan_for: Callable[[StateSnapshot], Plan],
        *,
        drain: bool = True,
        timeout: float | None = None,
        progress: DrainProgress | None = None,
    ) -> OperationResult:
        """Execute the plan ``plan_for`` makes, draining the versions it deactivates first.

        ``plan_for`` is called under the lock on fresh state, once per phase; what it returns in
        the last phase is what runs.

        Args:
            plan_for: Plans the operation from a snapshot (may raise to refuse it).
            drain: False to skip the drain (``--no-drain``; logged as forced).
            timeout: Seconds the drain may take (default: the ``drain_timeout`` setting).
            progress: Told who still holds what while draining.

        Returns:
            The result, with ``drain`` set when instances were waited for or the drain skipped.

        Raises:
            DrainTimeoutError: Nothing rolled back; the versions stay retiring.
            RetirementCancelledError: A version was activated again while draining.
        """
        settings = self.instances.settings
        budget = settings.drain_timeout if timeout is None else timeout
        deadline = time.monotonic() + budget
        run = _Run(plan_for, drain=drain)
        started = time.monotonic()
        while True:
            run.need = {}
            result = self._locked(lambda snapshot: self._phase(run, snapshot))
            if not run.need:
                if run.outcome is None:
                    return result
                return replace(result, duration_ms=int((time.monotonic() - started) * 1000))
            remaining = max(0.0, deadline - time.monotonic())
            outcome = wait_for_drain(
                self.instances,
                run.need,
                timeout=remaining,
                poll_interval=settings.poll_interval,
                progress=progress,
                abandon=self._abandon(run.need),
            )
            if outcome is None:
                continue  # another run changed a mark: decide again under the lock
            run.outcome = replace(outcome, waited_s=budget - remaining + outcome.waited_s)

    def _abandon(self, need: dict[str, int]) -> Callable[[], bool]:
        """A check that another run activated or deactivated a version being drained.

        It costs one generation read per look, and one more read when the generation moved.
        """
        seen = [self.instances.generation()]
        tsvs = sorted(need)

        def changed() -> bool:
            generation = self.instances.generation()
            if generation == seen[0]:
                return False
            seen[0] = generation
            return self.instances.retiring_marks(tsvs) != need

        return changed

    def _phase(self, run: _Run, snapshot: StateSnapshot) -> OperationResult:
        """One pass under the lock: execute the plan, or mark what still needs draining."""
        plan = run.plan_for(snapshot)
        tsvs = [t for t in plan.deactivate if snapshot.is_active(t)]
        if plan.is_noop or not tsvs:
            return self._execute(plan, snapshot)
        if not run.drain:
            plan = replace(plan, forced=(*plan.forced, NO_DRAIN))
            skipped = DrainOutcome(tuple(tsvs), snapshot.generation, forced=True)
            return replace(self._execute(plan, snapshot), drain=skipped)
        rows = snapshot.versions
        cancelled = [t for t in tsvs if t in run.marked and not rows[t].is_retiring]
        if cancelled:
            raise RetirementCancelledError(cancelled)
        # Retiring when this run saw them (marked by it or by a run it continues): if one is
        # routed again later, an activation cancelled the retirement; it is not marked again.
        run.marked.update(t for t in tsvs if rows[t].is_retiring)
        live = self.instances.live()
        if live:
            marks = {t: rows[t].retiring_generation for t in tsvs if rows[t].is_retiring}
            unmarked = [t for t in tsvs if not rows[t].is_retiring]
            if unmarked:
                generation = self._mark(unmarked, plan.operation, len(live))
                fault_point("after_retiring")
                run.marked.update(unmarked)
                marks.update(dict.fromkeys(unmarked, generation))
            # Decided here, under the lock, on instance rows read under it: a drain that ended
            # while an instance's heartbeats were held up (and came back behind) waits again.
            pending = holders(live, {t: g for t, g in marks.items() if g is not None})
            run.need = {
                t: g
                for t, g in marks.items()
                if g is not None and any(i.holds(t, g) is not None for i, _ in pending)
            }
            if run.need:
                waiting = Plan(plan.operation, plan.target)
                return OperationResult(plan.operation, plan.target, waiting)
            if run.outcome is None and marks:  # every instance had let go already
                generation = max(g for g in marks.values() if g is not None)
                names = tuple(i.name for i in live)
                run.outcome = DrainOutcome(tuple(sorted(marks)), generation, names)
        outcome = run.outcome
        if outcome is not None:
            self._record_drain(outcome)
        result = self._execute(plan, snapshot)
        return result if outcome is None else replace(result, drain=outcome)

    def _mark(self, tsvs: list[str], operation: str, instances: int) -> int:
        """Mark versions retiring in one transaction; return the generation it commits at."""
        store = self._store()
        backend = store.backend
        backend.begin()
        try:
            generation = store.generation() + 1
            for tsv in tsvs:
                store.set_version_retiring(tsv, generation=generation)
                store.record_event(
                    "version_retiring",
                    tsv,
                    actor=self.actor,
                    detail={
                        "generation": generation,
                        "operation": operation,
                        "instances": instances,
                    },
                )
            store.bump_generation()
            backend.commit()
        except BaseException:
            backend.rollback()
            raise
        return generation

    def _record_drain(self, outcome: DrainOutcome) -> None:
        """Log the drain that just ended (its own small transaction, before the rollback)."""
        store = self._store()
        backend = store.backend
        backend.begin()
        try:
            for tsv in outcome.tsvs:
                store.record_event(
                    "version_drained",
                    tsv,
                    actor=self.actor,
                    duration_ms=int(outcome.waited_s * 1000),
                    detail=outcome.as_dict(),
                )
            backend.commit()
        except BaseException:
            backend.rollback()
            raise

    def reactivate(self, tsv: str) -> OperationResult:
        """Route a retiring version again (its deactivation is cancelled), under the lock.

        Args:
            tsv: A retiring version.

        Returns:
            The result of the activation.
        """
        store = self._store()
        backend = store.backend
        backend.begin()
        try:
            store.set_version_retiring(tsv, generation=None)
            store.record_event(
                "version_activated", tsv, actor=self.actor, detail={"cancelled_retirement": True}
            )
            store.bump_generation()
            backend.commit()
        except BaseException:
            backend.rollback()
            raise
        note = f"{tsv} was retiring; it is routed again (its deactivation is cancelled)"
        return OperationResult(
            "activate", tsv, Plan("activate", tsv, activate=(tsv,), notes=(note,))
        )
