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
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from timescape._faults import fault_point
from timescape.bookkeeping import Bookkeeping
from timescape.callbacks import CALLBACKS, Callbacks
from timescape.definitions import Definitions
from timescape.errors import (
    ConnectionFailedError,
    DefinitionError,
    InputError,
    StateError,
    TimescapeError,
)
from timescape.executor import Executor
from timescape.hotpath import HotPath
from timescape.inspection import Inspection
from timescape.model.catalog import VersionSpec
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

        Raises:
            InputError: On a bad URL, prefix or timeout.
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
        Definitions.__init__(self, schemas, versions)
        self._backend: Backend | None = None
        self._store: StateStore | None = None
        Callbacks.__init__(self)
        HotPath.__init__(self)
        self._actor = actor()

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
    ) -> OperationResult:
        """Take a version out of service, rolling back schemas no other live version needs.

        Atomic on PostgreSQL and SQLite: if a rollback step fails, the version stays live and its
        schemas stay applied. On MySQL/MariaDB the version is marked inactive first and the
        rollback records progress per step.

        Args:
            ref: TSV, tag or timestamp.
            handler: The handler, when the ref alone is ambiguous.
            force: Allow protected tags and drifted rollback scripts (logged).
            keep_schema: Deactivate without rolling anything back.
            dry_run: Plan only; change nothing.

        Returns:
            What was (or would be) done.

        Raises:
            UnknownRefError: For a ref that resolves to nothing.
            ProtectedVersionError: For a protected tag without force.
            RollbackRefusedError: For an irreversible schema.
            MigrationError: When a rollback step fails (nothing changed on PG/SQLite).
        """
        guess = self._resolve_fresh(ref, handler)

        def work(snapshot: StateSnapshot) -> OperationResult:
            index = self._index_for(snapshot)
            tsv = self._resolve_locked(ref, handler, guess, snapshot, index=index)
            plan = plan_deactivation(
                self.catalog,
                snapshot,
                tsv,
                self.backend.split,
                tags=index.tags_of(tsv),
                protected_tags=self.protected_tags,
                rollback=self.rollback_on_deactivate and not keep_schema,
                force=force,
            )
            return self._plan_only(plan) if dry_run else self._execute(plan, snapshot)

        return self._locked(work, dry_run=dry_run)

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
        self, name: str, *, force: bool = False, dry_run: bool = False
    ) -> OperationResult:
        """Roll back a schema and its applied descendants; refused while in use unless forced.

        Args:
            name: The schema.
            force: Roll back although live versions need it; they are deactivated.
            dry_run: Plan only.

        Returns:
            What was (or would be) done.

        Raises:
            RollbackRefusedError: While in use (without force) or when irreversible.
            MigrationError: When a rollback step fails.
        """

        def work(snapshot: StateSnapshot) -> OperationResult:
            plan = plan_schema_rollback(
                self.catalog, snapshot, name, self.backend.split, force=force
            )
            return self._plan_only(plan) if dry_run else self._execute(plan, snapshot)

        return self._locked(work, dry_run=dry_run)

    def adopt(self, names: Sequence[str], *, dry_run: bool = False) -> AdoptionReport:
        """Record schemas as applied for objects the database already has (checked first).

        See :mod:`timescape.engine.adoption`: the catalog is checked for the tables, columns,
        indexes and views the schemas' migrations (and their unapplied ancestors') leave behind;
        when anything is missing nothing is recorded and the report lists it. Under the lock, one
        transaction with a ``schema_adopted`` event per schema. Added in 0.5.

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
