"""Every command's happy path and exit codes, against real databases (the ``db`` fixture)."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import TSV1, TSV2, TSV3, run_cli, write_project
from tests.clirun import assert_one_line_error
from tests.dbutil import TestDB

SCHEMA_KEYS = {"name", "parent", "status", "used_by", "applied_at", "checksum"}
VERSION_KEYS = {
    "tsv",
    "handler",
    "timestamp",
    "schema",
    "active",
    "status",
    "tags",
    "request_count",
    "last_accessed",
}


def _state_rows(db: TestDB) -> dict[str, int]:
    """Row counts of Timescape's own tables (absent tables count as absent)."""
    return {t: db.count(t) for t in sorted(db.tables()) if t.startswith("timescape_")}


def test_lifecycle__activate_share_refuse_deactivate__json_and_database_agree(
    db: TestDB, tmp_path: Path
) -> None:
    project = str(write_project(tmp_path, db.url))
    ts = ("--project", project)

    listing = run_cli(*ts, "schema", "list", "--json")
    assert listing.exit_code == 0, listing.output
    schemas = listing.json()["schemas"]
    assert [s["name"] for s in schemas] == ["s1", "s2", "s3"]
    assert all(set(s) >= SCHEMA_KEYS for s in schemas)
    assert [s["status"] for s in schemas] == ["pending"] * 3
    assert [s["parent"] for s in schemas] == [None, "s1", "s2"]
    assert schemas[0]["checksum"].startswith("sha256-v1:")
    assert db.user_tables() == set()

    first = run_cli(*ts, "version", "activate", "v1")
    assert first.exit_code == 0, first.output
    assert f"Activated {TSV1}" in first.stdout
    assert "products" in db.user_tables()

    refused = run_cli(*ts, "--json", "version", "activate", "v3")
    assert refused.exit_code == 1, refused.output
    error = refused.json()["error"]
    assert error["type"] == "CompatibilityError"
    assert error["schema"] == "s3"
    assert error["broken_versions"] == [TSV1]
    assert "reviews" not in db.user_tables()
    assert db.schema_row("s2") is None or db.schema_row("s2")["status"] != "applied"

    second = run_cli(*ts, "version", "activate", "v2", "--json")
    assert second.exit_code == 0, second.output
    body = second.json()
    assert body["changed"] is True
    assert body["dry_run"] is False
    assert [o["schema"] for o in body["outcomes"]] == ["s2"]
    assert {"products", "reviews"} <= db.user_tables()
    assert "rating" in db.columns("reviews")
    assert db.active_versions() == {TSV1, TSV2}

    versions = run_cli(*ts, "version", "list", "--json").json()["versions"]
    assert all(set(v) >= VERSION_KEYS for v in versions)
    assert [(v["tsv"], v["active"]) for v in versions] == [
        (TSV1, True),
        (TSV2, True),
        (TSV3, False),
    ]
    assert versions[0]["timestamp"] == "2025-01-01T00:00:00Z"
    assert versions[2]["status"] == "inactive"

    schemas = run_cli(*ts, "schema", "list", "--json").json()["schemas"]
    assert schemas[0]["status"] == "applied"
    assert schemas[0]["used_by"] == [TSV1, TSV2]
    assert schemas[0]["applied_at"].endswith("Z")

    kept = run_cli(*ts, "version", "deactivate", "v1")
    assert kept.exit_code == 0, kept.output
    assert "kept s1" in kept.stdout
    assert db.active_versions() == {TSV2}
    assert "products" in db.user_tables()

    gone = run_cli(*ts, "version", "deactivate", TSV2, "--json")
    assert gone.exit_code == 0, gone.output
    outcomes = gone.json()["outcomes"]
    assert [(o["schema"], o["status"]) for o in outcomes] == [
        ("s2", "rolled_back"),
        ("s1", "rolled_back"),
    ]
    assert db.user_tables() == set()
    assert db.active_versions() == set()

    history = run_cli(*ts, "history", "--json", "--limit", "3").json()["events"]
    assert len(history) == 3
    assert [e["id"] for e in history] == sorted((e["id"] for e in history), reverse=True)
    # MySQL takes the version out of service before rolling back; the others commit it last.
    assert {e["kind"] for e in history} == {"version_deactivated", "schema_rolled_back"}
    assert history[0]["at"].endswith("Z")

    stats = run_cli(*ts, "stats", "--json").json()
    assert stats["total_schemas"] == 3
    assert stats["rolled_back_schemas"] == 2
    assert stats["active_versions"] == 0

    verify = run_cli(*ts, "verify", "--json")
    assert verify.exit_code == 0, verify.output
    assert verify.json() == {"format": 1, "ok": True, "checked_schemas": 3, "problems": []}


