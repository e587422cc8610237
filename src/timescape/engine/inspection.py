"""Read-only questions about the definitions and the state: reports, ``verify``, compatibility.

None of these writes anything or waits for the database lock (``verify`` takes it only when it is
free, to read a consistent state); each reads under the in-process mutex and hands the rows to
the pure builders in :mod:`timescape.reports`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import starmap
from typing import TYPE_CHECKING, Any

from timescape.engine.connection import Connection
from timescape.engine.definitions import Definitions
from timescape.engine.hotpath import HotPath
from timescape.errors import UnknownRefError
from timescape.execution.recovery import Recovery
from timescape.model._record import maker
from timescape.model.moment import iso
from timescape.model.plan import Judge, Plan, compatibility
from timescape.model.state import StateSnapshot
from timescape.model.usage import UsagePolicy
from timescape.reports import (
    SchemaInfo,
    Stats,
    VersionInfo,
    build_stats,
    schema_rows,
    schema_rows_from,
    stats_from_rows,
    version_rows,
)
from timescape.store.state import Event

if TYPE_CHECKING:
    from timescape.reports import VerifyReport

__all__ = ["Inspection"]


class Inspection:
    """The reports and read-only checks of :class:`~timescape.Timescape`."""

    def __init__(
        self,
        connection: Connection,
        definitions: Definitions,
        hot: HotPath,
        *,
        mutex: threading.RLock,
        judge: Callable[[], Judge],
        recovery: Callable[[], Recovery],
        policy: Callable[[], UsagePolicy],
    ) -> None:
        """Wire the reports to the facade's parts.

        Args:
            connection: The backend and state store the reports read.
            definitions: The definitions they report on.
            hot: The hot path (its index of refs gives the versions' tags).
            mutex: The facade's in-process mutex.
            judge: The compatibility judge of the gate (declared or inferred).
            recovery: Recovery over the current definitions (the effective statuses).
            policy: The hot/cold thresholds of the usage status (read at each report).
        """
        self._connection = connection
        self._definitions = definitions
        self._hot = hot
        self._mutex = mutex
        self._judge = judge
        self._recovery = recovery
        self._policy = policy

    def are_compatible(self, schema_a: str, schema_b: str) -> bool:
        """Tell whether live versions on ``schema_b`` keep working once ``schema_a`` is applied."""
        ok, _ = self.compatibility(schema_a, schema_b)
        return ok

    def compatibility(self, schema_a: str, schema_b: str) -> tuple[bool, str]:
        """Whether versions on ``schema_b`` keep working once ``schema_a`` is applied, and why."""
        catalog = self._definitions.catalog
        catalog.schema(schema_b)
        return compatibility(catalog, schema_a, schema_b, self._judge())

    def _report_snapshot(self) -> StateSnapshot:
        """Every schema row and the live versions: what schema reports and stats need."""
        with self._mutex, self._connection.boundary():
            self._connection.backend.connect()
            self._connection.store.check_readable()
            snapshot = self._connection.store.read_for_reports()
            # The effective status (a dead run's in-flight step, its schemas): the same
            # derivation as verify's, so every surface says the same (issue 11).
            return self._recovery().effective(snapshot, self._connection.store.read_for_reports)

    def schemas(self) -> list[SchemaInfo]:
        """Every schema with status, usage and checksums (read-only, no lock)."""
        rows = self.schema_rows()
        return list(starmap(maker(SchemaInfo, len(rows)), rows))

    def schema_rows(self, *, iso_times: bool = False) -> list[tuple[Any, ...]]:
        """:meth:`schemas` as tuples of the :class:`SchemaInfo` fields (read-only, no lock).

        The listed columns alone when every stored status is the effective one; whole rows, and
        the derivation every report shares (:mod:`timescape.model.status`), when one may not be.
        With ``iso_times``, ``applied_at`` and ``rolled_back_at`` are the text
        :func:`timescape.model.moment.iso` prints, taken from the stored text when it can be.
        """
        catalog = self._definitions.catalog
        with self._mutex, self._connection.boundary():
            self._connection.backend.connect()
            self._connection.store.check_readable()
            settled = self._connection.store.read_listing_rows(iso_times=iso_times)
        if settled is None:
            rows = schema_rows(catalog, self._report_snapshot())
            if iso_times:
                rows = [(*r[:4], iso(r[4]), iso(r[5]), *r[6:]) for r in rows]
            return rows
        live, stored = settled
        return schema_rows_from(catalog, live, stored)

    def schema_info(self, name: str) -> SchemaInfo:
        """One schema's details."""
        for info in self.schemas():
            if info.name == name:
                return info
        raise UnknownRefError(name, reason="no such schema")

    def versions(self, *, handler: str | None = None) -> list[VersionInfo]:
        """Every version with status, tags and counters (read-only, no lock)."""
        rows = self.version_rows(handler=handler)
        return list(starmap(maker(VersionInfo, len(rows)), rows))

    def version_rows(
        self, *, handler: str | None = None, iso_times: bool = False
    ) -> list[tuple[Any, ...]]:
        """:meth:`versions` as tuples of the :class:`VersionInfo` fields (read-only, no lock).

        With ``iso_times``, every moment is the text :func:`timescape.model.moment.iso`
        prints, the stored ones taken from the stored text.
        """
        printed: dict[str, tuple[str | None, str | None, str | None]] | None = (
            {} if iso_times else None
        )
        with self._mutex, self._connection.boundary():
            self._connection.backend.connect()
            self._connection.store.check_readable()
            # Versions and tags only: the schema rows would cost more than the report.
            snapshot = self._connection.store.read_versions(printed=printed)
        catalog = self._definitions.catalog
        # The tags each version's handler holds for it (a tag names a version in its handler
        # only); one pass over the tags, not a search of them per version (issue 14).
        tags = {
            key: tsv
            for key, tsv in self._hot.tags_for(snapshot).items()
            if catalog.version(tsv).handler == key[0]
        }
        return version_rows(
            catalog,
            snapshot,
            tags,
            datetime.now(UTC),
            handler=handler,
            policy=self._policy(),
            printed=printed,
        )

    def history(self, *, limit: int = 50) -> list[Event]:
        """The event log, newest first (read-only)."""
        with self._mutex, self._connection.boundary():
            self._connection.backend.connect()
            self._connection.store.check_readable()
            return self._connection.store.events(limit=limit)

    def stats(self) -> Stats:
        """Counts by status (read-only).

        Four columns per schema when every stored status is the effective one; whole rows, and
        the derivation every report shares (:mod:`timescape.model.status`), when one may not be.
        """
        catalog = self._definitions.catalog
        with self._mutex, self._connection.boundary():
            self._connection.backend.connect()
            self._connection.store.check_readable()
            settled = self._connection.store.read_status_rows()
        if settled is None:
            return build_stats(catalog, self._report_snapshot())
        live, rows = settled
        return stats_from_rows(catalog, live, rows)

    def verify(self) -> VerifyReport:
        """Check the database against the definitions without changing anything."""
        # Imported here: the listings share this class and never verify (issue 14: start-up).
        from timescape.execution.verification import verify_state  # noqa: PLC0415

        catalog = self._definitions.catalog
        with self._mutex, self._connection.boundary():
            self._connection.backend.connect()
            return verify_state(self._connection.store, catalog)

    def dry_run_statements(self, plan: Plan) -> list[str]:
        """The SQL a plan would send, in order (for rendering)."""
        return plan.statements()
