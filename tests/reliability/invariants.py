"""The shared invariant checker (RELIABILITY.md Part 4): the real catalog agrees with the state.

``check_invariants(db, spec)`` reads the database through the raw driver (never through
Timescape's own belief) and asserts:

1. **Objects ⇔ state rows.** Each schema of the spec declares per step what it creates
   (``objects``: ``table``, ``table.column``, ``table#index``, ``table?SQL condition`` for a row).
   The objects of steps ``1..steps_done`` exist and none of the later steps do — except the
   ``step_in_flight`` of an ``uncertain`` schema, which may go either way. On PostgreSQL and SQLite
   a (transactional) schema is all or nothing: ``steps_done`` is 0 or all, ``applied`` ⇔ all, and
   it is never ``uncertain``. ``applied`` always means every step.
2. **Usage.** Every live version's schema and its ancestors are ``applied``; a *retiring* version
   (being drained before its rollback) counts as live here, and only a live version may be
   retiring, at a generation the state has reached. With ``api=True``,
   ``Timescape.schemas()`` ``used_by`` and ``Timescape.stats()`` equal a recomputation from the
   raw rows.
3. **Event log.** Ids strictly increase, times never go backwards along the ids, and, given the
   ``previous`` report, nothing was deleted and every new id is above the old maximum.
4. **Nothing left behind.** No Timescape lock is held or waited for (PG ``pg_locks`` advisory rows
   for ``PostgreSQLBackend.lock_key``; MariaDB ``IS_USED_LOCK(MySQLBackend.lock_name)``; SQLite a
   non-blocking ``flock`` on the lock file and ``BEGIN IMMEDIATE`` succeed at once), and no
   Timescape statement or transaction is still running on the server (PG ``pg_stat_activity``,
   MariaDB processlist). These are polled for ``settle`` seconds, because a server notices a
   killed client asynchronously.

It returns an :class:`InvariantReport` to pass as ``previous`` next time.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.dbutil import TestDB
from tests.reliability.driver import build_timescape, version_aliases
from timescape.store.backends.mysql import MySQLBackend
from timescape.store.backends.postgresql import PostgreSQLBackend
from timescape.store.urls import parse_url

try:
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "InvariantReport",
    "check_invariants",
    "leftover_problems",
    "lock_key_parts",
    "mysql_lock_name",
    "object_exists",
    "settled_leftover_problems",
    "timescape_sessions",
]

TRANSACTIONAL = ("sqlite", "postgresql")


@dataclass
class InvariantReport:
    """What the checker saw.

    Attributes:
        schemas: ``name → (status, steps_done, step_in_flight)`` (``pending``, 0, None if no row).
        active: Live TSVs (retiring ones included: they still hold their schemas).
        retiring: TSVs marked retiring.
        event_ids: Every event id, ascending.
        events: ``(id, kind, subject)`` in id order.
        marker: The run marker (a dict) if one is left, else None.
        generation: The state's write counter.
        sessions: Timescape sessions on the server for this database (None on SQLite).
    """

    schemas: dict[str, tuple[str, int, int | None]] = field(default_factory=dict)
    active: set[str] = field(default_factory=set)
    retiring: set[str] = field(default_factory=set)
    event_ids: list[int] = field(default_factory=list)
    events: list[tuple[int, str, str]] = field(default_factory=list)
    marker: dict[str, Any] | None = None
    generation: int = 0
    sessions: int | None = None

    def status(self, name: str) -> str:
        """The status of a schema."""
        return self.schemas.get(name, ("pending", 0, None))[0]

    def kinds(self, subject: str | None = None) -> list[str]:
        """Event kinds in order (optionally only about ``subject``)."""
        return [k for _, k, s in self.events if subject is None or s == subject]


# -- catalog ----------------------------------------------------------------------------------------


def object_exists(db: TestDB, obj: str) -> bool:
    """Tell whether an object of the ``objects`` notation exists in the real catalog."""
    if "?" in obj:
        table, condition = obj.split("?", 1)
        if table not in db.tables():
            return False
        return int(db.query(f"SELECT COUNT(*) FROM {table} WHERE {condition}")[0][0]) > 0
    if "#" in obj:
        table, index = obj.split("#", 1)
        return table in db.tables() and index in db.indexes(table)
    if "." in obj:
        table, column = obj.split(".", 1)
        return table in db.tables() and column in db.columns(table)
    return obj in db.tables()


def _closure(spec: dict[str, Any], name: str) -> set[str]:
    parents = {s["name"]: s.get("parent") for s in spec.get("schemas", [])}
    out: set[str] = set()
    todo = [name]
    while todo:
        cur = todo.pop()
        if cur in out:
            continue
        out.add(cur)
        p = parents.get(cur)
        todo.extend([p] if isinstance(p, str) else list(p or []))
    return out


# -- locks and sessions -----------------------------------------------------------------------------


def lock_key_parts(db: TestDB, prefix: str) -> tuple[int, int]:
    """PostgreSQL: ``(classid, objid)`` of Timescape's advisory lock in ``pg_locks``."""
    key = PostgreSQLBackend(parse_url(db.url), table_prefix=prefix).lock_key
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    return unsigned >> 32, unsigned & 0xFFFFFFFF


