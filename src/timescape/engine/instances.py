"""Serving instances: registration, heartbeats, the listing, and the cheap change probe.

A process that serves versions registers once, heartbeats every ``heartbeat_interval`` seconds
with the generation of the view it has loaded and its in-flight requests per version, and
unregisters when it stops. None of this takes the Timescape lock: a heartbeat is one
autocommitted upsert that must get through while a migration runs, since a deactivation may be
waiting for it. An instance silent for longer than its ``stale_after`` counts as gone and is pruned.

Added in 0.2.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Mapping

from timescape.errors import InputError
from timescape.model._record import record
from timescape.model.instance import InstanceInfo
from timescape.store.base import host_name
from timescape.store.state import StateStore, now

__all__ = ["InstanceInfo", "Instances", "ServingSettings"]

DEFAULT_HEARTBEAT_INTERVAL = 2.0
DEFAULT_POLL_INTERVAL = 0.5
DEFAULT_DRAIN_TIMEOUT = 30.0
STALE_INTERVALS = 3


@record
class ServingSettings:
    """How often instances report, when they count as gone, and how long a drain may wait.

    Attributes:
        heartbeat_interval: Seconds between an instance's heartbeats.
        stale_after: Seconds without a heartbeat after which an instance counts as gone
            (default: three intervals).
        poll_interval: Seconds between change probes where there is no ``NOTIFY``, and between
            the drain's looks at the instances.
        drain_timeout: Seconds a deactivation waits for every live instance to let go.
    """

    heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL
    stale_after: float | None = None
    poll_interval: float = DEFAULT_POLL_INTERVAL
    drain_timeout: float = DEFAULT_DRAIN_TIMEOUT

    def __post_init__(self) -> None:
        """Check every value is a positive number and ``stale_after`` exceeds the interval.

        Raises:
            InputError: Naming the value and what to do.
        """
        for label in ("heartbeat_interval", "poll_interval", "drain_timeout", "stale_after"):
            value = getattr(self, label)
            if value is None:
                continue
            if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                raise InputError(f"{label} must be a positive number of seconds, not {value!r}")
        if self.stale_after is not None and self.stale_after <= self.heartbeat_interval:
            raise InputError(
                f"stale_after ({self.stale_after:g} s) must be longer than heartbeat_interval "
                f"({self.heartbeat_interval:g} s), or every instance would count as gone"
            )

    @property
    def effective_stale_after(self) -> float:
        """``stale_after``, or three heartbeat intervals when it is not set."""
        if self.stale_after is not None:
            return float(self.stale_after)
        return STALE_INTERVALS * self.heartbeat_interval


@record
class _Own:
    """This process's registration (a docstring: else ``@record`` writes one from the signature)."""

    host: str
    pid: int
    label: str | None
    started_at: str


class Instances:
    """The facade's part for serving instances (owned by :class:`~timescape.Timescape`).

    Every database call runs under the facade's mutex (one connection per facade) and its store
    boundary (driver errors become Timescape errors); none takes the Timescape lock.
    """

    def __init__(
        self,
        *,
        store: Callable[[], StateStore],
        mutex: threading.RLock,
        boundary: Callable[[], contextlib.AbstractContextManager[None]],
        settings: ServingSettings,
    ) -> None:
        """Bind to the facade's store, mutex and error boundary.

        Args:
            store: Returns the facade's state store (connects lazily).
            mutex: The facade's mutex.
            boundary: The facade's driver-error translation.
            settings: Heartbeat and drain settings.
        """
        self._store = store
        self._mutex = mutex
        self._boundary = boundary
        self.settings = settings
        self._own: dict[str, _Own] = {}
        self._probe: tuple[int, int] | None = None
        """(change token, generation) of the last probe, while nothing was committed since."""
        self._listening = False

    def _connected(self) -> StateStore:
        store = self._store()
        store.backend.connect()
        if not self._listening:
            store.backend.on_transaction_end(self._own_commit)
            self._listening = True
        return store

    def _own_commit(self, committed: bool) -> None:  # noqa: FBT001 - listener signature
        if committed:
            self._probe = None

    def register(self, *, label: str | None = None, generation: int = 0) -> str:
        """Register this process as a serving instance; see :meth:`Timescape.register_instance`."""
        import uuid  # noqa: PLC0415 - uuid imports platform: ~3 ms of every start

        instance_id = uuid.uuid4().hex
        own = _Own(host_name(), os.getpid(), label, now().isoformat())
        with self._mutex, self._boundary():
            store = self._connected()
            table = store.instances
            if not table.exists():
                table.create()
            table.prune()
            self._own[instance_id] = own
            self._write(store, instance_id, generation, {})
        return instance_id

    def heartbeat(self, instance_id: str, *, generation: int, in_flight: Mapping[str, int]) -> None:
        """One heartbeat; see :meth:`Timescape.heartbeat`."""
        with self._mutex, self._boundary():
            store = self._connected()
            self._write(store, instance_id, generation, in_flight)

    def _write(
        self, store: StateStore, instance_id: str, generation: int, in_flight: Mapping[str, int]
    ) -> None:
        own = self._own.get(instance_id)
        if own is None:  # registered by another facade of this process, or pruned and forgotten
            own = _Own(host_name(), os.getpid(), None, now().isoformat())
            self._own[instance_id] = own
        table = store.instances

        def write() -> None:
            table.upsert(
                instance_id,
                host=own.host,
                pid=own.pid,
                label=own.label,
                started_at=own.started_at,
                stale_after_s=self.settings.effective_stale_after,
                generation=generation,
                in_flight=in_flight,
            )

        try:
            write()
        except Exception as exc:
            # The table was dropped with the state (a test or an operator): make it again once.
            if not store.backend.is_driver_error(exc) or table.exists():
                raise
            table.create()
            write()

    def unregister(self, instance_id: str) -> None:
        """Remove an instance; see :meth:`Timescape.unregister_instance`."""
        with self._mutex, self._boundary():
            store = self._connected()
            if store.instances.exists():
                store.instances.delete(instance_id)
            self._own.pop(instance_id, None)

    def rows(self) -> list[InstanceInfo]:
        """Every registered instance, stale ones included (read-only; no pruning)."""
        with self._mutex, self._boundary():
            store = self._connected()
            if not store.instances.exists():
                return []
            return store.instances.rows()

    def live(self) -> list[InstanceInfo]:
        """The instances that are not stale, pruning the stale ones (one read, maybe a delete).

        Returns:
            The live instances.
        """
        with self._mutex, self._boundary():
            store = self._connected()
            try:
                rows = store.instances.rows()
            except Exception as exc:
                if not store.backend.is_driver_error(exc) or store.instances.exists():
                    raise
                return []
            if any(r.is_stale for r in rows):
                store.instances.prune()
            return [r for r in rows if not r.is_stale]

    def retiring_marks(self, tsvs: list[str]) -> dict[str, int]:
        """Which of ``tsvs`` are still marked retiring, and at which generation (one read)."""
        with self._mutex, self._boundary():
            return self._connected().retiring_marks(tsvs)

    def generation(self) -> int:
        """The state generation, probed cheaply; see :meth:`Timescape.state_generation`."""
        with self._mutex, self._boundary():
            store = self._connected()
            token = store.backend.change_token()
            probe = self._probe
            if token is not None and probe is not None and probe[0] == token:
                return probe[1]
            generation = store.generation()
            self._probe = None if token is None else (token, generation)
            return generation
