"""Applying schemas through the Python API imports only what applying runs (issue 14: memory).

Every module loaded stays resident: a fresh interpreter registers schemas, activates a version,
and reports ``sys.modules``; the test then checks the database for the tables, so the import
graph is checked on an activation that really happened. The peak RSS itself is the benchmarks'
business (``bench/chain.py``); this keeps the import graph it rests on from growing back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.dbutil import TestDB

_APPLY = """
import importlib, json, sys
driver = sys.argv[2]
importlib.import_module(driver)
logging_from_driver = "logging" in sys.modules
from timescape import Timescape
ts = Timescape(sys.argv[1])
parent = None
for i in range(3):
    ts.add_schema(f"s{i}", [f"CREATE TABLE t_{i} (id INTEGER PRIMARY KEY)"],
                  [f"DROP TABLE t_{i}"], parent=parent)
    parent = f"s{i}"
ts.activate(ts.add_version("/items", "2025-01-01T00:00:00Z", parent))
ts.close()
print(json.dumps({"modules": sorted(sys.modules), "logging_from_driver": logging_from_driver}))
"""

_DRIVERS = {"sqlite": "sqlite3", "postgresql": "psycopg", "mysql": "pymysql"}

# The CLI, the web integrations, SQL analysis (only the inferred gate with live versions reads
# SQL), the lifecycle and metrics layers, project files and importers, the reports, and their
# third-party dependencies: none of them is needed to apply schemas registered in Python.
_NOT_FOR_APPLY = ("click", "rich", "sqlglot", "tomllib")
_NOT_FOR_APPLY_PACKAGES = tuple(
    f"timescape.{name}"
    for name in (
        *("cli", "web", "analysis", "lifecycle", "metrics", "project", "engine.adoption"),
        # Reports and the inferred gate's reader: nothing is live yet, so no verdict is asked.
        *("compat", "engine.inspection", "execution.verification"),
        *("reports.listing", "reports.problem"),
        # The two-phase deactivation and its drain: built on the first deactivation; the
        # state-only changes (tags, verdicts, adoption) on the first of them.
        *("engine.retirement", "engine.drain", "engine.bookkeeping"),
    )
)


def test_activate__python_api__loads_no_module_applying_does_not_run(db: TestDB) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIMESCAPE_")}
    argv = [sys.executable, "-c", _APPLY, db.url, _DRIVERS[db.dialect]]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    loaded = set(report["modules"])

    assert {"t_0", "t_1", "t_2"} <= db.tables()  # the activation did run
    assert "timescape.execution.executor" in loaded
    unwanted = [
        m
        for m in loaded
        if m.partition(".")[0] in _NOT_FOR_APPLY or m.startswith(_NOT_FOR_APPLY_PACKAGES)
    ]
    assert sorted(unwanted) == []
    # Timescape's loggers import logging only when a record could be emitted: here, only when
    # the driver itself did (psycopg does; sqlite3 and PyMySQL do not).
    assert ("logging" in loaded) == report["logging_from_driver"]
