"""The ``timescape_*`` tables: creation, format upgrades, reads into snapshots, and writes.

Writes never commit on their own: the caller (the executor) owns the transaction, so on PostgreSQL
and SQLite a schema's DDL and its state row commit together. A ``generation`` counter in the meta
table moves on every write; readers compare it to skip reloading unchanged state, which keeps the
hot path and the ten-thousandth activation as cheap as the first.

:class:`StateStore` is the one object the engine talks to. It owns a part per responsibility:

- :mod:`~timescape.store.state.tables`: names, creation, presence checks, numbered upgrades;
- :mod:`~timescape.store.state.cache`: the last snapshot, rolled forward by committed writes;
- :mod:`~timescape.store.state.reader`: full and report reads, under a consistent snapshot;
- :mod:`~timescape.store.state.writer`: schema, version and tag rows, the generation counter;
- :mod:`~timescape.store.state.events`: the event log and the run marker;
- :mod:`~timescape.store.state.codec`: the stored text of times and lists, shared by all.
"""

from __future__ import annotations

from timescape.store.base import Backend
from timescape.store.state.cache import SnapshotCache
from timescape.store.state.codec import json_list as _json_list  # noqa: F401 - tests import it here
from timescape.store.state.codec import now
from timescape.store.state.events import Event, EventLog, RunMarker
from timescape.store.state.reader import StateReader
from timescape.store.state.tables import FORMAT_VERSION, StateTables, validate_prefix
from timescape.store.state.writer import StateWriter

__all__ = ["FORMAT_VERSION", "Event", "RunMarker", "StateStore", "now", "validate_prefix"]


class StateStore:
    """Reads and writes the state tables through one backend.

    The facade owns its parts (:attr:`tables`, :attr:`cache`, :attr:`reader`, :attr:`writer`,
    :attr:`log`) and offers their methods as its own. Those are the parts' bound methods, set
    once here rather than delegating wrappers: ``write_schema``, ``record_event`` and
    ``bump_generation`` run per schema applied, and a wrapper would add a call to each (issue 14).
    """

    def __init__(self, backend: Backend) -> None:
        """Bind to a backend; the tables are created on the first write.

        Args:
            backend: The connected (or lazily connecting) backend.
        """
        self.backend = backend
        self.cache = cache = SnapshotCache(backend)
        self.tables = tables = StateTables(backend, on_upgrade=cache.invalidate)
        self.log = log = EventLog(backend, tables)
        self.reader = reader = StateReader(backend, tables, cache, log)
        self.writer = writer = StateWriter(backend, tables, cache)
        self.instances = tables.instances
        # The tables: creation, format and presence.
        self.exists = tables.exists
        self.missing_tables = tables.missing
        self.ensure = tables.ensure
        self.format_version = tables.format_version
        self.check_readable = tables.check_readable
        # Reads.
        self.generation = reader.generation
        self.read = reader.read
        self.read_for_reports = reader.read_for_reports
        self.read_status_rows = reader.read_status_rows
        self.read_listing_rows = reader.read_listing_rows
        self.read_versions = reader.read_versions
        self.retiring_marks = reader.retiring_marks
        self.discard_cache = cache.invalidate
        # Writes (the caller owns the transaction).
        self.bump_generation = writer.bump_generation
        self.write_schema = writer.write_schema
        self.delete_schema_row = writer.delete_schema_row
        self.set_version_active = writer.set_version_active
        self.set_version_retiring = writer.set_version_retiring
        self.sync_versions = writer.sync_versions
        self.prime_sync = writer.prime_sync
        self.set_tag = writer.set_tag
        self.delete_tag = writer.delete_tag
        self.add_requests = writer.add_requests
        # The event log and the run marker.
        self.record_event = log.record_event
        self.events = log.events
        self.event_ids = log.event_ids
        self.run_marker = log.run_marker
        self.set_run_marker = log.set_run_marker
        backend.on_transaction_end(cache.transaction_ended)

    @property
    def reloads(self) -> int:
        """How many times every row was read from the database (diagnostics and tests)."""
        return self.reader.reloads

    @property
    def outdated_checksums(self) -> frozenset[str]:
        """Schemas whose rows, at the last full read, held checksums of an older algorithm."""
        return self.reader.outdated_checksums

    @property
    def notification_channel(self) -> str:
        """The ``LISTEN`` channel every state change is announced on (PostgreSQL).

        Derived from the table prefix (a validated identifier), so two Timescape states in one
        database never hear each other. The payload is the new generation.
        """
        return self.writer.notification_channel
