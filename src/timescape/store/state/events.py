"""What ran: the append-only event log, and the marker of a run in progress.

Neither is part of a snapshot: events are never updated or deleted (``timescape history`` reads
them back), and the run marker is one meta row committed before a run's first change and cleared
after its last, so a run that died leaves evidence for recovery.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from timescape.model._record import record
from timescape.store.base import Backend
from timescape.store.state.codec import iso, json_object, now
from timescape.store.state.tables import StateTables

__all__ = ["Event", "EventLog", "RunMarker"]


@record
class Event:
    """One row of the append-only event log.

    Attributes:
        id: Increasing id.
        at: When.
        kind: What happened (``schema_applied``, ``version_activated``, ...).
        subject: The schema name or TSV it is about.
        actor: Who (``user@host pid N``).
        duration_ms: How long it took, where meaningful.
        detail: Structured detail.
    """

    id: int
    at: datetime
    kind: str
    subject: str
    actor: str
    duration_ms: int | None
    detail: dict[str, Any]


@record
class RunMarker:
    """Evidence of a run in progress, committed before its first change.

    Attributes:
        operation: ``activate``, ``deactivate``, ``migrate`` or ``rollback``.
        target: The TSV or schema.
        schemas: The schemas the run was going to touch.
        started_at: When it started.
        actor: Who ran it.
    """

    operation: str
    target: str
    schemas: tuple[str, ...]
    started_at: datetime
    actor: str


class EventLog:
    """Appends and reads events, and writes and reads the run marker (the caller commits)."""

    def __init__(self, backend: Backend, tables: StateTables) -> None:
        """Bind to a backend and its state tables.

        Args:
            backend: The backend the store reads and writes through.
            tables: The state tables' names.
        """
        self._backend = backend
        self._tables = tables

    def record_event(
        self,
        kind: str,
        subject: str,
        *,
        actor: str,
        duration_ms: int | None = None,
        detail: dict[str, Any] | None = None,
        at: datetime | None = None,
        detail_json: str | None = None,
    ) -> None:
        """Append an event (never updated or deleted); ``at`` defaults to now.

        ``detail_json`` is ``detail`` already encoded (:func:`json_object`), for a caller that
        writes the same detail for many events (the executor, once per schema; issue 14).
        """
        if detail_json is None:
            detail_json = json_object(detail or {})
        self._backend.defer(
            _event_sql(self._tables.events),
            (iso(at or now()), kind, subject, actor, duration_ms, detail_json),
            rides=True,
        )

    def events(self, *, limit: int = 50, kinds: Iterable[str] = ()) -> list[Event]:
        """The newest events first.

        Args:
            limit: At most this many.
            kinds: Only these kinds (all when empty).

        Returns:
            The events.

        Raises:
            StateError: When some state tables are missing.
        """
        if not self._tables.present():
            return []
        kinds = list(kinds)
        where = f" WHERE kind IN ({', '.join('?' for _ in kinds)})" if kinds else ""
        rows = self._backend.query(
            f"SELECT id, at, kind, subject, actor, duration_ms, detail FROM {self._tables.events}"
            f"{where} ORDER BY id DESC LIMIT {int(limit)}",
            kinds,
        )
        return [
            Event(
                id=int(r[0]),
                at=datetime.fromisoformat(r[1]),
                kind=r[2],
                subject=r[3],
                actor=r[4] or "",
                duration_ms=r[5],
                detail=json.loads(r[6] or "{}"),
            )
            for r in rows
        ]

    def event_ids(self) -> list[int]:
        """Every event id in insertion order (for append-only checks)."""
        return [int(r[0]) for r in self._backend.query(f"SELECT id FROM {self._tables.events}")]

    def run_marker(self) -> RunMarker | None:
        """The marker of a run that started and has not finished (or died)."""
        rows = self._backend.query(
            f"SELECT value FROM {self._tables.meta} WHERE key_name = ?", ("run",)
        )
        if not rows or not rows[0][0]:
            return None
        data = json.loads(rows[0][0])
        return RunMarker(
            operation=data["operation"],
            target=data["target"],
            schemas=tuple(data["schemas"]),
            started_at=datetime.fromisoformat(data["started_at"]),
            actor=data["actor"],
        )

    def set_run_marker(self, marker: RunMarker | None) -> None:
        """Write or clear the run marker.

        An upsert rather than a SELECT and then an UPDATE or INSERT: no answer is needed, so on
        PostgreSQL the write rides in the COMMIT's round trip like the other state writes.
        """
        value = (
            None
            if marker is None
            else json.dumps(
                {
                    "operation": marker.operation,
                    "target": marker.target,
                    "schemas": list(marker.schemas),
                    "started_at": iso(marker.started_at),
                    "actor": marker.actor,
                }
            )
        )
        backend = self._backend
        sets = backend.UPSERT_SET_SQL.format(column="value")
        backend.defer(
            f"INSERT INTO {self._tables.meta} (key_name, value) VALUES (?, ?)"
            + backend.UPSERT_SQL.format(key="key_name", sets=sets),
            ("run", value),
        )


@functools.cache
def _event_sql(table: str) -> str:
    """The INSERT of an event into ``table`` (qualified): one string, its hash computed once."""
    return (
        f"INSERT INTO {table} (at, kind, subject, actor, duration_ms, detail) "
        "VALUES (?, ?, ?, ?, ?, ?)"
    )
