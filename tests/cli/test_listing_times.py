"""``schema list --json`` prints stored times without reading them into ``datetime`` (issue 14).

The listing takes ``applied_at`` and ``rolled_back_at`` as the state tables hold them and turns
the text into the printed form a column at a time. These tests hold it to what the listing
printed before: every schema read into a :class:`~timescape.reports.SchemaInfo` (``datetime``
values) and written by ``json.dumps(jsonable(...), indent=2)``, byte for byte, on every database,
for the form Timescape stores and for every other form a state table may hold (an older writer,
a hand edit): microseconds, other offsets, no zone, a space for the ``T``, nothing at all.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from tests.cli.conftest import run_cli, write_project
from tests.dbutil import TestDB
from timescape import load_project
from timescape.cli._listing import parent_field
from timescape.cli.render import contract_state, jsonable
from timescape.reports import SchemaInfo

STORED = [
    "2026-12-06T12:00:00.123+00:00",  # what Timescape writes: milliseconds, UTC
    "2026-12-06T12:00:01.000+00:00",  # a whole second: printed without a fraction
    "2025-01-31T23:59:59.999+00:00",
]
OTHER = [
    "2026-12-06T12:00:00.123456+00:00",  # microseconds: cut to milliseconds
    "2026-12-06T12:00:00.000500+00:00",  # under a millisecond: ".000", not a whole second
    "2026-12-06T14:30:00.250+02:30",  # another offset: converted to UTC
    "2026-12-06T12:00:00",  # no zone: taken as UTC
    "2026-12-06 12:00:00.250+00:00",  # a space for the T
    "2026-12-06T12:00:00Z",
    "",  # nothing
]


def _reference(project: Path) -> str:
    """What ``schema list --json`` printed before: SchemaInfo values through ``jsonable``."""
    ts = load_project(project).timescape()
    try:
        infos = ts.schemas()
    finally:
        ts.close()
    names = [f.name for f in dataclasses.fields(SchemaInfo)]
    schemas = [
        {
            "name": i.name,
            "parent": parent_field(i.parents),
            **{n: getattr(i, n) for n in names[1:]},
            "contract": contract_state(i),
        }
        for i in infos
    ]
    document = {"format": 1, "schemas": schemas}
    return json.dumps(jsonable(document), indent=2, ensure_ascii=False) + "\n"


def _store(db: TestDB, times: list[str]) -> None:
    """Give s1..s3 and one gone schema per pair of ``times`` these applied and rolled-back times."""
    db.execute("DELETE FROM timescape_schemas WHERE name LIKE 'gone%'")
    pairs = list(zip(times, [*times[1:], times[0]], strict=True))
    for name, (applied, rolled_back) in zip(("s1", "s2", "s3"), pairs, strict=False):
        db.execute(
            "UPDATE timescape_schemas SET applied_at = ?, rolled_back_at = ? WHERE name = ?",
            (applied or None, rolled_back or None, name),
        )
    for i, (applied, rolled_back) in enumerate(pairs):
        db.execute(
            "INSERT INTO timescape_schemas (name, parents, status, steps_done, step_count, "
            "checksums, rollback_checksums, applied_at, rolled_back_at, contract_done) "
            "VALUES (?, '[]', 'rolled_back', 0, 1, '[]', '[]', ?, ?, 0)",
            (f"gone{i:02d}", applied, rolled_back),
        )


def _listing(project: Path) -> str:
    result = run_cli("--project", str(project), "schema", "list", "--json")
    assert result.exit_code == 0, result.output
    return result.stdout


def test_schema_list_json__stored_times__same_text_as_through_datetimes(
    db: TestDB, tmp_path: Path
) -> None:
    project = write_project(tmp_path, db.url)
    assert run_cli("--project", str(project), "version", "activate", "v3").exit_code == 0
    # Every row in the stored form: the column is converted as text.
    _store(db, STORED)
    printed = _listing(project)
    assert printed == _reference(project)
    assert '"applied_at": "2026-12-06T12:00:01Z"' in printed
    assert '"rolled_back_at": "2026-12-06T12:00:00.123Z"' in printed
    # Any other form among them: each converted through a datetime, the text still the same.
    _store(db, STORED + OTHER)
    printed = _listing(project)
    assert printed == _reference(project)
    assert '"applied_at": "2026-12-06T12:00:00.000Z"' in printed
    assert '"applied_at": "2026-12-06T12:00:00.250Z"' in printed
    # A step in flight: whole rows and the derived statuses, the same text again.
    db.execute("UPDATE timescape_schemas SET step_in_flight = 1 WHERE name = 's3'")
    assert _listing(project) == _reference(project)


def test_schema_list_json__stored_time_not_iso__same_error_as_through_datetimes(
    db: TestDB, tmp_path: Path
) -> None:
    project = write_project(tmp_path, db.url)
    assert run_cli("--project", str(project), "version", "activate", "v1").exit_code == 0
    db.execute("UPDATE timescape_schemas SET applied_at = ? WHERE name = 's1'", ("yesterday",))
    listing = run_cli("--project", str(project), "schema", "list", "--json")
    table = run_cli("--project", str(project), "schema", "list")
    assert listing.exit_code == table.exit_code == 1
    error = listing.json()["error"]
    assert error["type"] == "ValueError"
    assert "Invalid isoformat string: 'yesterday'" in error["message"]
