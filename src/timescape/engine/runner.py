"""The locked runner: lock → read state → plan → apply/rollback → record, for every change.

Every changing operation takes the database lock, bootstraps the state tables inside it, re-reads
the state *after* the lock is held, and only then plans, so the gate and the usage counts are never
decided on what another process changed while this one waited. After the change the hot path's
view is rebuilt from what was committed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from timescape._faults import fault_point
from timescape._log import LazyLogger
from timescape.engine.connection import Connection
from timescape.engine.definitions import Definitions
from timescape.engine.hotpath import HotPath
from timescape.errors import DefinitionError, StateError
from timescape.execution.recovery import Recovery
from timescape.model.plan import Plan
from timescape.model.state import StateSnapshot
from timescape.reports import OperationResult

if TYPE_CHECKING:
    from timescape.store.state import StateStore

__all__ = ["Runner", "Work"]

logger = LazyLogger("timescape")

Work = Callable[[StateSnapshot], OperationResult]
"""A change planned and run from the state read under the lock."""


class Runner:
    """Runs the facade's changes under the database lock and executes their plans."""

    def __init__(
        self,
        connection: Connection,
        definitions: Definitions,
        hot: HotPath,
        *,
        mutex: threading.RLock,
        actor: str,
        migration_timeout: float,
        emit: Callable[[str, dict[str, Any]], None],
    ) -> None:
        """Wire the runner to the facade's parts.

        Args:
            connection: The backend and state store.
            definitions: The registered definitions (their catalog is what plans are made from).
            hot: The hot path, whose view is rebuilt after each change.
            mutex: The facade's in-process mutex.
            actor: Who is recorded as making the changes.
            migration_timeout: Seconds each schema may take.
            emit: Tells the callbacks about committed changes.
        """
        self._connection = connection
        self._definitions = definitions
        self._hot = hot
        self._mutex = mutex
        self._actor = actor
        self._migration_timeout = migration_timeout
        self._emit = emit

    def locked(self, work: Work, *, dry_run: bool) -> OperationResult:
        """Run ``work`` on the state read under the database lock (or, dry, without the lock).

        Args:
            work: Plans and runs the change from the snapshot.
            dry_run: Read without the lock and change nothing.

        Returns:
            The result, with its duration.
        """
        started = time.monotonic()
        catalog = self._definitions.catalog
        connection = self._connection
        with self._mutex, connection.boundary():
            backend = connection.backend
            backend.connect()
            if dry_run:
                connection.store.check_readable()
                snapshot = self.recovery().dry_run_snapshot()
                result = work(snapshot)
                return replace(result, dry_run=True, duration_ms=_ms(started))
            backend.acquire_lock()
            after: StateSnapshot | None = None
            try:
                fault_point("after_lock")
                store = connection.store
                store.ensure()
                recovery = self.recovery()
                snapshot = recovery.upgrade_checksums(recovery.recover(store.read(ensured=True)))
                result = work(snapshot)
                after = self._state_after(store)
            finally:
                if backend.is_connected:
                    backend.release_lock()
            self._hot.rebuild_view(catalog, after)
            return replace(result, duration_ms=_ms(started))

    def _state_after(self, store: StateStore) -> StateSnapshot | None:
        """The state the change left, read while the lock is still held (None: read it later).

        Under the lock no other writer can have committed since, so this is one query (the
        generation) on the cache the change rolled forward, with no snapshot transaction and no
        catalog lookups; after the release, the view would pay both.
        """
        if not self._connection.backend.lock_held:
            return None  # lost with the connection: the view reads it afresh
        try:
            return store.read(ensured=True)
        except StateError:
            return None

    def execute(self, plan: Plan, snapshot: StateSnapshot) -> OperationResult:
        """Run a plan's steps (the executor records each), after refusing bad statements.

        Args:
            plan: The plan.
            snapshot: The state it was planned from.

        Returns:
            What was done.
        """
        self.check_statements(plan)
        if plan.is_noop:
            return OperationResult(plan.operation, plan.target, plan)
        if plan.forced:
            logger.warning("forced: %s", "; ".join(plan.forced))
        for action in plan.actions:
            if action.kind == "apply" and not action.schema.is_reversible:
                logger.warning(
                    "schema %s has no rollback scripts: once applied it cannot be rolled back "
                    "(deactivating its versions will keep it)",
                    action.name,
                )
        # Imported here: read-only commands (list, status, stats) never run a plan, and the
        # executor pulls in the interrupt machinery (socket, selectors) at import.
        from timescape.execution.executor import Executor  # noqa: PLC0415

        executor = Executor(
            self._connection.backend,
            self._connection.store,
            actor=self._actor,
            migration_timeout=self._migration_timeout,
            emit=self._emit,
        )
        outcomes = executor.run(plan, self._definitions.catalog, snapshot)
        return OperationResult(plan.operation, plan.target, plan, tuple(outcomes))

    def plan_only(self, plan: Plan) -> OperationResult:
        """The dry-run result of a plan (its statements checked, nothing run)."""
        self.check_statements(plan)
        return OperationResult(plan.operation, plan.target, plan, dry_run=True)

    def check_statements(self, plan: Plan) -> None:
        """Refuse statements that would end or escape the schema transaction, before any runs.

        Raises:
            DefinitionError: Naming the statement, its file and line.
        """
        backend = self._connection.backend
        for action in plan.actions:
            if not action.schema.transactional:
                continue
            for step in action.steps:
                for statement in step.statements:
                    reason = backend.transaction_breaker(statement.text)
                    if reason is not None:
                        raise DefinitionError(
                            f"{reason}: {statement.text[:80]!r}. Move it to a schema with "
                            "transactional = false",
                            file=step.file,
                            key=f"{action.name}.step{step.index}",
                            line=statement.line if step.file else None,
                        )

    def recovery(self) -> Recovery:
        """Recovery over the current definitions: dead runs, effective statuses, checksums."""
        return Recovery(self._connection.store, self._definitions.catalog, actor=self._actor)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
