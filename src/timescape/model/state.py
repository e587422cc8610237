"""What the database says: a pure, immutable snapshot of the ``timescape_*`` tables.

The store reads the tables into these values; the planner decides from them. Keeping the snapshot
plain data means every planning rule is testable without a database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from timescape.model._overlay import Overlay, frozen
from timescape.model._record import record

__all__ = [
    "ListedSchema",
    "SchemaState",
    "SchemaStatus",
    "StateSnapshot",
    "StoredSchema",
    "VersionState",
]


class SchemaStatus(StrEnum):
    """Where a schema stands in the target database."""

    PENDING = "pending"
    """Known, never applied."""
    APPLIED = "applied"
    """Every step applied."""
    FAILED = "failed"
    """The last apply or rollback failed; ``steps_done`` steps are in place."""
    ROLLED_BACK = "rolled_back"
    """Rolled back completely."""
    INTERRUPTED = "interrupted"
    """A run died before recording its outcome (crash, kill, lost connection)."""
    UNCERTAIN = "uncertain"
    """A non-transactional step's outcome is unknown; an operator must resolve it."""


@record
class SchemaState:
    """One row of the schemas table.

    Attributes:
        name: Schema name.
        status: Its status.
        steps_done: How many steps are in place (counted from the first).
        checksums: Migration checksums of the applied steps, in order.
        rollback_checksums: Rollback checksums recorded with them.
        parents: Parents as recorded when applied.
        applied_at: When it was last applied completely.
        rolled_back_at: When it was last rolled back completely.
        duration_ms: Duration of the last apply or rollback.
        error: The last error, if any.
        step_in_flight: The step a run marked as started and never finished (crash evidence).
        attempt_started_at: When the run that left ``step_in_flight`` or an open attempt started.
        contract_done: Whether the deferred contract steps have run.
    """

    name: str
    status: SchemaStatus
    steps_done: int = 0
    checksums: tuple[str, ...] = ()
    rollback_checksums: tuple[str | None, ...] = ()
    parents: tuple[str, ...] = ()
    applied_at: datetime | None = None
    rolled_back_at: datetime | None = None
    duration_ms: int | None = None
    error: str | None = None
    step_in_flight: int | None = None
    attempt_started_at: datetime | None = None
    contract_done: bool = False

    @property
    def is_applied(self) -> bool:
        """True when every step is in place."""
        return self.status is SchemaStatus.APPLIED

    @property
    def has_objects(self) -> bool:
        """True when at least one step is in place (its objects exist)."""
        return self.steps_done > 0


StoredSchema = tuple[
    SchemaStatus,
    int,
    tuple[str, ...],
    datetime | None,
    datetime | None,
    int | None,
    str | None,
    bool,
    tuple[str, ...],
]
"""What a listing shows of a schema row, in this order: status, steps done, checksums, applied
at, rolled back at, last duration, last error, contract done, parents (as in :class:`SchemaState`).

Plain tuples: ``schema list`` at 10,000 schemas reads them instead of whole rows (issue 14)."""

ListedSchema = tuple[
    SchemaStatus,
    int,
    tuple[str, ...],
    datetime | str | None,
    datetime | str | None,
    int | None,
    str | None,
    bool,
    tuple[str, ...],
]
"""A :data:`StoredSchema` whose two moments may instead be the text ``--json`` prints.

``schema list --json`` only prints them: formatting each ``datetime`` back into the text it was
read from cost a twentieth of the command at 10,000 schemas (issue 14)."""


@record
class VersionState:
    """One row of the versions table.

    Attributes:
        tsv: The TSV.
        handler: Handler path.
        timestamp: The version's timestamp.
        schema: The schema it needs.
        active: Whether it is live.
        activated_at: When it was last activated.
        deactivated_at: When it was last deactivated.
        request_count: Requests served, as flushed by the app instances.
        last_accessed: Last request time flushed.
        retiring_generation: While the version is *retiring* (being deactivated: no longer
            routed, its schemas still applied until every serving instance has drained it),
            the state generation that marked it so; None otherwise.
        retiring_at: When it was marked retiring.

    Changed in 0.3: ``retiring_generation`` and ``retiring_at``.
    """

    tsv: str
    handler: str
    timestamp: datetime
    schema: str
    active: bool = False
    activated_at: datetime | None = None
    deactivated_at: datetime | None = None
    request_count: int = 0
    last_accessed: datetime | None = None
    retiring_generation: int | None = None
    retiring_at: datetime | None = None

    @property
    def is_retiring(self) -> bool:
        """True while the version is being deactivated: not routed, its schemas still held."""
        return self.active and self.retiring_generation is not None

    @property
    def is_routed(self) -> bool:
        """True when instances route new requests to it (live and not retiring)."""
        return self.active and self.retiring_generation is None


