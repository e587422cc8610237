"""Schema versions, steps, name rules and checksums (pure)."""

from __future__ import annotations

import hashlib
import tracemalloc

import pytest

from timescape.engine.definitions import Definitions
from timescape.errors import DefinitionError
from timescape.model.schema import (
    CHECKSUM_ALGORITHM,
    SchemaVersion,
    Step,
    checksum,
    checksum_matches,
    normalise_sql,
    validate_name,
)

SQL = "CREATE TABLE products (\n  id INTEGER PRIMARY KEY -- the key\n);"


# -- names -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["schema_v1", "_private", "v1.2-beta", "A", "a" * 128])
def test_validate_name__valid__returned(name):
    assert validate_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "1abc",
        "-x",
        "has space",
        "tab\there",
        "new\nline",
        "quote'",
        'dq"',
        "back`tick",
        "semi;colon",
        "drop;--",
        "a" * 129,
        "ünïcode",
        "a/b",
        None,
        42,
    ],
)
def test_validate_name__quotes_semicolons_whitespace_etc__definition_error(name):
    with pytest.raises(DefinitionError, match="invalid schema name"):
        validate_name(name)


def test_validate_name__error__names_kind_and_key():
    with pytest.raises(DefinitionError) as info:
        validate_name("x y", what="parent schema name", key="s2.parent")
    assert info.value.key == "s2.parent"
    assert "parent schema name" in info.value.message


# -- building schemas --------------------------------------------------------------------------


def test_from_scripts__paired_lists__steps_pair_rollback_i_with_migration_i():
    s = SchemaVersion.from_scripts(
        "s1",
        ["CREATE TABLE a (x INT)", "CREATE TABLE b (x INT)"],
        ["DROP TABLE a", "DROP TABLE b"],
        parent="s0",
    )
    assert [(st.migration, st.rollback) for st in s.steps] == [
        ("CREATE TABLE a (x INT)", "DROP TABLE a"),
        ("CREATE TABLE b (x INT)", "DROP TABLE b"),
    ]
    assert s.parents == ("s0",)
    assert s.is_reversible


def test_from_scripts__rollback_count_mismatch__definition_error_names_counts():
    with pytest.raises(DefinitionError, match="2 migrations but 1 rollback") as info:
        SchemaVersion.from_scripts("s1", ["SELECT 1", "SELECT 2"], ["SELECT 3"])
    assert info.value.key == "s1.rollback"


def test_from_scripts__no_rollback__irreversible():
    s = SchemaVersion.from_scripts("s1", ["CREATE TABLE a (x INT)"])
    assert not s.is_reversible
    assert s.rollback_checksums == (None,)


def test_build__partial_rollbacks__definition_error_names_missing_steps():
    steps = [Step("SELECT 1", "SELECT 1"), Step("SELECT 2", None), Step("SELECT 3", None)]
    with pytest.raises(DefinitionError, match=r"step\(s\) 2, 3"):
        SchemaVersion.build("s1", steps)


def test_build__several_parents__kept_in_order():
    s = SchemaVersion.build("s3", [Step("SELECT 1")], parent=["s1", "s2"])
    assert s.parents == ("s1", "s2")


def test_build__parent_listed_twice__definition_error():
    with pytest.raises(DefinitionError, match="listed twice"):
        SchemaVersion.build("s3", [], parent=["s1", "s1"])


def test_build__self_parent__definition_error():
    with pytest.raises(DefinitionError, match="itself as parent"):
        SchemaVersion.build("s1", [], parent="s1")


@pytest.mark.parametrize("bad", ["s 1", "s;1", "s'1"])
def test_build__bad_parent_or_compatible_name__definition_error(bad):
    with pytest.raises(DefinitionError, match="invalid parent schema name"):
        SchemaVersion.build("s2", [], parent=bad)
    with pytest.raises(DefinitionError, match="invalid compatible schema name"):
        SchemaVersion.build("s2", [], compatible_with=[bad])


@pytest.mark.parametrize("script", ["", "   ", "\n\r\n", "\ufeff  "])
def test_build__empty_step__definition_error(script):
    with pytest.raises(DefinitionError, match="step 1 is empty"):
        SchemaVersion.from_scripts("s1", [script])


def test_build__empty_contract_step__definition_error():
    with pytest.raises(DefinitionError, match="step 2 is empty"):
        SchemaVersion.build("s1", [Step("SELECT 1", "SELECT 1")], contract=[Step(" ")])


def test_schema__no_steps__trivially_reversible():
    assert SchemaVersion.build("s0", []).is_reversible


# -- checksums ---------------------------------------------------------------------------------


def test_checksum__sql__versioned_sha256_of_normalised_text():
    expected = hashlib.sha256(SQL.encode()).hexdigest()
    assert checksum(SQL) == f"sha256-v1:{expected}"
    assert CHECKSUM_ALGORITHM == "sha256-v1"


