"""The four planned changes: activate, deactivate, apply a schema, roll a schema back.

Each resolves its target, plans from the state read under the database lock (never from what was
read before another process's run finished) and hands the plan to the runner. Deactivations and
forced rollbacks go through the retirement, which drains the serving instances first
(:mod:`timescape.engine.retirement`); a dry run plans under no lock and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from timescape.engine.connection import Connection
from timescape.engine.definitions import Definitions
from timescape.engine.hotpath import HotPath
from timescape.engine.runner import Runner
from timescape.errors import DrainTimeoutError
from timescape.model.plan import Judge, Plan
from timescape.model.plan.planner import (
    plan_activation,
    plan_deactivation,
    plan_schema_apply,
    plan_schema_rollback,
)
from timescape.model.state import StateSnapshot
from timescape.reports import OperationResult

if TYPE_CHECKING:
    from timescape.engine.drain import DrainProgress
    from timescape.engine.retirement import Retirement

__all__ = ["Changes"]


class Changes:
    """Plans and runs :class:`~timescape.Timescape`'s activate, deactivate, apply and rollback."""

    def __init__(
        self,
        connection: Connection,
        definitions: Definitions,
        hot: HotPath,
        runner: Runner,
        retirement: Callable[[], Retirement],
        *,
        judge: Callable[[], Judge],
        emit: Callable[[str, dict[str, Any]], None],
    ) -> None:
        """Wire the changes to the facade's parts.

        Args:
            connection: The backend (its statement splitter plans the steps).
            definitions: The definitions plans are made from.
            hot: The hot path (resolves refs before and under the lock).
            runner: Runs a change under the lock and executes its plan.
            retirement: Builds the two-phase deactivation that drains the instances first, on
                the first deactivation: an activation never loads it (issue 14: every module
                loaded stays resident).
            judge: The compatibility judge of the gate.
            emit: Tells the callbacks how a drain went (``on_version_drained``).
        """
        self._connection = connection
        self._definitions = definitions
        self._hot = hot
        self._runner = runner
        self._build_retirement = retirement
        self._built_retirement: Retirement | None = None
        self._judge = judge
        self._emit = emit

    def activate(
        self, ref: str | None, handler: str | None, *, force: bool, dry_run: bool
    ) -> OperationResult:
        """Make a version live; a retiring one is simply routed again (nothing to apply).

        Under the database lock: resolve the ref, plan from freshly read state, run the
        compatibility gate, apply each missing schema (one transaction each where the database
        allows), mark the version live, record events, then fire callbacks.
        """
        guess = self._hot.resolve_fresh(ref, handler)

        def work(snapshot: StateSnapshot) -> OperationResult:
            tsv = self._hot.resolve_locked(ref, handler, guess, snapshot)
            row = snapshot.versions.get(tsv)
            if row is not None and row.is_retiring and not dry_run:
                return self._retirement().reactivate(tsv)
            plan = plan_activation(
                self._definitions.catalog,
                snapshot,
                tsv,
                self._connection.backend.split,
                force=force,
                judge=self._judge(),
            )
            return self._run(plan, snapshot, dry_run=dry_run)

        return self._runner.locked(work, dry_run=dry_run)

    def deactivate(
        self,
        ref: str,
        handler: str | None,
        *,
        protected_tags: Sequence[str],
        rollback: bool,
        force: bool,
        dry_run: bool,
        drain: bool,
        timeout: float | None,
        progress: DrainProgress | None,
    ) -> OperationResult:
        """Take a version out of service: marked retiring, drained, then rolled back.

        Two phases when serving instances are registered: one transaction marks the version
        *retiring* (no instance routes a new request to it), then, holding no lock, the
        retirement waits until every live instance has loaded that state and finished its
        requests on the version, and only then rolls back. With no live instance it is one phase.
        """
        guess = self._hot.resolve_fresh(ref, handler)

        def plan_for(snapshot: StateSnapshot) -> Plan:
            index = self._hot.index_for(snapshot)
            tsv = self._hot.resolve_locked(ref, handler, guess, snapshot, index=index)
            return plan_deactivation(
                self._definitions.catalog,
                snapshot,
                tsv,
                self._connection.backend.split,
                tags=index.tags_of(tsv),
                protected_tags=tuple(protected_tags),
                rollback=rollback,
                force=force,
            )

        return self._retire(
            plan_for, dry_run=dry_run, drain=drain, timeout=timeout, progress=progress
        )

    def apply_schema(self, name: str, *, force: bool, dry_run: bool) -> OperationResult:
        """Apply a schema and its missing ancestors, gated like an activation."""

        def work(snapshot: StateSnapshot) -> OperationResult:
            plan = plan_schema_apply(
                self._definitions.catalog,
                snapshot,
                name,
                self._connection.backend.split,
                force=force,
                judge=self._judge(),
            )
            return self._run(plan, snapshot, dry_run=dry_run)

        return self._runner.locked(work, dry_run=dry_run)

    def rollback_schema(
        self,
        name: str,
        *,
        force: bool,
        dry_run: bool,
        drain: bool,
        timeout: float | None,
        progress: DrainProgress | None,
    ) -> OperationResult:
        """Roll back a schema and its applied descendants.

        With force, the live versions that need it are deactivated: drained first, like any
        deactivation, so no instance still serves them when their schema goes.
        """

        def plan_for(snapshot: StateSnapshot) -> Plan:
            return plan_schema_rollback(
                self._definitions.catalog,
                snapshot,
                name,
                self._connection.backend.split,
                force=force,
            )

        return self._retire(
            plan_for, dry_run=dry_run, drain=drain, timeout=timeout, progress=progress
        )

    def _retirement(self) -> Retirement:
        # Built under the lock (changes run one at a time), so no two threads build it.
        retirement = self._built_retirement
        if retirement is None:
            retirement = self._built_retirement = self._build_retirement()
        return retirement

    def _run(self, plan: Plan, snapshot: StateSnapshot, *, dry_run: bool) -> OperationResult:
        return self._runner.plan_only(plan) if dry_run else self._runner.execute(plan, snapshot)

    def _retire(
        self,
        plan_for: Callable[[StateSnapshot], Plan],
        *,
        dry_run: bool,
        drain: bool,
        timeout: float | None,
        progress: DrainProgress | None,
    ) -> OperationResult:
        if dry_run:
            return self._runner.locked(lambda s: self._runner.plan_only(plan_for(s)), dry_run=True)
        try:
            result = self._retirement().run(
                plan_for, drain=drain, timeout=timeout, progress=progress
            )
        except DrainTimeoutError as exc:
            drained = {"tsvs": exc.tsvs, "waited_s": exc.waited_s, "drained": False}
            self._emit("on_version_drained", drained)
            raise
        outcome = result.drain
        if outcome is not None and not outcome.forced:
            drained = {"tsvs": list(outcome.tsvs), "waited_s": outcome.waited_s, "drained": True}
            self._emit("on_version_drained", drained)
        return result
