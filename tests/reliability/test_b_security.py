"""Reliability part B — hostile names are data; the password is never shown (RELIABILITY T36, T37).

T36: every hostile name is rejected by validation naming the rule (exit 2), or stored and read back
byte-identical; ``products`` survives. What Timescape sends is checked two ways: on every dialect
through the ``timescape.sql`` trace logger (every statement passes ``Backend.execute``/``query``):
apart from the migration SQL of the plan, no statement text carries a quote, a ``;`` or a
``DROP`` — names always travel as parameters; on PostgreSQL also in the server's own statement log
(``ALTER DATABASE … SET log_statement = 'all'``, read from the cluster log file).

T37: a role whose password is the sentinel ``Xq7@:/%23#?!pw``; every CLI command of the success and
failure paths, with ``-v``/``-vv``, ``--json``, ``--dry-run`` and ``history``, for the password in
the URL userinfo, in a query parameter, in ``TIMESCAPE_DATABASE_URL``, in the project file, in a
malformed URL (unencoded ``@`` and ``%``), and a wrong password. The sentinel, its encoded and
decoded forms and its fragments must appear in no output, no ``timescape_*`` row, and Timescape
must start no child process at all (audit hook), so no child can see it either.
"""

from __future__ import annotations

import logging
import os
import re
import string
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.clirun import write_project
from tests.dbutil import TestDB, admin_connection
from tests.reliability._b_helpers import (
    STATE_TABLES,
    T0,
    T1,
    cli_audited,
    seed,
)
from timescape import Timescape
from timescape.errors import DefinitionError, InputError, UnknownRefError
from timescape.model.schema import NAME_PATTERN

pytestmark = pytest.mark.timeout(180)

HOSTILE = [
    "'", '"', "`", ";", "--", "/*", "\\", "%", "_", "\n", "\x00", "\u202e", "sch\u0435ma",
    "'); DROP TABLE products; --", "a b", "a;b", "x' OR '1'='1", "%_%", "${HOME}",
]


