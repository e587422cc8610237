"""Read-only-ness from the parsed statement, never from its first keyword (issue 11, T42)."""

from __future__ import annotations

import pytest

from timescape.analysis.readonly import calls_routine, is_read_only, plain_dml_targets


@pytest.mark.parametrize(
    ("dialect", "sql"),
    [
        ("mysql", "SELECT SLEEP(20)"),
        ("mysql", "DO SLEEP(1)"),
        ("mysql", "  select 1;  "),
        ("mysql", "SHOW TABLES"),
        ("mysql", "SELECT COUNT(*), UPPER(name) FROM products WHERE id > 3"),
        ("mysql", "SELECT 1 UNION SELECT 2"),
        ("postgresql", "SELECT pg_sleep(5)"),
        ("sqlite", "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT 1 FROM c) SELECT 1 FROM c"),
    ],
)
def test_is_read_only__plain_reads__true(dialect: str, sql: str) -> None:
    assert is_read_only(sql, dialect)


@pytest.mark.parametrize(
    ("dialect", "sql"),
    [
        ("mysql", "SELECT f()"),
        ("mysql", "DO f()"),
        ("mysql", "DO SLEEP(1), f()"),
        ("mysql", "SELECT NEXTVAL(s)"),
        ("mysql", "SELECT NEXT VALUE FOR s"),
        ("mysql", "SELECT GET_LOCK('x', 1)"),
        ("mysql", "SELECT a FROM t FOR UPDATE"),
        ("mysql", "SELECT a FROM t LOCK IN SHARE MODE"),
        ("mysql", "SELECT a INTO @x FROM t"),
        ("mysql", "SELECT a FROM t INTO OUTFILE '/tmp/x'"),
        ("mysql", "UPDATE m SET x = x + 1 WHERE SLEEP(0.01) = 0"),
        ("mysql", "CREATE TABLE x (id INT)"),
        ("mysql", "CALL p()"),
        ("postgresql", "SELECT nextval('s')"),
        ("postgresql", "SELECT setval('s', 3)"),
        ("postgresql", "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d"),
        ("postgresql", "SELECT * FROM t FOR SHARE"),
        ("sqlite", "INSERT INTO t VALUES (1)"),
    ],
)
def test_is_read_only__may_write_or_unparsable__false(dialect: str, sql: str) -> None:
    assert not is_read_only(sql, dialect)


def test_plain_dml_targets__names_every_table__none_for_routines_and_ddl() -> None:
    assert plain_dml_targets("UPDATE m SET x = x + 1 WHERE SLEEP(0.01) = 0", "mysql") == ("m",)
    assert plain_dml_targets("INSERT INTO a.t (x) SELECT n FROM s JOIN u ON 1 = 1", "mysql") == (
        "a.t",
        "s",
        "u",
    )
    assert plain_dml_targets("DELETE FROM t WHERE id IN (SELECT id FROM o)", "mysql") == ("t", "o")
    assert plain_dml_targets("UPDATE m SET x = f(x)", "mysql") is None
    assert plain_dml_targets("ALTER TABLE m ADD COLUMN y INT", "mysql") is None
    assert plain_dml_targets("not sql at all", "mysql") is None


def test_calls_routine__call_and_unknown_functions__true_syntax_errors_false() -> None:
    assert calls_routine("CALL p(1)", "mysql")
    assert calls_routine("SELECT f()", "mysql")
    assert calls_routine("DO f()", "mysql")
    assert not calls_routine("ALTER TABLE m ADD COLUMN y INT", "mysql")
    assert not calls_routine("SELEC 1", "mysql")
