"""Rendering helpers and the progress display (pure, or on a throwaway SQLite file)."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest

from timescape.cli.main import cli
from timescape.cli.progress import Progress
from timescape.cli.render import Cell, Style, iso, jsonable, relative, table, use_color, when
from timescape.manager import Timescape
from timescape.model.plan import ActionKind, Plan, PlannedStep, SchemaAction
from timescape.model.schema import SchemaVersion, Step
from timescape.model.state import SchemaStatus

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


class _TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (timedelta(seconds=2), "just now"),
        (timedelta(seconds=42), "42 s ago"),
        (timedelta(minutes=5, seconds=3), "5 min ago"),
        (timedelta(hours=3), "3 h ago"),
        (timedelta(days=1), "1 day ago"),
        (timedelta(days=-2), "in 2 days"),
    ],
)
def test_relative__various_ages__reads_naturally(delta: timedelta, expected: str) -> None:
    assert relative(NOW - delta, NOW) == expected


def test_when__old_or_missing__date_or_dash() -> None:
    assert when(None, NOW) == "-"
    assert when(NOW - timedelta(days=30), NOW) == "2025-05-02 12:00"
    assert when(NOW - timedelta(minutes=2), NOW) == "2 min ago"


def test_iso__any_datetime__utc_with_z() -> None:
    assert iso(datetime(2025, 1, 1, tzinfo=UTC)) == "2025-01-01T00:00:00Z"
    assert iso(datetime(2025, 1, 1, 1, 0)) == "2025-01-01T01:00:00Z"
    assert iso(None) is None


def test_table__mixed_widths_and_colour__aligned_on_plain_text() -> None:
    style = Style(enabled=True)
    text = table(["A", "BB"], [["xxx", Cell("ok", lambda t: style(t, "green"))], ["y", "-"]], style)
    lines = text.splitlines()
    assert lines[1].startswith("xxx  \x1b[32mok\x1b[0m")
    assert lines[2] == "y    -"
    plain = table(["A", "BB"], [["xxx", Cell("ok", lambda t: t)]], Style(enabled=False))
    assert plain == "A    BB\nxxx  ok"


def test_use_color__no_color_or_pipe__plain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert use_color(_TTY()) is True
    assert use_color(io.StringIO()) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_color(_TTY()) is False
    assert Style(enabled=False)("x", "red") == "x"


def test_jsonable__values__json_types() -> None:
    def step(connection: object) -> None:
        del connection

    document = jsonable(
        {
            "when": datetime(2025, 1, 1, tzinfo=UTC),
            "status": SchemaStatus.APPLIED,
            "set": frozenset({"b", "a"}),
            "path": Path("x/y"),
            "call": step,
            "schema": SchemaVersion(name="s"),
        }
    )
    assert document["when"] == "2025-01-01T00:00:00Z"
    assert document["status"] == "applied"
    assert document["set"] == ["a", "b"]
    assert document["path"] == "x/y"
    assert document["call"].startswith("python:tests.cli.test_render.")
    assert document["schema"]["name"] == "s"


def _plan() -> tuple[Plan, SchemaAction]:
    steps = tuple(PlannedStep(index=i, script=f"SELECT {i}", statements=()) for i in (1, 2))
    schema = SchemaVersion(name="s1", steps=(Step("SELECT 1"), Step("SELECT 2")))
    action = SchemaAction(ActionKind.APPLY, schema, steps, 0, "test")
    return Plan("activate", "tsv:1-x-001", actions=(action,)), action


def test_progress__terminal__draws_then_erases_the_line() -> None:
    stream = _TTY()
    plan, action = _plan()
    with Progress(stream, live=True, delay=0.0) as progress:
        progress.started(plan)
        progress.stepped(action, action.steps[1])
        deadline = time.monotonic() + 5
        while "step 2 of 2" not in stream.getvalue() and time.monotonic() < deadline:
            time.sleep(0.02)
    output = stream.getvalue()
    assert "schema 1 of 1 · apply s1 · step 2 of 2 · " in output
    assert output.endswith("\r\x1b[K")


def test_progress__quick_run__shows_nothing() -> None:
    stream = _TTY()
    plan, action = _plan()
    with Progress(stream, live=True, delay=5.0) as progress:
        progress.started(plan)
        progress.stepped(action, action.steps[0])
    assert stream.getvalue() == ""


def test_progress__real_run_verbose_pipe__one_line_per_step(tmp_path: Path) -> None:
    ts = Timescape(f"sqlite:///{tmp_path / 'p.db'}")
    ts.add_schema(
        "s1",
        ["CREATE TABLE a (id INTEGER)", "CREATE TABLE b (id INTEGER)"],
        ["DROP TABLE a", "DROP TABLE b"],
    )
    ts.add_schema("s2", ["CREATE TABLE c (id INTEGER)"], ["DROP TABLE c"], parent="s1")
    ts.add_version("/api/x", "2025-01-01T00:00:00Z", "s2")
    stream = io.StringIO()
    with Progress(stream, live=False, verbose=True):
        ts.activate()
    ts.close()
    assert stream.getvalue().splitlines() == [
        "timescape: schema 1 of 2 · apply s1 · step 1 of 2",
        "timescape: schema 1 of 2 · apply s1 · step 2 of 2",
        "timescape: schema 2 of 2 · apply s2 · step 1 of 1",
    ]


def test_docs__every_command__has_a_section_in_cli_md() -> None:
    text = (Path(__file__).parents[2] / "docs" / "cli.md").read_text()
    names = []
    for name, command in cli.commands.items():
        if isinstance(command, click.Group):
            names.extend(f"{name} {sub}" for sub in command.commands)
        else:
            names.append(name)
    missing = [n for n in names if f"## `timescape {n}" not in text]
    assert not missing, missing


def test_render__names_that_moved_out__still_import_from_render() -> None:
    from timescape.cli import _jsontext, _operation, render  # noqa: PLC0415

    assert render.dumps is _jsontext.dumps
    for name in ("plan_json", "plan_lines", "result_json", "result_lines"):
        assert getattr(render, name) is getattr(_operation, name)
    namespace: dict[str, object] = {}
    exec("from timescape.cli.render import *", namespace)  # noqa: S102 - the star import is under test
    assert set(render.__all__) <= set(namespace)
    with pytest.raises(AttributeError, match="has no attribute 'nothing_here'"):
        _ = render.nothing_here  # type: ignore[attr-defined]
