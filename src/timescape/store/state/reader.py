"""Reads of the state tables into snapshots, and the narrower reads reports get by with.

A full read is cached (:mod:`timescape.store.state.cache`) and reused while the generation in
the meta table is unchanged. Without the Timescape lock, every read runs inside one read-only
snapshot transaction so it never pairs rows from before another process's commit with rows from
after it. The report reads (``schema list``, ``stats``, ``version list``) decode only the columns
and rows they show: at ten thousand schemas decoding the rest cost most of the command (issue 14).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from timescape.errors import StateError
from timescape.model._overlay import frozen
from timescape.model._record import maker
from timescape.model.moment import iso_texts
from timescape.model.schema import CHECKSUM_ALGORITHM
from timescape.model.state import (
    ListedSchema,
    SchemaState,
    SchemaStatus,
    StateSnapshot,
    VersionState,
)
from timescape.model.status import is_settled
from timescape.store.base import Backend, ErrorKind
from timescape.store.state.cache import SnapshotCache
from timescape.store.state.codec import STATUSES, json_lists, parse
from timescape.store.state.events import EventLog
from timescape.store.state.tables import StateTables

__all__ = ["StateReader"]

_SNAPSHOT_ATTEMPTS = 5
_T = TypeVar("_T")


Printed = tuple[str | None, str | None, str | None]
"""A version's last request, activation and retiring times as ``--json`` prints them."""


def _parsed(texts: Sequence[str | None]) -> Sequence[datetime | None]:
    """Each stored moment read back (None for none): :func:`parse`, without a call per value."""
    read = datetime.fromisoformat
    return [read(t) if t else None for t in texts]


