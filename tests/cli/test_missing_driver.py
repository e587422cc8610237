"""A missing database driver names the extra to install, exit 2 (issue 11).

The real ``timescape`` runs in a subprocess whose interpreter cannot import the driver: the
wrapper puts ``None`` in ``sys.modules`` for it, which makes ``import psycopg`` raise
``ModuleNotFoundError`` exactly as in an environment without the package.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.clirun import assert_one_line_error, run_process, write_project

_WITHOUT = """
import sys
sys.modules[{module!r}] = None  # "import {module}" now fails as if it were not installed
sys.argv[0] = "timescape"
from timescape.cli.main import main
main()
"""

PROJECT = """
[[schemas]]
name = "s1"
migrations = ["CREATE TABLE a (id INTEGER)"]
rollback = ["DROP TABLE a"]
"""


@pytest.mark.parametrize(
    ("module", "url", "extra"),
    [
        ("psycopg", "postgresql://postgres@127.0.0.1:5432/test", "postgresql"),
        ("pymysql", "mysql://root@127.0.0.1:3306/test", "mysql"),
    ],
)
@pytest.mark.parametrize("json", [False, True])
def test_cli__driver_not_importable__names_the_extra__exit_2(
    tmp_path: Path, module: str, url: str, extra: str, json: bool
) -> None:
    write_project(tmp_path, PROJECT)
    args = ["--json"] if json else []
    result = run_process(
        *args,
        "--database",
        url,
        "schema",
        "list",
        cwd=tmp_path,
        command=(sys.executable, "-c", _WITHOUT.format(module=module)),
    )
    wanted = f"pip install 'timescape-db[{extra}]'"
    assert_one_line_error(result, wanted, module, exit_code=2)
    assert "this is a bug" not in result.output
    if json:
        error = result.json()["error"]
        assert (error["type"], error["extra"], error["module"]) == (
            "DriverMissingError",
            extra,
            module,
        )


def test_api__driver_not_importable__driver_missing_error(tmp_path: Path) -> None:
    source = (
        "import sys\n"
        "sys.modules['psycopg'] = None\n"
        "from timescape import Timescape, DriverMissingError\n"
        "ts = Timescape('postgresql://postgres@127.0.0.1:5432/test')\n"
        "try:\n"
        "    ts.schemas()\n"
        "except DriverMissingError as exc:\n"
        "    print(exc.exit_code, exc.extra, exc)\n"
    )
    result = run_process(cwd=tmp_path, command=(sys.executable, "-c", source))
    assert result.exit_code == 0, result.describe()
    assert result.stdout.startswith("2 postgresql "), result.describe()
