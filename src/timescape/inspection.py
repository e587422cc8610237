"""Read-only questions about the definitions and the state: reports, ``verify``, compatibility.

None of these writes anything or waits for the database lock (``verify`` takes it only when it is
free, to read a consistent state); each reads under the in-process mutex and hands the rows to
the pure builders in :mod:`timescape.reports`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from timescape._host import Host
from timescape.errors import UnknownRefError
from timescape.model.plan import Plan, compatibility
from timescape.model.state import StateSnapshot
from timescape.reports import (
    SchemaInfo,
    Stats,
    VerifyReport,
    VersionInfo,
    build_schema_infos,
    build_stats,
    build_version_infos,
)
from timescape.store.state import Event
from timescape.verification import verify_state

__all__ = ["Inspection"]


class Inspection(Host):
    """The reports and read-only checks of :class:`~timescape.Timescape`.

    A mixin: the facade provides what :class:`~timescape._host.Host` declares.
    """

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

    def _report_snapshot(self) -> StateSnapshot:
        """Every schema row and the live versions: what schema reports and stats need."""
        with self._mutex, self._store_boundary():
            self.backend.connect()
            self.store.check_readable()
            snapshot = self.store.read_for_reports()
            # The effective status (a dead run's in-flight step, its schemas): the same
            # derivation as verify's, so every surface says the same (issue 11).
            return self._recovery().effective(snapshot, self.store.read_for_reports)

    def schemas(self) -> list[SchemaInfo]:
        """Every schema with status, usage and checksums (read-only, no lock)."""
        return build_schema_infos(self.catalog, self._report_snapshot())

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
        return build_stats(self.catalog, self._report_snapshot())

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
            return verify_state(self.store, catalog)

    def dry_run_statements(self, plan: Plan) -> list[str]:
        """The SQL a plan would send, in order (for rendering)."""
        return plan.statements()