def test_dry_run__every_changing_command__database_untouched(db: TestDB, tmp_path: Path) -> None:
    project = str(write_project(tmp_path, db.url))
    ts = ("--project", project)

    plan = run_cli(*ts, "version", "activate", "v2", "--dry-run", "--json")
    assert plan.exit_code == 0, plan.output
    body = plan.json()
    assert body["dry_run"] is True
    assert body["changed"] is False
    assert [a["schema"] for a in body["plan"]["actions"]] == ["s1", "s2"]
    statements = body["plan"]["statements"]
    assert statements[0].startswith("CREATE TABLE products")
    assert statements[1].startswith("CREATE TABLE reviews")
    assert statements[2].startswith("ALTER TABLE reviews ADD COLUMN rating")
    step = body["plan"]["actions"][0]["steps"][0]
    assert step["file"] == "migrations/s1/001_products.sql"
    assert body["plan"]["activate"] == [TSV2]
    assert db.user_tables() == set()
    before = _state_rows(db)
    assert before.get("timescape_events", 0) == 0

    human = run_cli(*ts, "version", "activate", "--dry-run")
    assert human.exit_code == 0, human.output
    assert "Nothing was changed" in human.stdout
    assert "apply s1" in human.stdout
    assert "apply s3" in human.stdout
    assert "migrations/s1/001_products.sql:2" in human.stdout
    assert "ALTER TABLE products ADD COLUMN sku VARCHAR(20);" in human.stdout

    migrate = run_cli(*ts, "schema", "migrate", "s1", "--dry-run")
    assert migrate.exit_code == 0, migrate.output
    assert db.user_tables() == set()
    assert _state_rows(db) == before

    assert run_cli(*ts, "version", "activate", "v2").exit_code == 0
    before = _state_rows(db)
    tables = db.user_tables()

    down = run_cli(*ts, "version", "deactivate", "v2", "--dry-run")
    assert down.exit_code == 0, down.output
    text = down.stdout
    assert text.index("ALTER TABLE reviews DROP COLUMN rating") < text.index("DROP TABLE reviews")
    assert text.index("DROP TABLE reviews") < text.index("DROP TABLE products")
    rollback = run_cli(*ts, "schema", "rollback", "s1", "--dry-run", "--force", "--json")
    assert rollback.exit_code == 0, rollback.output
    assert rollback.json()["plan"]["deactivate"] == [TSV2]
    assert db.user_tables() == tables
    assert _state_rows(db) == before
    assert db.active_versions() == {TSV2}


def test_exit_codes__refusals_bad_refs_and_drift__one_line_and_right_code(
    db: TestDB, tmp_path: Path
) -> None:
    path = write_project(tmp_path, db.url)
    ts = ("--project", str(path))

    unknown = run_cli(*ts, "version", "activate", "nope")
    assert unknown.exit_code == 2
    assert_one_line_error(unknown, "unknown ref 'nope'")

    no_schema = run_cli(*ts, "schema", "status", "nope", "--json")
    assert no_schema.exit_code == 2
    assert no_schema.json()["error"]["type"] == "UnknownRefError"

    assert run_cli(*ts, "version", "activate", "v1").exit_code == 0
    assert run_cli(*ts, "version", "tag", "v1", "stable").exit_code == 0
    protected = run_cli(*ts, "version", "deactivate", "v1")
    assert protected.exit_code == 1
    assert_one_line_error(protected, "protected tag", "--force")
    assert db.active_versions() == {TSV1}

    in_use = run_cli(*ts, "schema", "rollback", "s1")
    assert in_use.exit_code == 1
    assert_one_line_error(in_use, "still used by live version", TSV1)
    assert "products" in db.user_tables()

    check = run_cli(*ts, "schema", "check", "--json")
    assert check.exit_code == 1
    report = check.json()
    assert report["ok"] is False
    refused = {s["name"]: s["refused_by"] for s in report["schemas"]}
    assert refused == {"s1": [], "s2": [], "s3": [TSV1]}

    allowed = run_cli(*ts, "schema", "check", "s2")
    assert allowed.exit_code == 0, allowed.output
    assert "allows it" in allowed.stdout

    migration = tmp_path / "migrations" / "s1" / "001_products.sql"
    migration.write_text(migration.read_text() + "-- edited after it was applied\n")
    drift = run_cli(*ts, "verify")
    assert drift.exit_code == 1
    assert "drift" in drift.stdout
    drifted = run_cli(*ts, "verify", "--json").json()
    assert drifted["ok"] is False
    assert drifted["problems"][0]["kind"] == "drift"

    usage = run_cli(*ts, "version", "activate", "--no-such-flag")
    assert usage.exit_code == 2
    assert "No such option" in usage.stderr