@pytest.mark.parametrize(
    "variant",
    [
        SQL.replace("\n", "\r\n"),
        SQL.replace("\n", "\r"),
        "\ufeff" + SQL,
        SQL + "\n",
        SQL + "   \n\n\t",
        "\ufeff" + SQL.replace("\n", "\r\n") + "\r\n\r\n",
    ],
)
def test_checksum__crlf_bom_trailing_whitespace__same_checksum(variant):
    assert checksum(variant) == checksum(SQL)
    assert normalise_sql(variant) == SQL


@pytest.mark.parametrize(
    "variant",
    [
        SQL.replace("the key", "the primary key"),  # a comment counts
        SQL.replace("  id", "    id"),  # inner whitespace counts
        " " + SQL,  # leading whitespace counts
        SQL.upper(),
        SQL.replace(";", ""),
    ],
)
def test_checksum__content_or_comment_changed__different_checksum(variant):
    assert checksum(variant) != checksum(SQL)


def test_checksum__none__none():
    assert checksum(None) is None


def test_checksum__callable__named_by_qualname_and_bytecode():
    def step_a(conn):
        conn.execute("SELECT 1")

    def step_b(conn):
        conn.execute("SELECT 1")

    def step_c(conn):
        conn.execute("SELECT 2")
        conn.execute("SELECT 3")

    assert checksum(step_a).startswith("sha256-v1:")
    assert checksum(step_a) == checksum(step_a)
    assert checksum(step_a) != checksum(step_b)  # renamed
    assert checksum(step_b) != checksum(step_c)  # edited


def test_checksum_matches__same_script__true():
    assert checksum_matches(checksum(SQL), SQL.replace("\n", "\r\n") + "\n")


def test_checksum_matches__changed_script__false():
    assert not checksum_matches(checksum(SQL), SQL + " -- edited")


def test_checksum_matches__unknown_algorithm__false():
    digest = checksum(SQL)
    assert digest is not None
    assert not checksum_matches(digest.replace("sha256-v1", "sha256-v9"), SQL)


def test_checksum_matches__none_and_none__true_none_vs_script__false():
    assert checksum_matches(None, None)
    assert not checksum_matches(None, SQL)
    assert not checksum_matches(checksum(SQL), None)


def test_schema_checksums__per_step__migration_and_rollback():
    s = SchemaVersion.from_scripts("s1", ["SELECT 1", "SELECT 2"], ["SELECT 3", "SELECT 4"])
    assert s.checksums == (checksum("SELECT 1"), checksum("SELECT 2"))
    assert s.rollback_checksums == (checksum("SELECT 3"), checksum("SELECT 4"))
    assert s.steps[0].checksum == checksum("SELECT 1")


# -- memory held per schema (issue 14) ---------------------------------------------------------


def test_checksum__same_text_asked_twice__one_shared_string():
    script = SQL + "\n-- shared"
    first = checksum(script)
    assert first is checksum(script)
    assert (
        first
        == f"{CHECKSUM_ALGORITHM}:" + hashlib.sha256(normalise_sql(script).encode()).hexdigest()
    )
    schema = SchemaVersion.from_scripts("shared", [script], [script])
    assert schema.checksums[0] is first
    assert schema.rollback_checksums[0] is first
    assert checksum_matches(first, script)


def test_from_scripts__many_schemas__share_empty_names_and_step_names():
    a = SchemaVersion.from_scripts("a", ["SELECT 1", "SELECT 2"])
    b = SchemaVersion.from_scripts("b", ["SELECT 3", "SELECT 4"], compatible_with=["a"])
    c = SchemaVersion.from_scripts("c", ["SELECT 5"])
    assert a.compatible_with == frozenset()
    assert b.compatible_with == frozenset({"a"})
    assert a.compatible_with is c.compatible_with
    assert [s.name for s in a.steps] == ["step1", "step2"]
    assert a.steps[1].name is b.steps[1].name


def test_add_schema__thousand_schemas__hold_little_besides_their_scripts():
    n = 1_000
    scripts = [
        (f"CREATE TABLE t_{i} (id INTEGER PRIMARY KEY);", f"DROP TABLE t_{i};") for i in range(n)
    ]
    names = [f"m{i:05d}" for i in range(n)]
    definitions = Definitions()
    tracemalloc.start()
    try:
        for i, (migration, rollback) in enumerate(scripts):
            definitions.add_schema(
                names[i], [migration], [rollback], parent=names[i - 1] if i else None
            )
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # About 330 bytes a schema (the schema, its step, their tuples, the registry's entries);
    # 650 before the shared empty frozenset and step names (a frozenset alone is 216 bytes).
    assert held / n < 450
