"""Recovery under the lock: runs that died, and checksums of an older algorithm.

A run commits a marker before its first change and clears it with its last; a marker found while
holding the lock therefore belongs to a run that died. Its schemas are recorded honestly as
``interrupted`` (transactional databases: nothing of the dying transaction remains) or
``uncertain`` (a step-by-step run died with a step in flight) before anything is planned.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from timescape._log import LazyLogger
from timescape.errors import StateError
from timescape.model.catalog import Catalog
from timescape.model.schema import CHECKSUM_ALGORITHM, upgraded_checksums
from timescape.model.state import SchemaState, StateSnapshot
from timescape.model.status import DeadRun, effective_snapshot, is_settled
from timescape.store.state import StateStore

__all__ = ["Recovery"]

logger = LazyLogger("timescape")


class Recovery:
    """Detects and records what crashed runs left behind, for one store and catalog."""

    def __init__(self, store: StateStore, catalog: Catalog, *, actor: str) -> None:
        """Bind to a store and the definitions.

        Args:
            store: The state store (its backend connected).
            catalog: The definitions.
            actor: Who acts, for the event log.
        """
        self.store = store
        self.backend = store.backend
        self.catalog = catalog
        self.actor = actor

    def dry_run_snapshot(self) -> StateSnapshot:
        """Read the state for a dry run, showing a run that died as interrupted (writes nothing).

        The lock is taken if free while the state and the run marker are read: a marker seen
        then belongs to a run that died, while one seen without the lock may be a run that is
        still going (probing the lock *after* reading would call a run that finished in between
        interrupted).
        """
        held = self.store.exists() and self.backend.try_lock()
        try:
            snapshot = self.store.read(use_cache=False)
            marker = self.store.run_marker() if held else None
        finally:
            if held:
                self.backend.release_lock()
        if marker is None:
            return snapshot
        return self.mark_interrupted(snapshot, marker.schemas, marker.operation, write=False)

    def effective(
        self, snapshot: StateSnapshot, reread: Callable[[], StateSnapshot]
    ) -> StateSnapshot:
        """Show ``snapshot`` with the effective status of every schema, writing nothing.

        Only a run marker or a step marked in flight can make a stored status differ from the
        effective one; without either, ``snapshot`` is returned as is (no lock, one query). With
        one, the lock is taken if free and the state re-read under it, so a run that finished
        meanwhile is not called dead; a run holding the lock is alive and its rows are shown as
        stored.

        Args:
            snapshot: The state as read without the lock.
            reread: Reads the same state again (under the lock).

        Returns:
            The snapshot every report shows (see :mod:`timescape.model.status`).
        """
        marker = self.store.run_marker() if snapshot.format_version else None
        if marker is None and all(
            is_settled(r.status, r.step_in_flight) for r in snapshot.schemas.values()
        ):
            return snapshot
        try:
            held = self.backend.try_lock()
        except StateError:
            # Behind a transaction pooler no session lock works, so dead and alive runs cannot
            # be told apart: show the rows as stored (reading through a pooler stays possible).
            return snapshot
        if not held:
            return snapshot
        try:
            marker = self.store.run_marker()
            if marker is not None:
                # A dead run's last commits did not move the generation: no cached rows.
                self.store.discard_cache()
            snapshot = reread()
        finally:
            self.backend.release_lock()
        dead = DeadRun(marker.operation, marker.schemas) if marker is not None else None
        return effective_snapshot(snapshot, dead)[0]

    def upgrade_checksums(self, snapshot: StateSnapshot) -> StateSnapshot:
        """Under the lock: re-store checksums of an older algorithm that still verify.

        Each stored value is verified with the algorithm it names; only those that match the
        current definitions are rewritten with :data:`CHECKSUM_ALGORITHM` (one event per schema),
        so drift stays visible and nothing is skipped. Nothing happens when all are current.
        """
        catalog = self.catalog
        changed: list[tuple[SchemaState, int]] = []
        # Only rows that held an older algorithm when the state was read can need it (the store
        # notes them while reading; rows this instance wrote since carry current checksums).
        for name in sorted(self.store.outdated_checksums):
            row = snapshot.schemas.get(name)
            if row is None:
                continue
            if not catalog.has_schema(name):
                continue
            steps = catalog.schema(name).steps
            sums = upgraded_checksums(row.checksums, [s.migration for s in steps])
            undo = upgraded_checksums(row.rollback_checksums, [s.rollback for s in steps])
            if sums is None and undo is None:
                continue
            new = replace(
                row,
                checksums=tuple(v or "" for v in sums) if sums else row.checksums,
                rollback_checksums=undo or row.rollback_checksums,
            )
            changed.append((new, len(steps)))
        if not changed:
            return snapshot
        backend = self.backend
        backend.begin()
        try:
            for new, step_count in changed:
                self.store.write_schema(new, step_count=step_count, known=True)
                self.store.record_event(
                    "checksums_upgraded",
                    new.name,
                    actor=self.actor,
                    detail={"algorithm": CHECKSUM_ALGORITHM},
                )
            self.store.bump_generation()
            backend.commit()
        except BaseException:
            backend.rollback()
            raise
        return self.store.read(use_cache=False)

    def recover(self, snapshot: StateSnapshot) -> StateSnapshot:
        """Under the lock: a run marker left behind means its run died; record that honestly."""
        marker = self.store.run_marker()
        if marker is None:
            return snapshot
        # A run moves the generation at its first and last commits only (issue 14), so a
        # snapshot cached while it ran may match the generation and still miss the schemas it
        # committed before dying: decide from the rows as they are.
        snapshot = self.store.read(use_cache=False)
        backend = self.backend
        backend.begin()
        try:
            updated = self.mark_interrupted(snapshot, marker.schemas, marker.operation, write=True)
            self.store.record_event(
                "run_interrupted",
                marker.target,
                actor=self.actor,
                detail={
                    "operation": marker.operation,
                    "started_at": marker.started_at.isoformat(),
                    "by": marker.actor,
                    "schemas": list(marker.schemas),
                },
            )
            self.store.set_run_marker(None)
            self.store.bump_generation()
            backend.commit()
        except BaseException:
            backend.rollback()
            raise
        logger.warning(
            "a previous %s of %s (started %s by %s) died before finishing; recorded as interrupted",
            marker.operation,
            marker.target,
            marker.started_at,
            marker.actor,
        )
        return self.store.read(use_cache=False) if updated is not snapshot else snapshot

    def mark_interrupted(
        self, snapshot: StateSnapshot, names: Sequence[str], operation: str, *, write: bool
    ) -> StateSnapshot:
        """Show (and, with ``write``, record) a dead run's schemas as interrupted or uncertain.

        The rules are :func:`timescape.model.status.effective_row`'s, so what every report shows
        before this run is exactly what it records.

        Args:
            snapshot: The state as read.
            names: The schemas the dead run was going to touch.
            operation: What it was doing.
            write: Write the rows (inside the caller's transaction) or only compute them.

        Returns:
            The snapshot with those rows replaced.
        """
        updated, changed = effective_snapshot(snapshot, DeadRun(operation, tuple(names)))
        if write:
            catalog = self.catalog
            for new, known in changed:
                name = new.name
                steps = len(catalog.schema(name).steps) if catalog.has_schema(name) else 0
                self.store.write_schema(new, step_count=steps, known=known)
        return updated