def test_inspection__status_tags_resolve_graph__show_the_same_facts(
    db: TestDB, tmp_path: Path
) -> None:
    ts = ("--project", str(write_project(tmp_path, db.url)))
    assert run_cli(*ts, "version", "activate", "v2").exit_code == 0

    status = run_cli(*ts, "version", "status", "v2", "--json").json()
    assert status["tsv"] == TSV2
    assert status["active"] is True
    assert status["schema_chain"] == [
        {"name": "s1", "status": "applied"},
        {"name": "s2", "status": "applied"},
    ]
    human = run_cli(*ts, "version", "status", "v2").stdout
    assert "s1 (applied)" in human
    assert "s2 (applied)" in human

    schema = run_cli(*ts, "schema", "status", "s1", "--json").json()
    assert schema["steps"] == 1
    assert schema["steps_done"] == 1
    assert schema["used_by"] == [TSV2]
    assert "migrations/s1/001_products.sql" in run_cli(*ts, "schema", "status", "s1").stdout

    tagged = run_cli(*ts, "version", "tag", TSV1, "stable", "--json")
    assert tagged.exit_code == 0, tagged.output
    tags = run_cli(*ts, "version", "tags", "--json").json()["tags"]
    assert {"handler": "/api/products", "tag": "stable", "tsv": TSV1} in tags
    assert run_cli(*ts, "version", "tags", TSV1, "--json").json()["tags"] == [
        {"handler": "/api/products", "tag": "stable", "tsv": TSV1},
        {"handler": "/api/products", "tag": "v1", "tsv": TSV1},
    ]
    assert run_cli(*ts, "version", "untag", "stable", "--handler", "/api/products").exit_code == 0
    assert "stable" not in run_cli(*ts, "version", "tags").stdout

    resolved = run_cli(
        *ts, "version", "resolve", "2025-02-15T00:00:00Z", "--handler", "/api/products"
    )
    assert resolved.stdout.strip() == TSV2
    assert run_cli(*ts, "version", "resolve", "latest", "--json").json()["tsv"] == TSV3

    listing = run_cli(*ts, "version", "list", "--status", "inactive", "--json")
    assert [v["tsv"] for v in listing.json()["versions"]] == [TSV1, TSV3]

    tree = run_cli(*ts, "schema", "graph").stdout
    assert "s1 [applied]" in tree
    assert "└── s2 [applied]" in tree
    assert TSV2 in tree
    mermaid = run_cli(*ts, "schema", "graph", "--format", "mermaid").stdout
    assert mermaid.startswith("flowchart BT")
    assert "s1 --> s0" in mermaid
    dot = run_cli(*ts, "schema", "graph", "--format", "dot").stdout
    assert dot.startswith("digraph timescape {")
    assert '"s2" -> "s1"' in dot
    graph = run_cli(*ts, "schema", "graph", "--json").json()
    assert {"from": TSV2, "to": "s2", "kind": "uses"} in graph["edges"]

    migrated = run_cli(*ts, "schema", "migrate", "s3", "--force", "--json")
    assert migrated.exit_code == 0, migrated.output
    assert migrated.json()["plan"]["forced"]
    assert "sku" in db.columns("products")
    rolled = run_cli(*ts, "schema", "rollback", "s3")
    assert rolled.exit_code == 0, rolled.output
    assert "sku" not in db.columns("products")

    resolved_schema = run_cli(*ts, "schema", "resolve", "s3", "--steps-done", "0", "--json")
    assert resolved_schema.exit_code == 0, resolved_schema.output
    assert "schema_resolved" in db.event_kinds()


