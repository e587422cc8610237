"""The password never shows in CLI output: success and failure, with -v, -vv and --json (T37)."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.cli.conftest import run_cli, write_project
from tests.clirun import Result
from tests.dbutil import TestDB
from timescape._log import LazyLogger
from timescape.cli._app import App
from timescape.cli._context import secret_forms

SENTINEL = "Xq7@:/%23#?!pw"
ENCODED = quote(SENTINEL, safe="")
FRAGMENTS = (SENTINEL, ENCODED, "Xq7", "%23#?!pw", "#?!pw", "?!pw", "%3F%21pw", "2523")


def _assert_hidden(result: Result) -> None:
    for fragment in FRAGMENTS:
        assert fragment not in result.stdout, (fragment, result.stdout)
        assert fragment not in result.stderr, (fragment, result.stderr)


def _with_password(db: TestDB) -> str:
    if db.dialect == "sqlite":
        return f"{db.url}?password={ENCODED}"
    scheme, _, rest = db.url.partition("://")
    user, _, host = rest.partition("@")
    return f"{scheme}://{user}:{ENCODED}@{host}"


FLAGS = [(), ("-v",), ("-vv",), ("--json",), ("--json", "-v")]


def test_password__every_command_and_flag__never_printed(db: TestDB, tmp_path: Path) -> None:
    url = _with_password(db)
    path = write_project(tmp_path, "sqlite:///unused.db")
    ts = ("--project", str(path))
    codes = set()
    for flags in FLAGS:
        for command in (
            ("schema", "list"),
            ("version", "activate", "v1", "--dry-run"),
            ("version", "activate", "v1"),
            ("history",),
            ("verify",),
        ):
            result = run_cli(*ts, "--database", url, *flags, *command)
            _assert_hidden(result)
            codes.add(result.exit_code)
            if result.exit_code:
                assert "***" in result.stderr or "Access denied" in result.stderr, result.stderr
        env_result = run_cli(*ts, *flags, "stats", env={"TIMESCAPE_DATABASE_URL": url})
        _assert_hidden(env_result)
    # PostgreSQL (trust) and SQLite accept the password; MariaDB's root has none: refused.
    assert codes == ({1} if db.dialect == "mysql" else {0})


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://bob:{ENCODED}@127.0.0.1:1/db",
        f"mysql://bob:{ENCODED}@127.0.0.1:1/db",
        f"postgresql://bob:{SENTINEL}@127.0.0.1:1/db",
        f"postgresql://bob:{ENCODED}@127.0.0.1:notaport/db",
        f"sqlite:////nonexistent/dir/x.db?password={SENTINEL}",
        f"oracle://bob:{ENCODED}@host/db",
    ],
    ids=["pg-closed", "mysql-closed", "pg-unencoded", "bad-port", "sqlite-param", "bad-scheme"],
)
@pytest.mark.parametrize("flags", FLAGS, ids=["plain", "v", "vv", "json", "json-v"])
def test_password__failing_url__masked_in_every_output(
    tmp_path: Path, url: str, flags: tuple[str, ...]
) -> None:
    path = write_project(tmp_path, url)
    result = run_cli("--project", str(path), *flags, "version", "list")
    assert result.exit_code in (1, 2), result.output
    assert "Traceback" not in result.output or "-vv" in flags
    _assert_hidden(result)
    if "--json" in flags:
        assert result.json()["error"]["message"]


def test_secret_forms__malformed_and_query_urls__every_form_found() -> None:
    forms = secret_forms(f"postgresql://bob:{SENTINEL}@host/db")
    assert SENTINEL in forms
    assert ENCODED in forms
    assert secret_forms(f"mysql://u:{ENCODED}@h/d") >= {ENCODED, SENTINEL}
    assert "s3cr3t-value" in secret_forms("sqlite:///x.db?password=s3cr3t-value&mode=ro")
    assert secret_forms("sqlite:///x.db") == set()
    assert secret_forms(None) == set()
    assert secret_forms("postgresql://bob:abc@h/d") == set()


def test_warning__no_verbose__handler_installed_just_before_it_and_password_masked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without ``-v`` the masked handler waits for the first record; it must still mask it.

    Here :mod:`logging` is imported (pytest), so the first level check installs it; in a listing
    nothing checks and :mod:`logging` is never imported (test_lazy_imports).
    """
    url = f"sqlite:///{tmp_path / 'masked.db'}?password={ENCODED}"
    app = App(write_project(tmp_path, url), url)
    timescape = logging.getLogger("timescape")
    try:
        assert {s.status for s in app.timescape().schemas()} == {"pending"}
        LazyLogger("timescape.executor").warning("could not reach %s", url)
        installed = app._log_handler
        assert installed is not None
        assert installed in timescape.handlers
    finally:
        app.close()
    assert installed not in timescape.handlers
    err = capsys.readouterr().err
    assert err.startswith("timescape: WARNING: could not reach sqlite:///"), err
    assert "***" in err, err
    for fragment in FRAGMENTS:
        assert fragment not in err, (fragment, err)
    LazyLogger("timescape.executor").warning("after the command")  # the hook left with close()
    assert app._log_handler is None
