"""One more activation costs the same statements at 2,000 schemas as at 200 (issue 14).

What SQLite does for a CREATE TABLE grows with the schema (it scans the schema table and walks
every table), so what Timescape itself asks of SQLite must not: these tests seed the state that
activations leave (the benchmark's project shape, :mod:`bench.scale`), list every statement one
activation in a warm instance runs through SQLite's own trace callback, count the virtual-machine
instructions each one takes through its progress handler, and compare two sizes. Counts, never
timings.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from bench import scale

from tests.modelutil import timescape_calls
from timescape import Timescape

pytestmark = pytest.mark.timeout(300)

_LITERAL = re.compile(r"'(?:[^']|'')*'|\b\d+\b")


def _shape(statement: str) -> str:
    """The statement with its literals and table names taken out (they differ per size)."""
    return _LITERAL.sub("?", re.sub(r"\bh\d{3}_v\d{5}\b", "T", statement))


def _warm(url: str, size: int) -> tuple[Timescape, str]:
    """A warm instance on ``size`` seeded schemas, and the TSV of one more version to activate."""
    ts = Timescape(url)
    tsv = scale.define(ts, size, extra=1)[-1]
    ts.refresh()
    return ts, tsv


def _traced_activation(tmp_path: Path, size: int) -> tuple[list[str], list[int]]:
    """Every statement one activation runs, and the VM instructions (in tens) of each."""
    url = f"sqlite:///{tmp_path / f'scale{size}.db'}"
    scale.seed(url, size)
    ts, tsv = _warm(url, size)
    statements: list[str] = []
    work: list[int] = []

    def started(statement: str) -> None:
        statements.append(statement)
        work.append(0)

    def progress() -> int:
        if work:
            work[-1] += 1
        return 0  # go on

    conn = ts.backend.raw_connection
    conn.set_trace_callback(started)
    conn.set_progress_handler(progress, 10)
    try:
        result = ts.activate(tsv)
    finally:
        conn.set_trace_callback(None)
        conn.set_progress_handler(None, 0)
    assert [a.name for a in result.plan.actions] == [scale._schema_name(0, size // 100)]
    ts.close()
    return statements, work


def test_activation__ten_times_the_schemas__same_statements_same_work(tmp_path: Path) -> None:
    small, small_work = _traced_activation(tmp_path, 200)
    large, large_work = _traced_activation(tmp_path, 2000)
    assert [_shape(s) for s in large] == [_shape(s) for s in small]
    # The one DDL statement is the schema's own: SQLite's work for it grows with the schema.
    ddl = [i for i, s in enumerate(large) if s.startswith("CREATE TABLE")]
    assert len(ddl) == 1
    assert large_work[ddl[0]] > 2 * small_work[ddl[0]]  # the measure sees a schema-wide scan
    # Everything Timescape asks for itself reads a few rows, whatever the number of schemas
    # (a B-tree one level deeper costs a few instructions more, a table scan ten times more).
    own_small = sum(w for i, w in enumerate(small_work) if i != ddl[0])
    own_large = sum(w for i, w in enumerate(large_work) if i != ddl[0])
    assert own_large <= own_small * 1.2 + 5, (own_small, own_large)


def _calls_of_activation(tmp_path: Path, size: int) -> int:
    """Calls of Timescape's own Python functions in one activation, warm.

    The instance activates one new version first, so imports and first-use caches are paid
    before the count, as in a service that has run once.
    """
    url = f"sqlite:///{tmp_path / f'calls{size}.db'}"
    scale.seed(url, size)
    ts = Timescape(url)
    first, second = scale.define(ts, size, extra=2)
    ts.refresh()
    ts.activate(first)
    # Its texts hashed before the count too: the checksum memo is the process's, and another
    # test may have hashed the same text already.
    name = scale._schema_name(0, size // 100 + 1)
    assert ts.catalog.schema(name).checksums
    assert ts.catalog.schema(name).rollback_checksums
    results = []
    calls = timescape_calls(lambda: results.append(ts.activate(second)))
    result = results[0]
    assert [a.name for a in result.plan.actions] == [name]
    ts.close()
    return calls


def test_activation__ten_times_the_schemas__same_timescape_calls(tmp_path: Path) -> None:
    # At 2,000 schemas the version builds on 21 applied ancestors, at 200 on 3: the planner
    # checks each one (applied, every step's checksum current), and did so through five Python
    # calls per ancestor (issue 14). Every other part of an activation is flat already.
    small = _calls_of_activation(tmp_path, 200)
    large = _calls_of_activation(tmp_path, 2000)
    assert large == small, (small, large)


def _database_of(path: Path, kib: int) -> str:
    """A SQLite file of about ``kib`` KiB (one table of blobs), as a URL."""
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE filler (b BLOB)")
    raw.executemany("INSERT INTO filler VALUES (zeroblob(1000))", [()] * kib)
    raw.commit()
    raw.close()
    return f"sqlite:///{path}"


def _budget(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA cache_size").fetchone()[0])


def test_connection__migration_changes_cache_size__widened_budget_restored(
    tmp_path: Path,
) -> None:
    # A state read at ten thousand schemas fills SQLite's default 2,000 KiB cache; then the next
    # CREATE TABLE re-reads the schema table it scans from the file. Timescape's connection to a
    # big file has room for both, and a migration changing the budget is set back to it.
    url = _database_of(tmp_path / "cache.db", 40_000)
    ts = Timescape(url)
    ts.add_schema("s1", ["CREATE TABLE a (id int); PRAGMA cache_size = 100"], ["DROP TABLE a"])
    tsv = ts.add_version("/api", "2025-01-01T00:00:00Z", "s1")
    ts.refresh()
    conn = ts.backend.raw_connection
    before = _budget(conn)
    ts.activate(tsv)
    assert before == _budget(conn) == -16 * 1024
    ts.close()
    raw = sqlite3.connect(tmp_path / "cache.db")
    assert _budget(raw) != -16 * 1024  # the file keeps nothing
    raw.close()


def test_connection__file_smaller_than_the_default_cache__budget_unchanged(
    tmp_path: Path,
) -> None:
    # A new database (a long chain applied in one process) keeps SQLite's default budget, so
    # the pages that chain reads are not all kept (peak RSS); a mid-sized file gets its size.
    ts = Timescape(f"sqlite:///{tmp_path / 'new.db'}")
    ts.refresh()
    assert _budget(ts.backend.raw_connection) == -2000
    ts.close()
    ts = Timescape(_database_of(tmp_path / "mid.db", 4_000))
    ts.refresh()
    budget = -_budget(ts.backend.raw_connection)
    ts.close()
    assert 4_000 < budget < 16 * 1024
