"""The :class:`Timescape` facade: lock → read state → plan → apply/rollback → record → callbacks.

Every changing operation takes the database lock, bootstraps the state tables inside it, re-reads
the state *after* the lock is held, and only then plans, so the gate and the usage counts are never
decided on what another process changed while this one waited. The hot path (``resolve``,
``is_schema_active``, ``schema_usage``) answers from an immutable in-memory view that
:meth:`Timescape.refresh` swaps atomically when the state's generation counter moves.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

from timescape._faults import fault_point
from timescape.callbacks import CALLBACKS, Callbacks
from timescape.definitions import Definitions
from timescape.errors import (
    ConnectionFailedError,
    DefinitionError,
    InputError,
    StateError,
    TimescapeError,
    UnknownRefError,
)
from timescape.executor import Executor
from timescape.model.catalog import Catalog, VersionSpec
from timescape.model.plan import (
    Judge,
    Plan,
    compatibility,
    declared_judge,
    plan_activation,
    plan_deactivation,
    plan_schema_apply,
    plan_schema_rollback,
    usage,
)
from timescape.model.schema import (
    SchemaVersion,
)
from timescape.model.state import SchemaState, SchemaStatus, StateSnapshot
from timescape.model.tsv import (
    Version,
    VersionIndex,
    validate_tag,
)
from timescape.recovery import Recovery
from timescape.reports import (
    OperationResult,
    SchemaInfo,
    Stats,
    VerifyReport,
    VersionInfo,
    build_schema_infos,
    build_stats,
    build_version_infos,
)
from timescape.store.backends import create_backend
from timescape.store.base import Backend, ErrorKind, actor
from timescape.store.state import Event, StateStore, now, validate_prefix
from timescape.store.urls import DatabaseURL, parse_url
from timescape.verification import verify_state

__all__ = ["CALLBACKS", "DEFAULT_PROTECTED_TAGS", "Timescape"]

logger = logging.getLogger("timescape")

DEFAULT_PROTECTED_TAGS = ("stable", "production", "latest")


@dataclass(frozen=True, slots=True)
class _View:
    """What the hot path reads; replaced whole, never mutated."""

    index: VersionIndex
    applied: frozenset[str]
    active: frozenset[str]
    latest_live: dict[str, str]
    generation: int
    catalog: Catalog
    snapshot: StateSnapshot
    _used_by: dict[str, tuple[str, ...]] | None = field(default=None, init=False)

    @property
    def used_by(self) -> dict[str, tuple[str, ...]]:
        """Live TSVs per schema, computed on first use (most views are never asked)."""
        cached = self._used_by
        if cached is None:
            cached = {k: tuple(v) for k, v in usage(self.catalog, self.snapshot).items()}
            object.__setattr__(self, "_used_by", cached)
        return cached


class Timescape(Definitions, Callbacks):
    """Versions a database schema together with the API versions of a service.

    Thread-safe: operations on one instance are serialised by an in-process mutex, and across
    processes by the database lock. Create one instance per database and keep it.
    """

    def __init__(
        self,
        database: str | DatabaseURL = "sqlite:///timescape.db",
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
            database: Database URL (``sqlite:///app.db``, ``postgresql://…``, ``mysql://…``).
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
            else parse_url(database, base_dir=base_dir)
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
        self._view: _View | None = None
        self._index_cache: tuple[Catalog, dict[tuple[str, str], str], VersionIndex] | None = None
        self._requests: Counter[str] = Counter()
        self._last_request: dict[str, datetime] = {}
        self._actor = actor()

    def _catalog_changed(self) -> None:
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

    def resolve_schema(self, name: str, *, steps_done: int) -> OperationResult:
        """Record the truth about an uncertain, failed or interrupted schema (logged).

        The operator checked the database and states how many steps are in place. With all steps
        the schema becomes ``applied``; with none, ``rolled_back`` (or ``pending`` if it was never
        applied); otherwise ``failed`` at that step, so migrate or rollback resume from there.

        Args:
            name: The schema.
            steps_done: Steps in place, 0..number of steps.

        Returns:
            The result (its plan is empty; the change is to the state only).

        Raises:
            UnknownRefError: For an unknown schema.
            InputError: For an out-of-range step count.
        """
        schema = self.catalog.schema(name)
        if not 0 <= steps_done <= len(schema.steps):
            raise InputError(
                f"--steps-done must be between 0 and {len(schema.steps)} for schema {name!r}"
            )

        def work(snapshot: StateSnapshot) -> OperationResult:
            row = snapshot.schemas.get(name)
            if steps_done == len(schema.steps):
                status = SchemaStatus.APPLIED
            elif steps_done == 0:
                status = SchemaStatus.ROLLED_BACK if row is not None else SchemaStatus.PENDING
            else:
                status = SchemaStatus.FAILED
            new = SchemaState(
                name=name,
                status=status,
                steps_done=steps_done,
                checksums=schema.checksums[:steps_done],
                rollback_checksums=schema.rollback_checksums[:steps_done],
                parents=schema.parents,
                applied_at=now()
                if status is SchemaStatus.APPLIED
                else (row.applied_at if row else None),
                rolled_back_at=row.rolled_back_at if row else None,
                error=None
                if status is not SchemaStatus.FAILED
                else (f"resolved by operator at step {steps_done}"),
                contract_done=row.contract_done if row else False,
            )
            backend = self.backend
            backend.begin()
            try:
                self.store.write_schema(new, step_count=len(schema.steps), known=row is not None)
                self.store.record_event(
                    "schema_resolved",
                    name,
                    actor=self._actor,
                    detail={
                        "steps_done": steps_done,
                        "previous_status": str(row.status) if row else None,
                        "previous_steps_done": row.steps_done if row else 0,
                        "status": str(status),
                    },
                )
                self.store.bump_generation()
                backend.commit()
            except BaseException:
                backend.rollback()
                raise
            return OperationResult(
                "resolve",
                name,
                Plan(
                    "resolve",
                    name,
                    notes=(
                        f"schema {name} recorded as {status} with {steps_done} step(s) in place",
                    ),
                ),
            )

        return self._locked(work, dry_run=False)

    def _plan_only(self, plan: Plan) -> OperationResult:
        self._check_statements(plan)
        return OperationResult(plan.operation, plan.target, plan, dry_run=True)

    # -- tags ---------------------------------------------------------------------------------

    def tag(self, tsv: str, label: str) -> OperationResult:
        """Point a tag at a version (moving it within the handler if it was elsewhere).

        Args:
            tsv: The version.
            label: The tag.

        Returns:
            The result.

        Raises:
            UnknownRefError: For an unknown TSV.
            DefinitionError: For an invalid tag.
        """
        validate_tag(label)
        version = self.catalog.version(tsv)

        def work(snapshot: StateSnapshot) -> OperationResult:
            backend = self.backend
            backend.begin()
            try:
                self.store.sync_versions(self.catalog, snapshot)
                fresh = self.store.read(use_cache=False)
                previous = fresh.tags.get((version.handler, label))
                self.store.set_tag(version.handler, label, tsv, exists=previous is not None)
                self.store.record_event(
                    "tagged", tsv, actor=self._actor, detail={"tag": label, "moved_from": previous}
                )
                self.store.bump_generation()
                backend.commit()
            except BaseException:
                backend.rollback()
                raise
            return OperationResult("tag", tsv, Plan("tag", tsv, notes=(f"{label} → {tsv}",)))

        return self._locked(work, dry_run=False)

    def untag(self, label: str, *, handler: str) -> OperationResult:
        """Remove a tag from a handler.

        Args:
            label: The tag.
            handler: The handler.

        Returns:
            The result.

        Raises:
            UnknownRefError: When the handler has no such tag.
        """

        def work(snapshot: StateSnapshot) -> OperationResult:
            backend = self.backend
            backend.begin()
            try:
                self.store.sync_versions(self.catalog, snapshot)
                fresh = self.store.read(use_cache=False)
                target = fresh.tags.get((handler, label))
                if target is None:
                    raise UnknownRefError(label, handler=handler, reason="no such tag")
                self.store.delete_tag(handler, label)
                self.store.record_event(
                    "untagged", target, actor=self._actor, detail={"tag": label}
                )
                self.store.bump_generation()
                backend.commit()
            except BaseException:
                backend.rollback()
                raise
            return OperationResult(
                "untag", label, Plan("untag", label, notes=(f"removed {label} from {target}",))
            )

        return self._locked(work, dry_run=False)

    # -- the hot path -------------------------------------------------------------------------

    def _index_for(self, snapshot: StateSnapshot) -> VersionIndex:
        catalog = self.catalog
        # Tags of versions already in the database live there (they may have been moved or
        # removed); declared tags of versions not synced yet still count.
        tags = {k: v for k, v in catalog.declared_tags().items() if v not in snapshot.versions}
        tags.update({k: v for k, v in snapshot.tags.items() if catalog.has_version(v)})
        # The index depends on nothing else: reuse it while the catalog and the tags stay the
        # same (activations and rollbacks move neither), instead of re-indexing every version.
        cached = self._index_cache
        if cached is not None and cached[0] is catalog and cached[1] == tags:
            return cached[2]
        index = VersionIndex(catalog.versions, tags)
        self._index_cache = (catalog, tags, index)
        return index

    def _rebuild_view(self, catalog: Catalog, snapshot: StateSnapshot | None = None) -> _View:
        snap = snapshot if snapshot is not None else self._read_quietly()
        active = snap.live()
        latest: dict[str, Version] = {}
        for tsv in active:
            if catalog.has_version(tsv):
                version = catalog.version(tsv)
                best = latest.get(version.handler)
                if best is None or best.timestamp < version.timestamp:
                    latest[version.handler] = version
        view = _View(
            index=self._index_for(snap),
            applied=snap.applied(),
            active=active,
            latest_live={h: v.tsv for h, v in sorted(latest.items())},
            generation=snap.generation,
            catalog=catalog,
            snapshot=snap,
        )
        self._view = view
        return view

    def _read_quietly(self) -> StateSnapshot:
        try:
            return self.store.read()
        except StateError:
            return StateSnapshot()

    def _current_view(self) -> _View:
        view = self._view
        if view is None:
            with self._mutex:
                view = self._view or self._rebuild_view(self.catalog)
        return view

    def refresh(self) -> bool:
        """Reload the in-memory view if another process changed the state (one cheap query).

        Returns:
            True when the view changed.
        """
        with self._mutex:
            catalog = self.catalog
            generation = self.store.generation()
            view = self._view
            if view is not None and view.generation == generation:
                return False
            self._rebuild_view(catalog)
            return True

    def _resolve_locked(
        self,
        ref: str | None,
        handler: str | None,
        guess: str,
        snapshot: StateSnapshot,
        *,
        index: VersionIndex | None = None,
    ) -> str:
        """Resolve ``ref`` again against the state read under the lock.

        The first resolution (before the lock) refuses a bad ref early; but a tag may have been
        moved by the run this one waited for, and the version to act on is decided under the
        lock like everything else. An unchanged generation means the first answer still holds.

        Args:
            ref: The ref as given.
            handler: The handler, if given.
            guess: The TSV resolved before the lock.
            snapshot: The state read under the lock.
            index: An index already built from ``snapshot``, if any.

        Returns:
            The TSV to act on.
        """
        view = self._view
        if (ref is not None and ref.startswith("tsv:")) or (
            view is not None and view.generation == snapshot.generation
        ):
            return guess
        return (index or self._index_for(snapshot)).resolve(ref, handler)

    def _resolve_fresh(self, ref: str | None, handler: str | None) -> str:
        with self._mutex, self._store_boundary():
            self.backend.connect()
            catalog = self.catalog
            view = self._view
            # Tags live in the state tables: resolve against the state as it is now. Every
            # change to it moves the generation, so an unchanged one means the view is current.
            if (
                view is None
                or view.catalog is not catalog
                or (view.generation != self.store.generation())
            ):
                view = self._rebuild_view(catalog)
            return view.index.resolve(ref, handler)

    def resolve(self, ref: str | None = None, handler: str | None = None) -> str:
        """Resolve a ref to a TSV from memory (no I/O; call :meth:`refresh` to see others' tags).

        Args:
            ref: TSV, tag, ISO-8601 timestamp, ``latest`` or None.
            handler: Handler to look in.

        Returns:
            The TSV.

        Raises:
            UnknownRefError: When nothing (or several things) match.
        """
        return self._current_view().index.resolve(ref, handler)

    def is_schema_active(self, name: str) -> bool:
        """True when the schema is applied (from memory)."""
        return name in self._current_view().applied

    def is_version_active(self, tsv: str) -> bool:
        """True when the version is live (from memory)."""
        return tsv in self._current_view().active

    def view_generation(self) -> int:
        """The state generation the in-memory view was built from (changes after a refresh)."""
        return self._current_view().generation

    def latest_live(self, handler: str) -> str | None:
        """The newest live version of a handler (from memory), or None."""
        return self._current_view().latest_live.get(handler)

    def handlers(self) -> list[str]:
        """Every handler path with at least one defined version."""
        return self._current_view().index.handlers

    def schema_usage(self, name: str) -> list[str]:
        """Live TSVs that need the schema (from memory)."""
        return list(self._current_view().used_by.get(name, ()))

    def active_versions(self, handler: str | None = None) -> list[Version]:
        """Live versions (from memory), oldest first per handler."""
        view = self._current_view()
        return [
            v
            for v in self.catalog.versions
            if v.tsv in view.active and (handler is None or v.handler == handler)
        ]

    def are_compatible(self, schema_a: str, schema_b: str) -> bool:
        """Tell whether live versions on ``schema_b`` keep working once ``schema_a`` is applied.

        Args:
            schema_a: The schema that would be applied.
            schema_b: A live version's schema.

        Returns:
            True when the gate would allow it.

        Raises:
            UnknownRefError: For an unknown schema.
        """
        ok, _ = self.compatibility(schema_a, schema_b)
        return ok

    def compatibility(self, schema_a: str, schema_b: str) -> tuple[bool, str]:
        """Tell whether versions on ``schema_b`` keep working once ``schema_a`` is applied, and why.

        The same answer, with the same reason, as the gate of ``activate`` and ``apply_schema``:
        declarations first, then (with ``infer_compatibility``) the SQL analysis. Reads only the
        definitions: no connection, no lock.

        Args:
            schema_a: The schema that would be applied.
            schema_b: A live version's schema.

        Returns:
            ``(compatible, reason)``, e.g. ``(False, "drops column products.price (breaking)")``.

        Raises:
            UnknownRefError: For an unknown schema.

        Added in 0.2.
        """
        catalog = self.catalog
        catalog.schema(schema_b)
        return compatibility(catalog, schema_a, schema_b, self._judge())

    def record_request(self, tsv: str) -> None:
        """Count one request for a version, in memory (flushed by :meth:`flush_usage`)."""
        self._requests[tsv] += 1
        self._last_request[tsv] = datetime.now(UTC)

    def flush_usage(self) -> int:
        """Write the request counters gathered since the last flush; return how many versions.

        Increments are relative (``count = count + n``), so instances never overwrite each other.
        """
        with self._mutex:
            counts = {t: (n, self._last_request[t]) for t, n in self._requests.items()}
            self._requests.clear()
            if not counts or not self.store.exists():
                return 0
            backend = self.backend
            backend.begin()
            try:
                self.store.add_requests(counts)
                backend.commit()
            except BaseException:
                backend.rollback()
                raise
            return len(counts)

    # -- reports ------------------------------------------------------------------------------

    def _snapshot(self, *, counters: bool = True) -> StateSnapshot:
        """The state now; ``counters=False`` when request counts are not shown.

        Request counts are flushed by the app instances without moving the generation, so only
        a report that shows them must re-read every row; the others reuse the cached snapshot
        whenever the generation says nothing else changed.
        """
        with self._mutex, self._store_boundary():
            self.backend.connect()
            self.store.check_readable()
            return self.store.read(use_cache=not counters)

    def schemas(self) -> list[SchemaInfo]:
        """Every schema with status, usage and checksums (read-only, no lock)."""
        snapshot = self._snapshot(counters=False)
        return build_schema_infos(self.catalog, snapshot)

    def schema_info(self, name: str) -> SchemaInfo:
        """One schema's details.

        Raises:
            UnknownRefError: For an unknown schema.
        """
        for info in self.schemas():
            if info.name == name:
                return info
        raise UnknownRefError(name, reason="no such schema")

    def versions(self, *, handler: str | None = None) -> list[VersionInfo]:
        """Every version with status, tags and counters (read-only, no lock)."""
        with self._mutex, self._store_boundary():
            self.backend.connect()
            self.store.check_readable()
            # Versions and tags only: the schema rows would cost more than the report.
            snapshot = self.store.read_versions()
        index = self._index_for(snapshot)
        tags = {(v.handler, t): v.tsv for v in self.catalog.versions for t in index.tags_of(v.tsv)}
        return build_version_infos(self.catalog, snapshot, tags, datetime.now(UTC), handler=handler)

    def history(self, *, limit: int = 50) -> list[Event]:
        """The event log, newest first (read-only)."""
        with self._mutex, self._store_boundary():
            self.backend.connect()
            self.store.check_readable()
            return self.store.events(limit=limit)

    def stats(self) -> Stats:
        """Counts by status (read-only)."""
        return build_stats(self.catalog, self._snapshot(counters=False))

    def verify(self) -> VerifyReport:
        """Check the database against the definitions without changing anything.

        Reports drift (per step, migration and rollback scripts), applied schemas no longer
        defined, failed/interrupted/uncertain schemas, a run that died (or one in progress),
        live versions whose schemas are not applied, and damaged state tables.

        Returns:
            The report; ``ok`` is False when anything needs attention.
        """
        catalog = self.catalog
        with self._mutex, self._store_boundary():
            self.backend.connect()
            return verify_state(self.store, catalog, self._recovery())

    def _recovery(self) -> Recovery:
        return Recovery(self.store, self.catalog, actor=self._actor)

    def dry_run_statements(self, plan: Plan) -> list[str]:
        """The SQL a plan would send, in order (for rendering)."""
        return plan.statements()


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
