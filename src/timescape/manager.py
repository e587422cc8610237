"""The :class:`Timescape` facade: lock → read state → plan → apply/rollback → record → callbacks.

Every changing operation takes the database lock, bootstraps the state tables inside it, re-reads
the state *after* the lock is held, and only then plans, so the gate and the usage counts are never
decided on what another process changed while this one waited. The hot path (``resolve``,
``is_schema_active``, ``schema_usage``) answers from an immutable in-memory view that
:meth:`Timescape.refresh` swaps atomically when the state's generation counter moves.

This module holds the connection and the planned changes (activate, deactivate, apply, roll
back); the facade inherits the rest: definitions (:mod:`timescape.definitions`), callbacks
(:mod:`timescape.callbacks`), the hot path (:mod:`timescape.hotpath`), reports and ``verify``
(:mod:`timescape.inspection`), and state-only changes such as tags
(:mod:`timescape.bookkeeping`).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from timescape._faults import fault_point
from timescape.bookkeeping import Bookkeeping
from timescape.callbacks import CALLBACKS, Callbacks
from timescape.definitions import Definitions
from timescape.engine.drain import DrainProgress
from timescape.engine.instances import (
    DEFAULT_DRAIN_TIMEOUT,
    DEFAULT_HEARTBEAT_INTERVAL,
    DEFAULT_POLL_INTERVAL,
    Instances,
    ServingSettings,
)
from timescape.engine.retirement import Retirement
from timescape.errors import (
    ConnectionFailedError,
    DefinitionError,
    DrainTimeoutError,
    InputError,
    StateError,
    TimescapeError,
)
from timescape.hotpath import HotPath
from timescape.inspection import Inspection
from timescape.model.catalog import VersionSpec
from timescape.model.instance import InstanceInfo
from timescape.model.plan import (
    Judge,
    Plan,
    declared_judge,
    plan_activation,
    plan_deactivation,
    plan_schema_apply,
    plan_schema_rollback,
)
from timescape.model.schema import SchemaVersion
from timescape.model.state import StateSnapshot
from timescape.model.usage import LifecycleSettings
from timescape.recovery import Recovery
from timescape.reports import OperationResult
from timescape.store.backends import create_backend
from timescape.store.base import Backend, ErrorKind, actor
from timescape.store.state import StateStore, validate_prefix
from timescape.store.urls import DatabaseURL, parse_url, url_text

if TYPE_CHECKING:
    from timescape.engine.adoption import AdoptionReport

__all__ = ["CALLBACKS", "DEFAULT_PROTECTED_TAGS", "Timescape"]

logger = logging.getLogger("timescape")

DEFAULT_PROTECTED_TAGS = ("stable", "production", "latest")


class Timescape(Definitions, Callbacks, HotPath, Inspection, Bookkeeping):
    """Versions a database schema together with the API versions of a service.

    Thread-safe: operations on one instance are serialised by an in-process mutex, and across
    processes by the database lock. Create one instance per database and keep it.
    """

    def __init__(
        self,
        database: str | DatabaseURL | Any = "sqlite:///timescape.db",
        *,
        schemas: Iterable[SchemaVersion] = (),
        versions: Iterable[VersionSpec] = (),
        migration_timeout: float = 30.0,
        lock_timeout: float = 30.0,
        ddl_lock_timeout: float = 5.0,
        rollback_on_deactivate: bool = True,
        protected_tags: Collection[str] = DEFAULT_PROTECTED_TAGS,
        table_prefix: str = "timescape_",
        application_name: str = "timescape",
        base_dir: Path | None = None,
        infer_compatibility: bool = True,
        lifecycle: LifecycleSettings | None = None,
        heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL,
        stale_after: float | None = None,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        drain_timeout: float = DEFAULT_DRAIN_TIMEOUT,
    ) -> None:
        """Configure Timescape; nothing connects until the first operation.

        Args:
            database: Database URL (``sqlite:///app.db``, ``postgresql://…``, ``mysql://…``,
                SQLAlchemy's ``postgresql+psycopg2://…`` forms), or a SQLAlchemy ``URL`` object.
            schemas: Schema versions to register.
            versions: Version declarations to register.
            migration_timeout: Seconds each schema may take; cancelled on the server after.
            lock_timeout: Seconds to wait for another Timescape process to finish.
            ddl_lock_timeout: Seconds a DDL statement may wait for a table lock held by the app.
            rollback_on_deactivate: Roll back schemas no live version needs on deactivation.
            protected_tags: Tags whose versions need ``force`` to deactivate.
            table_prefix: Prefix of the state tables.
            application_name: Name shown to the server (``pg_stat_activity``, process list).
            base_dir: Folder for relative SQLite paths (the project folder).
            infer_compatibility: Judge undeclared schemas by analysing their SQL (needs sqlglot).
            lifecycle: Hot/cold thresholds and automatic retirement (``[lifecycle]``; default
                hot within 1 hour, cold after 30 days, no automatic retirement).
            heartbeat_interval: Seconds between a serving instance's heartbeats.
            stale_after: Seconds without a heartbeat after which an instance counts as gone
                (default: three heartbeat intervals).
            poll_interval: Seconds between change probes where there is no ``NOTIFY``.
            drain_timeout: Seconds a deactivation waits for the instances to drain a version.

        Raises:
            InputError: On a bad URL, prefix or timeout.

        Changed in 0.2: ``heartbeat_interval``, ``stale_after``, ``poll_interval`` and
        ``drain_timeout``.
        """
        self.url = (
            database
            if isinstance(database, DatabaseURL)
            else parse_url(url_text(database), base_dir=base_dir)
        )
        for label, value in (
            ("migration_timeout", migration_timeout),
            ("lock_timeout", lock_timeout),
            ("ddl_lock_timeout", ddl_lock_timeout),
        ):
            if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                raise InputError(f"{label} must be a positive number of seconds, not {value!r}")
        self.migration_timeout = float(migration_timeout)
        self.lock_timeout = float(lock_timeout)
        self.ddl_lock_timeout = float(ddl_lock_timeout)
        self.rollback_on_deactivate = rollback_on_deactivate
        self.protected_tags = tuple(protected_tags)
        self.table_prefix = validate_prefix(table_prefix)
        self.application_name = application_name
        self.infer_compatibility = infer_compatibility
        self.lifecycle = lifecycle or LifecycleSettings()
        self.usage_policy = self.lifecycle.policy
        Definitions.__init__(self, schemas, versions)
        self._backend: Backend | None = None
        self._store: StateStore | None = None
        Callbacks.__init__(self)
        HotPath.__init__(self)
        self._actor = actor()
        self.serving = ServingSettings(
            heartbeat_interval=heartbeat_interval,
            stale_after=stale_after,
            poll_interval=poll_interval,
            drain_timeout=drain_timeout,
        )
        self._instances = Instances(
            store=lambda: self.store,
            mutex=self._mutex,
            boundary=self._store_boundary,
            settings=self.serving,
        )
        self._retirement = Retirement(
            instances=self._instances,
            store=lambda: self.store,
            locked=lambda work: self._locked(work, dry_run=False),
            execute=self._execute,
            actor=self._actor,
        )

    def _catalog_changed(self) -> None:
        # Definitions' hook, overridden here because Definitions precedes HotPath in the MRO.
        self._view = None

    # -- connection ---------------------------------------------------------------------------

    @property
    def backend(self) -> Backend:
        """The backend (connects lazily)."""
        if self._backend is None:
            self._backend = create_backend(
                self.url,
                lock_timeout=self.lock_timeout,
                ddl_lock_timeout=self.ddl_lock_timeout,
                migration_timeout=self.migration_timeout,
                table_prefix=self.table_prefix,
                application_name=self.application_name,
            )
        return self._backend

    @property
    def store(self) -> StateStore:
        """The state store."""
        if self._store is None:
            self._store = StateStore(self.backend)
        return self._store

    def close(self) -> None:
        """Flush request counters (best effort) and close the connection."""
        with self._mutex:
            if self._requests and self._backend is not None:
                try:
                    self.flush_usage()
                except TimescapeError:
                    logger.warning("could not flush request counters on close", exc_info=True)
            if self._backend is not None:
                self._backend.close()

    def __enter__(self) -> Self:
        """Use as a context manager; closes on exit."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close."""
        self.close()

    # -- locked operations --------------------------------------------------------------------

    def _locked(
        self, work: Callable[[StateSnapshot], OperationResult], *, dry_run: bool
    ) -> OperationResult:
        started = time.monotonic()
        catalog = self.catalog
        with self._mutex, self._store_boundary():
            backend = self.backend
            backend.connect()
            if dry_run:
                self.store.check_readable()
                snapshot = self._recovery().dry_run_snapshot()
                result = work(snapshot)
                return replace(result, dry_run=True, duration_ms=_ms(started))
            backend.acquire_lock()
            try:
                fault_point("after_lock")
                self.store.ensure()
                recovery = self._recovery()
                snapshot = recovery.upgrade_checksums(recovery.recover(self.store.read()))
                result = work(snapshot)
            finally:
                if backend.is_connected:
                    backend.release_lock()
            self._rebuild_view(catalog)
            return replace(result, duration_ms=_ms(started))

    @contextlib.contextmanager
    def _store_boundary(self) -> Iterator[None]:
        """Translate a driver error escaping a state read or write into a Timescape error.

        Steps have their own, richer translation in the executor; this catches the rest (the run
        marker, bootstrap, tags, reports), so no driver exception ever reaches the caller. Whatever
        the exception, a transaction left open (a failed COMMIT keeps it open, holding SQLite's
        write lock) is rolled back first.
        """
        try:
            yield
        except BaseException as exc:
            backend = self._backend
            if backend is not None and backend.is_connected and backend.in_transaction:
                backend.rollback()
            if isinstance(exc, TimescapeError) or not isinstance(exc, Exception):
                raise
            if backend is None or not backend.is_driver_error(exc):
                raise
            reason = backend.describe_error(exc)
            kind = backend.classify_error(exc)
            if kind == ErrorKind.CONNECTION_LOST:
                backend.drop_broken()
                lost = f"connection lost: {reason}"
                raise ConnectionFailedError(self.url.redacted, lost) from exc
            if kind == ErrorKind.LOCK_NOT_AVAILABLE:
                waited = f"waited {self.ddl_lock_timeout:g} s"
                reason += f" (another connection holds the database; {waited})"
            raise StateError(
                f"reading or writing the Timescape state tables failed: {reason}"
            ) from exc

    def _execute(self, plan: Plan, snapshot: StateSnapshot) -> OperationResult:
        self._check_statements(plan)
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
        from timescape.executor import Executor  # noqa: PLC0415

        executor = Executor(
            self.backend,
            self.store,
            actor=self._actor,
            migration_timeout=self.migration_timeout,
            emit=self._emit,
        )
        outcomes = executor.run(plan, self.catalog, snapshot)
        return OperationResult(plan.operation, plan.target, plan, tuple(outcomes))

    def _check_statements(self, plan: Plan) -> None:
        """Refuse statements that would end or escape the schema transaction, before any runs."""
        for action in plan.actions:
            if not action.schema.transactional:
                continue
            for step in action.steps:
                for statement in step.statements:
                    reason = self.backend.transaction_breaker(statement.text)
                    if reason is not None:
                        raise DefinitionError(
                            f"{reason}: {statement.text[:80]!r}. Move it to a schema with "
                            "transactional = false",
                            file=step.file,
                            key=f"{action.name}.step{step.index}",
                            line=statement.line if step.file else None,
                        )

    def _judge(self) -> Judge:
        if not self.infer_compatibility:
            return declared_judge
        from timescape.compat import inferred_judge  # noqa: PLC0415 - sqlglot loads on demand

        return inferred_judge(self.catalog, self.backend.dialect, self.backend.split)

    def activate(
        self,
        ref: str | None = None,
        *,
        handler: str | None = None,
        force: bool = False,
        dry_run: bool = False,
    ) -> OperationResult:
        """Make a version live, applying the schemas it still needs.

        Under the database lock: resolve the ref, plan from freshly read state, run the
        compatibility gate, apply each missing schema (one transaction each where the database
        allows), mark the version live, record events, then fire callbacks. Activating a live
        version is a no-op that says so.

        Args:
            ref: TSV, tag, ISO-8601 timestamp, or None for the newest version.
            handler: The handler, when the ref alone is ambiguous.
            force: Override the compatibility gate and drift refusals (logged).
            dry_run: Plan only; change nothing.

        Returns:
            What was (or would be) done.

        Raises:
            UnknownRefError: For a ref that resolves to nothing.
            CompatibilityError: When a live version would break.
            DriftError: When an applied schema it needs was edited.
            MigrationError: When a step fails or times out (recorded first).
            LockTimeoutError: When another process holds the lock too long.
        """
        guess = self._resolve_fresh(ref, handler)

        def work(snapshot: StateSnapshot) -> OperationResult:
            tsv = self._resolve_locked(ref, handler, guess, snapshot)
            row = snapshot.versions.get(tsv)
            if row is not None and row.is_retiring and not dry_run:
                return self._retirement.reactivate(tsv)
            plan = plan_activation(
                self.catalog, snapshot, tsv, self.backend.split, force=force, judge=self._judge()
            )
            return self._plan_only(plan) if dry_run else self._execute(plan, snapshot)

        return self._locked(work, dry_run=dry_run)

    def deactivate(
        self,
        ref: str,
        *,
        handler: str | None = None,
        force: bool = False,
        keep_schema: bool = False,
        dry_run: bool = False,
        drain: bool = True,
        drain_timeout: float | None = None,
        progress: DrainProgress | None = None,
    ) -> OperationResult:
        """Take a version out of service, rolling back schemas no other live version needs.

        Two phases when serving instances are registered (:mod:`timescape.engine.retirement`):
        one transaction marks the version *retiring* (no instance routes a new request to it),
        then, holding no lock, this waits until every live instance has loaded that state and
        finished its requests on the version, and only then rolls back. With no live instance
        registered it is one phase, as it always was.

        Atomic on PostgreSQL and SQLite: if a rollback step fails, the version stays live and its
        schemas stay applied. On MySQL/MariaDB the version is marked inactive first and the
        rollback records progress per step.

        Args:
            ref: TSV, tag or timestamp.
            handler: The handler, when the ref alone is ambiguous.
            force: Allow protected tags and drifted rollback scripts (logged).
            keep_schema: Deactivate without rolling anything back.
            dry_run: Plan only; change nothing.
            drain: False to skip the drain (``--no-drain``; logged as forced).
            drain_timeout: Seconds to wait for the drain (default: the ``drain_timeout`` setting).
            progress: Told, while draining, which instances still hold the version and why.

        Returns:
            What was (or would be) done; ``drain`` says how the instances were drained.

        Raises:
            UnknownRefError: For a ref that resolves to nothing.
            ProtectedVersionError: For a protected tag without force.
            RollbackRefusedError: For an irreversible schema.
            MigrationError: When a rollback step fails (nothing changed on PG/SQLite).
            DrainTimeoutError: When instances still hold it after the drain timeout (nothing
                rolled back; the version stays retiring, and running this again continues).
            RetirementCancelledError: When another run activated it again during the drain.

        Changed in 0.2: the drain (``drain``, ``drain_timeout``, ``progress``).
        """
        guess = self._resolve_fresh(ref, handler)

        def plan_for(snapshot: StateSnapshot) -> Plan:
            index = self._index_for(snapshot)
            tsv = self._resolve_locked(ref, handler, guess, snapshot, index=index)
            return plan_deactivation(
                self.catalog,
                snapshot,
                tsv,
                self.backend.split,
                tags=index.tags_of(tsv),
                protected_tags=self.protected_tags,
                rollback=self.rollback_on_deactivate and not keep_schema,
                force=force,
            )

        if dry_run:
            return self._locked(lambda s: self._plan_only(plan_for(s)), dry_run=True)
        return self._drained(plan_for, drain=drain, timeout=drain_timeout, progress=progress)

    def apply_schema(
        self, name: str, *, force: bool = False, dry_run: bool = False
    ) -> OperationResult:
        """Apply a schema and its missing ancestors without activating a version.

        Args:
            name: The schema.
            force: Override the gate and drift refusals.
            dry_run: Plan only.

        Returns:
            What was (or would be) done.

        Raises:
            UnknownRefError: For an unknown schema.
            CompatibilityError: When a live version would break.
            MigrationError: When a step fails.
        """

        def work(snapshot: StateSnapshot) -> OperationResult:
            plan = plan_schema_apply(
                self.catalog, snapshot, name, self.backend.split, force=force, judge=self._judge()
            )
            return self._plan_only(plan) if dry_run else self._execute(plan, snapshot)

        return self._locked(work, dry_run=dry_run)

    def rollback_schema(
        self,
        name: str,
        *,
        force: bool = False,
        dry_run: bool = False,
        drain: bool = True,
        drain_timeout: float | None = None,
        progress: DrainProgress | None = None,
    ) -> OperationResult:
        """Roll back a schema and its applied descendants; refused while in use unless forced.

        Args:
            name: The schema.
            force: Roll back although live versions need it; they are deactivated (and drained
                from every serving instance first, as :meth:`deactivate` does).
            dry_run: Plan only.
            drain: False to skip the drain of the versions deactivated with ``force``.
            drain_timeout: Seconds to wait for the drain (default: the setting).
            progress: Told, while draining, which instances still hold the versions and why.

        Returns:
            What was (or would be) done.

        Raises:
            RollbackRefusedError: While in use (without force) or when irreversible.
            MigrationError: When a rollback step fails.
            DrainTimeoutError: When instances still serve a version it would deactivate.

        Changed in 0.2: ``drain`` and ``drain_timeout``.
        """

        def plan_for(snapshot: StateSnapshot) -> Plan:
            return plan_schema_rollback(
                self.catalog, snapshot, name, self.backend.split, force=force
            )

        if dry_run:
            return self._locked(lambda s: self._plan_only(plan_for(s)), dry_run=True)
        # With force, the live versions that need it are deactivated: drained first, like any
        # deactivation, so no instance still serves them when their schema goes.
        return self._drained(plan_for, drain=drain, timeout=drain_timeout, progress=progress)

    def _drained(
        self, plan_for: Callable[[StateSnapshot], Plan], **options: Any
    ) -> OperationResult:
        """Run a deactivating plan through the drain; tell ``on_version_drained`` how it went."""
        try:
            result = self._retirement.run(plan_for, **options)
        except DrainTimeoutError as exc:
            drained = {"tsvs": exc.tsvs, "waited_s": exc.waited_s, "drained": False}
            self._emit("on_version_drained", drained)
            raise
        outcome = result.drain
        if outcome is not None and not outcome.forced:
            drained = {"tsvs": list(outcome.tsvs), "waited_s": outcome.waited_s, "drained": True}
            self._emit("on_version_drained", drained)
        return result

    # -- serving instances (delegated to timescape.engine.instances) ---------------------------

    def register_instance(self, *, label: str | None = None, generation: int = 0) -> str:
        """Register this process as an instance serving versions; return its id.

        One autocommitted insert (the table is created if this runs before any migration); no
        Timescape lock, so start-up never waits for a migration. Stale instances are pruned.
        Register before loading the view: a deactivation then waits for this instance too.

        Args:
            label: What the process calls itself (``uvicorn app:app``), shown by ``instances``.
            generation: The generation of the view it has loaded already, if any.

        Returns:
            The instance id (32 hex digits).

        Added in 0.2.
        """
        return self._instances.register(label=label, generation=generation)

    def heartbeat(self, instance_id: str, *, generation: int, in_flight: Mapping[str, int]) -> None:
        """Report that the instance is alive, what it has loaded and what it is still serving.

        One small autocommitted upsert (re-inserting the row if it was pruned); it never takes
        the Timescape lock. Send one every ``heartbeat_interval`` seconds, and at once after the
        view changed and when the in-flight count of a retiring version drops to zero.

        Args:
            instance_id: The id :meth:`register_instance` returned.
            generation: The generation of the loaded view (:meth:`view_generation`).
            in_flight: Requests in flight per TSV.

        Added in 0.2.
        """
        self._instances.heartbeat(instance_id, generation=generation, in_flight=in_flight)

    def unregister_instance(self, instance_id: str) -> None:
        """Remove the instance's row (a clean shutdown; a drain no longer waits for it).

        Added in 0.2.
        """
        self._instances.unregister(instance_id)

    def instances(self) -> list[InstanceInfo]:
        """Every registered instance, stale ones included (read-only), by the database clock.

        Added in 0.2.
        """
        return self._instances.rows()

    def state_generation(self) -> int:
        """The state's generation counter: the cheap change probe for serving instances.

        One indexed read; on SQLite ``PRAGMA data_version`` first, which skips even that while
        no other connection committed. Compare with :meth:`view_generation` and :meth:`refresh`
        when it moved.

        Added in 0.2.
        """
        return self._instances.generation()

    @property
    def notification_channel(self) -> str | None:
        """The PostgreSQL ``LISTEN`` channel announcing each state change (None elsewhere).

        Every state-changing transaction sends ``pg_notify(channel, '<generation>')`` before it
        commits, so listeners hear of it the moment it commits. Listen on a connection of your
        own (this facade's connection is shared with its other work).

        Added in 0.2.
        """
        if self.backend.NOTIFY_SQL is None:
            return None
        return self.store.notification_channel

    def adopt(self, names: Sequence[str], *, dry_run: bool = False) -> AdoptionReport:
        """Record schemas as applied for objects the database already has (checked first).

        See :mod:`timescape.engine.adoption`: the catalog is checked for the tables, columns,
        indexes and views the schemas' migrations (and their unapplied ancestors') leave behind;
        when anything is missing nothing is recorded and the report lists it. Under the lock, one
        transaction with a ``schema_adopted`` event per schema. Added in 0.2.

        Args:
            names: The schemas to adopt (their ancestors come along).
            dry_run: Check and report only.

        Returns:
            The report (``ok``, ``adopted``, per-schema found/missing/unchecked).

        Raises:
            UnknownRefError: For an unknown schema.
            InputError: For a failed, interrupted or uncertain schema.
        """
        from timescape.engine.adoption import adopt  # noqa: PLC0415 - loads sqlglot

        return adopt(self, names, dry_run=dry_run)

    def _plan_only(self, plan: Plan) -> OperationResult:
        self._check_statements(plan)
        return OperationResult(plan.operation, plan.target, plan, dry_run=True)

    def _recovery(self) -> Recovery:
        return Recovery(self.store, self.catalog, actor=self._actor)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
