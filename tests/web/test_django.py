"""Django: ``manage.py timescape`` on the settings' database, the middleware under runserver
(sync) and uvicorn (async), on SQLite, PostgreSQL and MariaDB.

On MariaDB the site runs on Django's own MySQL backend, i.e. mysqlclient (built from source
against Debian's libmariadb-dev-compat; ``.ci/run`` installs the headers, the ``dev`` extra the
package), and its ``DATABASES`` entry names the server only in a ``my.cnf`` given as
``OPTIONS["read_default_file"]``, the form Django's documentation recommends: the views' queries
prove mysqlclient read it, the tables Timescape created prove Timescape read the same file.
Sends 12 requests per database (two readiness probes included) plus the polls, 0.1 s apart and
bounded by 20 s, until an activation made by ``manage.py timescape`` reaches the running server:
13 in all in a typical run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.dbutil import MYSQL_ADMIN_URL, TestDB
from tests.web.apps import write_project
from tests.web.server import ROOT, free_port, serve, server_env

SETTINGS = "tests.web.apps.django_site"


def django_database(db: TestDB, folder: Path) -> dict[str, Any]:
    if db.dialect == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": db.name}
    if db.dialect == "mysql":
        admin = urlsplit(MYSQL_ADMIN_URL)
        cnf = folder / "my.cnf"
        cnf.write_text(
            "# what mysqlclient and Timescape both read\n[client]\n"
            f"user = {admin.username or 'root'}\npassword = \"{admin.password or ''}\"\n"
            f"host = {admin.hostname}\nport = {admin.port or 3306}\n"
            f"[client-mariadb]\ndatabase = {db.name}\n"
        )
        return {"ENGINE": "django.db.backends.mysql",
                "OPTIONS": {"read_default_file": str(cnf), "charset": "utf8mb4"}}
    return {"ENGINE": "django.db.backends.postgresql", "NAME": db.name, "USER": "postgres",
            "HOST": "127.0.0.1", "PORT": "5432"}


def manage(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "django", "timescape", *args],
        cwd=cwd, env=server_env(env), capture_output=True, text=True, timeout=120, check=False,
    )


@pytest.mark.dialects("sqlite", "postgresql", "mysql")
def test_django__manage_command_and_middleware__sync_and_async_servers(
    db: TestDB, tmp_path: Path
) -> None:
    project = write_project(tmp_path, None)  # no URL in the project file: Django's settings give it
    env = {"DJANGO_SETTINGS_MODULE": SETTINGS, "APP_PROJECT": str(project),
           "APP_DATABASE": json.dumps(django_database(db, tmp_path))}
    activated = manage(env, tmp_path, "--json", "version", "activate", "v1")
    assert activated.returncode == 0, activated.stderr
    v1 = json.loads(activated.stdout)["target"]
    assert "products" in db.tables()
    assert not (tmp_path / "timescape.db").exists()  # nothing went to a default SQLite file
    db.execute("INSERT INTO products (id, name) VALUES (1, 'pen')")

    port = free_port()
    runserver = ["-m", "django", "runserver", f"127.0.0.1:{port}", "--noreload"]
    with serve(runserver, port=port, cwd=ROOT, log=tmp_path / "runserver.log", env=env,
               ready_path="/health") as server:
        first = server.get("/api/products")
        assert first.status_code == 200, server.output()
        assert first.json() == {"tsv": v1, "schema": "s1", "tags": ["v1"], "context": v1,
                                "products": [{"id": 1, "name": "pen"}]}
        assert first.headers["X-Timescape-Version"] == v1

        # Activate v2 from another process while the server runs: it applies s2 to the same
        # database, and the server's background refresh starts routing to v2.
        second = manage(env, tmp_path, "--json", "version", "activate", "v2")
        assert second.returncode == 0, second.stderr
        v2 = json.loads(second.stdout)["target"]
        newest = server.wait_for("/api/products", lambda r: r.json().get("tsv") == v2)
        assert newest.json()["products"] == [{"id": 1, "name": "pen", "price_cents": None}]
        pinned = server.get("/api/products", headers={"X-API-Version": "v1"})
        assert pinned.json()["products"] == [{"id": 1, "name": "pen"}]
        unknown = server.get("/api/products", params={"api_version": "v7"})
        assert unknown.status_code == 404
        assert unknown.json()["error"]["type"] == "UnknownRefError"
        # A streamed body is in flight while it is sent, and released once Django closes it.
        for _ in range(2):
            assert server.get("/api/products/in-flight").json() == {v2: 1}

    port = free_port()
    uvicorn = ["-m", "uvicorn", "tests.web.apps.django_asgi:application", "--host", "127.0.0.1",
               "--port", str(port), "--lifespan", "off", "--log-level", "warning"]
    with serve(uvicorn, port=port, cwd=ROOT, log=tmp_path / "uvicorn.log", env=env,
               ready_path="/health") as server:
        newest = server.get("/api/products")
        assert newest.status_code == 200, server.output()
        assert newest.json()["tsv"] == v2
        assert newest.json()["context"] == v2
        pinned = server.get("/api/products", headers={"X-API-Version": "v1"})
        assert pinned.json()["context"] == v1
        unknown = server.get("/api/products", headers={"X-API-Version": "v7"})
        assert unknown.status_code == 404
        for _ in range(2):
            assert server.get("/api/products/in-flight").json() == {v2: 1}

    listed = manage(env, tmp_path, "--json", "version", "list")
    assert listed.returncode == 0, listed.stderr
    counts = {v["tsv"]: v["request_count"] for v in json.loads(listed.stdout)["versions"]}
    assert counts[v1] >= 3
    assert counts[v2] >= 2


def test_django__unsupported_engine__one_line_error_exit_2(tmp_path: Path) -> None:
    project = write_project(tmp_path, None)
    env = {"DJANGO_SETTINGS_MODULE": SETTINGS, "APP_PROJECT": str(project),
           "APP_DATABASE": json.dumps({"ENGINE": "django.db.backends.oracle", "NAME": "x"})}
    result = manage(env, tmp_path, "version", "list")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        ("Error: settings.DATABASES['default'] uses ENGINE 'django.db.backends.oracle'; Timescape "
        "supports the sqlite3, postgresql and mysql backends")
    ]


def test_django__call_command__cli_exit_code_kept_in_command_error(tmp_path: Path) -> None:
    project = write_project(tmp_path, None)
    env = {"DJANGO_SETTINGS_MODULE": SETTINGS, "APP_PROJECT": str(project),
           "APP_DATABASE": json.dumps({"ENGINE": "django.db.backends.sqlite3",
                                       "NAME": str(tmp_path / "app.db")})}
    source = (
        "import django; django.setup()\n"
        "from django.core.management import CommandError, call_command\n"
        "call_command('timescape', 'version', 'activate', 'v1')\n"
        "try:\n"
        "    call_command('timescape', 'version', 'resolve', 'v9', '--handler', '/api/products')\n"
        "except CommandError as exc:\n"
        "    print('returncode', exc.returncode)\n"
    )
    result = subprocess.run([sys.executable, "-c", source], cwd=tmp_path, env=server_env(env),
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "returncode 2"
    assert "Error: unknown ref 'v9'" in result.stderr
    assert (tmp_path / "app.db").is_file()
