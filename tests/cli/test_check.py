"""``timescape schema check``: the gate, the SQL analysis and lint, on every database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import TSV1, run_cli, toml
from tests.clirun import write_project
from tests.dbutil import TestDB

REPORT_KEYS = {
    "format",
    "ok",
    "verdict_ok",
    "lint_ok",
    "live_versions",
    "schemas",
    "sections",
    "failed_sections",
}
ANALYSIS_KEYS = {"strict", "schemas", "contradicted", "contracts"}
SCHEMA_ANALYSIS_KEYS = {
    "schema",
    "declared",
    "inferred",
    "effect",
    "reason",
    "contradicted",
    "python_steps",
    "statements",
}
STATEMENT_KEYS = {"step", "file", "line", "where", "sql", "effect", "reason", "objects"}
LINT_KEYS = {"disabled", "enabled", "errors", "warnings", "blocking", "issues"}
ISSUE_KEYS = {
    "rule",
    "level",
    "schema",
    "step",
    "contract",
    "file",
    "line",
    "where",
    "statement",
    "reason",
    "fix",
    "blocking",
}

BASE = """\
[database]
url = "{url}"

[[schemas]]
name = "s1"
migrations = ["CREATE TABLE products (id INTEGER PRIMARY KEY, name VARCHAR(100), price VARCHAR(20))"]
rollback = ["DROP TABLE products"]

[[versions]]
handler = "/api/products"
timestamp = "2025-01-01T00:00:00Z"
schema = "s1"
tags = ["v1"]
"""

THREE_KINDS = (
    BASE
    + """
[[schemas]]
name = "additive"
parent = "s1"
migrations = ["ALTER TABLE products ADD COLUMN sku VARCHAR(20)"]
rollback = ["ALTER TABLE products DROP COLUMN sku"]

[[schemas]]
name = "breaking"
parent = "s1"
migrations = ["ALTER TABLE products DROP COLUMN price"]