def _no_rows() -> Mapping[Any, Any]:
    return _EMPTY


_EMPTY: Mapping[Any, Any] = MappingProxyType({})
_READ_ONLY = frozenset({MappingProxyType, Overlay})


@record
class StateSnapshot:
    """The state tables at one moment.

    Every mapping is read-only (assigning or deleting a key raises :class:`TypeError`): a change
    builds a new snapshot that shares the unchanged rows with this one instead of copying them
    (:class:`timescape.model._overlay.Draft`), so one more activation at 10,000 schemas costs
    what it costs at 100 (issue 14). A plain dict given to the constructor is copied first.

    Attributes:
        schemas: Rows of the schemas table by name.
        versions: Rows of the versions table by TSV.
        tags: Runtime tags, ``(handler, tag) → tsv``.
        generation: A counter bumped by every write; equal generations mean equal state.
        format_version: The state tables' format version.

    Changed in 0.3: ``schemas``, ``versions`` and ``tags`` are read-only
    :class:`~collections.abc.Mapping` objects, no longer dicts (copy one with ``dict(...)`` to
    change it).
    """

    schemas: Mapping[str, SchemaState] = field(default_factory=_no_rows)
    versions: Mapping[str, VersionState] = field(default_factory=_no_rows)
    tags: Mapping[tuple[str, str], str] = field(default_factory=_no_rows)
    generation: int = 0
    format_version: int = 0
    # Derived sets, computed once per snapshot (or handed over by the state store when it derives
    # a snapshot from its own committed writes); never copied by ``dataclasses.replace``.
    _live: frozenset[str] | None = field(default=None, init=False, repr=False, compare=False)
    _applied: frozenset[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Copy a mapping the caller may still change; share read-only ones as they are."""
        for name in ("schemas", "versions", "tags"):
            rows = getattr(self, name)
            if type(rows) not in _READ_ONLY:  # exact types: no ABC machinery per snapshot
                object.__setattr__(self, name, frozen(dict(rows)))

    def live(self) -> frozenset[str]:
        """TSVs of the versions that hold their schemas: live and retiring (computed once).

        A retiring version is no longer routed, but its schemas stay applied (and the gate keeps
        protecting it) until every serving instance has drained it; see :meth:`routed`.
        """
        cached = self._live
        if cached is None:
            cached = frozenset(tsv for tsv, v in self.versions.items() if v.active)
            object.__setattr__(self, "_live", cached)
        return cached

    def routed(self) -> frozenset[str]:
        """TSVs that instances route new requests to: :meth:`live` minus the retiring ones."""
        live = self.live()
        versions = self.versions
        return frozenset(t for t in live if versions[t].retiring_generation is None)

    def retiring(self) -> frozenset[str]:
        """TSVs being deactivated: no longer routed, their schemas still applied."""
        return self.live() - self.routed()

    def applied(self) -> frozenset[str]:
        """Names of the schemas whose every step is in place (computed once per snapshot)."""
        cached = self._applied
        if cached is None:
            cached = frozenset(n for n, r in self.schemas.items() if r.is_applied)
            object.__setattr__(self, "_applied", cached)
        return cached

    def active_tsvs(self) -> list[str]:
        """TSVs of the live versions, sorted."""
        return sorted(self.live())

    def is_active(self, tsv: str) -> bool:
        """True when ``tsv`` is live."""
        row = self.versions.get(tsv)
        return row is not None and row.active

    def status_of(self, name: str) -> SchemaStatus:
        """The schema's status (``pending`` when it has no row)."""
        row = self.schemas.get(name)
        return row.status if row is not None else SchemaStatus.PENDING