def mysql_lock_name(db: TestDB, prefix: str) -> str:
    """MariaDB: the ``GET_LOCK`` name Timescape uses for this database and prefix."""
    return MySQLBackend(parse_url(db.url), table_prefix=prefix).lock_name


def _sqlite_lock_busy(db: TestDB) -> str | None:
    path = f"{db.name}-timescape.lock"
    if fcntl is not None and os.path.exists(path):
        fd = os.open(path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(fd, fcntl.LOCK_UN)
        except BlockingIOError:
            with contextlib.suppress(OSError):
                holder = Path(path).read_text()
                return f"the lock file {path} is flocked by {holder or 'someone'}"
            return f"the lock file {path} is flocked"
        finally:
            os.close(fd)
    if os.path.exists(db.name):
        conn = sqlite3.connect(db.name, timeout=0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
        except sqlite3.OperationalError as exc:
            return f"BEGIN IMMEDIATE failed at once: {exc} (a write transaction is open)"
        finally:
            conn.close()
    return None


def timescape_sessions(db: TestDB, *, application: str = "timescape") -> list[tuple[Any, ...]]:
    """Server sessions of Timescape on this database (PG: by application_name; MariaDB: every
    connection to the database except the checker's own). Empty on SQLite."""
    if db.dialect == "postgresql":
        return db.query(
            "SELECT pid, state, query FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = ? AND pid <> pg_backend_pid()", (application,))
    if db.dialect == "mysql":
        return db.query(
            "SELECT id, command, info FROM information_schema.processlist WHERE db = ? "
            "AND id <> CONNECTION_ID()", (db.name,))
    return []


def leftover_problems(db: TestDB, prefix: str = "timescape_", *,
                      application: str = "timescape") -> list[str]:
    """What is left behind right now: held or awaited locks, running statements, open
    transactions. Empty when clean."""
    problems: list[str] = []
    if db.dialect == "postgresql":
        classid, objid = lock_key_parts(db, prefix)
        rows = db.query(
            "SELECT pid, granted FROM pg_locks WHERE locktype = 'advisory' AND classid = ? "
            "AND objid = ? AND objsubid = 1 AND database = (SELECT oid FROM pg_database WHERE "
            "datname = current_database())", (classid, objid))
        problems += [f"advisory lock {'held' if g else 'awaited'} by pid {p}" for p, g in rows]
        for pid, state, query in timescape_sessions(db, application=application):
            if state not in ("idle", None):
                problems.append(f"Timescape session {pid} is {state}: {query[:120]}")
    elif db.dialect == "mysql":
        owner = db.query("SELECT IS_USED_LOCK(?)", (mysql_lock_name(db, prefix),))[0][0]
        if owner is not None:
            problems.append(f"GET_LOCK held by connection {owner}")
        for cid, command, info in timescape_sessions(db):
            if command not in ("Sleep", "Killed") or (info and "GET_LOCK" in info.upper()):
                problems.append(f"connection {cid} is busy ({command}): {(info or '')[:120]}")
    else:
        busy = _sqlite_lock_busy(db)
        if busy:
            problems.append(busy)
    return problems


def settled_leftover_problems(db: TestDB, prefix: str = "timescape_", *,
                              settle: float) -> list[str]:
    """:func:`leftover_problems`, polled for up to ``settle`` seconds until there are none (a
    server notices a killed client asynchronously)."""
    deadline = time.monotonic() + settle
    while True:
        left = leftover_problems(db, prefix)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


# -- the checker ------------------------------------------------------------------------------------


def _read_state(db: TestDB, prefix: str) -> tuple[dict[str, Any], dict[str, Any], list[Any],
                                                  dict[str, Any] | None, int, bool]:
    tables = db.tables()
    if f"{prefix}meta" not in tables:
        return {}, {}, [], None, 0, False
    schemas = {
        r[0]: {"status": r[1], "steps_done": int(r[2] or 0), "in_flight": r[3], "step_count": r[4]}
        for r in db.query(
            f"SELECT name, status, steps_done, step_in_flight, step_count FROM {prefix}schemas")
    }
    retiring = ("retiring_generation" if "retiring_generation" in db.columns(f"{prefix}versions")
                else "NULL")
    versions = {
        r[0]: {"schema": r[1], "active": bool(r[2]), "retiring": r[3]}
        for r in db.query(f"SELECT tsv, schema_name, active, {retiring} FROM {prefix}versions")
    }
    events = db.query(f"SELECT id, at, kind, subject FROM {prefix}events ORDER BY id")
    meta = dict(db.query(f"SELECT key_name, value FROM {prefix}meta"))
    marker = json.loads(meta["run"]) if meta.get("run") else None
    return schemas, versions, events, marker, int(meta.get("generation") or 0), True


def check_invariants(
    db: TestDB,
    spec: dict[str, Any],
    *,
    prefix: str | None = None,
    previous: InvariantReport | None = None,
    settle: float = 10.0,
    api: bool = False,
    allow_locked: bool = False,
) -> InvariantReport:
    """Assert the invariants (see the module docstring) and return what was seen.

    Args:
        db: The database (raw access).
        spec: The driver spec whose schemas (and ``objects``) and versions to check.
        prefix: State-table prefix (default: the spec's, else ``timescape_``).
        previous: An earlier report: its events must all still be there, new ids above them.
        settle: Seconds to let the server notice dead clients before a leftover lock or
            statement counts as a failure.
        api: Also compare ``Timescape.schemas()``/``stats()`` with a recomputation.
        allow_locked: Skip the leftover checks (a holder is deliberately paused).

    Raises:
        AssertionError: Naming every violated invariant.
    """
    prefix = prefix or spec.get("table_prefix") or "timescape_"
    schemas, versions, events, marker, generation, exists = _read_state(db, prefix)
    problems: list[str] = []
    transactional_db = db.dialect in TRANSACTIONAL
    report = InvariantReport(marker=marker, generation=generation)

    # 1. objects ⇔ rows
    for s in spec.get("schemas", []):
        name, n = s["name"], len(s["migrations"])
        row = schemas.get(name) or {"status": "pending", "steps_done": 0, "in_flight": None}
        status, done, in_flight = row["status"], row["steps_done"], row["in_flight"]
        report.schemas[name] = (status, done, in_flight)
        if status not in ("pending", "applied", "failed", "rolled_back", "interrupted",
                          "uncertain"):
            problems.append(f"{name}: unknown status {status!r}")
        if status == "applied" and done != n:
            problems.append(f"{name}: applied with steps_done={done} of {n}")
        if status in ("pending", "rolled_back") and done != 0 and marker is None:
            problems.append(f"{name}: {status} with {done} step(s) in place and no run under way")
        if transactional_db and s.get("transactional", True):
            if done not in (0, n):
                problems.append(f"{name}: steps_done={done} of {n} on a transactional database")
            if status == "uncertain":
                problems.append(f"{name}: uncertain on a transactional database")
        objects = s.get("objects") or []
        # A step marked started and never finished (stepwise runs) may have landed or not.
        uncertain_step = in_flight
        for k, step_objects in enumerate(objects, start=1):
            for obj in step_objects:
                present = object_exists(db, obj)
                if k == uncertain_step:
                    continue
                if k <= done and not present:
                    problems.append(f"{name}: {status} with {done} step(s) but step {k}'s {obj} "
                                    "is missing")
                if k > done and present:
                    problems.append(f"{name}: {status} with {done} step(s) but step {k}'s {obj} "
                                    "exists")

    # 2. usage
    aliases = version_aliases(spec)
    known = set(aliases.values())
    active = {tsv for tsv, v in versions.items() if v["active"]}
    report.active = active
    # A retiring version is being deactivated: still live as far as its schemas go (they must
    # stay applied until every instance drained it), and only a live version can be retiring.
    report.retiring = {tsv for tsv, v in versions.items() if v["retiring"] is not None}
    problems.extend(f"{tsv}: marked retiring but not live"
                    for tsv in sorted(report.retiring - active))
    problems.extend(f"{tsv}: retiring at generation {versions[tsv]['retiring']}, beyond the "
                    f"state's generation {generation}"
                    for tsv in sorted(report.retiring)
                    if int(versions[tsv]["retiring"]) > generation)
    used_by: dict[str, list[str]] = {}
    for tsv in sorted(active):
        for needed in _closure(spec, versions[tsv]["schema"]):
            used_by.setdefault(needed, []).append(tsv)
            if report.status(needed) != "applied" and any(
                s["name"] == needed for s in spec.get("schemas", [])
            ):
                problems.append(f"live version {tsv} needs {needed}, which is "
                                f"{report.status(needed)}")

    # 3. events
    report.event_ids = [int(r[0]) for r in events]
    report.events = [(int(r[0]), r[2], r[3]) for r in events]
    if report.event_ids != sorted(set(report.event_ids)):
        problems.append(f"event ids not strictly increasing: {report.event_ids}")
    stamps = [r[1] for r in events]
    for (i1, a1), (i2, a2) in zip(zip(report.event_ids, stamps, strict=False), zip(report.event_ids[1:],
                                                                    stamps[1:], strict=False), strict=False):
        if a2 < a1:
            problems.append(f"event {i2} at {a2} is older than event {i1} at {a1}")
    if previous is not None:
        gone = sorted(set(previous.event_ids) - set(report.event_ids))
        if gone:
            problems.append(f"events deleted: {gone}")
        old_max = max(previous.event_ids, default=0)
        new = [i for i in report.event_ids if i not in set(previous.event_ids)]
        if any(i <= old_max for i in new):
            problems.append(f"new event ids {new} not above the previous maximum {old_max}")

    # 4. leftovers (polled: a killed client's session ends asynchronously on the server)
    if not allow_locked:
        problems += settled_leftover_problems(db, prefix, settle=settle)
    if db.dialect != "sqlite":
        report.sessions = len(timescape_sessions(db))

    if api and exists and not problems:
        problems += _api_problems(spec, prefix, report, used_by, known)
    assert not problems, "invariants violated:\n  " + "\n  ".join(problems)
    return report


def _api_problems(spec: dict[str, Any], prefix: str, report: InvariantReport,
                  used_by: dict[str, list[str]], known: set[str]) -> list[str]:
    problems: list[str] = []
    ts = build_timescape(spec, table_prefix=prefix)
    try:
        infos = {i.name: i for i in ts.schemas()}
        stats = ts.stats()
    finally:
        ts.close()
    for name, info in infos.items():
        expected = sorted(used_by.get(name, []))
        if sorted(info.used_by) != expected:
            problems.append(f"{name}: used_by {sorted(info.used_by)} != recomputed {expected}")
        if info.status != report.status(name):
            problems.append(f"{name}: API status {info.status} != row {report.status(name)}")
    statuses = [report.status(s["name"]) for s in spec.get("schemas", [])]
    expected_stats = {
        "active_schemas": statuses.count("applied"),
        "pending_schemas": statuses.count("pending"),
        "failed_schemas": statuses.count("failed"),
        "rolled_back_schemas": statuses.count("rolled_back"),
        "interrupted_schemas": statuses.count("interrupted"),
        "uncertain_schemas": statuses.count("uncertain"),
        "active_versions": len(report.active & known),
        "total_versions": len(known),
        "schemas_in_use": sum(1 for n in used_by if report.status(n) == "applied"),
    }
    for key, value in expected_stats.items():
        if getattr(stats, key) != value:
            problems.append(f"stats.{key} = {getattr(stats, key)}, recomputed {value}")
    return problems