class _SQLTrace(logging.Handler):
    """Collects every statement text Timescape sends (the ``timescape.sql`` DEBUG records)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.statements.append(record.getMessage())


@pytest.fixture
def sql_trace() -> Iterator[_SQLTrace]:
    handler = _SQLTrace()
    logger = logging.getLogger("timescape.sql")
    old = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)


def _pg_log(db: TestDB) -> Path | None:
    """The cluster's server log, when this process can read it (collector file, or Debian's)."""
    current = db.query("SELECT pg_current_logfile()")[0][0]
    data = db.query("SHOW data_directory")[0][0]
    version = db.query("SHOW server_version_num")[0][0][:2]
    for candidate in (Path(data) / current if current else None,
                      Path(f"/var/log/postgresql/postgresql-{version}-main.log")):
        if candidate is not None and os.access(candidate, os.R_OK):
            return candidate
    return None


def _pg_statements(db: TestDB, path: Path, offset: int, wait_for: str) -> list[str]:
    """Statements the server logged for this database since ``offset``."""
    deadline = time.monotonic() + 3
    records: list[str] = []
    while time.monotonic() < deadline:
        with path.open("rb") as handle:
            handle.seek(offset)
            text = handle.read().decode("utf-8", "replace")
        records = re.split(r"\n(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \w+ \[\d+\] )", text)
        mine = [r for r in records if f"@{db.name} " in r.split("\n", 1)[0]]
        records = [r for r in mine if re.search(r"LOG:  (statement|execute [^:]*):", r)]
        if any(wait_for in r for r in records):
            break
        time.sleep(0.1)
    return records


def test_t36_hostile_names_rejected_by_the_rule_products_survives(
    db: TestDB, sql_trace: _SQLTrace
) -> None:
    seed(db)
    # The server's statement log where it can be read (PostgreSQL, log_statement per database);
    # the driver hook below covers every dialect either way.
    server_log = _pg_log(db) if db.dialect == "postgresql" else None
    offset = server_log.stat().st_size if server_log else 0
    if server_log:
        db.execute(f"ALTER DATABASE {db.name} SET log_statement = 'all'")
    ts = Timescape(db.url, infer_compatibility=False)
    ts.add_schema("s36", ["CREATE TABLE t36 (id INTEGER)"], ["DROP TABLE t36"])
    tsv = ts.add_version("/api/products", T0, "s36", tags=["v1"])
    ts.activate(tsv)
    for hostile in HOSTILE:
        probes = {
            "schema name": (lambda t, h: t.add_schema(h, ["SELECT 1"]),
                            ("invalid schema name",)),
            "parent": (lambda t, h: t.add_schema("ok", ["SELECT 1"], parent=h),
                       ("invalid parent schema name", "unknown")),
            "tag": (lambda t, h: t.add_version("/api/x", T1, "s36", tags=[h]),
                    ("invalid tag",)),
            "handler": (lambda t, h: t.add_version("/api/" + h, T1, "s36"),
                        ("invalid handler",)),
        }
        for what, (build, rules) in probes.items():
            # A throwaway facade (never connects): validation is what is under test here.
            probe = Timescape("sqlite://", infer_compatibility=False)
            probe.add_schema("s36", ["SELECT 1"])
            error = _definition_error(lambda b=build, p=probe, h=hostile: (b(p, h), p.catalog))
            if error is not None:
                assert any(rule in str(error) for rule in rules), (what, hostile, str(error))
                assert error.exit_code == 2
            else:
                # Accepted: only a legal name of that kind ('_' is a schema name, and may be
                # part of a handler path); such names round-trip in the generated test below.
                assert what in ("handler", "schema name"), (what, hostile)
                assert what != "schema name" or NAME_PATTERN.match(hostile), hostile
        with pytest.raises(DefinitionError) as info:
            ts.tag(tsv, hostile)
        assert "invalid tag" in str(info.value)
        for call in (lambda h=hostile: ts.activate(h), lambda h=hostile: ts.resolve(h),
                     lambda h=hostile: ts.deactivate(h, handler="/api/products"),
                     lambda h=hostile: ts.untag(h, handler="/api/products")):
            with pytest.raises(UnknownRefError) as info:
                call()
            assert info.value.exit_code == 2
    for prefix in ("x; DROP TABLE y", "Timescape_", "time-scape_", "", "9ts_", "ts\n"):
        with pytest.raises(InputError) as info:
            Timescape(db.url, table_prefix=prefix)
        assert "invalid table_prefix" in str(info.value)
    ts.deactivate(tsv)
    ts.close()
    assert {"products", "orders", "reviews", "audit"} <= db.tables()
    assert db.count("products") == 40
    plan_sql = {"CREATE TABLE t36 (id INTEGER)", "DROP TABLE t36"}
    sent = [s for s in sql_trace.statements if s not in plan_sql]
    assert sent, "the trace hook saw nothing"
    distinctive = [h for h in HOSTILE if len(h) > 2] + ["DROP TABLE products", "DROP TABLE y"]
    for statement in sent:
        for fragment in distinctive:
            assert fragment not in statement, (fragment, statement)
    if server_log:
        logged = _pg_statements(db, server_log, offset, "DROP TABLE t36")
        assert any("DROP TABLE t36" in r for r in logged), "log_statement saw nothing"
        for record in logged:
            assert "DROP TABLE products" not in record, record
            assert "DROP TABLE y" not in record, record
        intended = {s.strip() for s in sql_trace.statements}
        for record in logged:
            text = record.split(": ", 2)[-1].strip()
            text = re.sub(r"\$\d+", "?", text)
            # psycopg itself sends DEALLOCATE ALL when it resets prepared statements.
            assert text in intended or text.startswith(("BEGIN", "COMMIT", "ROLLBACK", "SET ", "DEALLOCATE")), (
                record)


# Hypothesis: names drawn from the legal alphabet plus the characters at its boundary.
_LEGAL = string.ascii_letters + string.digits + "_.-"
_BOUNDARY = " '\";`\\%\n\x00\u202e\u0435+/:~{}#"
_name = st.text(alphabet=_LEGAL + _BOUNDARY, min_size=1, max_size=130)
_tag = st.text(alphabet=string.ascii_letters + string.digits + "._+-" + _BOUNDARY,
               min_size=1, max_size=66)
_counter = iter(range(10_000))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(names=st.lists(_name, min_size=1, max_size=4), tags=st.lists(_tag, min_size=1, max_size=4))
def test_t36_generated_names__rejected_by_rule_or_round_trip_exactly(
    db: TestDB, names: list[str], tags: list[str]
) -> None:
    prefix = f"h{next(_counter)}_"
    ts = Timescape(db.url, table_prefix=prefix, infer_compatibility=False)
    accepted: list[str] = []
    for name in names:
        error = _definition_error(lambda n=name: ts.add_schema(n, ["SELECT 1"]))
        if error is not None:
            assert "invalid schema name" in str(error) or "already registered" in str(error)
        else:
            assert NAME_PATTERN.match(name)
            assert "\n" not in name
            accepted.append(name)
    kept_tags: list[str] = []
    for i, tag in enumerate(tags):
        error = _definition_error(lambda i=i, t=tag, f=ts: (
            f.add_version(f"/api/h{i}", T0, accepted[0] if accepted else "none", tags=[t]),
            f.catalog))
        if error is not None:
            assert "tag" in str(error) or "schema" in str(error), error
            ts = _rebuilt(db, prefix, accepted, kept_tags)
        else:
            kept_tags.append(tag)
    for name in accepted:
        ts.apply_schema(name)
    ts.close()
    if not accepted:
        return
    stored = sorted(r[0] for r in db.query(f"SELECT name FROM {prefix}schemas"))
    assert stored == sorted(accepted)
    assert sorted(r[0] for r in db.query(f"SELECT tag FROM {prefix}tags")) == sorted(kept_tags)


def _definition_error(call: Callable[[], object]) -> DefinitionError | None:
    """The DefinitionError ``call`` raises, or None when it passes validation."""
    try:
        call()
    except DefinitionError as exc:
        return exc
    return None


def _rebuilt(db: TestDB, prefix: str, accepted: list[str], tags: list[str]) -> Timescape:
    ts = Timescape(db.url, table_prefix=prefix, infer_compatibility=False)
    for name in accepted:
        ts.add_schema(name, ["SELECT 1"])
    for i, tag in enumerate(tags):
        ts.add_version(f"/api/h{i}", T0, accepted[0], tags=[tag])
    return ts


# -- T37: the password is never printed ---------------------------------------------------------

SENTINEL = "Xq7@:/%23#?!pw"
ENCODED = quote(SENTINEL, safe="")
NEEDLES = sorted({
    SENTINEL, ENCODED, quote(SENTINEL), unquote(SENTINEL), quote(ENCODED, safe=""),
    *(part for part in re.split(r"[@:]", SENTINEL) if len(part) >= 3),
    "%2523%23%3F%21pw", "#?!pw", "?!pw", "Xq7%40",
})


def _assert_clean(text: str, where: str) -> None:
    for needle in NEEDLES:
        assert needle not in text, f"{needle!r} leaked in {where}:\n{text}"


@pytest.fixture
def password_user(db: TestDB) -> Iterator[str]:
    user = f"tsb_pw_{uuid.uuid4().hex[:8]}"
    if db.dialect == "postgresql":
        db.execute(f"CREATE ROLE {user} LOGIN PASSWORD '{SENTINEL}'")
        db.execute(f"GRANT CONNECT ON DATABASE {db.name} TO {user}")
        db.execute(f"GRANT USAGE, CREATE ON SCHEMA public TO {user}")
        try:
            yield user
        finally:
            db.execute(f"DROP OWNED BY {user}")
            with admin_connection("postgresql") as conn:
                conn.execute(f"DROP ROLE IF EXISTS {user}")
    else:
        with admin_connection("mysql") as conn:
            conn.cursor().execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{SENTINEL}'")
            conn.cursor().execute(f"GRANT ALL ON `{db.name}`.* TO '{user}'@'%'")
        try:
            yield user
        finally:
            with admin_connection("mysql") as conn:
                conn.cursor().execute(f"DROP USER IF EXISTS '{user}'@'%'")


PW_PROJECT = f"""
[[schemas]]
name = "s1"
migrations = ["CREATE TABLE t37_a (id INTEGER)"]
rollback = ["DROP TABLE t37_a"]

