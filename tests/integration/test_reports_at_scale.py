"""At 10,000 schemas and versions every report shows the effective status (issue 14).

``stats`` reads four columns per schema, and ``schema list`` the columns it shows, when every
stored status is the effective one, and whole rows (derived by :mod:`timescape.model.status`, as
every report is) when a run died: both must give exactly what a full read gives, at the size the
lighter reads were made for.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.dbutil import TestDB
from timescape import Timescape
from timescape.model.state import SchemaState, SchemaStatus, StateSnapshot
from timescape.model.status import DeadRun, effective_snapshot
from timescape.reports import build_schema_infos, build_stats, schema_rows
from timescape.store.state import RunMarker

pytestmark = pytest.mark.timeout(300)

HANDLERS = 100
PER_HANDLER = 100  # 10,000 schemas and versions
BASE = "base"


def _define(ts: Timescape) -> None:
    ts.add_schema(BASE, ["CREATE TABLE base_t (id INTEGER)"], ["DROP TABLE base_t"])
    start = datetime(2020, 1, 1, tzinfo=UTC)
    for h in range(HANDLERS):
        previous = BASE
        for k in range(PER_HANDLER):
            name = f"h{h:03d}_v{k:03d}"
            ts.add_schema(
                name,
                [f"CREATE TABLE {name} (id INTEGER)"],
                [f"DROP TABLE {name}"],
                parent=previous,
            )
            ts.add_version(f"/api/h{h:03d}", start + timedelta(hours=k), name)
            previous = name


def _seed(db: TestDB) -> None:
    """Store the rows activations would have left: every schema applied but the last of each
    handler (pending), one failed, one rolled back; the newest applied version of each live."""
    ts = Timescape(db.url)
    _define(ts)
    catalog, store, backend = ts.catalog, ts.store, ts.backend
    backend.connect()
    backend.acquire_lock()
    try:
        store.ensure()
        backend.begin()
        moment = datetime(2025, 1, 1, tzinfo=UTC)
        for i, schema in enumerate(catalog.schemas):
            if schema.name.endswith(f"_v{PER_HANDLER - 1:03d}"):
                continue  # never applied: pending
            status = SchemaStatus.APPLIED
            if schema.name == "h007_v098":
                status = SchemaStatus.FAILED
            elif schema.name == "h008_v098":
                status = SchemaStatus.ROLLED_BACK
            done = len(schema.steps) if status is SchemaStatus.APPLIED else 0
            store.write_schema(
                SchemaState(
                    name=schema.name,
                    status=status,
                    steps_done=done,
                    checksums=schema.checksums[:done],
                    rollback_checksums=schema.rollback_checksums[:done],
                    parents=schema.parents,
                    applied_at=moment + timedelta(seconds=i) if done else None,
                    rolled_back_at=moment if status is SchemaStatus.ROLLED_BACK else None,
                    duration_ms=i % 17,
                    error="boom" if status is SchemaStatus.FAILED else None,
                ),
                step_count=len(schema.steps),
                known=False,
            )
        store.sync_versions(catalog, StateSnapshot())
        for v in catalog.versions:
            if v.schema.endswith(f"_v{PER_HANDLER - 3:03d}"):
                store.set_version_active(v.tsv, active=True)
        store.bump_generation()
        backend.commit()
    finally:
        backend.release_lock()
        ts.close()


def _reader(db: TestDB) -> Timescape:
    ts = Timescape(db.url)
    _define(ts)
    return ts


def _settled(db: TestDB) -> None:
    """The lighter reads, each report against a full read."""
    reader = _reader(db)
    try:
        reader.backend.connect()
        assert reader.store.read_status_rows() is not None  # stats takes the four-column read
        assert reader.store.read_listing_rows() is not None  # schema list takes its columns
        stats = reader.stats()
        infos = reader.schemas()
        rows = reader.schema_rows()
        assert reader.store.reloads == 0  # no report read every row of every table
        full = reader.store.read(use_cache=False)

        assert stats == build_stats(reader.catalog, full)
        assert infos == build_schema_infos(reader.catalog, full)
        assert rows == schema_rows(reader.catalog, full)
        assert infos[0].checksum == reader.catalog.schemas[0].checksum is not None
        assert (stats.total_schemas, stats.active_schemas) == (10_001, 9_899)
        assert (stats.pending_schemas, stats.failed_schemas) == (100, 1)
        assert (stats.rolled_back_schemas, stats.active_versions) == (1, 100)
        # With a current full snapshot cached, stats takes its rows and still agrees.
        assert reader.stats() == stats
    finally:
        reader.close()


def _dead_run(db: TestDB) -> None:
    """A step left in flight and a dead run's marker: every surface derives the same."""
    writer = _reader(db)
    try:
        writer.backend.connect()
        writer.backend.acquire_lock()
        writer.backend.begin()
        store = writer.store
        row = store.read(use_cache=False).schemas["h003_v050"]
        store.write_schema(
            SchemaState(**{**{f: getattr(row, f) for f in row.__slots__}, "step_in_flight": 1}),
            step_count=1,
            known=True,
        )
        store.set_run_marker(
            RunMarker("activate", "tsv", ("h005_v099",), datetime.now(UTC), "test")
        )
        store.bump_generation()
        writer.backend.commit()
        writer.backend.release_lock()
    finally:
        writer.close()

    reader = _reader(db)
    try:
        reader.backend.connect()
        assert reader.store.read_status_rows() is None  # whole rows, derived
        assert reader.store.read_listing_rows() is None
        stats = reader.stats()
        infos = {i.name: i for i in reader.schemas()}
        report = reader.verify()
        full = reader.store.read(use_cache=False)
        effective = effective_snapshot(full, DeadRun("activate", ("h005_v099",)))[0]

        assert stats == build_stats(reader.catalog, effective)
        assert list(infos.values()) == build_schema_infos(reader.catalog, effective)
        assert (stats.uncertain_schemas, stats.interrupted_schemas) == (1, 1)
        assert infos["h003_v050"].status == "uncertain"
        assert infos["h005_v099"].status == "interrupted"
        kinds = {(p.kind, p.subject) for p in report.problems}
        assert {("uncertain", "h003_v050"), ("interrupted", "h005_v099")} <= kinds
    finally:
        reader.close()


def test_reports__ten_thousand_rows__every_surface_shows_the_effective_status(db: TestDB) -> None:
    _seed(db)
    _settled(db)
    _dead_run(db)
