"""``timescape instances``, the drain options of ``version deactivate``, ``version status``."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import TSV1, TSV2, run_cli, write_project
from tests.clirun import assert_one_line_error
from tests.dbutil import TestDB
from timescape.config import load_project

INSTANCE_KEYS = {
    "id",
    "host",
    "pid",
    "label",
    "started_at",
    "heartbeat_at",
    "age_s",
    "stale_after_s",
    "stale",
    "generation",
    "in_flight",
    "draining",
}


def test_instances__none_then_one__table_and_json(db: TestDB, tmp_path: Path) -> None:
    project = write_project(tmp_path, db.url)
    empty = run_cli("--project", str(project), "instances")
    assert empty.exit_code == 0, empty.output
    assert "No serving instances registered." in empty.stdout
    document = run_cli("--project", str(project), "instances", "--json").json()
    assert document["format"] == 1
    assert document["instances"] == []

    run_cli("--project", str(project), "version", "activate", "v1")
    ts = load_project(project).timescape(db.url)
    instance = ts.register_instance(label="web one")
    ts.heartbeat(instance, generation=1, in_flight={TSV1: 2})
    listing = run_cli("--project", str(project), "instances")
    assert listing.exit_code == 0, listing.output
    assert instance[:8] in listing.stdout
    assert "web one" in listing.stdout
    assert f"{TSV1} 2" in listing.stdout
    assert "live" in listing.stdout
    document = run_cli("--project", str(project), "instances", "--json").json()
    [row] = document["instances"]
    assert set(row) == INSTANCE_KEYS
    assert row["id"] == instance
    assert row["in_flight"] == {TSV1: 2}
    assert row["stale"] is False
    assert row["generation"] == 1
    assert document["generation"] >= 1
    ts.close()


def test_deactivate__drain_timeout__exit_1_names_instance_then_no_drain(
    db: TestDB, tmp_path: Path
) -> None:
    project = str(write_project(tmp_path, db.url))
    for ref in ("v1", "v2"):
        assert run_cli("--project", project, "version", "activate", ref).exit_code == 0
    ts = load_project(Path(project)).timescape(db.url)
    instance = ts.register_instance()  # never heartbeats again: holds on to generation 0
    timed_out = run_cli("--project", project, "version", "deactivate", "v2", "--drain-timeout",
                        "0.2")
    assert timed_out.exit_code == 1, timed_out.output
    assert_one_line_error(timed_out, TSV2, instance[:8], "not yet loaded", "Nothing was rolled back")
    assert "reviews" in db.user_tables()

    status = run_cli("--project", project, "version", "status", "v2")
    assert "retiring" in status.stdout
    assert f"({instance[:8]}): not yet loaded" in status.stdout
    listing = run_cli("--project", project, "version", "list", "--status", "retiring", "--json")
    assert [v["tsv"] for v in listing.json()["versions"]] == [TSV2]

    forced = run_cli("--project", project, "version", "deactivate", "v2", "--no-drain",
                     "--json")
    assert forced.exit_code == 0, forced.output
    assert forced.json()["drain"]["forced"] is True
    assert "reviews" not in db.user_tables()
    history = run_cli("--project", project, "history", "--json").json()["events"]
    kinds = [e["kind"] for e in history]
    assert "version_retiring" in kinds
    ts.close()


def test_deactivate__bad_drain_timeout__exit_2(db: TestDB, tmp_path: Path) -> None:
    project = str(write_project(tmp_path, db.url))
    result = run_cli("--project", project, "version", "deactivate", "v1", "--drain-timeout", "0")
    assert result.exit_code == 2, result.output
    assert "--drain-timeout" in result.stderr
