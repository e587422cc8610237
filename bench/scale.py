"""Workload 3: Timescape with thousands of schemas and versions in its state tables.

The project shape: ``HANDLERS`` handlers; every version brings its own schema (one table), which
builds on the previous schema of the same handler; the first of each handler builds on ``base``.
The newest version of each handler is live, older ones were deactivated with their schemas kept
(a newer live version still needs them), which is where a project settles after years of releases.

Seeding 10,000 activations one by one would take long, so the seed writes the same rows an
activation would write through Timescape's own state store (schema rows with their checksums,
version rows, live flags, events) in one transaction, and runs every schema's DDL in it: the
database ends up exactly as if each had been activated. What is timed is real: a new process-wide
``Timescape`` loads the definitions (plus one new version on a new schema extending a handler's
chain), loads its view, then ``activate()`` runs as in production.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import _dbs

HANDLERS = 100
SEED_BATCH = 500
BASE = "base"


def _handler(h: int) -> str:
    return f"/api/h{h:03d}"


def _schema_name(h: int, k: int) -> str:
    return f"h{h:03d}_v{k:05d}"


def _iso(k: int) -> str:
    from datetime import UTC, datetime, timedelta

    return (datetime(2020, 1, 1, tzinfo=UTC) + timedelta(hours=k)).isoformat()


def define(ts: Any, size: int, extra: int = 0, *, tags: bool = False) -> list[str]:
    """Register ``size`` schemas/versions (+ ``extra`` new ones on handler 0); return new TSVs.

    With ``tags``, version ``k`` of every handler carries the tag ``r<k>``.
    """
    per = max(1, size // HANDLERS)
    handlers = min(HANDLERS, size)
    ts.add_schema(BASE, ["CREATE TABLE base_t (id INTEGER PRIMARY KEY)"], ["DROP TABLE base_t"],
                  breaking=False)
    for h in range(handlers):
        previous = BASE
        for k in range(per):
            name = _schema_name(h, k)
            ts.add_schema(name, [f"CREATE TABLE {name} (id INTEGER PRIMARY KEY, v INTEGER)"],
                          [f"DROP TABLE {name}"], parent=previous, breaking=False)
            ts.add_version(_handler(h), _iso(k), name, tags=[f"r{k}"] if tags else [])
            previous = name
    new: list[str] = []
    previous = _schema_name(0, per - 1)
    for j in range(extra):
        name = _schema_name(0, per + j)
        ts.add_schema(name, [f"CREATE TABLE {name} (id INTEGER PRIMARY KEY, v INTEGER)"],
                      [f"DROP TABLE {name}"], parent=previous, breaking=False)
        new.append(ts.add_version(_handler(0), _iso(per + j), name))
        previous = name
    return new


def seed(url: str, size: int, *, tags: bool = False) -> None:
    """Write the state of ``size`` activated schemas/versions (in batches of transactions)."""
    from timescape import Timescape
    from timescape.model.state import StateSnapshot

    ts = Timescape(url)
    define(ts, size, tags=tags)
    catalog = ts.catalog
    backend, store = ts.backend, ts.store
    backend.connect()
    backend.acquire_lock()
    try:
        store.ensure()
        actor = "bench seed"
        schemas = catalog.schemas
        for start in range(0, len(schemas), SEED_BATCH):
            # Batches: PostgreSQL's lock table (max_locks_per_transaction) cannot hold ten
            # thousand CREATE TABLE locks in one transaction.
            backend.begin()
            for schema in schemas[start:start + SEED_BATCH]:
                _seed_schema(backend, store, schema, actor)
            store.bump_generation()
            backend.commit()
        backend.begin()
        store.sync_versions(catalog, StateSnapshot())
        newest: dict[str, str] = {}
        for version in catalog.versions:
            newest[version.handler] = version.tsv  # sorted by handler, then timestamp
        for version in catalog.versions:
            store.set_version_active(version.tsv, active=True)
            store.record_event("version_activated", version.tsv, actor=actor)
            if newest[version.handler] != version.tsv:
                store.set_version_active(version.tsv, active=False)
                store.record_event("version_deactivated", version.tsv, actor=actor)
        store.bump_generation()
        backend.commit()
    finally:
        backend.release_lock()
        ts.close()


def _seed_schema(backend: Any, store: Any, schema: Any, actor: str) -> None:
    """Run one schema's DDL and write the row and event its activation would have written."""
    from timescape.model.state import SchemaState, SchemaStatus
    from timescape.store.state import now

    for step in schema.steps:
        backend.execute(str(step.migration), None)
    store.write_schema(SchemaState(
        name=schema.name, status=SchemaStatus.APPLIED, steps_done=len(schema.steps),
        checksums=schema.checksums, rollback_checksums=schema.rollback_checksums,
        parents=schema.parents, applied_at=now(), duration_ms=1,
    ), step_count=len(schema.steps), known=False)
    store.record_event("schema_applied", schema.name, actor=actor, duration_ms=1,
                       detail={"steps": len(schema.steps), "reason": "seed"})