[[schemas]]
name = "unknown"
parent = "s1"
migrations = ["SELECT GET_LOCK('deploy', 1)"]
"""
)


def project(
    folder: Path, url: str, text: str, files: dict[str, str] | None = None
) -> tuple[str, str]:
    """Write a project file (and files under it); return the ``--project`` arguments."""
    return "--project", str(write_project(folder, text, files, url=url))


def by_schema(items: list[dict[str, Any]], key: str = "schema") -> dict[str, dict[str, Any]]:
    return {item[key]: item for item in items}


def test_check__additive_breaking_unknown__gate_analysis_and_lint_agree(
    db: TestDB, tmp_path: Path
) -> None:
    ts = project(tmp_path, db.url, THREE_KINDS)
    assert run_cli(*ts, "version", "activate", "v1").exit_code == 0

    result = run_cli(*ts, "schema", "check", "--json")
    assert result.exit_code == 1, result.output
    report = result.json()
    assert set(report) == REPORT_KEYS
    assert set(report["sections"]) == {"analysis", "lint"}
    assert report["failed_sections"] == []  # refused by the gate, not by a section
    gate = {s["name"]: s["gate"] for s in report["schemas"]}
    assert gate["s1"] == []
    assert [(g["tsv"], g["allowed"]) for g in gate["additive"]] == [(TSV1, True)]
    assert gate["additive"][0]["reason"] == "inferred additive from its SQL"
    assert gate["breaking"][0]["allowed"] is False
    assert gate["breaking"][0]["reason"] == "drops column products.price (breaking)"
    assert gate["unknown"][0]["allowed"] is False
    assert gate["unknown"][0]["reason"].startswith("cannot judge: calls get_lock()")

    analysis = report["sections"]["analysis"]
    assert set(analysis) == ANALYSIS_KEYS
    assert analysis["contradicted"] == []
    assert analysis["contracts"] == []
    schemas = by_schema(analysis["schemas"])
    assert list(schemas) == ["s1", "additive", "breaking", "unknown"]
    assert all(set(s) == SCHEMA_ANALYSIS_KEYS for s in schemas.values())
    verdicts = {n: (s["inferred"], s["effect"]) for n, s in schemas.items()}
    assert verdicts == {
        "s1": ("compatible", "additive"),
        "additive": ("compatible", "additive"),
        "breaking": ("breaking", "breaking"),
        "unknown": ("breaking", "unknown"),
    }
    (drop,) = schemas["breaking"]["statements"]
    assert set(drop) == STATEMENT_KEYS
    assert drop == {
        "step": 1,
        "file": None,
        "line": 1,
        "where": "breaking step 1, line 1",
        "sql": "ALTER TABLE products DROP COLUMN price",
        "effect": "breaking",
        "reason": "drops column products.price",
        "objects": ["products.price"],
    }
    assert schemas["additive"]["statements"][0]["objects"] == ["products.sku"]

    lint = report["sections"]["lint"]
    assert set(lint) == LINT_KEYS
    assert lint["errors"] == lint["blocking"] == 0
    assert all(set(i) == ISSUE_KEYS for i in lint["issues"])
    gen001 = [i for i in lint["issues"] if i["rule"] == "GEN001"]
    assert [(i["schema"], i["level"], i["where"], i["blocking"]) for i in gen001] == [
        ("breaking", "warning", "breaking step 1, line 1", False)
    ]
    assert lint["warnings"] == len(lint["issues"])

    text = run_cli(*ts, "schema", "check")
    assert text.exit_code == 1
    assert "analysis    breaking: drops column products.price (breaking)" in text.stdout
    assert "analysis    compatible (worst statement: additive)" in text.stdout
    assert "unknown   unknown step 1, line 1  cannot judge: calls get_lock()" in text.stdout
    assert "GEN001  breaking step 1, line 1" in text.stdout
    assert "The gate would refuse breaking, unknown" in text.stdout

    one = run_cli(*ts, "schema", "check", "additive", "--json")
    assert one.exit_code == 0, one.output
    analysed = [s["schema"] for s in one.json()["sections"]["analysis"]["schemas"]]
    assert analysed == ["s1", "additive"]


def test_check__warnings_only__exit_0(db: TestDB, tmp_path: Path) -> None:
    text = BASE + toml(
        """
        [[schemas]]
        name = "s2"
        parent = "s1"
        migrations = ["UPDATE products SET name = 'x'"]
        """
    )
    ts = project(tmp_path, db.url, text)
    assert run_cli(*ts, "version", "activate", "v1").exit_code == 0

    result = run_cli(*ts, "schema", "check", "--json")
    assert result.exit_code == 0, result.output
    report = result.json()
    assert report["ok"] is True
    lint = report["sections"]["lint"]
    assert [(i["rule"], i["level"], i["schema"]) for i in lint["issues"]] == [
        ("GEN002", "warning", "s2")
    ]
    assert (lint["errors"], lint["warnings"], lint["blocking"]) == (0, 1, 0)
    human = run_cli(*ts, "schema", "check")
    assert human.exit_code == 0
    assert "Lint: 0 error(s), 1 warning(s)" in human.stdout
    assert "fix: add a WHERE clause" in human.stdout


UPDATES = """\
-- timescape:ignore GEN002
UPDATE products SET name = 'above';
UPDATE products SET name = 'trailing'; -- timescape:ignore GEN002
UPDATE products /* timescape:ignore GEN002 */ SET name = 'inside';
-- timescape:ignore GEN002

