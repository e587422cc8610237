"""A cancelled or lost statement that may have written is ``uncertain``, never ``failed`` (T42).

Issue 11 reproducer: a 400-row MyISAM table, step ``UPDATE m SET x = x + 1 WHERE SLEEP(0.01) = 0``
and ``migration_timeout = 1.5``. ``KILL QUERY`` stops the UPDATE after about 150 rows, and MyISAM
keeps them: a ``failed`` state would let a plain retry add 1 to those rows again. The same
statement on InnoDB is rolled back by the server when killed, so there ``failed`` is the truth.
Read-only-ness comes from the parsed statement: ``SELECT f()`` and ``DO f()`` may write.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.clirun import write_project
from tests.dbutil import TestDB
from tests.reliability._b_helpers import assert_clean, cli, spec_for, timescape_for
from timescape.errors import MigrationError, MigrationTimeoutError

pytestmark = [pytest.mark.timeout(120), pytest.mark.dialects("mysql")]

PROJECT = """
[database]
url = "{url}"
migration_timeout = 1.5

[[schemas]]
name = "s42"
migrations = ["CREATE TABLE t42_a (id INTEGER)", "UPDATE m SET x = x + 1 WHERE SLEEP(0.01) = 0"]
rollback = ["DROP TABLE t42_a", "SELECT 1"]