@dataclass
class ScaleResult:
    dialect: str
    size: int
    activate_s: list[float]
    raw_s: list[float]  # the floor: the same DDL and one history row through the raw driver
    load_s: float  # building the definitions' catalog in a fresh process-wide instance
    schemas_s: float
    versions_s: float
    stats_s: float
    seed_s: float
    # Process CPU of each activation and of the raw floor right after it (paired, same order).
    activate_cpu_s: list[float] = field(default_factory=list)
    raw_cpu_s: list[float] = field(default_factory=list)
    # The fields above are timed from cooled CPU caches (see ``_Cooler``); these, in as many
    # rounds before them, from whatever the round left in the caches (as until 2026-12-06).
    warm_activate_s: list[float] = field(default_factory=list)
    warm_raw_s: list[float] = field(default_factory=list)
    warm_activate_cpu_s: list[float] = field(default_factory=list)
    warm_raw_cpu_s: list[float] = field(default_factory=list)

    @property
    def activate_median(self) -> float:
        return _median(self.activate_s)

    @property
    def raw_median(self) -> float:
        return _median(self.raw_s)

    @property
    def own_median(self) -> float:
        """Timescape's own share: activation minus the raw floor measured right after it."""
        return _paired_median(self.activate_s, self.raw_s)

    @property
    def own_cpu_median(self) -> float:
        """The same in process CPU time (what the database server does is not in it)."""
        return _paired_median(self.activate_cpu_s, self.raw_cpu_s)

    @property
    def warm_activate_median(self) -> float:
        return _median(self.warm_activate_s)

    @property
    def warm_own_median(self) -> float:
        """The own share in the rounds timed without cooling the caches first."""
        return _paired_median(self.warm_activate_s, self.warm_raw_s)

    @property
    def warm_own_cpu_median(self) -> float:
        return _paired_median(self.warm_activate_cpu_s, self.warm_raw_cpu_s)


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _paired_median(total: list[float], floor: list[float]) -> float:
    if not floor or len(total) != len(floor):
        return float("nan")
    return statistics.median(t - f for t, f in zip(total, floor, strict=True))


HISTORY = "bench_history"


def _create_history(target: Any) -> None:
    """The raw floor's history table, created before the seed.

    A migration tool creates its history table with its first migration, before the schemas it
    records; SQLite then finds it, like Timescape's state tables, at the far end of the chains
    of its table-name hash (64 buckets at most, so ~156 names each at 10,000 tables).
    """
    conn = target.connect()
    try:
        conn.cursor().execute(f"CREATE TABLE {HISTORY} (id VARCHAR(64) PRIMARY KEY, "
                              "applied_at VARCHAR(40))")
    finally:
        conn.close()


def _twin(target: Any) -> Any:
    """A byte copy of a seeded SQLite file (the online backup API), for the floor to migrate."""
    import sqlite3

    twin = _dbs.Target("sqlite", target.name.removesuffix(".db") + "-floor.db")
    src, dst = sqlite3.connect(target.name), sqlite3.connect(twin.name)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    return twin


@dataclass
class _Rounds:
    """The paired figures of a series of rounds: each activation and the floor right after it."""

    activate_s: list[float] = field(default_factory=list)
    raw_s: list[float] = field(default_factory=list)
    activate_cpu_s: list[float] = field(default_factory=list)
    raw_cpu_s: list[float] = field(default_factory=list)

    def add(self, activation: tuple[float, float], floor: tuple[float, float]) -> None:
        """Record one round: (wall, CPU) of the activation and of its floor."""
        self.activate_s.append(activation[0])
        self.activate_cpu_s.append(activation[1])
        self.raw_s.append(floor[0])
        self.raw_cpu_s.append(floor[1])


COOL_BYTES = 64 << 20  # 32x the per-core L2 of the machines this ran on (2 MiB)


class _Cooler:
    """Before a timer, leave the CPU caches as other work would: read a 64 MiB buffer.

    A round at 100 schemas touches a few hundred kilobytes, so it found the previous round's
    code and data still in the caches; a round at 10,000 loads ten thousand rows of each table
    first, which evicts them. Timed from those two states, the growth from 100 to 10,000 was
    partly the caches' (with the raw driver's ``CREATE TABLE`` alone: 0.14 ms warm, 0.49 ms
    after this read, at 100 tables). A running service's activation finds its caches full of
    request handling, so the bench reads this buffer before every timer, Timescape's and the
    floor's, at every size. The read is ``bytes.count``, plain loads, which a ``memset`` of that
    size is not (glibc streams large stores past the caches). As many rounds are timed without
    it first, and reported beside.
    """

    def __init__(self, size: int = COOL_BYTES) -> None:
        import os

        self._buffer = os.urandom(size)

    def cool(self) -> None:
        self._buffer.count(b"\xa5")


