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


def _reference(project: Path, noun: str) -> str:
    """What ``<noun> list --json`` printed before: report values through ``jsonable``."""
    ts = load_project(project).timescape()
    try:
        items = _schema_documents(ts.schemas()) if noun == "schema" else ts.versions()
    finally:
        ts.close()
    document = {"format": 1, f"{noun}s": items}
    return json.dumps(jsonable(document), indent=2, ensure_ascii=False) + "\n"


def _schema_documents(infos: list[SchemaInfo]) -> list[dict[str, object]]:
    """Each schema as ``schema list --json`` shows it: ``parent`` and ``contract`` added."""
    names = [f.name for f in dataclasses.fields(SchemaInfo)]
    return [
        {
            "name": i.name,
            "parent": parent_field(i.parents),
            **{n: getattr(i, n) for n in names[1:]},
            "contract": contract_state(i),
        }
        for i in infos
    ]


def _printed(project: Path, noun: str) -> str:
    result = run_cli("--project", str(project), noun, "list", "--json")
    assert result.exit_code == 0, result.output
    return result.stdout


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


def test_schema_list_json__stored_times__same_text_as_through_datetimes(
    db: TestDB, tmp_path: Path
) -> None:
    project = write_project(tmp_path, db.url)
    assert run_cli("--project", str(project), "version", "activate", "v3").exit_code == 0
    # Every row in the stored form: the column is converted as text.
    _store(db, STORED)
    printed = _printed(project, "schema")
    assert printed == _reference(project, "schema")
    assert '"applied_at": "2026-12-06T12:00:01Z"' in printed
    assert '"rolled_back_at": "2026-12-06T12:00:00.123Z"' in printed
    # Digit for digit the stored shape, another zone: through datetimes, the same text.
    _store(db, [*STORED, "2026-12-06T14:00:00.500+02:00"])
    printed = _printed(project, "schema")
    assert printed == _reference(project, "schema")
    assert '"applied_at": "2026-12-06T12:00:00.500Z"' in printed
    # Any other form among them: each converted through a datetime, the text still the same.
    _store(db, STORED + OTHER)
    printed = _printed(project, "schema")
    assert printed == _reference(project, "schema")
    assert '"applied_at": "2026-12-06T12:00:00.000Z"' in printed
    assert '"applied_at": "2026-12-06T12:00:00.250Z"' in printed
    # A step in flight: whole rows and the derived statuses, the same text again.
    db.execute("UPDATE timescape_schemas SET step_in_flight = 1 WHERE name = 's3'")
    assert _printed(project, "schema") == _reference(project, "schema")


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


VERSION_TIMES = [
    ("2024-03-01T10:00:00.123456+00:00", None, "2024-03-03 12:30:00.250+02:00"),
    ("2024-03-01T10:00:00.123+00:00", "2024-03-02T10:00:00.000+00:00", None),
    ("2024-03-01T10:00:00", "2024-03-04T10:00:00.000500+00:00", "2024-03-05T10:00:00.999+00:00"),
]


def test_version_list_json__stored_times__same_text_as_through_datetimes(
    db: TestDB, tmp_path: Path
) -> None:
    project = write_project(tmp_path, db.url)
    for ref in ("v1", "v2"):  # v3's schema would break v1
        assert run_cli("--project", str(project), "version", "activate", ref).exit_code == 0
    tsvs = [row[0] for row in db.query("SELECT tsv FROM timescape_versions ORDER BY tsv")]
    assert len(tsvs) >= 2
    for tsv, (activated, accessed, retiring) in zip(tsvs, VERSION_TIMES, strict=False):
        db.execute(
            "UPDATE timescape_versions SET activated_at = ?, last_accessed = ?, retiring_at = ?, "
            "retiring_generation = ? WHERE tsv = ?",
            (activated, accessed, retiring, 7 if retiring else None, tsv),
        )
    printed = _printed(project, "version")
    assert printed == _reference(project, "version")
    assert '"retiring_since": "2024-03-03T10:30:00.250Z"' in printed
    assert '"timestamp": "2025-01-01T00:00:00Z"' in printed
    # Every time in the stored form: the columns are converted as text.
    db.execute("UPDATE timescape_versions SET activated_at = ?", ("2024-03-01T10:00:00.000+00:00",))
    db.execute("UPDATE timescape_versions SET last_accessed = NULL, retiring_at = NULL")
    printed = _printed(project, "version")
    assert printed == _reference(project, "version")
    assert '"activated_at": "2024-03-01T10:00:00Z"' in printed
