"""``timescape version retire`` and ``[lifecycle]``: verdicts, retirement, thresholds, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.cli.conftest import PROJECT, TSV1, TSV2, run_cli, write_project
from tests.clirun import assert_one_line_error
from tests.dbutil import TestDB
from timescape.config import load_project
from timescape.errors import DrainTimeoutError


def _age(db: TestDB, tsv: str, days: int) -> None:
    """Pretend ``tsv`` was activated ``days`` ago and never requested since."""
    moment = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="milliseconds")
    db.execute(
        "UPDATE timescape_versions SET activated_at = ?, last_accessed = NULL WHERE tsv = ?",
        (moment, tsv),
    )


def _activate_two(db: TestDB, tmp_path: Path, text: str = PROJECT) -> tuple[str, ...]:
    ts = ("--project", str(write_project(tmp_path, db.url, text)))
    for ref in ("v1", "v2"):
        result = run_cli(*ts, "version", "activate", ref)
        assert result.exit_code == 0, result.output
    return ts


def test_retire__just_activated_no_requests__warm_and_kept(db: TestDB, tmp_path: Path) -> None:
    ts = _activate_two(db, tmp_path)
    listing = run_cli(*ts, "version", "list", "--json").json()["versions"]
    assert {v["tsv"]: v["status"] for v in listing if v["active"]} == {TSV1: "warm", TSV2: "warm"}
    result = run_cli(*ts, "version", "retire", "--json")
    assert result.exit_code == 0, result.output
    document = result.json()
    assert document["format"] == 1
    assert document["cold_after"] == "30d"
    assert document["retired"] == []
    verdicts = {v["tsv"]: v for v in document["versions"]}
    assert not verdicts[TSV1]["retire"]
    assert "activated" in verdicts[TSV1]["reason"]
    assert verdicts[TSV2]["newest"]
    assert db.active_versions() == {TSV1, TSV2}


def test_retire__cold_old_version__dry_run_then_retired_schema_kept(
    db: TestDB, tmp_path: Path
) -> None:
    ts = _activate_two(db, tmp_path)
    _age(db, TSV1, 45)
    _age(db, TSV2, 45)
    events_before = db.count("timescape_events")

    dry = run_cli(*ts, "version", "retire", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "would retire" in dry.stdout
    assert f"Would retire {TSV1} (its schemas are still needed)" in dry.stdout
    assert "newest live version" in dry.stdout
    assert db.active_versions() == {TSV1, TSV2}
    assert db.count("timescape_events") == events_before

    real = run_cli(*ts, "version", "retire", "--json")
    assert real.exit_code == 0, real.output
    document = real.json()
    verdicts = {v["tsv"]: v for v in document["versions"]}
    assert verdicts[TSV1]["status"] == "cold"
    assert verdicts[TSV1]["retire"]
    assert verdicts[TSV2]["status"] == "cold"
    assert not verdicts[TSV2]["retire"]  # the newest live version stays
    assert [r["tsv"] for r in document["retired"]] == [TSV1]
    assert db.active_versions() == {TSV2}
    assert "products" in db.user_tables()  # s1 still needed by v2 (s2 builds on it)
    assert db.event_kinds()[-1] == "version_deactivated"


def test_retire__cold_after_option_and_protected_tag(db: TestDB, tmp_path: Path) -> None:
    text = PROJECT.replace('tags = ["v1"]', 'tags = ["v1", "stable"]')
    ts = _activate_two(db, tmp_path, text)
    _age(db, TSV1, 3)
    kept = run_cli(*ts, "version", "retire", "--json").json()
    assert not kept["versions"][0]["retire"]  # 3 days < 30d
    short = run_cli(*ts, "version", "retire", "--cold-after", "2d", "--json")
    assert short.exit_code == 0, short.output
    verdict = short.json()["versions"][0]
    assert verdict["status"] == "cold"
    assert verdict["protected"]
    assert not verdict["retire"]
    assert db.active_versions() == {TSV1, TSV2}


def test_retire__project_thresholds__used_by_list_and_retire(db: TestDB, tmp_path: Path) -> None:
    text = PROJECT + '\n[lifecycle]\nhot_within = "10m"\ncold_after = "2d"\n'
    ts = _activate_two(db, tmp_path, text)
    _age(db, TSV1, 3)
    listing = run_cli(*ts, "version", "list", "--status", "cold", "--json").json()["versions"]
    assert [v["tsv"] for v in listing] == [TSV1]
    result = run_cli(*ts, "version", "retire", "--json")
    assert result.json()["cold_after"] == "2d"
    assert [r["tsv"] for r in result.json()["retired"]] == [TSV1]
    assert db.active_versions() == {TSV2}


def test_retire__bad_threshold__exit_2_naming_file_and_key(db: TestDB, tmp_path: Path) -> None:
    bad = PROJECT + '\n[lifecycle]\ncold_after = "30 days"\n'
    path = write_project(tmp_path, db.url, bad)
    result = run_cli("--project", str(path), "version", "retire")
    assert result.exit_code == 2
    assert_one_line_error(result, "timescape.toml", "lifecycle.cold_after", "30d")
    inverted = PROJECT + '\n[lifecycle]\nhot_within = "2d"\ncold_after = "1d"\n'
    path = write_project(tmp_path, db.url, inverted)
    result = run_cli("--project", str(path), "version", "list")
    assert result.exit_code == 2
    assert_one_line_error(result, "lifecycle.cold_after", "longer than hot_within")
    unknown = PROJECT + "\n[lifecycle]\nauto_retired = true\n"
    path = write_project(tmp_path, db.url, unknown)
    result = run_cli("--project", str(path), "version", "list")
    assert result.exit_code == 2
    assert_one_line_error(result, "lifecycle.auto_retired", "auto_retire")


def test_retire__bad_option__usage_error_exit_2(db: TestDB, tmp_path: Path) -> None:
    path = write_project(tmp_path, db.url)
    result = run_cli("--project", str(path), "version", "retire", "--cold-after", "soon")
    assert result.exit_code == 2
    assert "--cold-after" in result.stderr
    assert "30d" in result.stderr
    assert "Traceback" not in result.output


def test_retire__retiring_version__listed_as_retiring_and_finished(
    db: TestDB, tmp_path: Path
) -> None:
    ts = _activate_two(db, tmp_path)
    facade = load_project(Path(ts[1])).timescape()
    instance = facade.register_instance(label="holder")
    facade.heartbeat(instance, generation=0, in_flight={TSV1: 1})
    with pytest.raises(DrainTimeoutError):
        facade.deactivate(TSV1, drain_timeout=0.2)
    listing = run_cli(*ts, "version", "list", "--status", "retiring", "--json")
    assert [v["tsv"] for v in listing.json()["versions"]] == [TSV1]
    facade.unregister_instance(instance)  # the holder is gone: the drain can finish
    result = run_cli(*ts, "version", "retire", "--json")
    assert result.exit_code == 0, result.output
    verdicts = {v["tsv"]: v for v in result.json()["versions"]}
    assert verdicts[TSV1]["status"] == "retiring"  # warm by its traffic, but on its way out
    assert verdicts[TSV1]["retire"]
    assert "continues it" in verdicts[TSV1]["reason"]
    assert not verdicts[TSV2]["retire"]
    assert [r["tsv"] for r in result.json()["retired"]] == [TSV1]
    assert db.active_versions() == {TSV2}
    facade.close()
