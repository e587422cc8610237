"""The ``instances`` state table: serving processes, their heartbeats and what they still hold.

Each statement here is one autocommitted round trip that takes no Timescape lock: a heartbeat
must get through while a migration holds the lock, or a drain waiting for it would wait in vain.
The table is not part of the snapshot (a heartbeat moves no generation, so it never makes the
instances reload their view); times come from the database clock (``NOW_MS_SQL``).

Added in 0.2.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from timescape.model.instance import InstanceInfo
from timescape.store.base import Backend

__all__ = ["InstanceTable"]

_COLUMNS = (
    "id",
    "host",
    "pid",
    "label",
    "started_at",
    "heartbeat_ms",
    "stale_after_ms",
    "generation",
    "in_flight",
)
_UPDATED = ("heartbeat_ms", "stale_after_ms", "generation", "in_flight")


class InstanceTable:
    """Reads and writes ``<prefix>instances`` through one backend."""

    def __init__(self, backend: Backend) -> None:
        """Bind to a backend.

        Args:
            backend: The backend whose table prefix names the table.
        """
        self.backend = backend
        self.table = f"{backend.table_prefix}instances"
        """The bare name, for catalog lookups; SQL names :attr:`qualified`."""
        self._upsert: str | None = None

    @property
    def qualified(self) -> str:
        """The table qualified with the state tables' schema or database (issue 11)."""
        return self.backend.qualify(self.table)

    def ddl(self) -> str:
        """The ``CREATE TABLE IF NOT EXISTS`` statement (bootstrap and the format-2 upgrade)."""
        b = self.backend
        return (
            f"CREATE TABLE IF NOT EXISTS {self.qualified} (id {b.TYPE_NAME} PRIMARY KEY, "
            f"host {b.TYPE_KEY} NOT NULL, pid {b.TYPE_BIGINT} NOT NULL, label {b.TYPE_TEXT}, "
            f"started_at {b.TYPE_NAME}, heartbeat_ms {b.TYPE_BIGINT} NOT NULL, "
            f"stale_after_ms {b.TYPE_BIGINT} NOT NULL, generation {b.TYPE_BIGINT} NOT NULL, "
            f"in_flight {b.TYPE_TEXT}){b.TABLE_OPTIONS}"
        )

    def exists(self) -> bool:
        """Whether the table exists (one catalog query)."""
        return self.table in self.backend.table_names((self.table,))  # bare: a catalog lookup

    def create(self) -> None:
        """Create the table if missing, without the lock (an instance may start first).

        Two processes creating it at once may collide in the catalog (PostgreSQL reports a
        duplicate type even with ``IF NOT EXISTS``); the loser finds the table there and is done.
        """
        try:
            self.backend.execute(self.ddl(), None)
        except Exception as exc:
            if not self.backend.is_driver_error(exc) or not self.exists():
                raise

    def upsert(
        self,
        instance_id: str,
        *,
        host: str,
        pid: int,
        label: str | None,
        started_at: str,
        stale_after_s: float,
        generation: int,
        in_flight: Mapping[str, int],
    ) -> None:
        """Insert the instance's row, or refresh its heartbeat: one statement, autocommitted.

        Args:
            instance_id: The id.
            host: Host name.
            pid: Process id.
            label: Its label.
            started_at: ISO time it registered.
            stale_after_s: How long after this heartbeat it counts as gone.
            generation: The generation of its loaded view.
            in_flight: Requests still being served per TSV (zeros are dropped).
        """
        busy = {t: int(n) for t, n in sorted(in_flight.items()) if n}
        params = (
            instance_id,
            host,
            pid,
            label,
            started_at,
            int(stale_after_s * 1000),
            int(generation),
            json.dumps(busy, separators=(",", ":")) if busy else None,
        )
        self.backend.execute(self._upsert_sql(), params)

    def _upsert_sql(self) -> str:
        if self._upsert is None:
            b = self.backend
            values = ", ".join(b.NOW_MS_SQL if c == "heartbeat_ms" else "?" for c in _COLUMNS)
            sets = ", ".join(b.UPSERT_SET_SQL.format(column=c) for c in _UPDATED)
            self._upsert = (
                f"INSERT INTO {self.qualified} ({', '.join(_COLUMNS)}) VALUES ({values})"
                + b.UPSERT_SQL.format(key="id", sets=sets)
            )
        return self._upsert

    def delete(self, instance_id: str) -> None:
        """Remove an instance's row (it stopped cleanly)."""
        self.backend.execute(f"DELETE FROM {self.qualified} WHERE id = ?", (instance_id,))

    def prune(self) -> int:
        """Delete the rows of instances whose heartbeat is older than their own bound.

        Returns:
            How many were deleted.
        """
        now_ms = self.backend.NOW_MS_SQL
        return self.backend.execute(
            f"DELETE FROM {self.qualified} WHERE {now_ms} - heartbeat_ms > stale_after_ms", ()
        )

    def rows(self) -> list[InstanceInfo]:
        """Every registered instance, stale ones included, oldest registration first.

        Returns:
            The instances, each with its age by the database clock.
        """
        rows = self.backend.query(
            f"SELECT {', '.join(_COLUMNS)}, {self.backend.NOW_MS_SQL} FROM {self.qualified}"
        )
        infos = [_info(row) for row in rows]
        infos.sort(key=lambda i: (i.started_at or i.heartbeat_at, i.id))
        return infos


def _info(row: tuple[Any, ...]) -> InstanceInfo:
    heartbeat_ms, stale_ms, now_ms = int(row[5]), int(row[6]), int(row[9])
    age_ms = max(0, now_ms - heartbeat_ms)
    busy = json.loads(row[8]) if row[8] else {}
    return InstanceInfo(
        id=row[0],
        host=row[1],
        pid=int(row[2]),
        label=row[3],
        started_at=datetime.fromisoformat(row[4]) if row[4] else None,
        heartbeat_at=datetime.fromtimestamp(heartbeat_ms / 1000, UTC),
        generation=int(row[7]),
        in_flight={str(k): int(v) for k, v in busy.items()},
        stale_after_s=stale_ms / 1000,
        age_s=age_ms / 1000,
        is_stale=age_ms > stale_ms,
    )