class _RawFloor:
    """The floor: one new table and one history row, one transaction, through the raw driver.

    An autocommit connection (explicit transactions), one per round like Timescape's instance,
    timed right after Timescape's activation.

    On SQLite it migrates a byte copy of the seeded file (:func:`_twin`), and it reads its
    schema when Timescape's instance reads its own (just before ``refresh()`` loads the view),
    so both hold a schema read at the same point, gone as cold in the CPU caches by the time
    their timers start. Until 2026-12-06 the floor shared Timescape's file: its first
    statement after Timescape's DDL re-read the whole schema (tens of milliseconds at 10,000
    tables, untimed) just before its timer, so its ``CREATE TABLE`` walked ``Table`` structs
    allocated a moment earlier. Every statement that moves the schema cookie walks them all
    (``sqlite3FkClearTriggerCache`` from ``OP_SetCookie``); in cache that walk costs about a
    third of what it costs cold (0.64 against 1.9-2.0 ms at 10,000 tables with the raw driver
    alone), and Timescape's own share was charged the difference. On PostgreSQL and MariaDB
    the schema lives in the server and the floor shares Timescape's database; one cheap query
    before the timer ends its view of the previous transaction.
    """

    def __init__(self, target: Any) -> None:
        self.dialect = target.dialect
        self.conn = target.connect()
        self.cur = self.conn.cursor()
        self.cur.execute(f"SELECT COUNT(*) FROM {HISTORY}")  # reads the schema
        self.cur.fetchall()

    def activate(self, name: str, cooler: _Cooler | None) -> tuple[float, float]:
        """Wall and CPU seconds of one raw activation creating table ``name``."""
        cur, ph = self.cur, "?" if self.dialect == "sqlite" else "%s"
        if self.dialect != "sqlite":
            cur.execute(f"SELECT COUNT(*) FROM {HISTORY}")  # autocommit: no transaction left
            cur.fetchall()
        if cooler is not None:
            cooler.cool()
        cpu, started = time.process_time(), time.perf_counter()
        if self.dialect != "mysql":
            cur.execute("BEGIN")
        cur.execute(f"CREATE TABLE {name} (id INTEGER PRIMARY KEY, v INTEGER)")
        cur.execute(f"INSERT INTO {HISTORY} (id, applied_at) VALUES ({ph}, {ph})",
                    (name, time.strftime("%Y-%m-%dT%H:%M:%S")))
        if self.dialect != "mysql":
            cur.execute("COMMIT")
        return time.perf_counter() - started, time.process_time() - cpu

    def close(self) -> None:
        self.conn.close()


