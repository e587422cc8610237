"""Changes to the state tables alone, with no step to run: tags, an operator's verdict, adoption.

Each runs under the database lock like every other change (so it sees what the run it waited for
wrote), in one transaction that records its event and moves the generation, so every instance's
hot-path view picks it up on its next refresh.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from timescape.engine.connection import Connection
from timescape.engine.definitions import Definitions
from timescape.errors import InputError, UnknownRefError
from timescape.model.plan import Plan
from timescape.model.state import SchemaState, SchemaStatus, StateSnapshot
from timescape.model.tsv import validate_tag
from timescape.reports import OperationResult
from timescape.store.state import now

if TYPE_CHECKING:
    from timescape.engine.adoption import AdoptionReport
    from timescape.engine.runner import Work

__all__ = ["Bookkeeping", "Locked"]


class Locked(Protocol):
    """Runs a change on the state read under the database lock (:meth:`Runner.locked`)."""

    def __call__(self, work: Work, /, *, dry_run: bool) -> OperationResult:
        """Run ``work``; a dry run reads without the lock and changes nothing."""
        ...


class Bookkeeping:
    """Tags, :meth:`resolve_schema` and :meth:`adopt` of :class:`~timescape.Timescape`."""

    def __init__(
        self,
        connection: Connection,
        definitions: Definitions,
        *,
        locked: Locked,
        actor: str,
    ) -> None:
        """Wire the state-only changes to the facade's parts.

        Args:
            connection: The backend and state store they write.
            definitions: The definitions (the schema and version a change names).
            locked: Runs a change under the database lock on the state read there (dry: without).
            actor: Who is recorded as making the changes.
        """
        self._connection = connection
        self._definitions = definitions
        self._locked = locked
        self._actor = actor

    @contextlib.contextmanager
    def state_change(self) -> Iterator[None]:
        """One transaction for a state-only change: commit with a new generation, or roll back."""
        backend = self._connection.backend
        backend.begin()
        try:
            yield
            self._connection.store.bump_generation()
            backend.commit()
        except BaseException:
            backend.rollback()
            raise

    def resolve_schema(self, name: str, *, steps_done: int) -> OperationResult:
        """Record the truth about an uncertain, failed or interrupted schema (logged)."""
        schema = self._definitions.catalog.schema(name)
        if not 0 <= steps_done <= len(schema.steps):
            raise InputError(
                f"--steps-done must be between 0 and {len(schema.steps)} for schema {name!r}"
            )

        def work(snapshot: StateSnapshot) -> OperationResult:
            row = snapshot.schemas.get(name)
            if steps_done == len(schema.steps):
                status = SchemaStatus.APPLIED
            elif steps_done == 0:
                status = SchemaStatus.ROLLED_BACK if row is not None else SchemaStatus.PENDING
            else:
                status = SchemaStatus.FAILED
            new = SchemaState(
                name=name,
                status=status,
                steps_done=steps_done,
                checksums=schema.checksums[:steps_done],
                rollback_checksums=schema.rollback_checksums[:steps_done],
                parents=schema.parents,
                applied_at=now()
                if status is SchemaStatus.APPLIED
                else (row.applied_at if row else None),
                rolled_back_at=row.rolled_back_at if row else None,
                error=None
                if status is not SchemaStatus.FAILED
                else (f"resolved by operator at step {steps_done}"),
                contract_done=row.contract_done if row else False,
            )
            with self.state_change():
                self._connection.store.write_schema(
                    new, step_count=len(schema.steps), known=row is not None
                )
                self._connection.store.record_event(
                    "schema_resolved",
                    name,
                    actor=self._actor,
                    detail={
                        "steps_done": steps_done,
                        "previous_status": str(row.status) if row else None,
                        "previous_steps_done": row.steps_done if row else 0,
                        "status": str(status),
                    },
                )
            return OperationResult(
                "resolve",
                name,
                Plan(
                    "resolve",
                    name,
                    notes=(
                        f"schema {name} recorded as {status} with {steps_done} step(s) in place",
                    ),
                ),
            )

        return self._locked(work, dry_run=False)

    def tag(self, tsv: str, label: str) -> OperationResult:
        """Point a tag at a version (moving it within the handler if it was elsewhere)."""
        validate_tag(label)
        version = self._definitions.catalog.version(tsv)

        def work(snapshot: StateSnapshot) -> OperationResult:
            with self.state_change():
                self._connection.store.sync_versions(self._definitions.catalog, snapshot)
                fresh = self._connection.store.read(use_cache=False)
                previous = fresh.tags.get((version.handler, label))
                self._connection.store.set_tag(
                    version.handler, label, tsv, exists=previous is not None
                )
                self._connection.store.record_event(
                    "tagged", tsv, actor=self._actor, detail={"tag": label, "moved_from": previous}
                )
            return OperationResult("tag", tsv, Plan("tag", tsv, notes=(f"{label} → {tsv}",)))

        return self._locked(work, dry_run=False)

    def untag(self, label: str, *, handler: str) -> OperationResult:
        """Remove a tag from a handler."""

        def work(snapshot: StateSnapshot) -> OperationResult:
            with self.state_change():
                self._connection.store.sync_versions(self._definitions.catalog, snapshot)
                fresh = self._connection.store.read(use_cache=False)
                target = fresh.tags.get((handler, label))
                if target is None:
                    raise UnknownRefError(label, handler=handler, reason="no such tag")
                self._connection.store.delete_tag(handler, label)
                self._connection.store.record_event(
                    "untagged", target, actor=self._actor, detail={"tag": label}
                )
            return OperationResult(
                "untag", label, Plan("untag", label, notes=(f"removed {label} from {target}",))
            )

        return self._locked(work, dry_run=False)

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
        process as its actor) is appended and True returned. The generation does not move.
        """
        moment = now or datetime.now(UTC)
        claimed = False
        store = self._connection.store

        def work(_snapshot: StateSnapshot) -> OperationResult:
            nonlocal claimed
            last = store.events(limit=1, kinds=[kind])
            if last and moment - last[0].at < interval:
                return OperationResult(kind, kind, Plan(kind, kind, notes=("not due",)))
            backend = self._connection.backend
            backend.begin()
            try:
                store.record_event(kind, kind, actor=self._actor, detail=detail, at=moment)
                backend.commit()
            except BaseException:
                backend.rollback()
                raise
            claimed = True
            return OperationResult(kind, kind, Plan(kind, kind, notes=("claimed",)))

        self._locked(work, dry_run=False)
        return claimed

    def adopt(self, names: Sequence[str], *, dry_run: bool) -> AdoptionReport:
        """Record schemas as applied for objects the database already has (checked first).

        :mod:`timescape.engine.adoption` does the check and the record, given only the parts it
        uses; it is imported here, on the first adoption, because it loads sqlglot.
        """
        from timescape.engine.adoption import adopt  # noqa: PLC0415 - loads sqlglot

        return adopt(
            names,
            self._connection,
            self._definitions,
            locked=lambda work: self._locked(work, dry_run=dry_run),
            state_change=self.state_change,
            actor=self._actor,
            dry_run=dry_run,
        )