[[schemas]]
name = "s_bad"
migrations = ["CREATE TABLE t37_b (id INTEGER)", "INSERT INTO t37_missing VALUES (1)"]
rollback = ["DROP TABLE t37_b", "SELECT 1"]

[[versions]]
handler = "/api/products"
timestamp = "{T0}"
schema = "s1"
tags = ["v1"]
"""

FULL_RUN = [
    ("--json", "-v", "version", "activate", "v1", "--dry-run"),
    ("-v", "version", "activate", "v1"),
    ("--json", "version", "list"),
    ("-vv", "schema", "migrate", "s_bad"),
    ("-v", "--json", "history"),
    ("-v", "--json", "verify"),
    ("-vv", "version", "activate", "nope"),
    ("-v", "version", "deactivate", "v1"),
]
SHORT_RUN = [("-vv", "--json", "version", "activate", "v1", "--dry-run")]


@pytest.mark.dialects("postgresql", "mysql")
def test_t37_password_never_printed_stored_or_passed_on(
    db: TestDB, password_user: str, tmp_path: Path
) -> None:
    scheme = "postgresql" if db.dialect == "postgresql" else "mysql"
    port = 5432 if db.dialect == "postgresql" else 3306
    host = f"127.0.0.1:{port}/{db.name}"
    good = f"{scheme}://{password_user}:{ENCODED}@{host}"
    variants: dict[str, tuple[list[str], dict[str, str], str | None, list[tuple[str, ...]]]] = {
        "userinfo": (["--database", good], {}, None, FULL_RUN),
        "query parameter": (["--database", (f"{scheme}://{password_user}@{host}"
                                           f"?password={ENCODED}")], {}, None, SHORT_RUN),
        "environment": ([], {"TIMESCAPE_DATABASE_URL": good}, None, SHORT_RUN),
        "project file": ([], {}, good, SHORT_RUN),
        "malformed": (["--database", f"{scheme}://{password_user}:{SENTINEL}@{host}"], {}, None,
                      SHORT_RUN),
        "wrong password": (["--database", f"{scheme}://{password_user}:{ENCODED}x@{host}"], {},
                           None, SHORT_RUN),
    }
    spawn_log = tmp_path / "spawned.log"
    outputs: list[str] = []
    for label, (options, env, file_url, commands) in variants.items():
        root = tmp_path / label.replace(" ", "_")
        url_line = f'[database]\nurl = "{file_url}"\n' if file_url else ""
        write_project(root, url_line + PW_PROJECT)
        for argv in commands:
            result = cli_audited(*options, *argv, cwd=root, env=env, spawn_log=spawn_log)
            where = f"{label}: timescape {' '.join(argv)}"
            assert "Traceback" not in result.stderr or "-vv" in argv, result.describe()
            _assert_clean(result.stdout, f"stdout of {where}")
            _assert_clean(result.stderr, f"stderr of {where}")
            outputs.append(result.stderr)
            if label == "malformed":
                assert result.exit_code == 2, result.describe()
                assert f"{password_user}:***@127.0.0.1:{port}" in result.stderr, result.describe()
            if label == "wrong password" and db.dialect == "mysql":
                assert result.exit_code == 1, result.describe()
                assert f"{password_user}:***@127.0.0.1:{port}" in result.stderr, result.describe()
    assert not spawn_log.exists(), spawn_log.read_text()  # no child process, ever
    assert any(SENTINEL not in o for o in outputs)
    dump = "\n".join(repr(db.query(f"SELECT * FROM {t}")) for t in STATE_TABLES
                     if t in db.tables())
    assert "t37_b" in dump or "s_bad" in dump  # the failure was recorded
    _assert_clean(dump, "the timescape_* rows")


def test_t37_exception_reprs_carry_no_password(db: TestDB) -> None:
    """Python callers: the URL object, the errors and their reprs show only the masked form."""
    if db.dialect == "sqlite":
        url = f"{db.url}?password={ENCODED}"
    else:
        scheme, _rest = db.url.split("://", 1)
        url = f"{scheme}://nobody_{uuid.uuid4().hex[:6]}:{ENCODED}@127.0.0.1:1/{db.name}"
    ts = Timescape(url, infer_compatibility=False)
    text = [repr(ts.url), str(ts.url)]
    try:
        ts.add_schema("s1", ["SELECT 1"])
        ts.apply_schema("s1")
    except Exception as exc:
        text += [repr(exc), str(exc), repr(exc.__cause__), repr(getattr(exc, "facts", dict)())]
    finally:
        ts.close()
    for chunk in text:
        _assert_clean(chunk, "a repr")
    assert "***" in str(ts.url) or db.dialect == "sqlite"
