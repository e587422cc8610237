"""Reliability part B — state integrity and names vs columns (RELIABILITY T27, T28).

T27 tampers with the ``timescape_*`` tables by hand through the raw driver and checks that
read-only commands work or explain, that ``verify`` names each problem precisely (no traceback),
and that writes refuse to guess and change nothing. T28 feeds names at and past the limits of the
state columns and checks that they are rejected at definition time, before any DDL, or stored and
read back exactly — MariaDB's case-insensitive, pad-space collations must not merge two names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.dbutil import TestDB
from tests.reliability._b_helpers import (
    T0,
    T1,
    fingerprint,
    seed,
    spec_for,
    state_fingerprint,
    timescape_for,
)
from timescape import Timescape
from timescape.errors import DefinitionError, StateError, StateFormatError, TimescapeError
from timescape.store.state import FORMAT_VERSION

pytestmark = pytest.mark.timeout(120)


def _spec(db: TestDB) -> dict[str, Any]:
    return spec_for(db, [
        {"name": "s1", "migrations": ["CREATE TABLE t27_a (id INTEGER)"],
         "rollback": ["DROP TABLE t27_a"], "objects": [["t27_a"]]},
        {"name": "s2", "parent": "s1", "migrations": ["CREATE TABLE t27_b (id INTEGER)"],
         "rollback": ["DROP TABLE t27_b"], "objects": [["t27_b"]]},
    ], [{"alias": "V1", "handler": "/api/products", "timestamp": T0, "schema": "s1",
         "tags": ["v1"]},
        {"alias": "V2", "handler": "/api/products", "timestamp": T1, "schema": "s2",
         "tags": ["v2"]}])


def _prepared(db: TestDB) -> dict[str, Any]:
    seed(db)
    spec = _spec(db)
    with timescape_for(spec) as ts:
        ts.activate(ts.resolve("v2"))
    return spec


def _outcome(call: Callable[[], Any]) -> tuple[str, str]:
    """("ok", repr) or (error class, message); anything but a TimescapeError fails the test."""
    try:
        result = "ok", repr(call())[:200]
    except TimescapeError as exc:
        result = type(exc).__name__, exc.message
    assert "\n" not in result[1], result
    return result


def _writes(ts: Timescape) -> dict[str, Callable[[], Any]]:
    v1, v2 = "tsv:1735689600-products-001", "tsv:1738368000-products-002"
    return {
        "activate v1": lambda: ts.activate(v1),
        "activate v1 --dry-run": lambda: ts.activate(v1, dry_run=True),
        "deactivate v2": lambda: ts.deactivate(v2),
        "migrate s1": lambda: ts.apply_schema("s1"),
        "tag": lambda: ts.tag(v1, "t27"),
    }


def test_t27_state_format_newer__reads_explain_writes_refuse(db: TestDB) -> None:
    spec = _prepared(db)
    newer = FORMAT_VERSION + 1
    db.execute("UPDATE timescape_meta SET value = ? WHERE key_name = 'format_version'",
               (str(newer),))
    before = (state_fingerprint(db), fingerprint(db, sorted(db.user_tables())))
    expected = f"state format {newer} is newer than this Timescape ({FORMAT_VERSION})"
    with timescape_for(spec) as ts:
        reads = {"schemas": ts.schemas, "versions": ts.versions, "stats": ts.stats,
                 "history": ts.history}
        for label, call in reads.items():
            kind, text = _outcome(call)
            assert kind == "ok" or (kind == "StateFormatError" and expected in text), (label, text)
        report = ts.verify()
        assert not report.ok
        assert expected in report.problems[0].message
        for label, call in _writes(ts).items():
            with pytest.raises(StateFormatError) as info:
                call()
            assert expected in str(info.value), label
            assert info.value.exit_code == 1
    assert (state_fingerprint(db), fingerprint(db, sorted(db.user_tables()))) == before


def test_t27_deleted_schema_row_with_applied_objects__reported_and_never_guessed(
    db: TestDB,
) -> None:
    spec = _prepared(db)
    db.execute("DELETE FROM timescape_schemas WHERE name = 's1'")
    before = (state_fingerprint(db), fingerprint(db, sorted(db.user_tables())))
    with timescape_for(spec) as ts:
        report = ts.verify()
        found = {(p.kind, p.subject) for p in report.problems}
        assert ("inconsistent", "s2") in found, report.problems
        assert any("s1" in p.message and "schema resolve s1" in p.message
                   for p in report.problems), report.problems
        for label in ("activate v1", "activate v1 --dry-run", "migrate s1"):
            with pytest.raises(StateError) as info:
                _writes(ts)[label]()
            assert "will not guess" in str(info.value), label
            assert "descendant(s) s2" in str(info.value)
        assert (state_fingerprint(db), fingerprint(db, sorted(db.user_tables()))) == before
        # The way out: the operator states the truth, then everything is consistent again.
        ts.resolve_schema("s1", steps_done=1)
        assert ts.verify().ok, ts.verify().problems
        ts.activate(ts.resolve("v1"))
    assert db.active_versions() == {"tsv:1735689600-products-001", "tsv:1738368000-products-002"}


def test_t27_garbage_status__verify_precise_everything_else_refuses(db: TestDB) -> None:
    spec = _prepared(db)
    db.execute("UPDATE timescape_schemas SET status = 'garbage' WHERE name = 's1'")
    before = (state_fingerprint(db), fingerprint(db, sorted(db.user_tables())))
    with timescape_for(spec) as ts:
        report = ts.verify()
        assert [p.kind for p in report.problems] == ["state"]
        assert "'s1' has unknown status 'garbage'" in report.problems[0].message
        for label, call in {**_writes(ts), "schemas": ts.schemas, "stats": ts.stats}.items():
            kind, text = _outcome(call)
            assert kind == "StateError", (label, kind, text)
            assert "garbage" in text, (label, kind, text)
    assert (state_fingerprint(db), fingerprint(db, sorted(db.user_tables()))) == before


@pytest.mark.parametrize("table", ["timescape_tags", "timescape_schemas", "timescape_meta",
                                   "timescape_events"])
def test_t27_dropped_state_table__each_reported_nothing_recreated(db: TestDB, table: str) -> None:
    spec = _prepared(db)
    db.execute(f"DROP TABLE {table}")
    before = (state_fingerprint(db), fingerprint(db, sorted(db.user_tables())))
    with timescape_for(spec) as ts:
        report = ts.verify()
        assert [(p.kind, p.subject) for p in report.problems] == [("state", table)]
        assert "restore it from a backup" in report.problems[0].message
        reads = {"schemas": ts.schemas, "stats": ts.stats, "history": ts.history}
        for label, call in {**_writes(ts), **reads}.items():
            kind, text = _outcome(call)
            assert kind == "StateError", (label, kind, text)
            assert table in text, (label, kind, text)
    assert table not in db.tables()  # not silently re-created
    assert (state_fingerprint(db), fingerprint(db, sorted(db.user_tables()))) == before


# -- T28: names vs column widths and collations --------------------------------------------------


def _rejected(build: Callable[[Timescape], Any], db: TestDB) -> DefinitionError:
    """The definition is refused with a DefinitionError before any connection or DDL."""
    ts = Timescape(db.url, infer_compatibility=False)

    def attempt() -> None:
        build(ts)
        _ = ts.catalog
        ts.apply_schema("ok")

    try:
        with pytest.raises(DefinitionError) as info:
            attempt()
    finally:
        ts.close()
    assert info.value.exit_code == 2
    return info.value


def test_t28_names_too_long_or_ambiguous__rejected_before_any_ddl(db: TestDB) -> None:
    seed(db)
    before = fingerprint(db, sorted(db.user_tables()))
    ok = ["CREATE TABLE t28_ok (id INTEGER)"]

    def schema(name: str) -> Callable[[Timescape], Any]:
        return lambda ts: (ts.add_schema("ok", ok), ts.add_schema(name, ok))

    def version(handler: str, tags: tuple[str, ...] = ()) -> Callable[[Timescape], Any]:
        return lambda ts: (ts.add_schema("ok", ok), ts.add_version(handler, T0, "ok", tags=tags))

    cases: dict[str, tuple[Callable[[Timescape], Any], str]] = {
        "schema name 129 chars": (schema("s" * 129), "at most 128"),
        "schema names differing by case": (schema("OK"), "'OK'"),
        "schema name with trailing space": (schema("ok2 "), "invalid schema name"),
        "schema name with trailing newline": (schema("ok2\n"), "invalid schema name"),
        "schema name with emoji": (schema("ok_\U0001f600"), "invalid schema name"),
        "tag 65 chars": (version("/api/products", ("t" * 65,)), "at most 64"),
        "tag with emoji": (version("/api/products", ("v1\U0001f600",)), "invalid tag"),
        "tag with trailing space": (version("/api/products", ("v1 ",)), "invalid tag"),
        "handler 201 chars": (version("/" + "h" * 200), "invalid handler"),
        "handler whose TSV outgrows its column": (version("/" + "h" * 199), "TSV"),
        "handlers differing by case": (
            lambda ts: (ts.add_schema("ok", ok), ts.add_version("/api/Products", T0, "ok"),
                        ts.add_version("/api/products", T1, "ok")), "slug"),
    }
    for label, (build, fragment) in cases.items():
        error = _rejected(build, db)
        assert fragment.lower() in str(error).lower(), (label, str(error))
    assert "t28_ok" not in db.tables()
    assert "timescape_meta" not in db.tables()  # nothing connected, nothing written
    assert fingerprint(db, sorted(db.user_tables())) == before


def test_t28_names_at_the_limits__stored_and_read_back_exactly(db: TestDB) -> None:
    """The longest legal names, and names differing only by case where that is allowed (tags
    within a handler), round-trip byte for byte; MariaDB's name columns are utf8mb4_bin."""
    name = "S" + "x" * 127
    handler = "/" + "h" * 160
    tags = ("Beta", "beta", "t" * 64)
    ts = Timescape(db.url, infer_compatibility=False)
    ts.add_schema(name, ["CREATE TABLE t28_long (id INTEGER)"], ["DROP TABLE t28_long"])
    v1 = ts.add_version(handler, T0, name, tags=tags[:1] + tags[2:])
    v2 = ts.add_version(handler, T1, name, tags=tags[1:2])
    ts.activate(v1)
    ts.activate(v2)
    assert ts.resolve("Beta", handler) == v1
    assert ts.resolve("beta", handler) == v2
    ts.close()
    assert db.query("SELECT name FROM timescape_schemas") == [(name,)]
    stored = sorted(db.query("SELECT tag, tsv FROM timescape_tags"))
    assert stored == sorted([("Beta", v1), ("beta", v2), ("t" * 64, v1)])
    assert sorted(r[0] for r in db.query("SELECT tsv FROM timescape_versions")) == sorted([v1, v2])
    assert {r[0] for r in db.query("SELECT handler FROM timescape_versions")} == {handler}
    if db.dialect == "mysql":
        rows = db.query(
            "SELECT table_name, column_name, collation_name FROM information_schema.columns "
            "WHERE table_schema = DATABASE() AND table_name LIKE 'timescape%' "
            "AND collation_name IS NOT NULL")
        assert rows
        assert {r[2] for r in rows} == {"utf8mb4_bin"}, rows
        # Case-sensitive: 'BETA' matches nothing. (utf8mb4_bin is PAD SPACE on MariaDB, so 'beta '
        # would compare equal to 'beta': no name may end in a space, as the rejection test shows.)
        assert db.query("SELECT tag FROM timescape_tags WHERE tag = 'BETA'") == []