def measure(dialect: str, size: int, activations: int, log: Any = print) -> ScaleResult:
    from timescape import Timescape

    workdir = _dbs.scratch_dir("tsbench-scale-")
    target = _dbs.create(dialect, workdir)
    twin = None
    try:
        _create_history(target)
        started = time.perf_counter()
        seed(target.timescape_url, size)
        seed_s = time.perf_counter() - started
        # Warm rounds first, then cooled ones (the headline). Not alternating: a warm round
        # right after a cooled one finds the buffer in the caches.
        cooled, warm = _Rounds(), _Rounds()
        load_s = 0.0
        if dialect == "sqlite":
            twin = _twin(target)
        cooler = _Cooler()
        for j in range(2 * activations):
            ts = Timescape(target.timescape_url)
            tsv = define(ts, size, extra=j + 1)[-1]
            started = time.perf_counter()
            ts.catalog  # noqa: B018 - build the catalog (definitions loaded)
            load_s = time.perf_counter() - started
            floor = _RawFloor(twin or target)
            ts.refresh()  # the instance is warm: view loaded, as in a running service
            cool = cooler if j >= activations else None
            if cool is not None:
                cool.cool()
            cpu, started = time.process_time(), time.perf_counter()
            result = ts.activate(tsv)
            wall, cpu_s = time.perf_counter() - started, time.process_time() - cpu
            assert [a.name for a in result.plan.actions] == [_schema_name(0, size // HANDLERS + j)], result.plan.notes
            # The floor in the same round, right after: the database as the activation left it.
            (cooled if cool else warm).add((wall, cpu_s), floor.activate(f"raw_{size}_{j}", cool))
            floor.close()
            if j < 2 * activations - 1:
                ts.close()
        started = time.perf_counter()
        schemas = ts.schemas()
        schemas_s = time.perf_counter() - started
        started = time.perf_counter()
        versions = ts.versions()
        versions_s = time.perf_counter() - started
        started = time.perf_counter()
        ts.stats()
        stats_s = time.perf_counter() - started
        assert len(schemas) >= size
        assert len(versions) >= size
        ts.close()
        res = ScaleResult(dialect, size, cooled.activate_s, cooled.raw_s, load_s, schemas_s,
                          versions_s, stats_s, seed_s, cooled.activate_cpu_s, cooled.raw_cpu_s,
                          warm_activate_s=warm.activate_s, warm_raw_s=warm.raw_s,
                          warm_activate_cpu_s=warm.activate_cpu_s,
                          warm_raw_cpu_s=warm.raw_cpu_s)
        log(f"  scale {dialect:<10} size={size:<6} activate {res.activate_median * 1000:8.2f} "
            f"ms (median of {activations}, cooled; raw floor {res.raw_median * 1000:.2f} ms; own "
            f"share {res.own_median * 1000:.2f} ms, CPU {res.own_cpu_median * 1000:.2f} ms; "
            f"warm: activate {res.warm_activate_median * 1000:.2f} ms, own share "
            f"{res.warm_own_median * 1000:.2f} ms)  "
            f"schemas() {schemas_s:.3f} s  versions() "
            f"{versions_s:.3f} s  stats() {stats_s:.3f} s  load {load_s:.3f} s  seed {seed_s:.1f} s")
        return res
    finally:
        _dbs.drop(target)
        if twin is not None:
            _dbs.drop(twin)
        _dbs.remove_dir(workdir)


def _project(size: int, folder: Path, url: str) -> Path:
    """A timescape.toml defining the same schemas and versions as :func:`define`."""
    per = max(1, size // HANDLERS)
    out = ["[database]", f"url = {json.dumps(url)}", "",
           "[[schemas]]", f"name = {json.dumps(BASE)}",
           'migrations = ["CREATE TABLE base_t (id INTEGER PRIMARY KEY)"]',
           'rollback = ["DROP TABLE base_t"]', "breaking = false", ""]
    for h in range(min(HANDLERS, size)):
        previous = BASE
        for k in range(per):
            name = _schema_name(h, k)
            out += ["[[schemas]]", f'name = "{name}"', f'parent = "{previous}"',
                    f'migrations = ["CREATE TABLE {name} (id INTEGER PRIMARY KEY, v INTEGER)"]',
                    f'rollback = ["DROP TABLE {name}"]', "breaking = false", ""]
            previous = name
    for h in range(min(HANDLERS, size)):
        for k in range(per):
            out += ["[[versions]]", f'handler = "{_handler(h)}"', f'timestamp = "{_iso(k)}"',
                    f'schema = "{_schema_name(h, k)}"', ""]
    path = folder / "timescape.toml"
    path.write_text("\n".join(out))
    return path


def cli_at_scale(size: int, rounds: int, log: Any = print) -> list[dict[str, Any]]:
    """Time ``schema list --json``, ``version list --json`` and ``stats --json`` on SQLite.

    Each command runs as a fresh process. The very first run parses the project file and writes
    the parsed-project cache (``.timescape/``, as any first command after an edit would); it is
    timed apart, as ``timescape schema list --json (cache cold)``, and the rounds that follow
    are the steady state a user sees.
    """
    import os

    workdir = _dbs.scratch_dir("tsbench-scale-cli-")
    try:
        target = _dbs.create("sqlite", workdir)
        seed(target.timescape_url, size)
        _project(size, workdir, target.timescape_url)
        exe = str(Path(sys.executable).parent / "timescape")
        # Bytecode caches allowed, as for any installed package (bench/coldstart.py does the same).
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        commands = [["schema", "list", "--json"], ["version", "list", "--json"],
                    ["stats", "--json"]]

        def run(args: list[str]) -> tuple[float, str]:
            started = time.perf_counter()
            proc = subprocess.run([exe, *args], cwd=workdir, capture_output=True,
                                  text=True, check=False, env=env)
            elapsed = time.perf_counter() - started
            if proc.returncode != 0:
                raise RuntimeError(f"timescape {' '.join(args)}: {proc.stderr[-2000:]}")
            return elapsed, proc.stdout

        out = []
        cold, _ = run(commands[0])
        out.append({"size": size, "command": "timescape schema list --json (cache cold)",
                    "seconds": cold})
        log(f"  scale cli size={size:<6} timescape schema list --json (cache cold) {cold:.3f} s")
        for args in commands:
            times = []
            stdout = ""
            for _ in range(rounds):
                elapsed, stdout = run(args)
                times.append(elapsed)
            doc = json.loads(stdout)
            assert doc, args
            med = statistics.median(times)
            out.append({"size": size, "command": "timescape " + " ".join(args), "seconds": med})
            log(f"  scale cli size={size:<6} timescape {' '.join(args):<20} {med:.3f} s")
        return out
    finally:
        _dbs.remove_dir(workdir)
