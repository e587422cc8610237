"""Read-only commands import only what they run (issue 14: cold start and memory).

A fresh interpreter runs the console script's entry point, then reports ``sys.modules``. Speed is
the benchmarks' business (bench/coldstart.py); this checks the import graph the speed rests on, so
a top-level import added back fails here and not months later in a benchmark.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import run_cli, write_project
from tests.dbutil import TestDB

# stdout is a plain UTF-8 file (the listings' click-free start serves only such streams) whose
# descriptor leads to /dev/null; the report goes to the real stdout from an atexit handler, which
# also runs on that start's quick exit. It also names every Timescape module whose top level
# compiled a regular expression (re.compile, re.match and the others all go through re._compile;
# the console script itself imports re, so watching it changes nothing else).
_REPORT = """
import atexit, json, os, re, sys

_compile = re._compile
compiled_at_import = set()

def spy(pattern, flags):
    caller = sys._getframe(1)
    while caller is not None and caller.f_globals.get("__name__") == "re":
        caller = caller.f_back
    if caller is not None and caller.f_code.co_name == "<module>":
        name = caller.f_globals.get("__name__", "")
        if name.startswith("timescape"):
            compiled_at_import.add(name)
    return _compile(pattern, flags)

re._compile = spy
from timescape.cli._entry import main
sys.argv = ["timescape", *sys.argv[1:]]
sys.stdout.flush()
real = os.dup(1)
os.dup2(os.open(os.devnull, os.O_WRONLY), 1)

@atexit.register
def report():
    document = {"modules": sorted(sys.modules), "compiled_at_import": sorted(compiled_at_import)}
    os.write(real, (json.dumps(document) + "\\n").encode())

main()
"""

# Modules of other commands (verify's checks and findings), of changing operations (the
# watchdog), of serving (the listener), of Python steps and of error messages (line numbers),
# OpenSSL (uuid: click imports it), the other databases' drivers, the TOML parser (the project
# comes from its cache), click, and logging (the masked handler is installed only once a record
# could be shown: timescape._log).
_NOT_FOR_READS = (
    "MySQLdb",
    "_hashlib",
    "click",
    "logging",
    "psycopg",
    "psycopg2",
    "pymysql",
    "timescape.analysis",
    "timescape.cli._operation",
    "timescape.cli.dashboard",
    "timescape.cli.demo",
    "timescape.cli.importing",
    "timescape.cli.init",
    "timescape.engine.changes",
    "timescape.engine.drain",
    "timescape.engine.retirement",
    "timescape.execution.executor",
    "timescape.execution.steps",
    "timescape.execution.stepwise",
    "timescape.execution.verification",
    "timescape.executor",
    "timescape.project._lines",
    "timescape.project.steps",
    "timescape.reports.problem",
    "timescape.store.backends.mysql",
    "timescape.store.backends.postgresql",
    "timescape.store.breakers",
    "timescape.store.listener",
    "timescape.store.split",
    "timescape.store.watchdog",
    "tomllib",
)


def _report(project: Path, *args: str) -> dict[str, list[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIMESCAPE_")}
    argv = [sys.executable, "-c", _REPORT, "--project", str(project), *args]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    report: dict[str, list[str]] = json.loads(proc.stdout.strip().splitlines()[-1])
    return report


def _modules_after(project: Path, *args: str) -> set[str]:
    return set(_report(project, *args)["modules"])


@pytest.mark.dialects("sqlite")
@pytest.mark.parametrize(
    "command", [("schema", "list"), ("version", "list"), ("schema", "list", "--json")]
)
def test_read_command__applied_project__loads_no_module_it_does_not_run(
    db: TestDB, tmp_path: Path, command: tuple[str, ...]
) -> None:
    project = write_project(tmp_path, db.url)
    assert run_cli("--project", str(project), "version", "activate", "v1").exit_code == 0
    loaded = _modules_after(project, *command)
    assert "timescape.manager" in loaded  # the command did run
    assert "click" not in loaded  # timescape.cli._fast served it
    assert sorted(loaded.intersection(_NOT_FOR_READS)) == []
    other_group = "timescape.cli.version" if command[0] == "schema" else "timescape.cli.schema"
    assert other_group not in loaded
    assert ("timescape.cli._jsontext" in loaded) == ("--json" in command)


@pytest.mark.dialects("sqlite")
@pytest.mark.parametrize("command", [("schema", "list"), ("version", "list")])
def test_read_command__sqlite_project__no_module_compiles_a_regex_at_import(
    db: TestDB, tmp_path: Path, command: tuple[str, ...]
) -> None:
    """Patterns compile on first use, in the function that needs them, never at import."""
    project = write_project(tmp_path, db.url)
    assert run_cli("--project", str(project), "version", "activate", "v1").exit_code == 0
    report = _report(project, *command)
    assert "timescape.manager" in report["modules"]  # the command did run
    assert report["compiled_at_import"] == []
