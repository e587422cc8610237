"""The :class:`Timescape` facade: lock → read state → plan → apply/rollback → record → callbacks.

Every changing operation takes the database lock, re-reads the state *after* the lock is held and
only then plans, so the gate and the usage counts are never decided on what another process
changed while this one waited. The hot path (``resolve``, ``is_schema_active``, ``schema_usage``)
answers from an immutable in-memory view that :meth:`Timescape.refresh` swaps when the state's
generation counter moves.

The facade owns its parts (:mod:`timescape.engine`) through one
:class:`~timescape.engine.assembly.Parts`, which builds each with the collaborators it needs, never
the facade: the connection, the definitions, the callbacks, the hot path, the locked runner, the
four changes, the reports, the state-only changes (tags, adoption), the serving instances and the
retirement. This module is the public surface: settings, then thin delegations to the parts.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from timescape._log import LazyLogger
from timescape.engine.assembly import Parts
from timescape.engine.callbacks import CALLBACKS
from timescape.engine.hotpath import View
from timescape.engine.instances import (
    DEFAULT_DRAIN_TIMEOUT,
    DEFAULT_HEARTBEAT_INTERVAL,
    DEFAULT_POLL_INTERVAL,
    ServingSettings,
)
from timescape.errors import InputError, TimescapeError
from timescape.model.catalog import Catalog, VersionSpec
from timescape.model.instance import InstanceInfo
from timescape.model.plan import Plan
from timescape.model.schema import SchemaVersion, StepCallable
from timescape.model.tsv import Version
from timescape.model.usage import LifecycleSettings
from timescape.store.base import Backend
from timescape.store.state import Event, StateStore, validate_prefix
from timescape.store.urls import DatabaseURL, parse_url, url_text

if TYPE_CHECKING:
    from timescape.engine.adoption import AdoptionReport
    from timescape.engine.drain import DrainProgress
    from timescape.reports import OperationResult, SchemaInfo, Stats, VerifyReport, VersionInfo

__all__ = ["CALLBACKS", "DEFAULT_PROTECTED_TAGS", "Timescape"]

logger = LazyLogger("timescape")

DEFAULT_PROTECTED_TAGS = ("stable", "production", "latest")

Callback = Callable[..., Any]


class Timescape:
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
        self.serving = ServingSettings(
            heartbeat_interval=heartbeat_interval,
            stale_after=stale_after,
            poll_interval=poll_interval,
            drain_timeout=drain_timeout,
        )
        self._parts = Parts(
            self.url,
            schemas=schemas,
            versions=versions,
            lock_timeout=self.lock_timeout,
            ddl_lock_timeout=self.ddl_lock_timeout,
            migration_timeout=self.migration_timeout,
            table_prefix=self.table_prefix,
            application_name=self.application_name,
            serving=self.serving,
            infer_compatibility=lambda: self.infer_compatibility,
            policy=lambda: self.usage_policy,
        )
        # Asked per request (resolve, is_version_active, record_request): one lookup, not two.
        self._hot = self._parts.hot

    # -- connection -----------------------------------------------------------------------------

    @property
    def backend(self) -> Backend:
        """The backend (connects lazily)."""
        return self._parts.connection.backend

    @property
    def store(self) -> StateStore:
        """The state store."""
        return self._parts.connection.store

    def close(self) -> None:
        """Flush request counters (best effort) and close the connection."""
        parts = self._parts
        with parts.mutex:
            if parts.hot.has_requests and parts.connection.is_open:
                try:
                    self.flush_usage()
                except TimescapeError:
                    logger.warning("could not flush request counters on close", exc_info=True)
            parts.connection.close()

    def __enter__(self) -> Self:
        """Use as a context manager; closes on exit."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close."""
        self.close()

    # -- definitions (engine.definitions) -------------------------------------------------------

    @property
    def catalog(self) -> Catalog:
        """The validated definitions (built on first use after a registration).

        Raises:
            DefinitionError: If the definitions are inconsistent as a whole.
        """
        return self._parts.definitions.catalog

    def _adopt_catalog(self, catalog: Catalog) -> bool:
        # The project loader's catalog, validated already (see Definitions.adopt_catalog).
        return self._parts.definitions.adopt_catalog(catalog)

    def register_schema(self, schema: SchemaVersion) -> SchemaVersion:
        """Register (and return) a schema version built with :class:`SchemaVersion`.

        Raises:
            DefinitionError: If the name is taken (case-insensitively).
        """
        return self._parts.definitions.register_schema(schema)

    def add_schema(
        self,
        name: str,
        migrations: Sequence[str | StepCallable],
        rollback: Sequence[str | StepCallable] | None = None,
        *,
        parent: str | Sequence[str] | None = None,
        compatible_with: Sequence[str] = (),
        breaking: bool | None = None,
        transactional: bool = True,
        contract: Sequence[str] = (),
        contract_rollback: Sequence[str] = (),
    ) -> SchemaVersion:
        """Define and register (and return) a schema version from parallel script lists.

        Args:
            name: Schema name.
            migrations: Migration scripts (SQL text or callables receiving a connection).
            rollback: ``rollback[i]`` undoes ``migrations[i]``; omit for an irreversible schema.
            parent: Parent schema name(s).
            compatible_with: Schemas whose live versions keep working with this one.
            breaking: Declare breaking (True) or non-breaking (False); None infers.
            transactional: False when statements cannot run inside a transaction.
            contract: Deferred contract scripts.
            contract_rollback: Their rollbacks.

        Raises:
            DefinitionError: On invalid definitions.
        """
        return self._parts.definitions.add_schema(
            name,
            migrations,
            rollback,
            parent=parent,
            compatible_with=compatible_with,
            breaking=breaking,
            transactional=transactional,
            contract=contract,
            contract_rollback=contract_rollback,
        )

    def add_version(
        self,
        handler: str,
        timestamp: str | datetime,
        schema: str,
        *,
        tags: Sequence[str] = (),
        description: str = "",
    ) -> str:
        """Register an API version and return its TSV.

        Args:
            handler: Handler path, e.g. ``/api/products``.
            timestamp: ISO-8601 timestamp of the version.
            schema: The schema version it needs.
            tags: Tags to declare.
            description: Free text.

        Raises:
            DefinitionError: On a bad handler, timestamp or tag, or a taken timestamp.
        """
        return self._parts.definitions.add_version(
            handler, timestamp, schema, tags=tags, description=description
        )

    # -- callbacks (engine.callbacks) -----------------------------------------------------------

    def on(self, event: str, callback: Callback) -> Callback:
        """Register (and return) a callback for ``event``, one of :data:`CALLBACKS`; a decorator.

        Callbacks run after the change is committed, with keyword arguments (``schema``,
        ``duration_ms``, ``tsv``, ``error``, …). An exception in a callback is logged, never
        raised: the database change has already happened.

        Raises:
            InputError: For an unknown event name.
        """
        return self._parts.callbacks.on(event, callback)

    def on_schema_applied(self, callback: Callback) -> Callback:
        """Register a callback for applied schemas (``schema``, ``duration_ms``)."""
        return self._parts.callbacks.on("on_schema_applied", callback)

    def on_schema_rolled_back(self, callback: Callback) -> Callback:
        """Register a callback for rolled-back schemas (``schema``, ``duration_ms``)."""
        return self._parts.callbacks.on("on_schema_rolled_back", callback)

    def on_schema_failed(self, callback: Callback) -> Callback:
        """Register a callback for failed schemas (``schema``, ``error``)."""
        return self._parts.callbacks.on("on_schema_failed", callback)

    def on_version_activated(self, callback: Callback) -> Callback:
        """Register a callback for activated versions (``tsv``)."""
        return self._parts.callbacks.on("on_version_activated", callback)

    def on_version_deactivated(self, callback: Callback) -> Callback:
        """Register a callback for deactivated versions (``tsv``)."""
        return self._parts.callbacks.on("on_version_deactivated", callback)

    def on_version_drained(self, callback: Callback) -> Callback:
        """Register a callback for drains (``tsvs``, ``waited_s``, ``drained``: False on timeout).

        Added in 0.2.
        """
        return self._parts.callbacks.on("on_version_drained", callback)

    # -- changes (engine.changes, run under the lock by engine.runner) --------------------------

    def activate(
        self,
        ref: str | None = None,
        *,
        handler: str | None = None,
        force: bool = False,
        dry_run: bool = False,
    ) -> OperationResult:
        """Make a version live, applying the schemas it still needs; say what was done.

        Under the database lock: plan from freshly read state, run the compatibility gate, apply
        each missing schema (one transaction each where the database allows), mark the version
        live, then fire callbacks. Activating a live version is a no-op that says so.

        Args:
            ref: TSV, tag, ISO-8601 timestamp, or None for the newest version.
            handler: The handler, when the ref alone is ambiguous.
            force: Override the compatibility gate and drift refusals (logged).
            dry_run: Plan only; change nothing.

        Raises:
            UnknownRefError: For a ref that resolves to nothing.
            CompatibilityError: When a live version would break.
            DriftError: When an applied schema it needs was edited.
            MigrationError: When a step fails or times out (recorded first).
            LockTimeoutError: When another process holds the lock too long.
        """
        return self._parts.changes.activate(ref, handler, force=force, dry_run=dry_run)

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

        With serving instances registered, the version is first marked *retiring* (no new
        request is routed to it) and rolled back only once every live instance has drained it
        (:mod:`timescape.engine.retirement`). Atomic on PostgreSQL and SQLite: if a rollback step
        fails, the version stays live and its schemas applied. On MySQL/MariaDB the version is
        marked inactive first and the rollback records progress per step.

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
        return self._parts.changes.deactivate(
            ref,
            handler,
            protected_tags=self.protected_tags,
            rollback=self.rollback_on_deactivate and not keep_schema,
            force=force,
            dry_run=dry_run,
            drain=drain,
            timeout=drain_timeout,
            progress=progress,
        )

    def apply_schema(
        self, name: str, *, force: bool = False, dry_run: bool = False
    ) -> OperationResult:
        """Apply a schema and its missing ancestors without activating a version.

        Args:
            name: The schema.
            force: Override the gate and drift refusals.
            dry_run: Plan only.

        Raises:
            UnknownRefError: For an unknown schema.
            CompatibilityError: When a live version would break.
            MigrationError: When a step fails.
        """
        return self._parts.changes.apply_schema(name, force=force, dry_run=dry_run)

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

        Raises:
            RollbackRefusedError: While in use (without force) or when irreversible.
            MigrationError: When a rollback step fails.
            DrainTimeoutError: When instances still serve a version it would deactivate.

        Changed in 0.2: ``drain`` and ``drain_timeout``.
        """
        return self._parts.changes.rollback_schema(
            name,
            force=force,
            dry_run=dry_run,
            drain=drain,
            timeout=drain_timeout,
            progress=progress,
        )

    # -- state-only changes (engine.bookkeeping) ------------------------------------------------

    def resolve_schema(self, name: str, *, steps_done: int) -> OperationResult:
        """Record the truth about an uncertain, failed or interrupted schema (logged).

        The operator checked the database and states how many steps (0..all) are in place. With
        all steps the schema becomes ``applied``; with none, ``rolled_back`` (or ``pending`` if it
        was never applied); otherwise ``failed`` at that step, so migrate or rollback resume from
        there. The result's plan is empty: the change is to the state only.

        Raises:
            UnknownRefError: For an unknown schema.
            InputError: For an out-of-range step count.
        """
        return self._parts.bookkeeping.resolve_schema(name, steps_done=steps_done)

    def tag(self, tsv: str, label: str) -> OperationResult:
        """Point tag ``label`` at version ``tsv`` (moving it within the handler).

        Raises:
            UnknownRefError: For an unknown TSV.
            DefinitionError: For an invalid tag.
        """
        return self._parts.bookkeeping.tag(tsv, label)

    def untag(self, label: str, *, handler: str) -> OperationResult:
        """Remove tag ``label`` from ``handler``.

        Raises:
            UnknownRefError: When the handler has no such tag.
        """
        return self._parts.bookkeeping.untag(label, handler=handler)

    def claim_round(
        self,
        kind: str,
        *,
        interval: timedelta,
        detail: dict[str, Any] | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Claim a periodic job's round for this process, at most once per ``interval`` overall.

        Under the database lock: when the newest ``kind`` event is younger than ``interval``
        nothing is written and False is returned; otherwise one ``kind`` event (naming this
        process as its actor) is appended and True returned. Several instances calling it on the
        same timer therefore take turns: the lock serialises them, and the event log says who
        ran each round. The state generation does not move (nothing a view reads changed).

        Args:
            kind: The event kind naming the job (``lifecycle_round``).
            interval: The least time between two rounds.
            detail: Detail recorded with the event.
            now: The reference time (default: now, UTC).

        Raises:
            LockTimeoutError: When another process holds the lock too long.

        Added in 0.2.
        """
        return self._parts.bookkeeping.claim_round(kind, interval=interval, detail=detail, now=now)

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
        return self._parts.bookkeeping.adopt(names, dry_run=dry_run)

    # -- serving instances (engine.instances) ---------------------------------------------------

    def register_instance(self, *, label: str | None = None, generation: int = 0) -> str:
        """Register this process as an instance serving versions; return its id (32 hex digits).

        One autocommitted insert, no Timescape lock, so start-up never waits for a migration;
        stale instances are pruned. Register before loading the view: a deactivation then waits
        for this instance too. ``label`` is shown by ``instances`` (``uvicorn app:app``);
        ``generation`` is that of a view already loaded, if any. Added in 0.2.
        """
        return self._parts.instances.register(label=label, generation=generation)

    def heartbeat(self, instance_id: str, *, generation: int, in_flight: Mapping[str, int]) -> None:
        """Report that the instance is alive, its view's generation and its requests per TSV.

        One small autocommitted upsert (re-inserting a pruned row), never the Timescape lock.
        Send one every ``heartbeat_interval`` seconds, and at once after the view changed and
        when the in-flight count of a retiring version drops to zero. Added in 0.2.
        """
        self._parts.instances.heartbeat(instance_id, generation=generation, in_flight=in_flight)

    def unregister_instance(self, instance_id: str) -> None:
        """Remove the instance's row (a clean shutdown; a drain no longer waits). Added in 0.2."""
        self._parts.instances.unregister(instance_id)

    def instances(self) -> list[InstanceInfo]:
        """Every registered instance, stale ones included, by the database clock. Added in 0.2."""
        return self._parts.instances.rows()

    def state_generation(self) -> int:
        """The state's generation counter: the cheap change probe for serving instances.

        One indexed read; on SQLite ``PRAGMA data_version`` first, which skips even that while
        no other connection committed. Compare with :meth:`view_generation` and :meth:`refresh`
        when it moved. Added in 0.2.
        """
        return self._parts.instances.generation()

    @property
    def notification_channel(self) -> str | None:
        """The PostgreSQL ``LISTEN`` channel announcing each state change (None elsewhere).

        Every state-changing transaction sends ``pg_notify(channel, '<generation>')`` before it
        commits. Listen on a connection of your own (this facade's is shared). Added in 0.2.
        """
        return self._parts.connection.notification_channel

    # -- the hot path, from memory (engine.hotpath) ---------------------------------------------

    def refresh(self) -> bool:
        """Reload the view if another process changed the state (one cheap query); True if so."""
        return self._hot.refresh()

    def resolve(self, ref: str | None = None, handler: str | None = None) -> str:
        """Resolve a ref (TSV, tag, timestamp, ``latest`` or None) to a TSV, from memory.

        No I/O: call :meth:`refresh` to see tags moved by other processes.

        Raises:
            UnknownRefError: When nothing (or several things) match.
        """
        return self._hot.resolve(ref, handler)

    def is_schema_active(self, name: str) -> bool:
        """True when the schema is applied (from memory)."""
        return self._hot.is_schema_active(name)

    def is_version_active(self, tsv: str) -> bool:
        """True when the version is live and routed (from memory; False while retiring)."""
        return self._hot.is_version_active(tsv)

    def view(self) -> View:
        """The immutable in-memory view that serving builds its routing tables from.

        Read from the database only if none is loaded yet. Added in 0.2.
        """
        return self._hot.view()

    def version_state(self, tsv: str) -> str:
        """``"live"``, ``"retiring"`` or ``"inactive"`` (also for an unknown TSV), from memory.

        Neither a retiring nor an inactive version gets a new request. Added in 0.2.
        """
        return self._hot.version_state(tsv)

    def live_alternatives(self, handler: str) -> list[str]:
        """The handler's routed versions, newest first, from memory (for a 410). Added in 0.2."""
        return self._hot.live_alternatives(handler)

    def view_generation(self) -> int:
        """The state generation the in-memory view was built from (changes after a refresh)."""
        return self._hot.view_generation()

    def latest_live(self, handler: str) -> str | None:
        """The newest live version of a handler (from memory), or None."""
        return self._hot.latest_live(handler)

    def handlers(self) -> list[str]:
        """Every handler path with at least one defined version."""
        return self._hot.handlers()

    def schema_usage(self, name: str) -> list[str]:
        """Live TSVs that need the schema (from memory)."""
        return self._hot.schema_usage(name)

    def active_schemas(self) -> list[str]:
        """Names of the applied schemas, in definition order (from memory, no I/O).

        A schema the state knows but the definitions no longer name comes last, sorted.
        Added in 0.5.
        """
        return self._hot.active_schemas()

    def version_tags(self, tsv: str) -> list[str]:
        """The tags on a version now, declared and runtime ones, sorted (from memory).

        Added in 0.5.
        """
        return self._hot.version_tags(tsv)

    def active_versions(self, handler: str | None = None) -> list[Version]:
        """Live versions (from memory), oldest first per handler."""
        return self._hot.active_versions(handler)

    def record_request(self, tsv: str) -> None:
        """Count one request for a version, in memory (flushed by :meth:`flush_usage`)."""
        self._hot.record_request(tsv)

    def flush_usage(self) -> int:
        """Write the request counters gathered since the last flush; return how many versions.

        Increments are relative (``count = count + n``), so instances never overwrite each other.
        """
        return self._hot.flush_usage()

    # -- reports, read-only (engine.inspection) -------------------------------------------------

    def are_compatible(self, schema_a: str, schema_b: str) -> bool:
        """Whether live versions on ``schema_b`` keep working once ``schema_a`` is applied.

        Raises:
            UnknownRefError: For an unknown schema.
        """
        return self._parts.inspection.are_compatible(schema_a, schema_b)

    def compatibility(self, schema_a: str, schema_b: str) -> tuple[bool, str]:
        """Whether versions on ``schema_b`` keep working once ``schema_a`` is applied, and why.

        The gate's answer and reason: declarations first, then (with ``infer_compatibility``)
        the SQL analysis, e.g. ``(False, "drops column products.price (breaking)")``. Reads the
        definitions only: no connection, no lock. Added in 0.2.

        Raises:
            UnknownRefError: For an unknown schema.
        """
        return self._parts.inspection.compatibility(schema_a, schema_b)

    def schemas(self) -> list[SchemaInfo]:
        """Every schema with status, usage and checksums (read-only, no lock)."""
        return self._parts.inspection.schemas()

    def schema_rows(self, *, iso_times: bool = False) -> list[tuple[Any, ...]]:
        """:meth:`schemas` as plain tuples, each :class:`SchemaInfo`'s fields in their order.

        For callers that only write the fields out (``schema list --json``): at 10,000 schemas
        building the instances cost a tenth of the command. Added after 0.5 (issue 14).

        Args:
            iso_times: Give ``applied_at`` and ``rolled_back_at`` as the ISO-8601 text
                ``--json`` prints (UTC, ``Z``; :func:`timescape.model.moment.iso`) instead of
                ``datetime``: taken from the stored text, they are not formatted again.

        Returns:
            One tuple per schema, as :meth:`schemas` orders them.
        """
        return self._parts.inspection.schema_rows(iso_times=iso_times)

    def schema_info(self, name: str) -> SchemaInfo:
        """One schema's details.

        Raises:
            UnknownRefError: For an unknown schema.
        """
        return self._parts.inspection.schema_info(name)

    def versions(self, *, handler: str | None = None) -> list[VersionInfo]:
        """Every version with status, tags and counters (read-only, no lock)."""
        return self._parts.inspection.versions(handler=handler)

    def version_rows(
        self, *, handler: str | None = None, iso_times: bool = False
    ) -> list[tuple[Any, ...]]:
        """:meth:`versions` as plain tuples, each :class:`VersionInfo`'s fields in their order.

        For callers that only write the fields out (``version list --json``). Added after 0.5
        (issue 14).

        Args:
            handler: Only this handler's versions.
            iso_times: Give ``timestamp``, ``last_accessed``, ``activated_at`` and
                ``retiring_since`` as the ISO-8601 text ``--json`` prints (UTC, ``Z``;
                :func:`timescape.model.moment.iso`) instead of ``datetime``: the stored ones are
                taken from the stored text, not formatted again.

        Returns:
            One tuple per version, as :meth:`versions` orders them.
        """
        return self._parts.inspection.version_rows(handler=handler, iso_times=iso_times)

    def history(self, *, limit: int = 50) -> list[Event]:
        """The event log, newest first (read-only)."""
        return self._parts.inspection.history(limit=limit)

    def stats(self) -> Stats:
        """Counts by status (read-only)."""
        return self._parts.inspection.stats()

    def verify(self) -> VerifyReport:
        """Check the database against the definitions without changing anything.

        Reports drift (per step, migration and rollback scripts), applied schemas no longer
        defined, failed/interrupted/uncertain schemas, a run that died (or one in progress),
        live versions whose schemas are not applied, and damaged state tables; the report's
        ``ok`` is False when anything needs attention.
        """
        return self._parts.inspection.verify()

    def dry_run_statements(self, plan: Plan) -> list[str]:
        """The SQL a plan would send, in order (for rendering)."""
        return self._parts.inspection.dry_run_statements(plan)
