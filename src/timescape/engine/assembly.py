"""The facade's parts, built and wired together once: who gets which collaborator.

The :class:`~timescape.Timescape` facade is the public surface (its methods are thin delegations);
:class:`Parts` is the wiring behind it, kept apart so each file has one job. Every part is handed
the collaborators it uses, never the facade, and the three that a given command may not need
(the changes, the reports, the state-only changes) are built on first use: a listing never imports
the changing machinery, and a process applying schemas never imports the reports (issue 14: start
time and resident memory).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from timescape.engine.callbacks import Callbacks
from timescape.engine.connection import Connection
from timescape.engine.definitions import Definitions
from timescape.engine.hotpath import HotPath
from timescape.engine.instances import Instances, ServingSettings
from timescape.engine.runner import Runner
from timescape.model.plan import Judge, declared_judge
from timescape.store.base import actor

if TYPE_CHECKING:
    from timescape.engine.bookkeeping import Bookkeeping
    from timescape.engine.changes import Changes
    from timescape.engine.inspection import Inspection
    from timescape.engine.retirement import Retirement
    from timescape.model.catalog import VersionSpec
    from timescape.model.schema import SchemaVersion
    from timescape.model.usage import UsagePolicy
    from timescape.store.urls import DatabaseURL

__all__ = ["Parts"]


class Parts:
    """What one facade owns: the connection, definitions, callbacks, hot path, runner, instances.

    Attributes:
        mutex: Serialises the facade's operations in this process (the database lock does across
            processes).
        actor: Who is acting, recorded with every event.
        connection: The backend, the state store and their error boundary.
        definitions: The registered schemas and versions.
        callbacks: The registered callbacks.
        hot: The in-memory view the hot path answers from.
        runner: The locked run of a change.
        instances: The serving instances and the change probe.
    """

    def __init__(
        self,
        url: DatabaseURL,
        *,
        schemas: Iterable[SchemaVersion],
        versions: Iterable[VersionSpec],
        lock_timeout: float,
        ddl_lock_timeout: float,
        migration_timeout: float,
        table_prefix: str,
        application_name: str,
        serving: ServingSettings,
        infer_compatibility: Callable[[], bool],
        policy: Callable[[], UsagePolicy],
    ) -> None:
        """Build the parts that every command uses; the others wait for their first use.

        Args:
            url: The database.
            schemas: Schema versions to register.
            versions: Version declarations to register.
            lock_timeout: Seconds to wait for the database lock.
            ddl_lock_timeout: Seconds a DDL statement may wait for a table lock.
            migration_timeout: Seconds each schema may take.
            table_prefix: Prefix of the state tables (validated).
            application_name: Name shown to the server.
            serving: Heartbeat, staleness, poll and drain settings.
            infer_compatibility: Asked at each gate: judge undeclared schemas by their SQL?
            policy: The hot/cold thresholds the reports classify versions by (read per report).
        """
        mutex = self.mutex = threading.RLock()
        self.actor = actor()
        conn = self.connection = Connection(
            url,
            lock_timeout=lock_timeout,
            ddl_lock_timeout=ddl_lock_timeout,
            migration_timeout=migration_timeout,
            table_prefix=table_prefix,
            application_name=application_name,
        )
        self.definitions = Definitions(
            schemas, versions, mutex=mutex, on_change=self._catalog_changed
        )
        self.callbacks = Callbacks()
        self.hot = HotPath(conn, self.definitions, mutex=mutex)
        self.runner = Runner(
            conn,
            self.definitions,
            self.hot,
            mutex=mutex,
            actor=self.actor,
            migration_timeout=migration_timeout,
            emit=self.callbacks.emit,
        )
        self.instances = Instances(
            store=lambda: conn.store, mutex=mutex, boundary=conn.boundary, settings=serving
        )
        self._infer_compatibility = infer_compatibility
        self._policy = policy
        self._changes: Changes | None = None
        self._inspection: Inspection | None = None
        self._bookkeeping: Bookkeeping | None = None

    @property
    def changes(self) -> Changes:
        """Activate, deactivate, apply, roll back: built on the first change (reads never are)."""
        changes = self._changes
        if changes is None:
            with self.mutex:  # one Changes per facade, whichever thread asks first
                changes = self._changes = self._changes or self._build_changes()
        return changes

    @property
    def inspection(self) -> Inspection:
        """The reports (listings, stats, verify), built on the first: applying never imports them.

        Issue 14: every module loaded stays resident; the listings, the verify report and their
        builders are about 5 % of the bytecode a process applying schemas held.
        """
        inspection = self._inspection
        if inspection is None:
            with self.mutex:
                inspection = self._inspection = self._inspection or self._build_inspection()
        return inspection

    @property
    def bookkeeping(self) -> Bookkeeping:
        """The state-only changes (tags, verdicts, adoption), built on the first one.

        Applying schemas never runs them, and every module loaded stays resident (issue 14).
        """
        bookkeeping = self._bookkeeping
        if bookkeeping is None:
            from timescape.engine.bookkeeping import Bookkeeping  # noqa: PLC0415 - see above

            with self.mutex:
                bookkeeping = self._bookkeeping = self._bookkeeping or Bookkeeping(
                    self.connection, self.definitions, locked=self.runner.locked, actor=self.actor
                )
        return bookkeeping

    def _build_inspection(self) -> Inspection:
        from timescape.engine.inspection import Inspection  # noqa: PLC0415 - see inspection

        return Inspection(
            self.connection,
            self.definitions,
            self.hot,
            mutex=self.mutex,
            judge=self.judge,
            recovery=self.runner.recovery,
            policy=self._policy,
        )

    def _build_changes(self) -> Changes:
        from timescape.engine.changes import Changes  # noqa: PLC0415 - see changes

        conn, runner, instances, who = self.connection, self.runner, self.instances, self.actor

        def retirement() -> Retirement:
            from timescape.engine.retirement import Retirement  # noqa: PLC0415 - deactivating

            return Retirement(
                instances=instances,
                store=lambda: conn.store,
                locked=lambda work: runner.locked(work, dry_run=False),
                execute=runner.execute,
                actor=who,
            )

        return Changes(
            conn,
            self.definitions,
            self.hot,
            runner,
            retirement,
            judge=self.judge,
            emit=self.callbacks.emit,
        )

    def _catalog_changed(self) -> None:
        # The definitions changed: the view indexed the previous catalog.
        self.hot.invalidate()

    def judge(self) -> Judge:
        """The compatibility judge for the next gate: declared only, or inferred from the SQL."""
        if not self._infer_compatibility():
            return declared_judge
        catalog = self.definitions.catalog
        backend = self.connection.backend
        dialect, split = backend.dialect, backend.split
        built: list[Judge] = []

        def judge(schema: SchemaVersion) -> tuple[bool, str]:
            # The gate asks only when a live version could break: a first activation, or a
            # chain applied with nothing live, never loads the analysis (issue 14: memory).
            if not built:
                from timescape.compat import inferred_judge  # noqa: PLC0415 - see above

                built.append(inferred_judge(catalog, dialect, split))
            return built[0](schema)

        return judge
