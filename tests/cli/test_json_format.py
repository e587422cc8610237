"""Every ``--json`` document carries ``"format"``, and its shape changes only with a new number.

Each command runs once (SQLite, in-process) in a fixed scenario; the *key shape* of its document
(every key, nested, list items merged; values reduced to ``*``) is compared with the one recorded
in ``json_shapes.json`` together with its format number. A changed shape with an unchanged number
fails: bump the command in ``timescape.cli._formats.JSON_FORMATS`` and re-record with
``TIMESCAPE_RECORD_JSON_SHAPES=1 pytest tests/cli/test_json_format.py``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import click

from tests.cli.conftest import TSV1, run_cli, write_project
from timescape import load_project
from timescape.cli._formats import json_format
from timescape.cli.main import cli

SHAPES = Path(__file__).with_name("json_shapes.json")
H = ("--handler", "/api/products")

# (command path, arguments after the global options); run in this order on one database.
SCENARIO: list[tuple[str, tuple[str, ...]]] = [
    ("init", ("init", "{tmp}/fresh")),
    ("version activate", ("version", "activate", "v1")),
    ("schema migrate", ("schema", "migrate", "s2")),
    ("schema rollback", ("schema", "rollback", "s2", "--dry-run")),
    ("schema list", ("schema", "list")),
    ("schema status", ("schema", "status", "s1")),
    ("schema check", ("schema", "check")),
    ("schema graph", ("schema", "graph")),
    ("schema resolve", ("schema", "resolve", "s1", "--steps-done", "1")),
    ("schema adopt", ("schema", "adopt", "s1", "--dry-run")),
    ("import", ("import", "sql", "{tmp}/legacy", "--dry-run")),
    ("version list", ("version", "list")),
    ("version status", ("version", "status", "v1", *H)),
    ("version resolve", ("version", "resolve", "v1", *H)),
    ("version tag", ("version", "tag", TSV1, "stable")),
    ("version tags", ("version", "tags")),
    ("version untag", ("version", "untag", "stable", *H)),
    ("version retire", ("version", "retire", "--dry-run")),
    ("version deactivate", ("version", "deactivate", "v1", *H)),
    ("history", ("history", "--limit", "3")),
    ("instances", ("instances",)),
    ("dashboard", ("dashboard", "--port", "0")),
    ("verify", ("verify",)),
    ("stats", ("stats",)),
    ("demo", ("demo",)),
    ("error", ("version", "resolve", "nope", *H)),
]


def shape(value: Any) -> Any:
    """Keys only: a dict keeps its keys, a list merges its items, any other value is ``*``."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        merged: Any = None
        for item in value:
            merged = merge(merged, shape(item))
        return [] if merged is None else [merged]
    return "*"


def merge(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: merge(a.get(k), b.get(k)) for k in sorted({*a, *b})}
    if isinstance(a, list) and isinstance(b, list):
        return [merge(a[0] if a else None, b[0] if b else None)] if a or b else []
    return a if a == b else "*|mixed"


def leaf_commands(group: click.Group, prefix: str = "") -> list[str]:
    names = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            names += leaf_commands(command, f"{prefix}{name} ")
        else:
            names.append(prefix + name)
    return names


def _serving_document(project: Path, words: list[str]) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIMESCAPE_")}
    argv = [sys.executable, "-m", "timescape", "--project", str(project), "--json", *words]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env=env) as process:
        try:
            assert process.stdout is not None
            text = ""
            while not text.endswith("}\n"):
                line = process.stdout.readline()
                assert line, "the server printed no JSON document"
                text += line
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=15)
    document = json.loads(text)
    return {"format": document.get("format"), "shape": shape(document)}


def run_scenario(tmp_path: Path) -> dict[str, dict[str, Any]]:
    project = write_project(tmp_path / "project", f"sqlite:///{tmp_path / 'app.db'}")
    documents = {}
    for command, args in SCENARIO:
        if command == "import":  # a folder of numbered SQL files to import
            (tmp_path / "legacy").mkdir()
            (tmp_path / "legacy" / "001_notes.sql").write_text("CREATE TABLE notes (id INTEGER)")
        if command == "instances":  # one registered serving instance, so its rows have a shape
            with load_project(project).timescape() as ts:
                ts.register_instance(label="json-shape")
        words = [w.replace("{tmp}", str(tmp_path)) for w in args]
        if command == "dashboard":  # a server: its --json document is the first thing it prints
            documents[command] = _serving_document(project, words)
            continue
        result = run_cli("--project", str(project), "--json", *words)
        assert result.stdout.strip(), f"{command}: no JSON on stdout\n{result.describe()}"
        document = json.loads(result.stdout)
        documents[command] = {"format": document.get("format"), "shape": shape(document)}
    return documents


def test_json_documents__shape_changes_only_with_a_new_format(tmp_path: Path) -> None:
    documents = run_scenario(tmp_path)
    for command, found in documents.items():
        assert found["format"] == json_format(command), f"{command}: 'format' missing or wrong"
    if os.environ.get("TIMESCAPE_RECORD_JSON_SHAPES"):
        SHAPES.write_text(json.dumps(documents, indent=1, sort_keys=True) + "\n")
    recorded = json.loads(SHAPES.read_text())
    for command, found in documents.items():
        assert command in recorded, f"{command}: no shape recorded; re-record (see module doc)"
        before = recorded[command]
        if found["shape"] != before["shape"]:
            assert found["format"] != before["format"], (
                f"the --json shape of '{command}' changed but its format is still "
                f"{found['format']}: bump it in timescape.cli._formats.JSON_FORMATS, then "
                "re-record with TIMESCAPE_RECORD_JSON_SHAPES=1"
            )
            raise AssertionError(f"{command}: format bumped; re-record its shape")
        assert found["format"] == before["format"], f"{command}: format changed; re-record"


def test_json_documents__every_command_is_in_the_scenario() -> None:
    covered = {command for command, _ in SCENARIO}
    missing = [c for c in leaf_commands(cli) if c not in covered]
    assert not missing, (
        f"commands without a recorded --json shape: {', '.join(missing)}; add them to SCENARIO "
        "in tests/cli/test_json_format.py and re-record"
    )


def test_shape__values_reduced_and_list_items_merged() -> None:
    document = {"b": [{"x": 1}, {"y": None}], "a": "text", "c": []}
    assert shape(document) == {"a": "*", "b": [{"x": "*", "y": "*"}], "c": []}
    assert shape(document) != shape({**document, "d": 1})
