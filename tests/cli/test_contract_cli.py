"""Expand and contract through the command line: files in ``dir``, status, list, graph, dry runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import TSV1, TSV2, run_cli, toml
from tests.clirun import write_project
from tests.dbutil import TestDB
from timescape.errors import DefinitionError
from timescape.project.config import load_project

PROJECT = """\
[database]
url = "{url}"

[[schemas]]
name = "s1"
migrations = [\"\"\"
CREATE TABLE products (id INTEGER PRIMARY KEY, price VARCHAR(20));
INSERT INTO products (id, price) VALUES (1, '9.99'), (2, '5.00')
\"\"\"]
rollback = ["DROP TABLE products"]

[[schemas]]
name = "s2"
parent = "s1"
dir = "migrations/s2"

[[versions]]
handler = "/api/products"
timestamp = "2025-01-01T00:00:00Z"
schema = "s1"
tags = ["v1"]

[[versions]]
handler = "/api/products"
timestamp = "2025-02-01T00:00:00Z"
schema = "s2"
tags = ["v2"]
"""

FILES = {
    "001_add_price_cents.sql": (
        "ALTER TABLE products ADD COLUMN price_cents INTEGER;\nUPDATE products SET price_cents = 100;\n"
    ),
    "001_add_price_cents.rollback.sql": "ALTER TABLE products DROP COLUMN price_cents;\n",
    "002_drop_price.contract.sql": "-- price is read by v1 only\nALTER TABLE products DROP COLUMN price;\n",
    "002_drop_price.contract.rollback.sql": (
        "ALTER TABLE products ADD COLUMN price VARCHAR(20);\nUPDATE products SET price = '1.00';\n"
    ),
}


def write(
    folder: Path, url: str, files: dict[str, str] = FILES, text: str = PROJECT
) -> tuple[str, str]:
    (folder / "migrations" / "s2").mkdir(parents=True, exist_ok=True)
    steps = {f"migrations/s2/{name}": content for name, content in files.items()}
    return "--project", str(write_project(folder, text, steps, url=url))


def status_line(ts: tuple[str, str], label: str) -> str:
    result = run_cli(*ts, "schema", "status", "s2")
    assert result.exit_code == 0, result.output
    (line,) = [ln for ln in result.stdout.splitlines() if ln.strip().startswith(label)]
    return line


def contract_of(ts: tuple[str, str], command: str = "list") -> str:
    if command == "list":
        schemas = run_cli(*ts, "schema", "list", "--json").json()["schemas"]
    else:
        schemas = run_cli(*ts, "schema", "graph", "--json").json()["schemas"]
    return str({s["name"]: s["contract"] for s in schemas}["s2"])


def test_contract__activate_v1_v2_deactivate_v1__runs_once_and_every_view_says_so(
    db: TestDB, tmp_path: Path
) -> None:
    ts = write(tmp_path, db.url)
    assert contract_of(ts) == "pending"
    assert "once the schema is applied" in status_line(ts, "contract")

    assert run_cli(*ts, "version", "activate", "v1").exit_code == 0
    second = run_cli(*ts, "version", "activate", "v2", "--json")
    assert second.exit_code == 0, second.output
    assert [a["kind"] for a in second.json()["plan"]["actions"]] == ["apply"]
    assert db.columns("products") == ["id", "price", "price_cents"]

    line = status_line(ts, "contract")
    assert "1 step(s), pending: runs when every live version is on this schema" in line
    assert f"waiting for {TSV1} (on s1)" in line
    assert contract_of(ts) == contract_of(ts, "graph") == "pending"
    graph = run_cli(*ts, "schema", "graph").stdout
    assert "s2 [applied] (contract pending)" in graph
    mermaid = run_cli(*ts, "schema", "graph", "--format", "mermaid").stdout
    assert "s2<br/>applied<br/>contract pending" in mermaid
    assert "class s1 contract_pending" in mermaid
    dot = run_cli(*ts, "schema", "graph", "--format", "dot").stdout
    assert 'label="s2\\napplied\\ncontract pending", style="filled,dashed"' in dot
    status = run_cli(*ts, "schema", "status", "s2").stdout
    assert "c1  deferred" in status
    assert "migrations/s2/002_drop_price.contract.sql" in status

    planned = run_cli(*ts, "version", "deactivate", "v1", "--dry-run")
    assert planned.exit_code == 0, planned.output
    assert "1. contract s2" in planned.stdout
    assert "-- migrations/s2/002_drop_price.contract.sql:2" in planned.stdout
    assert "ALTER TABLE products DROP COLUMN price;" in planned.stdout

    retired = run_cli(*ts, "version", "deactivate", "v1", "--json")
    assert retired.exit_code == 0, retired.output
    body = retired.json()
    assert [(a["kind"], a["schema"]) for a in body["plan"]["actions"]] == [("contract", "s2")]
    assert body["plan"]["statements"] == ["ALTER TABLE products DROP COLUMN price"]
    assert db.columns("products") == ["id", "price_cents"]
    assert db.event_kinds().count("schema_contracted") == 1

    line = status_line(ts, "contract")
    assert "1 step(s), done; would be rolled back if a version on an older schema" in line
    assert contract_of(ts) == contract_of(ts, "graph") == "done"
    assert run_cli(*ts, "schema", "status", "s2", "--json").json()["contract"] == "done"
    assert "s2 [applied] (contract done)" in run_cli(*ts, "schema", "graph").stdout
    assert "c1  contracted" in run_cli(*ts, "schema", "status", "s2").stdout
    mermaid = run_cli(*ts, "schema", "graph", "--format", "mermaid").stdout
    assert "contract done" in mermaid
    assert "contract_pending" not in mermaid.split("classDef contract_pending")[1]

    back = run_cli(*ts, "version", "activate", "v1", "--dry-run")
    assert back.exit_code == 0, back.output
    lines = back.stdout.splitlines()
    first = lines.index(next(ln for ln in lines if ln.startswith("1. ")))
    assert lines[first].startswith("1. undo the contract of s2")
    sql = [ln.strip() for ln in lines if ln.strip().startswith(("ALTER", "UPDATE"))]
    assert sql == [
        "ALTER TABLE products ADD COLUMN price VARCHAR(20);",
        "UPDATE products SET price = '1.00';",
    ]
    assert lines[-1].startswith(f"2. mark {TSV1} active")
    plan = run_cli(*ts, "version", "activate", "v1", "--dry-run", "--json").json()["plan"]
    assert [a["kind"] for a in plan["actions"]] == ["uncontract"]
    assert plan["statements"][0] == "ALTER TABLE products ADD COLUMN price VARCHAR(20)"
    assert db.columns("products") == ["id", "price_cents"]  # a dry run changes nothing

    assert run_cli(*ts, "version", "activate", "v1").exit_code == 0
    assert "price" in db.columns("products")
    assert contract_of(ts) == "pending"
    assert db.active_versions() == {TSV1, TSV2}


def test_contract__without_rollback__check_warns_and_reactivation_is_refused(
    db: TestDB, tmp_path: Path
) -> None:
    files = {k: v for k, v in FILES.items() if not k.endswith(".contract.rollback.sql")}
    ts = write(tmp_path, db.url, files)
    check = run_cli(*ts, "schema", "check", "--json")
    assert check.exit_code == 0, check.output
    (warning,) = check.json()["sections"]["analysis"]["contracts"]
    assert (warning["schema"], warning["steps"], warning["level"]) == ("s2", 1, "warning")
    assert "without contract_rollback" in warning["message"]
    assert "Contracts:" in run_cli(*ts, "schema", "check").stdout

    for command in (("activate", "v1"), ("activate", "v2"), ("deactivate", "v1")):
        assert run_cli(*ts, "version", *command).exit_code == 0
    assert "no contract_rollback" in status_line(ts, "contract")
    refused = run_cli(*ts, "version", "activate", "v1")
    assert refused.exit_code == 1
    assert "contract_rollback" in refused.stderr


def test_contract__toml_keys__reach_the_schema(tmp_path: Path) -> None:
    text = PROJECT.replace('dir = "migrations/s2"', "") + toml(
        """
        [[schemas]]
        name = "s3"
        parent = "s1"
        migrations = ["ALTER TABLE products ADD COLUMN sku VARCHAR(20)"]
        contract = ["ALTER TABLE products DROP COLUMN price"]
        contract_rollback = ["ALTER TABLE products ADD COLUMN price VARCHAR(20)"]
        """
    )
    write(tmp_path, "sqlite:///x.db", {}, text)
    project = load_project(tmp_path)
    (step,) = project.catalog.schema("s3").contract
    assert step.migration == "ALTER TABLE products DROP COLUMN price"
    assert step.rollback == "ALTER TABLE products ADD COLUMN price VARCHAR(20)"
    write(tmp_path / "d", "sqlite:///x.db")
    dir_steps = load_project(tmp_path / "d").catalog.schema("s2")
    assert [s.file for s in dir_steps.steps] == ["migrations/s2/001_add_price_cents.sql"]
    assert [(s.file, s.rollback_file) for s in dir_steps.contract] == [
        (
            "migrations/s2/002_drop_price.contract.sql",
            "migrations/s2/002_drop_price.contract.rollback.sql",
        )
    ]


@pytest.mark.parametrize(
    ("files", "extra", "fragment"),
    [
        (
            {"002_drop.contract.rollback.sql": "SELECT 1"},
            "",
            "rollback file without a migration 002_drop.contract.sql",
        ),
        (
            {
                "002_a.contract.sql": "SELECT 1",
                "002_a.contract.rollback.sql": "SELECT 1",
                "003_b.contract.sql": "SELECT 1",
            },
            "",
            "give one per contract step, or none",
        ),
        (
            {"002_a.contract.sql": "SELECT 1"},
            'contract = ["SELECT 2"]\n',
            "either as NNN_name.contract.sql files in dir or as contract",
        ),
    ],
)
def test_contract__bad_contract_files__definition_error(
    tmp_path: Path, files: dict[str, str], extra: str, fragment: str
) -> None:
    base = {k: v for k, v in FILES.items() if not k.startswith("002")}
    text = PROJECT.replace('dir = "migrations/s2"\n', 'dir = "migrations/s2"\n' + extra)
    write(tmp_path, "sqlite:///x.db", {**base, **files}, text)
    with pytest.raises(DefinitionError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        load_project(tmp_path)