UPDATE products SET name = 'after a blank line';
UPDATE products SET name = 'plain'
"""


def test_check__ignore_comments__above_trailing_inside_silence_their_statement(
    db: TestDB, tmp_path: Path
) -> None:
    text = BASE + toml(
        """
        [[schemas]]
        name = "s2"
        parent = "s1"
        dir = "migrations/s2"

        [[schemas]]
        name = "s3"
        parent = "s2"
        migrations = [\"\"\"
        /* timescape:ignore GEN002 */
        UPDATE products SET name = 'inline above';
        UPDATE products SET name = 'inline plain'
        \"\"\"]
        """
    )
    ts = project(tmp_path, db.url, text, {"migrations/s2/001_updates.sql": UPDATES})
    result = run_cli(*ts, "schema", "check", "--json")
    assert result.exit_code == 0, result.output
    issues = result.json()["sections"]["lint"]["issues"]
    assert [(i["rule"], i["statement"], i["where"]) for i in issues] == [
        (
            "GEN002",
            "UPDATE products SET name = 'after a blank line'",
            "migrations/s2/001_updates.sql:7",
        ),
        ("GEN002", "UPDATE products SET name = 'plain'", "migrations/s2/001_updates.sql:8"),
        ("GEN002", "UPDATE products SET name = 'inline plain'", "s3 step 1, line 3"),
    ]
    assert issues[0]["file"] == "migrations/s2/001_updates.sql"
    assert issues[0]["line"] == 7

    # The comments silence lint only: what runs is the statements without them.
    plan = run_cli(*ts, "schema", "migrate", "s2", "--dry-run", "--json").json()["plan"]
    assert plan["statements"][1:3] == [
        "UPDATE products SET name = 'above'",
        "UPDATE products SET name = 'trailing'",
    ]


def test_check__rule_disabled_in_project_file__silenced_everywhere(
    db: TestDB, tmp_path: Path
) -> None:
    text = BASE + toml(
        """
        [[schemas]]
        name = "s2"
        parent = "s1"
        migrations = ["UPDATE products SET name = 'x'", "ALTER TABLE products DROP COLUMN price"]

        [lint]
        disabled = ["gen002", "SL002"]
        """
    )
    ts = project(tmp_path, db.url, text)
    lint = run_cli(*ts, "schema", "check", "--json").json()["sections"]["lint"]
    assert lint["disabled"] == ["GEN002", "SL002"]
    assert [(i["rule"], i["step"]) for i in lint["issues"]] == [("GEN001", 2)]
    human = run_cli(*ts, "schema", "check").stdout
    assert "disabled: GEN002, SL002" in human


@pytest.mark.dialects("postgresql")
def test_check__pg_error_rule__exit_1_until_silenced_or_applied(db: TestDB, tmp_path: Path) -> None:
    volatile = "ALTER TABLE products ADD COLUMN token uuid DEFAULT gen_random_uuid()"
    schema = '\n[[schemas]]\nname = "s2"\nparent = "s1"\nmigrations = ["{sql}"]\n'
    ts = project(tmp_path, db.url, BASE + schema.format(sql=volatile))
    result = run_cli(*ts, "schema", "check", "--json")
    assert result.exit_code == 1, result.output
    report = result.json()
    assert report["failed_sections"] == ["lint"]
    (issue,) = report["sections"]["lint"]["issues"]
    assert (issue["rule"], issue["level"], issue["blocking"]) == ("PG002", "error", True)
    human = run_cli(*ts, "schema", "check")
    assert human.exit_code == 1
    assert "Lint found 1 error(s) in schemas not applied yet" in human.stdout

    # Applied anyway (lint never blocks a migration): reported, no longer failing the check.
    assert run_cli(*ts, "schema", "migrate", "s2").exit_code == 0
    after = run_cli(*ts, "schema", "check", "--json")
    assert after.exit_code == 0, after.output
    (issue,) = after.json()["sections"]["lint"]["issues"]
    assert (issue["rule"], issue["blocking"]) == ("PG002", False)
    assert "already applied" in run_cli(*ts, "schema", "check").stdout

    silenced = f"-- timescape:ignore PG002\\n{volatile}"
    other = project(tmp_path / "silenced", db.url, BASE + schema.format(sql=silenced))
    quiet = run_cli(*other, "schema", "check", "--json")
    assert quiet.exit_code == 0, quiet.output
    assert quiet.json()["sections"]["lint"]["issues"] == []


@pytest.mark.dialects("sqlite")
def test_check__sqlite_error_rule__exit_1_until_silenced(db: TestDB, tmp_path: Path) -> None:
    schema = '\n[[schemas]]\nname = "s2"\nparent = "s1"\nmigrations = ["{sql}"]\n'
    refused = "ALTER TABLE products ADD COLUMN code TEXT NOT NULL"
    ts = project(tmp_path, db.url, BASE + schema.format(sql=refused))
    result = run_cli(*ts, "schema", "check", "--json")
    assert result.exit_code == 1, result.output
    assert [i["rule"] for i in result.json()["sections"]["lint"]["issues"]] == ["SL004"]
    assert result.json()["failed_sections"] == ["lint"]

    trailing = project(
        tmp_path / "t", db.url, BASE + schema.format(sql=f"{refused}; -- timescape:ignore SL004")
    )
    assert run_cli(*trailing, "schema", "check").exit_code == 0


def test_check__contradicted_declaration__warning_then_error_under_strict(
    db: TestDB, tmp_path: Path
) -> None:
    text = BASE + toml(
        """
        [[schemas]]
        name = "s2"
        parent = "s1"
        breaking = false
        migrations = ["ALTER TABLE products DROP COLUMN price"]
        """
    )
    ts = project(tmp_path, db.url, text)
    assert run_cli(*ts, "version", "activate", "v1").exit_code == 0

    lenient = run_cli(*ts, "schema", "check", "--json")
    assert lenient.exit_code == 0, lenient.output
    analysis = lenient.json()["sections"]["analysis"]
    assert analysis["strict"] is False
    assert analysis["contradicted"] == [
        {
            "schema": "s2",
            "declared": "breaking = false",
            "inferred": "breaking",
            "reason": "drops column products.price (breaking)",
            "level": "warning",
        }
    ]
    s2 = by_schema(analysis["schemas"])["s2"]
    assert (s2["declared"], s2["inferred"], s2["contradicted"]) == (
        "breaking = false",
        "breaking",
        True,
    )
    # The declaration wins at the gate; only the analysis section complains.
    assert lenient.json()["schemas"][1]["gate"][0]["allowed"] is True
    human = run_cli(*ts, "schema", "check").stdout
    assert "s2 declares breaking = false, but its SQL is breaking" in human
    assert "--strict makes them errors" in human

    strict = run_cli(*ts, "schema", "check", "--strict", "--json")
    assert strict.exit_code == 1, strict.output
    report = strict.json()
    assert report["ok"] is False
    assert report["failed_sections"] == ["analysis"]
    assert report["sections"]["analysis"]["contradicted"][0]["level"] == "error"
    strict_text = run_cli(*ts, "schema", "check", "--strict")
    assert strict_text.exit_code == 1
    assert "--strict: the analysis contradicts 1 declaration(s)" in strict_text.stdout


# -- issue 16: exit status per kind, transaction context, optional rules ------------------------


@pytest.mark.dialects("sqlite")
def test_check__fail_on__verdict_and_lint_gate_independently(db: TestDB, tmp_path: Path) -> None:
    both = BASE + toml(
        """
        [[schemas]]
        name = "refused"
        parent = "s1"
        migrations = ["ALTER TABLE products DROP COLUMN price"]

        [[schemas]]
        name = "lint_error"
        parent = "s1"
        breaking = false
        migrations = ["ALTER TABLE products ADD COLUMN code TEXT NOT NULL DEFAULT (lower('x'))"]
        """
    )
    ts = project(tmp_path, db.url, both)
    assert run_cli(*ts, "version", "activate", "v1").exit_code == 0
    report = run_cli(*ts, "schema", "check", "--json")
    assert report.exit_code == 1, report.output
    data = report.json()
    assert (data["format"], data["ok"], data["verdict_ok"], data["lint_ok"]) == (
        1,
        False,
        False,
        False,
    )
    codes = {
        fail_on: run_cli(*ts, "schema", "check", "--fail-on", fail_on).exit_code
        for fail_on in ("both", "verdict", "lint", "none")
    }
    assert codes == {"both": 1, "verdict": 1, "lint": 1, "none": 0}

    lint_only = BASE + toml(
        """
        [[schemas]]
        name = "lint_error"
        parent = "s1"
        migrations = ["ALTER TABLE products ADD COLUMN code TEXT UNIQUE"]
        """
    )
    other = project(tmp_path / "lint", db.url, lint_only)
    assert run_cli(*other, "version", "activate", "v1").exit_code == 0
    data = run_cli(*other, "schema", "check", "--json").json()
    assert (data["verdict_ok"], data["lint_ok"]) == (True, False)
    assert run_cli(*other, "schema", "check", "--fail-on", "verdict").exit_code == 0
    assert run_cli(*other, "schema", "check", "--fail-on", "lint").exit_code == 1


@pytest.mark.dialects("postgresql")
def test_check__concurrently_in_transactional_schema__tx001_error_until_not_transactional(
    db: TestDB, tmp_path: Path
) -> None:
    schema = toml(
        """
        [[schemas]]
        name = "s2"
        parent = "s1"
        {flag}
        migrations = [
            "CREATE INDEX CONCURRENTLY idx_products_name ON products (name)",
            "ALTER TYPE mood ADD VALUE 'ok'",
        ]
        """
    )
    base = BASE.replace(
        'migrations = ["CREATE TABLE',
        'migrations = ["CREATE TYPE mood AS ENUM (\'sad\')", "CREATE TABLE',
    ).replace(
        'rollback = ["DROP TABLE products"]', 'rollback = ["DROP TYPE mood", "DROP TABLE products"]'
    )
    ts = project(tmp_path, db.url, base + schema.format(flag=""))
    result = run_cli(*ts, "schema", "check", "--json", "--fail-on", "lint")
    assert result.exit_code == 1, result.output
    issues = result.json()["sections"]["lint"]["issues"]
    assert [(i["rule"], i["level"], i["blocking"]) for i in issues] == [("TX001", "error", True)]
    assert "CREATE INDEX CONCURRENTLY cannot run inside a transaction block" in issues[0]["reason"]
    statements = result.json()["sections"]["analysis"]["schemas"][1]["statements"]
    assert statements[1]["effect"] == "unknown"
    assert "cannot map" in statements[1]["reason"]

    relaxed = project(tmp_path / "t", db.url, base + schema.format(flag="transactional = false"))
    quiet = run_cli(*relaxed, "schema", "check", "--json", "--fail-on", "lint")
    assert quiet.exit_code == 0, quiet.output
    assert [i["rule"] for i in quiet.json()["sections"]["lint"]["issues"]] == []
    assert run_cli(*relaxed, "schema", "migrate", "s2").exit_code == 0


def test_check__optional_rules__reported_only_when_enabled(db: TestDB, tmp_path: Path) -> None:
    text = BASE + toml(
        """
        [[schemas]]
        name = "s2"
        parent = "s1"
        migrations = ["CREATE TABLE tags (id INTEGER PRIMARY KEY, code CHAR(3))"]
        """
    )
    plain = project(tmp_path, db.url, text)
    assert run_cli(*plain, "schema", "check", "--json").json()["sections"]["lint"]["issues"] == []
    styled = project(tmp_path / "styled", db.url, text + '\n[lint]\nenabled = ["sty005"]\n')
    result = run_cli(*styled, "schema", "check", "--json")
    assert result.exit_code == 0, result.output
    lint = result.json()["sections"]["lint"]
    assert lint["enabled"] == ["STY005"]
    assert [(i["rule"], i["level"], i["blocking"]) for i in lint["issues"]] == [
        ("STY005", "warning", False)
    ]
    assert "enabled: STY005" in run_cli(*styled, "schema", "check").stdout
