"""Run Python or ``manage.py`` in a process configured like the test Django site, for one entry.

The tests compare Timescape's connection with Django's own: this is how they ask Django's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.web.apps import write_project
from tests.web.server import server_env

SETTINGS = "tests.web.apps.django_site"

# What Django's own PostgreSQL connection sees: database, role, schema, whether the test
# project's table is visible, and whether the session is encrypted.
PG_PROBE = """
import json, django
django.setup()
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("SELECT current_database(), current_user, current_schema(), "
                   "to_regclass('products') IS NOT NULL, "
                   "(SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid())")
    print(json.dumps(list(cursor.fetchone())))
"""


def run_django(
    entry: dict[str, Any],
    folder: Path,
    *argv: str,
    env: dict[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """``python ARGV`` with the site's settings on ``entry``; with ``check``, exit 0 expected."""
    project = write_project(folder, None)
    full = {
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "APP_PROJECT": str(project),
        "APP_DATABASE": json.dumps(entry),
        **(env or {}),
    }
    result = subprocess.run(
        [sys.executable, *argv],
        cwd=folder,
        env=server_env(full),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0 or not check, result.stderr
    return result


def django_sees(
    entry: dict[str, Any], folder: Path, env: dict[str, str] | None = None
) -> list[Any]:
    """Django's own connection's ``[database, user, schema, products visible, ssl]``."""
    out = run_django(entry, folder, "-c", PG_PROBE, env=env).stdout
    return list(json.loads(out.strip().splitlines()[-1]))