def test_failed_step__activate__exit_1_with_cause_under_verbose(db: TestDB, tmp_path: Path) -> None:
    text = (
        '[database]\nurl = "{url}"\n\n[[schemas]]\nname = "bad"\nmigrations = [\n'
        '    "CREATE TABLE ok_t (id INTEGER)",\n    "THIS IS NOT SQL",\n]\n'
        'rollback = ["DROP TABLE ok_t", "SELECT 1"]\n\n[[versions]]\nhandler = "/api/x"\n'
        'timestamp = "2025-01-01T00:00:00Z"\nschema = "bad"\n'
    )
    ts = ("--project", str(write_project(tmp_path, db.url, text)))

    plain = run_cli(*ts, "version", "activate")
    assert plain.exit_code == 1
    assert_one_line_error(plain, "schema 'bad' step 2 failed")
    assert db.schema_row("bad")["status"] == "failed"
    assert db.active_versions() == set()

    verbose = run_cli(*ts, "-v", "version", "activate")
    assert verbose.exit_code == 1
    lines = verbose.stderr.splitlines()
    assert "timescape: schema 1 of 1 · apply bad · step 2 of 2" in lines
    error = next(i for i, line in enumerate(lines) if line.startswith("Error: "))
    assert lines[error].startswith("Error: schema 'bad' step 2 failed")
    assert lines[error + 1].startswith("  caused by "), verbose.stderr
    assert "Traceback" not in verbose.stderr

    document = run_cli(*ts, "--json", "-v", "version", "activate").json()["error"]
    assert document["type"] == "MigrationError"
    assert document["step"] == 2
    assert document["statement"] == "THIS IS NOT SQL"
    assert document["causes"]

    check = run_cli(*ts, "verify", "--json")
    assert check.exit_code == 1
    assert [p["kind"] for p in check.json()["problems"]] == ["failed"]


def test_schema_list_json__rows_written_as_tuples__same_as_schema_json_of_each_info(
    db: TestDB, tmp_path: Path
) -> None:
    from timescape.cli.render import jsonable  # noqa: PLC0415
    from timescape.cli.schema import schema_json  # noqa: PLC0415
    from timescape.project.config import load_project  # noqa: PLC0415

    path = write_project(tmp_path, db.url)
    text = path.read_text()
    extra = '\n[[schemas]]\nname = "s9"\nmigrations = ["CREATE TABLE t9 (id INTEGER)"]\n'
    path.write_text(text + extra)
    assert run_cli("--project", str(path), "schema", "migrate", "s9").exit_code == 0
    assert run_cli("--project", str(path), "version", "activate", "v2").exit_code == 0
    # s9 stays stored but is no longer defined; s2 declares two compatible schemas.
    path.write_text(text.replace('compatible_with = ["s1"]', 'compatible_with = ["s3", "s1"]'))

    listing = run_cli("--project", str(path), "schema", "list", "--json")

    ts = load_project(path).timescape()
    try:
        expected = [jsonable(schema_json(i)) for i in ts.schemas()]
    finally:
        ts.close()
    assert listing.exit_code == 0, listing.output
    assert listing.json()["schemas"] == expected
    assert [(s["name"], s["status"]) for s in expected] == [
        ("s1", "applied"),
        ("s2", "applied"),
        ("s3", "pending"),
        ("s9", "applied"),
    ]
    assert expected[3]["defined"] is False


def test_version_list_json__rows_written_as_tuples__same_as_each_info(
    db: TestDB, tmp_path: Path
) -> None:
    from timescape.cli.render import jsonable  # noqa: PLC0415
    from timescape.project.config import load_project  # noqa: PLC0415

    path = write_project(tmp_path, db.url)
    ts_args = ("--project", str(path))
    assert run_cli(*ts_args, "version", "activate", "v2").exit_code == 0
    assert run_cli(*ts_args, "version", "tag", TSV2, "beta").exit_code == 0

    listing = run_cli(*ts_args, "version", "list", "--json")
    warm = run_cli(*ts_args, "version", "list", "--json", "--status", "warm")

    ts = load_project(path).timescape()
    try:
        expected = [jsonable(i) for i in ts.versions()]
    finally:
        ts.close()
    assert listing.exit_code == 0, listing.output
    assert listing.json()["versions"] == expected
    assert warm.json()["versions"] == [v for v in expected if v["status"] == "warm"]
    assert [v["tags"] for v in expected if v["tsv"] == TSV2] == [["beta", "v2"]]
