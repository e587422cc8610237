"""A serving instance as the state records it: a pure value, no I/O.

Added in 0.2.
"""

from __future__ import annotations

from dataclasses import field
from datetime import datetime

from timescape.model._record import record

__all__ = ["InstanceInfo"]


@record
class InstanceInfo:
    """One row of the ``instances`` table: a process that serves versions, and how it is doing.

    Attributes:
        id: Random hex id given at registration.
        host: Host name of the process.
        pid: Its process id.
        label: What the process calls itself (``uvicorn app:app``), if it said.
        started_at: When it registered.
        heartbeat_at: Its last heartbeat, by the database clock.
        generation: The state generation its in-memory view was built from.
        in_flight: Requests it is still serving, per TSV (only the non-zero counts).
        stale_after_s: How long after a heartbeat it counts as gone (its own promise).
        age_s: Seconds since its last heartbeat, by the database clock, when it was read.
        is_stale: True when ``age_s`` exceeds ``stale_after_s``: the process is taken for gone.
    """

    id: str
    host: str
    pid: int
    label: str | None
    started_at: datetime | None
    heartbeat_at: datetime
    generation: int
    in_flight: dict[str, int] = field(default_factory=dict)
    stale_after_s: float = 6.0
    age_s: float = 0.0
    is_stale: bool = False

    def holds(self, tsv: str, generation: int) -> str | None:
        """Why this instance may still serve ``tsv``, or None once it has let go of it.

        It has let go once it has loaded a state of at least ``generation`` (the one that stopped
        routing ``tsv``) and finished every request it was serving on ``tsv``; a stale instance
        is gone and holds nothing.

        Args:
            tsv: The version being retired.
            generation: The generation that marked it retiring.

        Returns:
            ``"not yet loaded"``, ``"N in flight"``, or None.
        """
        if self.is_stale:
            return None
        if self.generation < generation:
            return "not yet loaded"
        count = self.in_flight.get(tsv, 0)
        if count > 0:
            return f"{count} in flight"
        return None

    @property
    def name(self) -> str:
        """How an operator recognises it: ``host pid N`` and the short id."""
        return f"{self.host} pid {self.pid} ({self.id[:8]})"