class StateReader:
    """Reads the state tables of one backend, through the store's cache."""

    def __init__(
        self, backend: Backend, tables: StateTables, cache: SnapshotCache, log: EventLog
    ) -> None:
        """Bind to the store's backend, tables, cache and event log (for the run marker).

        Args:
            backend: The backend the store reads through.
            tables: The state tables.
            cache: The store's snapshot cache, filled by full reads.
            log: The event log, whose run marker tells whether stored statuses are effective.
        """
        self._backend = backend
        self._tables = tables
        self._cache = cache
        self._log = log
        self.reloads = 0
        """How many times every row was read from the database (diagnostics and tests)."""
        self.outdated_checksums: frozenset[str] = frozenset()
        """Schemas whose rows, at the last full read, held checksums of an older algorithm."""

    def generation(self) -> int:
        """The write counter (0 when the tables do not exist)."""
        try:
            rows = self._backend.query(
                f"SELECT value FROM {self._tables.meta} WHERE key_name = ?", ("generation",)
            )
        except Exception:
            if self._tables.exists():
                raise
            return 0
        return int(rows[0][0]) if rows else 0

    def read(self, *, use_cache: bool = True, ensured: bool = False) -> StateSnapshot:
        """Read the whole state into a snapshot, reusing the last one if nothing was written.

        Without the Timescape lock another process may commit between two SELECTs, so the
        tables are then read inside one read-only snapshot transaction: a reader never pairs
        the schemas from before a commit with the versions from after it. Under the lock (or
        inside the caller's transaction) no writer can interleave and no extra round trip is
        spent.

        Args:
            use_cache: Reuse the cached snapshot when the generation is unchanged.
            ensured: The caller holds the lock and ``ensure`` returned under it, so every table
                is known to exist: the catalog lookup that refuses a partial set is skipped.

        Returns:
            The snapshot (empty when the tables do not exist yet).
        """
        backend = self._backend
        if backend.lock_held or backend.in_transaction:
            return self._read(use_cache=use_cache, ensured=ensured and backend.lock_held)
        return self._in_snapshot(lambda: self._read(use_cache=use_cache))

    def _in_snapshot(self, read: Callable[[], _T]) -> _T:
        """Run ``read`` in one read-only snapshot transaction, again if the snapshot went stale.

        MySQL/MariaDB refuse to read a table created or renamed after a consistent snapshot
        began (error 1412, "Table definition has changed, please retry transaction"): a reader
        racing another process's bootstrap, which renames the meta table into place, meets it
        once. The read writes nothing, so repeating it is safe; a few attempts bound the loop.
        """
        backend = self._backend
        for attempt in range(1, _SNAPSHOT_ATTEMPTS + 1):
            try:
                with backend.read_snapshot():
                    return read()
            except Exception as exc:
                stale = (
                    backend.is_driver_error(exc)
                    and backend.classify_error(exc) == ErrorKind.SNAPSHOT_STALE
                )
                if not stale or attempt == _SNAPSHOT_ATTEMPTS:
                    raise
                time.sleep(0.01 * attempt)
        raise AssertionError  # pragma: no cover - the loop returns or raises

    def _consistent(self, read: Callable[[], _T]) -> _T:
        """``read()`` as it is under the lock or in a transaction, else in a read snapshot."""
        if self._backend.lock_held or self._backend.in_transaction:
            return read()
        return self._in_snapshot(read)

    def _read(self, *, use_cache: bool, ensured: bool = False) -> StateSnapshot:
        cache = self._cache
        if not ensured and not self._tables.present():
            cache.invalidate()
            return StateSnapshot()
        generation = self.generation()
        snapshot = cache.rolled_forward()
        if use_cache and snapshot is not None and snapshot.generation == generation:
            return snapshot
        cache.invalidate()
        self.reloads += 1
        schemas, self.outdated_checksums = self._schema_rows()
        versions, tags = self._version_rows()
        snapshot = StateSnapshot(
            schemas=schemas,
            versions=versions,
            tags=tags,
            generation=generation,
            format_version=self._tables.format_version() or 0,
        )
        cache.keep(snapshot)
        return snapshot

    def read_for_reports(self) -> StateSnapshot:
        """The state for schema reports and statistics: every schema, the live versions only.

        The cached snapshot when it is current; otherwise the schema rows and only the live
        versions' rows, without tags: ``schema list`` and ``stats`` at ten thousand versions
        need a hundred of them, and decoding the rest cost a third of the command. Such a
        partial snapshot is never cached and never used to plan.

        Returns:
            A snapshot whose ``versions`` holds at least every live version, and whose ``tags``
            may be empty.

        Added in 0.1.
        """

        def read() -> StateSnapshot:
            if not self._tables.present():
                return StateSnapshot()
            generation = self.generation()
            cache = self._cache.rolled_forward()
            if cache is not None and cache.generation == generation:
                return cache
            schemas, _ = self._schema_rows()
            versions, _ = self._version_rows(live_only=True)
            return StateSnapshot(
                schemas=schemas,
                versions=versions,
                generation=generation,
                format_version=self._tables.format_version() or 0,
            )

        return self._consistent(read)

    def read_status_rows(
        self,
    ) -> tuple[StateSnapshot, list[tuple[str, SchemaStatus, int | None, datetime | None]]] | None:
        """For statistics: each schema's stored status, last duration and run time; live versions.

        Four columns per schema as tuples, not whole rows: ``timescape stats`` at ten thousand
        schemas spent most of its time decoding checksums it never shows (issue 14). The stored
        status is the effective one only when no run marker is left and every row is settled
        (:func:`timescape.model.status.is_settled`); otherwise this returns None, and the caller
        derives the statuses from whole rows as every other report does.

        Returns:
            A snapshot holding the live versions only (no schemas, no tags) and one
            ``(name, status, duration_ms, applied_at or rolled_back_at)`` per stored schema; or
            None when whole rows are the better source: a status may need deriving, or a
            current snapshot is cached already.
        """

        def build(
            rows: Sequence[Sequence[Any]], statuses: list[SchemaStatus]
        ) -> list[tuple[str, SchemaStatus, int | None, datetime | None]]:
            moments = _parsed([row[3] or row[4] for row in rows])
            return [
                (row[0], status, row[2], moment)
                for row, status, moment in zip(rows, statuses, moments, strict=True)
            ]

        return self._settled_rows("duration_ms, applied_at, rolled_back_at", build)

    def read_listing_rows(
        self, *, iso_times: bool = False
    ) -> tuple[StateSnapshot, dict[str, ListedSchema]] | None:
        """For ``schema list``: every schema's listed columns (``StoredSchema``); live versions.

        The columns a listing shows, as tuples instead of whole rows: building a
        :class:`SchemaState` per row (and decoding rollback checksums nobody shows) was a
        twentieth of ``schema list`` at 10,000 schemas (issue 14). Returned only when every stored
        status is the effective one, as :meth:`read_status_rows`.

        Args:
            iso_times: Give ``applied_at`` and ``rolled_back_at`` as the text ``--json`` prints
                (:func:`timescape.model.moment.iso_texts` of the stored text), not as
                ``datetime``: a listing that only prints them skips formatting each again.

        Returns:
            A snapshot holding the live versions only and every stored schema's columns by name;
            or None when whole rows are the better source (see :meth:`read_status_rows`).
        """

        def build(
            rows: Sequence[Sequence[Any]], statuses: list[SchemaStatus]
        ) -> dict[str, ListedSchema]:
            if not rows:
                return {}
            # A column at a time, the tuples made by zip: no Python work per row (issue 14).
            (
                names,
                _,
                done,
                checksums,
                applied,
                rolled_back,
                duration,
                error,
                contract,
                parents,
                _,
            ) = zip(*rows, strict=True)
            moments = iso_texts if iso_times else _parsed
            listed = zip(
                statuses,
                [int(d or 0) for d in done],
                map(tuple, json_lists(checksums)),
                moments(applied),
                moments(rolled_back),
                duration,
                error,
                map(bool, contract),
                map(tuple, json_lists(parents)),
                strict=True,
            )
            return dict(zip(names, listed, strict=True))

        return self._settled_rows(
            "steps_done, checksums, applied_at, rolled_back_at, duration_ms, error, "
            "contract_done, parents",
            build,
        )

    def _settled_rows(
        self, columns: str, build: Callable[[Sequence[Sequence[Any]], list[SchemaStatus]], _T]
    ) -> tuple[StateSnapshot, _T] | None:
        """``name, status, <columns>, step_in_flight`` of every schema row, handed to ``build``.

        ``build`` gets the rows and their statuses. None when the cached snapshot is current
        (whole rows at hand), or when a row is not settled or a run marker is left (a status
        needs deriving from whole rows); otherwise the live versions and what ``build`` made.
        """

        def read() -> tuple[StateSnapshot, _T] | None:
            if not self._tables.present():
                return StateSnapshot(), build([], [])
            cache = self._cache.rolled_forward()
            if cache is not None and cache.generation == self.generation():
                return None  # whole rows at hand: no query needed beyond the marker's
            rows = self._backend.query(
                f"SELECT name, status, {columns}, step_in_flight FROM {self._tables.schemas}"
            )
            known = STATUSES.get
            statuses = [known(row[1]) or self._status(row[0], row[1]) for row in rows]
            # Settled unless a step is in flight: is_settled is asked only when a row has one.
            if [row[-1] for row in rows].count(None) != len(rows) and not all(
                is_settled(status, row[-1]) for row, status in zip(rows, statuses, strict=True)
            ):
                return None
            if self._log.run_marker() is not None:
                return None
            versions, _ = self._version_rows(live_only=True)
            return StateSnapshot(versions=versions), build(rows, statuses)

        return self._consistent(read)

    def _status(self, name: str, raw: str) -> SchemaStatus:
        status = STATUSES.get(raw)
        if status is None:
            raise StateError(
                f"schema {name!r} has unknown status {raw!r} in {self._tables.schemas_name}; "
                "the state tables were edited by hand. Fix the row (Timescape will not guess)"
            )
        return status

    def _schema_rows(self) -> tuple[Mapping[str, SchemaState], frozenset[str]]:
        """Every schema row, and the names of those holding checksums of an older algorithm."""
        rows = self._backend.query(
            f"SELECT name, parents, status, steps_done, checksums, rollback_checksums, "
            f"applied_at, rolled_back_at, duration_ms, error, step_in_flight, "
            f"attempt_started_at, contract_done FROM {self._tables.schemas}"
        )
        # Three JSON arrays per row: decode each column in one call, not one call per value.
        parents, sums, undo = (json_lists([r[i] for r in rows]) for i in (1, 4, 5))
        make = maker(SchemaState, len(rows))  # positional, a fifth of __init__'s cost
        statuses = STATUSES
        schemas = frozen(
            {
                row[0]: make(
                    row[0],
                    statuses.get(row[2]) or self._status(row[0], row[2]),
                    int(row[3] or 0),
                    tuple(sums[i]),
                    tuple(undo[i]),
                    tuple(parents[i]),
                    parse(row[6]) if row[6] else None,
                    parse(row[7]) if row[7] else None,
                    row[8],
                    row[9],
                    row[10],
                    parse(row[11]) if row[11] else None,
                    bool(row[12]),
                )
                for i, row in enumerate(rows)
            }
        )
        # Checksums are hex digits after the algorithm: a row is current when every quoted
        # value in its JSON starts with the current algorithm (no decoding needed to tell).
        current = f'"{CHECKSUM_ALGORITHM}:'
        column = "".join(raw for row in rows for raw in (row[4], row[5]) if raw)
        if column.count('"') == 2 * column.count(current):
            return schemas, frozenset()  # every value current: no row to look at
        outdated = frozenset(
            row[0]
            for row in rows
            if any(raw and raw.count('"') != 2 * raw.count(current) for raw in (row[4], row[5]))
        )
        return schemas, outdated

    def read_versions(self, *, printed: dict[str, Printed] | None = None) -> StateSnapshot:
        """The versions and tags only, in one consistent read; its ``schemas`` are empty.

        For reports about versions alone: decoding ten thousand schema rows costs more than the
        rest of ``timescape version list``. Never cached, never used to plan.

        Args:
            printed: Filled, when given, with each version's ``last_accessed``, ``activated_at``
                and ``retiring_at`` as ``--json`` prints them, from the stored text of the same
                read (:func:`timescape.model.moment.iso_texts`): a listing that only prints
                them skips formatting each ``datetime`` again (issue 14).

        Returns:
            A snapshot whose ``schemas`` mapping is empty (not the state of the schemas).
        """

        def read() -> StateSnapshot:
            if not self._tables.present():
                return StateSnapshot()
            versions, tags = self._version_rows(printed=printed)
            return StateSnapshot(versions=versions, tags=tags, generation=self.generation())

        return self._consistent(read)

    def retiring_marks(self, tsvs: Sequence[str]) -> dict[str, int]:
        """The retiring generation of each of ``tsvs`` still marked retiring (one query)."""
        if not tsvs:
            return {}
        rows = self._backend.query(
            f"SELECT tsv, retiring_generation FROM {self._tables.versions} WHERE active = 1 AND "
            f"retiring_generation IS NOT NULL AND tsv IN ({', '.join('?' for _ in tsvs)})",
            list(tsvs),
        )
        return {r[0]: int(r[1]) for r in rows}

    def _version_rows(
        self, *, live_only: bool = False, printed: dict[str, Printed] | None = None
    ) -> tuple[Mapping[str, VersionState], Mapping[tuple[str, str], str]]:
        """Version rows (only the live ones with ``live_only``) and tags (none then), read-only.

        ``printed`` is filled as :meth:`read_versions` says.
        """
        where = " WHERE active = 1" if live_only else ""
        # Tables of format 1 (not upgraded yet: nothing wrote since) have no retiring columns.
        current = self._tables.is_current_format()
        retiring = "retiring_generation, retiring_at" if current else "NULL, NULL"
        rows = self._backend.query(
            f"SELECT tsv, handler, ts, schema_name, active, activated_at, deactivated_at, "
            f"request_count, last_accessed, {retiring} FROM {self._tables.versions}{where}"
        )
        make = maker(VersionState, len(rows))  # positional, a fifth of __init__'s cost
        versions: dict[str, VersionState] = {}
        if rows:
            # A column at a time: a comprehension per column, not a call per value (issue 14).
            tsv, handler, ts, schema, active, activated, deactivated, count, accessed, gen, at = (
                zip(*rows, strict=True)
            )
            activated_at, accessed_at, retiring_at = map(_parsed, (activated, accessed, at))
            versions = dict(
                zip(
                    tsv,
                    map(
                        make,
                        tsv,
                        handler,
                        map(datetime.fromisoformat, ts),
                        schema,
                        map(bool, active),
                        activated_at,
                        _parsed(deactivated),
                        [int(c or 0) for c in count],
                        accessed_at,
                        [None if g is None else int(g) for g in gen],
                        retiring_at,
                    ),
                    strict=True,
                )
            )
            if printed is not None:
                times = zip(
                    iso_texts(accessed, accessed_at),
                    iso_texts(activated, activated_at),
                    iso_texts(at, retiring_at),
                    strict=True,
                )
                printed.update(zip(tsv, times, strict=True))
        if live_only:
            return frozen(versions), frozen({})
        tags = {
            (r[0], r[1]): r[2]
            for r in self._backend.query(f"SELECT handler, tag, tsv FROM {self._tables.tags}")
        }
        return frozen(versions), frozen(tags)