[[versions]]
handler = "/api/products"
timestamp = "2025-01-01T00:00:00Z"
schema = "s42"
"""


def _table_m(db: TestDB, engine: str) -> None:
    db.execute(f"CREATE TABLE m (id INTEGER PRIMARY KEY, x INTEGER NOT NULL) ENGINE={engine}")
    db.execute("INSERT INTO m SELECT seq, 0 FROM seq_1_to_400")


def _xs(db: TestDB) -> dict[int, int]:
    return {int(x): int(n) for x, n in db.query("SELECT x, COUNT(*) FROM m GROUP BY x")}


def test_t42_myisam_update_killed_by_timeout__uncertain_and_never_applied_twice(
    db: TestDB, tmp_path: Path
) -> None:
    _table_m(db, "MyISAM")
    write_project(tmp_path, PROJECT, url=db.url)

    first = cli("version", "activate", "latest", cwd=tmp_path)
    assert first.exit_code == 1, first.describe()
    assert "timed out after 1.5 s in step 2" in first.stderr, first.describe()
    assert "schema resolve s42" in first.stderr, first.describe()
    changed = _xs(db)
    assert set(changed) == {0, 1}, changed  # the kill landed mid-table: some rows kept x = 1
    row = db.schema_row("s42")
    assert row is not None
    assert (row["status"], row["steps_done"], row["step_in_flight"]) == ("uncertain", 1, 2), row

    listed = cli("--json", "schema", "list", cwd=tmp_path)
    assert [s["status"] for s in listed.json()["schemas"] if s["name"] == "s42"] == ["uncertain"]
    verify = cli("verify", cwd=tmp_path)
    assert verify.exit_code == 1, verify.describe()
    assert "uncertain" in verify.output, verify.describe()

    for _ in range(2):  # a plain retry is refused, every time; nothing runs twice
        again = cli("version", "activate", "latest", cwd=tmp_path)
        assert again.exit_code == 1, again.describe()
        assert "uncertain" in again.stderr, again.describe()
        assert "schema resolve s42" in again.stderr, again.describe()
    assert _xs(db) == changed
    assert 2 not in _xs(db)
    assert_clean(db)

    # The operator looked, decided the step is done, and said so; the rest goes on.
    resolved = cli("schema", "resolve", "s42", "--steps-done", "2", cwd=tmp_path)
    assert resolved.exit_code == 0, resolved.describe()
    done = cli("version", "activate", "latest", cwd=tmp_path)
    assert done.exit_code == 0, done.describe()
    assert _xs(db) == changed
    assert db.schema_row("s42")["status"] == "applied"  # type: ignore[index]


def test_t42_innodb_update_killed_by_timeout__rolled_back_by_the_server__failed(
    db: TestDB, tmp_path: Path
) -> None:
    _table_m(db, "InnoDB")
    write_project(tmp_path, PROJECT, url=db.url)
    first = cli("version", "activate", "latest", cwd=tmp_path)
    assert first.exit_code == 1, first.describe()
    assert "timed out after 1.5 s in step 2" in first.stderr, first.describe()
    assert _xs(db) == {0: 400}
    row = db.schema_row("s42")
    assert row is not None
    assert (row["status"], row["steps_done"], row["step_in_flight"]) == ("failed", 1, None), row


@pytest.mark.parametrize(
    "statement", ["SELECT t42_f()", "DO t42_f()", "SELECT t42_f() FROM DUAL"]
)
def test_t42_function_call_cancelled__uncertain_because_a_function_may_write(
    db: TestDB, statement: str
) -> None:
    db.execute("CREATE TABLE t42_log (id INTEGER AUTO_INCREMENT PRIMARY KEY) ENGINE=MyISAM")
    db.execute(
        "CREATE FUNCTION t42_f() RETURNS INTEGER MODIFIES SQL DATA "
        "BEGIN INSERT INTO t42_log VALUES (NULL); RETURN SLEEP(30); END"
    )
    spec = spec_for(
        db,
        [{"name": "s42f", "migrations": [statement], "rollback": ["SELECT 1"], "objects": [[]]}],
        migration_timeout=1,
    )
    with timescape_for(spec) as ts, pytest.raises(MigrationTimeoutError) as info:
        ts.apply_schema("s42f")
    assert "schema resolve s42f" in str(info.value)
    assert db.count("t42_log") == 1  # the function wrote before it was killed
    row = db.schema_row("s42f")
    assert row is not None
    assert (row["status"], row["steps_done"]) == ("uncertain", 0), row


@pytest.mark.parametrize(
    "statement", ["SELECT SLEEP(30)", "DO SLEEP(30)", "SHOW TABLES; SELECT SLEEP(30)"]
)
def test_t42_read_only_statement_cancelled__failed_and_retry_runs_it(
    db: TestDB, statement: str
) -> None:
    spec = spec_for(
        db,
        [
            {
                "name": "s42r",
                "migrations": [statement],
                "rollback": ["SELECT 1"],
                "objects": [[]],
            }
        ],
        migration_timeout=1,
    )
    with timescape_for(spec) as ts, pytest.raises(MigrationTimeoutError):
        ts.apply_schema("s42r")
    row = db.schema_row("s42r")
    assert row is not None
    assert (row["status"], row["steps_done"], row["step_in_flight"]) == ("failed", 0, None), row


@pytest.mark.parametrize(("engine", "status"), [("MyISAM", "uncertain"), ("InnoDB", "failed")])
def test_t42_dml_failing_half_way__uncertain_only_on_a_non_transactional_engine(
    db: TestDB, engine: str, status: str
) -> None:
    db.execute(f"CREATE TABLE t42_u (id INTEGER PRIMARY KEY) ENGINE={engine}")
    spec = spec_for(
        db,
        [
            {
                "name": "s42u",
                # Rows 1..5 go in, then 3 again: a duplicate key stops the statement half-way.
                "migrations": [
                    "INSERT INTO t42_u (id) SELECT seq FROM seq_1_to_5 UNION ALL SELECT 3"
                ],
                "rollback": ["DELETE FROM t42_u"],
                "objects": [[]],
            }
        ],
    )
    with timescape_for(spec) as ts, pytest.raises(MigrationError) as info:
        ts.apply_schema("s42u")
    assert "Duplicate" in str(info.value)
    kept = db.count("t42_u")
    assert kept == (5 if engine == "MyISAM" else 0)
    row = db.schema_row("s42u")
    assert row is not None
    assert (row["status"], row["steps_done"]) == (status, 0), row
    if status == "uncertain":
        assert "schema resolve s42u" in str(info.value)
