"""The SQL analyser: statement classification against a corpus, and the lint rules (pure)."""

from __future__ import annotations

import dataclasses
import logging
import subprocess
import sys
from collections import Counter

import pytest

from tests.unit.analysis_corpus import CORPUS, Case
from timescape.analysis import (
    RULES,
    Effect,
    Finding,
    Knowledge,
    Level,
    LintIssue,
    classifier,
    classify,
    classify_statement,
    lint,
    worst_effect,
)
from timescape.analysis._checks import CHECKS
from timescape.analysis._names import parse
from timescape.compat import SchemaReader, infer_schema
from timescape.errors import InputError
from timescape.model.catalog import Catalog
from timescape.model.schema import SchemaVersion, Step
from timescape.store.split import split_statements

A, D, U, B = Effect.ADDITIVE, Effect.DATA, Effect.UNKNOWN, Effect.BREAKING
DIALECTS = ("postgresql", "mysql", "sqlite")


def _classify(case: Case) -> Finding:
    return classify([case.sql], case.dialect, applied=case.applied)[0]


# -- the corpus --------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CORPUS, ids=[c.id for c in CORPUS])
def test_corpus__statement__classified_as_expected(case: Case) -> None:
    finding = _classify(case)
    assert finding.effect is case.effect, finding.reason
    assert finding.statement == case.sql
    if case.objects is not None:
        assert finding.objects == case.objects
    if case.reason is not None:
        assert case.reason in finding.reason
    assert "\n" not in finding.reason
    if finding.effect is U:
        assert finding.reason.startswith("cannot judge: ")


def confusion() -> dict[str, Counter[tuple[Effect, Effect]]]:
    """Count (human verdict, analyser verdict) pairs over the corpus, per dialect and in total.

    Run ``python -c "from tests.unit.test_analysis import confusion_table; print(confusion_table())"``
    for the figures.
    """
    counts: dict[str, Counter[tuple[Effect, Effect]]] = {d: Counter() for d in (*DIALECTS, "all")}
    for case in CORPUS:
        pair = (case.true_effect, _classify(case).effect)
        counts[case.dialect][pair] += 1
        counts["all"][pair] += 1
    return counts


def confusion_table() -> str:
    """Render :func:`confusion` as text: one matrix per dialect, rows = truth, columns = analyser."""
    order = (A, D, U, B)
    lines: list[str] = []
    for dialect, counts in confusion().items():
        total = sum(counts.values())
        lines.append(f"{dialect} ({total} statements): truth \\ analyser")
        lines.append("            " + "".join(f"{e.value:>11}" for e in order))
        lines.extend(
            f"  {truth.value:<10}" + "".join(f"{counts[truth, got]:>11}" for got in order)
            for truth in order
        )
    return "\n".join(lines)


def test_corpus__breaking_statements__never_classified_compatible() -> None:
    counts = confusion()
    print("\n" + confusion_table())
    unsafe = {
        pair: n
        for pair, n in counts["all"].items()
        if not pair[0].is_compatible and pair[1].is_compatible
    }
    assert unsafe == {}
    assert counts["all"][B, A] + counts["all"][B, D] == 0


def test_corpus__size__covers_every_dialect() -> None:
    per_dialect = Counter(case.dialect for case in CORPUS)
    assert len(CORPUS) >= 150
    assert all(per_dialect[d] >= 50 for d in DIALECTS), per_dialect
    assert {case.effect for case in CORPUS} == {A, D, U, B}
    assert len({(c.dialect, c.sql, c.applied) for c in CORPUS}) == len(CORPUS)


# -- classification in context -----------------------------------------------------------------


def test_classify__table_created_earlier__changes_to_it_are_additive() -> None:
    findings = classify(
        [
            "CREATE TABLE tags (id int, name text)",
            "CREATE UNIQUE INDEX uq_tags_name ON tags (name)",
            "ALTER TABLE tags ADD COLUMN slug text NOT NULL",
            "ALTER TABLE tags DROP COLUMN name",
            "DROP TABLE tags",
        ],
        "postgresql",
    )
    assert [f.effect for f in findings] == [A, A, A, A, A]
    assert "new in this schema" in findings[1].reason


def test_classify__create_if_not_exists__table_is_not_new() -> None:
    findings = classify(
        ["CREATE TABLE IF NOT EXISTS tags (id int)", "CREATE UNIQUE INDEX uq ON tags (id)"],
        "postgresql",
    )
    assert [f.effect for f in findings] == [A, B]


def test_classify__applied_tables__are_not_new() -> None:
    finding = classify(
        ["ALTER TABLE tags ADD COLUMN slug text NOT NULL"],
        "postgresql",
        applied=["CREATE TABLE tags (id int)"],
    )[0]
    assert finding.effect is B


def test_classify__sqlite_rebuild__drop_is_breaking_the_rest_additive() -> None:
    findings = classify(
        [
            "CREATE TABLE users_new (id INTEGER PRIMARY KEY, email TEXT NOT NULL)",
            "INSERT INTO users_new (id, email) SELECT id, email FROM users",
            "DROP TABLE users",
            "ALTER TABLE users_new RENAME TO users",
            "CREATE UNIQUE INDEX uq_users_email ON users (email)",
        ],
        "sqlite",
    )
    assert [f.effect for f in findings] == [A, D, B, A, B]
    assert worst_effect(findings) is B


def test_classify__view_created_earlier__replacing_it_is_additive() -> None:
    findings = classify(
        ["CREATE VIEW v AS SELECT 1 AS a", "CREATE OR REPLACE VIEW v AS SELECT 1 AS a, 2 AS b"],
        "postgresql",
    )
    assert [f.effect for f in findings] == [A, A]


def test_classify__rename_table_command__column_knowledge_follows() -> None:
    finding = classify(
        ["ALTER TABLE b MODIFY c VARCHAR(20)"],
        "mysql",
        applied=["CREATE TABLE a (c VARCHAR(10))", "RENAME TABLE a TO b"],
    )[0]
    assert finding.effect is A


def test_classify__alter_column_type_then_again__uses_updated_type() -> None:
    findings = classify(
        [
            "ALTER TABLE t ALTER COLUMN c TYPE varchar(100)",
            "ALTER TABLE t ALTER COLUMN c TYPE varchar(80)",
        ],
        "postgresql",
        applied=["CREATE TABLE t (c varchar(50))"],
    )
    assert [f.effect for f in findings] == [A, B]


def test_classify__unparsed_alter_part__still_learned() -> None:
    findings = classify(
        [
            "ALTER TABLE t ADD CHECK (n > 0) NOT VALID, ADD COLUMN c varchar(10)",
            "ALTER TABLE t ALTER COLUMN c TYPE varchar(30)",
        ],
        "postgresql",
        applied=["CREATE TABLE t (n int)"],
    )
    assert [f.effect for f in findings] == [B, A]


def test_classify__several_actions__worst_names_the_statement() -> None:
    finding = classify_statement(
        "ALTER TABLE products ADD COLUMN a int, RENAME COLUMN b TO c", "postgresql"
    )
    assert finding.effect is B
    assert finding.reason.startswith("renames column products.b to c")
    assert "adds column products.a" in finding.reason
    assert finding.objects == ("products.a", "products.b", "products.c")


def test_classify_statement__same_as_classify_of_one() -> None:
    sql = "ALTER TABLE products DROP COLUMN price"
    assert classify_statement(sql, "postgresql") == classify([sql], "postgresql")[0]


def test_classify__parser_drops_a_keyword__unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    sql = "ALTER TABLE products ADD COLUMN sku text, DROP COLUMN price"
    lossy = parse("ALTER TABLE products ADD COLUMN sku text", "postgresql")
    monkeypatch.setattr(classifier, "parse", lambda text, dialect: lossy if text == sql else None)
    finding = classify_statement(sql, "postgresql")
    assert finding.effect is U
    assert "dropped DROP" in finding.reason


def test_classify__dialect_aliases__accepted() -> None:
    assert classify_statement("DROP TABLE t", "postgres").effect is B
    assert classify_statement("DROP TABLE t", "MariaDB").effect is B


def test_classify__unknown_dialect__input_error() -> None:
    with pytest.raises(InputError, match="unknown SQL dialect 'oracle'"):
        classify(["DROP TABLE t"], "oracle")


def test_classify__unsupported_syntax__no_parser_warning_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        classify_statement("CREATE EXTENSION IF NOT EXISTS citext", "postgresql")
    assert not [r for r in caplog.records if r.name.startswith("sqlglot")]


def test_finding__frozen() -> None:
    finding = classify_statement("SELECT 1", "sqlite")
    with pytest.raises(dataclasses.FrozenInstanceError):
        finding.effect = B  # type: ignore[misc]


# -- worst_effect ------------------------------------------------------------------------------


def _finding(effect: Effect) -> Finding:
    return Finding("x", effect, "r", ())


@pytest.mark.parametrize(
    ("effects", "worst"),
    [
        ((), A),
        ((A,), A),
        ((A, D), D),
        ((D, U, A), U),
        ((U, B, D), B),
        ((B, A), B),
    ],
)
def test_worst_effect__mixed__most_harmful(effects: tuple[Effect, ...], worst: Effect) -> None:
    assert worst_effect(_finding(e) for e in effects) is worst


def test_effect__compatibility__additive_and_data_only() -> None:
    assert [e for e in Effect if e.is_compatible] == [A, D]
    assert sorted(Effect, key=lambda e: e.rank) == [A, D, U, B]


# -- lint rules --------------------------------------------------------------------------------

_REBUILD = (
    "CREATE TABLE users_new (id INTEGER PRIMARY KEY, email TEXT NOT NULL)",
    "INSERT INTO users_new (id, email) SELECT id, email FROM users",
    "DROP TABLE users",
    "ALTER TABLE users_new RENAME TO users",
)
_OLD_REBUILD = (
    "ALTER TABLE users RENAME TO users_old",
    "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL)",
    "INSERT INTO users (id, email) SELECT id, email FROM users_old",
    "DROP TABLE users_old",
)

# (rule, dialect, statements, applied) that must raise the rule.
FIRES: list[tuple[str, str, tuple[str, ...], tuple[str, ...]]] = [
    ("PG001", "postgresql", ("CREATE INDEX idx ON orders (created_at)",), ()),
    ("PG001", "postgresql", ("CREATE UNIQUE INDEX uq ON public.orders (ref)",), ()),
    (
        "PG002",
        "postgresql",
        ("ALTER TABLE orders ADD COLUMN t uuid DEFAULT gen_random_uuid()",),
        (),
    ),
    ("PG002", "postgresql", ("ALTER TABLE orders ADD COLUMN n bigserial",), ()),
    ("PG002", "postgresql", ("ALTER TABLE orders ADD COLUMN r float8 DEFAULT random()",), ()),
    (
        "PG002",
        "postgresql",
        ("ALTER TABLE orders ADD COLUMN at timestamptz DEFAULT clock_timestamp()",),
        (),
    ),
    (
        "PG002",
        "postgresql",
        ("ALTER TABLE orders ADD COLUMN s int GENERATED ALWAYS AS IDENTITY",),
        (),
    ),
    ("PG003", "postgresql", ("ALTER TABLE orders ALTER COLUMN ref SET NOT NULL",), ()),
    ("PG004", "postgresql", ("ALTER TABLE orders ALTER COLUMN qty TYPE bigint",), ()),
    (
        "PG004",
        "postgresql",
        ("ALTER TABLE t ALTER COLUMN c TYPE bigint",),
        ("CREATE TABLE t (c int)",),
    ),
    (
        "PG005",
        "postgresql",
        ("ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (pid) REFERENCES products (id)",),
        (),
    ),
    ("PG005", "postgresql", ("ALTER TABLE orders ADD CHECK (qty > 0)",), ()),
    ("PG006", "postgresql", ("ALTER TABLE users ADD CONSTRAINT uq UNIQUE (email)",), ()),
    ("PG006", "postgresql", ("ALTER TABLE users ADD PRIMARY KEY (id)",), ()),
    ("PG007", "postgresql", ("DROP INDEX idx_orders_ref",), ()),
    ("MY001", "mysql", ("ALTER TABLE products MODIFY price DECIMAL(12,2) NOT NULL",), ()),
    ("MY001", "mysql", ("ALTER TABLE products CONVERT TO CHARACTER SET utf8mb4",), ()),
    ("MY001", "mysql", ("ALTER TABLE products DROP PRIMARY KEY, ADD PRIMARY KEY (id, sku)",), ()),
    ("MY002", "mysql", ("ALTER TABLE products ALGORITHM=COPY, ADD COLUMN x INT",), ()),
    ("MY002", "mysql", ("ALTER TABLE products MODIFY c BIGINT, ALGORITHM = COPY",), ()),
    ("MY003", "mysql", ("ALTER TABLE posts ADD FULLTEXT INDEX ft (body)",), ()),
    ("MY003", "mysql", ("CREATE SPATIAL INDEX sp ON places (geo)",), ()),
    ("PG008", "postgresql", ("REINDEX (VERBOSE) TABLE orders",), ()),
    ("PG009", "postgresql", ("VACUUM FULL",), ()),
    ("PG010", "postgresql", ("CLUSTER VERBOSE orders",), ()),
    ("PG011", "postgresql", ("LOCK TABLE ONLY orders IN SHARE MODE",), ()),
    ("PG012", "postgresql", ("ALTER TABLE IF EXISTS orders SET UNLOGGED",), ()),
    ("PG013", "postgresql", ("ALTER TABLE orders SET TABLESPACE archive",), ()),
    ("PG014", "postgresql", ("ALTER TABLE orders DETACH PARTITION orders_2019",), ()),
    ("PG015", "postgresql", ("ALTER DOMAIN email SET NOT NULL",), ()),
    ("PG016", "postgresql", ("ALTER TABLE b ADD EXCLUDE USING gist (room WITH =)",), ()),
    ("PG017", "postgresql", ("TRUNCATE TABLE a, b CASCADE",), ()),
    ("PG018", "postgresql", ("ALTER TABLE o ADD COLUMN p int REFERENCES products",), ()),
    ("PG019", "postgresql", ("REFRESH MATERIALIZED VIEW public.sales",), ()),
    ("MY004", "mysql", ("CREATE INDEX i ON products (sku) LOCK=SHARED",), ()),
    ("MY005", "mysql", ("ALTER TABLE products ADD COLUMN j JSON DEFAULT (JSON_ARRAY())",), ()),
    ("MY006", "mysql", ("ALTER TABLE products CHANGE id id BIGINT AUTO_INCREMENT",), ()),
    ("MY007", "mysql", ("ALTER TABLE p ADD COLUMN t INT AS (a + b) PERSISTENT",), ()),
    ("MY008", "mysql", ("ALTER TABLE p ADD CONSTRAINT f FOREIGN KEY (c) REFERENCES c (id)",), ()),
    ("TX001", "postgresql", ("CREATE UNIQUE INDEX CONCURRENTLY uq ON orders (ref)",), ()),
    ("TX001", "sqlite", ("VACUUM",), ()),
    ("TX001", "mysql", ("SET autocommit = 0",), ()),
    (
        "TX002",
        "postgresql",
        (
            "ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'refunded'",
            "UPDATE orders SET status = 'refunded' WHERE refunded_at IS NOT NULL",
        ),
        (),
    ),
    ("TX003", "postgresql", ("COMMIT",), ()),
    ("TX003", "mysql", ("START TRANSACTION",), ()),
    ("STY001", "postgresql", ("CREATE TABLE t (id int PRIMARY KEY)",), ()),
    ("STY001", "mysql", ("CREATE TABLE t (id INT, PRIMARY KEY (id))",), ()),
    ("STY002", "postgresql", ("ALTER TABLE t ADD COLUMN at timestamp",), ()),
    ("STY003", "postgresql", ("CREATE TABLE t (name varchar(50))",), ()),
    ("STY004", "postgresql", ("CREATE TABLE t (id serial8 PRIMARY KEY)",), ()),
    ("STY005", "sqlite", ("CREATE TABLE t (code char(3))",), ()),
    ("STY006", "postgresql", ("UPDATE t SET a = 1, b = 2, a = 3",), ()),
    ("STY006", "mysql", ("INSERT INTO t (a, a) VALUES (1, 2)",), ()),
    ("STY007", "postgresql", (f"CREATE TABLE t ({'c' * 64} int)",), ()),
    ("SL001", "sqlite", _REBUILD, ()),
    ("SL001", "sqlite", _OLD_REBUILD, ()),
    ("SL002", "sqlite", ("ALTER TABLE users DROP COLUMN nickname",), ()),
    ("SL003", "sqlite", ("ALTER TABLE users RENAME COLUMN email TO mail",), ()),
    ("SL004", "sqlite", ("ALTER TABLE users ADD COLUMN uid TEXT UNIQUE",), ()),
    ("SL004", "sqlite", ("ALTER TABLE users ADD COLUMN status TEXT NOT NULL",), ()),
    ("SL004", "sqlite", ("ALTER TABLE users ADD COLUMN at TEXT DEFAULT CURRENT_TIMESTAMP",), ()),
    ("SL004", "sqlite", ("ALTER TABLE users ADD COLUMN n INT AS (id + 1) STORED",), ()),
    ("GEN001", "postgresql", ("DROP TABLE sessions",), ()),
    ("GEN001", "mysql", ("ALTER TABLE products DROP COLUMN legacy",), ()),
    ("GEN001", "sqlite", ("DROP TABLE sessions",), ()),
    ("GEN001", "postgresql", ("TRUNCATE sessions",), ()),
    ("GEN001", "postgresql", ("DROP SCHEMA billing CASCADE",), ()),
    ("GEN002", "postgresql", ("UPDATE products SET price = 0",), ()),
    ("GEN002", "sqlite", ("DELETE FROM sessions",), ()),
    ("GEN003", "postgresql", ("ALTER TABLE products RENAME COLUMN name TO title",), ()),
    ("GEN003", "mysql", ("RENAME TABLE products TO items",), ()),
    ("GEN003", "mysql", ("ALTER TABLE products CHANGE price cost DECIMAL(10,2)",), ()),
    ("GEN003", "sqlite", ("ALTER TABLE users RENAME TO accounts",), ()),
]

# (rule, dialect, statements, applied) that must not raise the rule.
QUIET: list[tuple[str, str, tuple[str, ...], tuple[str, ...]]] = [
    ("PG001", "postgresql", ("CREATE INDEX CONCURRENTLY idx ON orders (created_at)",), ()),
    ("PG001", "postgresql", ("CREATE TABLE t (a int)", "CREATE INDEX idx ON t (a)"), ()),
    ("PG001", "mysql", ("CREATE INDEX idx ON orders (created_at)",), ()),
    ("PG002", "postgresql", ("ALTER TABLE orders ADD COLUMN at timestamptz DEFAULT now()",), ()),
    ("PG002", "postgresql", ("ALTER TABLE orders ADD COLUMN n int DEFAULT 0",), ()),
    ("PG003", "postgresql", ("ALTER TABLE orders ALTER COLUMN ref DROP NOT NULL",), ()),
    (
        "PG004",
        "postgresql",
        ("ALTER TABLE t ALTER COLUMN c TYPE varchar(100)",),
        ("CREATE TABLE t (c varchar(50))",),
    ),
    (
        "PG004",
        "postgresql",
        ("ALTER TABLE t ALTER COLUMN c TYPE text",),
        ("CREATE TABLE t (c varchar(50))",),
    ),
    (
        "PG005",
        "postgresql",
        (
            "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (pid) REFERENCES products (id) NOT VALID",
        ),
        (),
    ),
    ("PG005", "postgresql", ("ALTER TABLE orders ADD CONSTRAINT c CHECK (qty > 0) NOT VALID",), ()),
    ("PG006", "postgresql", ("ALTER TABLE users ADD CONSTRAINT uq UNIQUE USING INDEX uq_idx",), ()),
    ("PG007", "postgresql", ("DROP INDEX CONCURRENTLY idx_orders_ref",), ()),
    (
        "MY001",
        "mysql",
        ("ALTER TABLE products MODIFY price DECIMAL(12,2) NOT NULL, ALGORITHM=INPLACE, LOCK=NONE",),
        (),
    ),
    ("MY001", "mysql", ("ALTER TABLE products ADD COLUMN x INT",), ()),
    ("MY002", "mysql", ("ALTER TABLE products ADD COLUMN x INT, ALGORITHM=INSTANT",), ()),
    (
        "MY003",
        "mysql",
        ("ALTER TABLE products ADD INDEX idx_sku (sku), ALGORITHM=INPLACE, LOCK=NONE",),
        (),
    ),
    ("MY003", "mysql", ("CREATE INDEX idx_sku ON products (sku) ALGORITHM=INPLACE LOCK=NONE",), ()),
    ("MY003", "mysql", ("CREATE TABLE p (sku INT)", "CREATE INDEX idx_sku ON p (sku)"), ()),
    ("MY003", "mysql", ("ALTER TABLE products ADD INDEX idx_sku (sku)",), ()),
    ("MY003", "mysql", ("ALTER TABLE products ADD UNIQUE KEY uq (sku)",), ()),
    ("PG008", "postgresql", ("REINDEX (CONCURRENTLY) INDEX idx",), ()),
    ("PG008", "postgresql", ("CREATE TABLE t (a int)", "REINDEX TABLE t"), ()),
    ("PG009", "postgresql", ("VACUUM ANALYZE orders",), ()),
    ("PG010", "postgresql", ("CREATE TABLE t (a int)", "CLUSTER t USING i"), ()),
    ("PG011", "postgresql", ("LOCK TABLE orders IN ACCESS SHARE MODE",), ()),
    ("PG012", "postgresql", ("ALTER TABLE orders SET (fillfactor = 70)",), ()),
    ("PG013", "postgresql", ("CREATE TABLE t (a int)", "ALTER TABLE t SET TABLESPACE x"), ()),
    ("PG014", "postgresql", ("ALTER TABLE orders DETACH PARTITION p CONCURRENTLY",), ()),
    ("PG015", "postgresql", ("ALTER DOMAIN d ADD CONSTRAINT c CHECK (VALUE > 0) NOT VALID",), ()),
    ("PG016", "postgresql", ("ALTER TABLE b ADD CONSTRAINT c CHECK (a > 0)",), ()),
    ("PG017", "postgresql", ("TRUNCATE orders",), ()),
    ("PG018", "postgresql", ("ALTER TABLE o ADD COLUMN p int",), ()),
    ("PG019", "postgresql", ("REFRESH MATERIALIZED VIEW CONCURRENTLY sales",), ()),
    (
        "PG019",
        "postgresql",
        ("CREATE MATERIALIZED VIEW v AS SELECT 1 AS a", "REFRESH MATERIALIZED VIEW v"),
        (),
    ),
    (
        "PG018",
        "postgresql",
        ("CREATE TABLE p (id int)", "ALTER TABLE o ADD COLUMN p int REFERENCES p"),
        (),
    ),
    ("MY004", "mysql", ("ALTER TABLE products ADD INDEX i (sku), LOCK=NONE",), ()),
    ("MY005", "mysql", ("ALTER TABLE products ADD COLUMN n INT DEFAULT 0",), ()),
    ("MY006", "mysql", ("ALTER TABLE products ADD COLUMN n INT",), ()),
    ("MY007", "mysql", ("ALTER TABLE p ADD COLUMN t INT AS (a + b) VIRTUAL",), ()),
    ("MY008", "mysql", ("ALTER TABLE p ADD INDEX i (c)",), ()),
    ("TX001", "postgresql", ("CREATE INDEX idx ON orders (ref)",), ()),
    ("TX001", "mysql", ("CREATE INDEX CONCURRENTLY i ON t (a)",), ()),
    ("TX002", "postgresql", ("ALTER TYPE s ADD VALUE 'x'", "UPDATE t SET s = 'y'"), ()),
    ("TX003", "postgresql", ("SAVEPOINT a",), ()),
    ("TX003", "postgresql", ("ROLLBACK TO SAVEPOINT a",), ()),
    ("STY001", "postgresql", ("CREATE TABLE t (id bigint PRIMARY KEY, n int)",), ()),
    ("STY001", "sqlite", ("CREATE TABLE t (id INTEGER PRIMARY KEY)",), ()),
    ("STY002", "postgresql", ("CREATE TABLE t (at timestamptz)",), ()),
    ("STY003", "postgresql", ("CREATE TABLE t (name text, v varchar)",), ()),
    ("STY004", "postgresql", ("CREATE TABLE t (id bigint GENERATED BY DEFAULT AS IDENTITY)",), ()),
    ("STY005", "postgresql", ("CREATE TABLE t (code varchar(3))",), ()),
    ("STY006", "postgresql", ("UPDATE t SET a = 1, b = a",), ()),
    ("STY007", "postgresql", (f"CREATE TABLE t ({'c' * 63} int)",), ()),
    ("STY007", "sqlite", (f"CREATE TABLE t ({'c' * 200} int)",), ()),
    ("SL001", "sqlite", ("DROP TABLE users",), ()),
    ("SL002", "sqlite", ("ALTER TABLE users ADD COLUMN nickname TEXT",), ()),
    ("SL003", "sqlite", ("ALTER TABLE users RENAME TO accounts",), ()),
    ("SL004", "sqlite", ("ALTER TABLE users ADD COLUMN status TEXT NOT NULL DEFAULT 'new'",), ()),
    ("SL004", "sqlite", ("ALTER TABLE users ADD COLUMN n INT AS (id + 1) VIRTUAL",), ()),
    (
        "SL004",
        "sqlite",
        ("CREATE TABLE t (id INTEGER)", "ALTER TABLE t ADD COLUMN s TEXT NOT NULL"),
        (),
    ),
    ("GEN001", "postgresql", ("CREATE TABLE tmp (a int)", "DROP TABLE tmp"), ()),
    ("GEN001", "sqlite", _REBUILD, ()),
    ("GEN002", "postgresql", ("UPDATE products SET price = 0 WHERE id = 1",), ()),
    ("GEN002", "postgresql", ("CREATE TABLE t (a int)", "UPDATE t SET a = 0"), ()),
    ("GEN003", "postgresql", ("ALTER TABLE products ADD COLUMN title text",), ()),
    ("GEN003", "mysql", ("ALTER TABLE products CHANGE price price DECIMAL(12,2)",), ()),
]


OPTIONAL = tuple(r.id for r in RULES.values() if r.optional)


def _ids(cases: list[tuple[str, str, tuple[str, ...], tuple[str, ...]]]) -> list[str]:
    return [f"{rule}-{dialect}-{' '.join(sql[-1].split())[:40]}" for rule, dialect, sql, _ in cases]


@pytest.mark.parametrize(("rule", "dialect", "statements", "applied"), FIRES, ids=_ids(FIRES))
def test_lint__positive_example__rule_fires(
    rule: str, dialect: str, statements: tuple[str, ...], applied: tuple[str, ...]
) -> None:
    found = lint(statements, dialect, applied=applied, enabled=OPTIONAL)
    issues = [i for i in found if i.rule == rule]
    assert issues, found
    for issue in issues:
        assert issue.level is RULES[rule].level
        assert issue.fix == RULES[rule].fix
        assert issue.statement in statements
        assert issue.reason
        assert "\n" not in issue.reason


@pytest.mark.parametrize(("rule", "dialect", "statements", "applied"), QUIET, ids=_ids(QUIET))
def test_lint__negative_example__rule_quiet(
    rule: str, dialect: str, statements: tuple[str, ...], applied: tuple[str, ...]
) -> None:
    found = lint(statements, dialect, applied=applied, enabled=OPTIONAL)
    assert not [i for i in found if i.rule == rule]


def test_lint__every_rule__has_a_positive_and_a_negative_example() -> None:
    assert {rule for rule, *_ in FIRES} == set(RULES)
    assert {rule for rule, *_ in QUIET} == set(RULES)


def test_lint__sqlite_rebuild__flags_the_drop_only() -> None:
    issues = lint(_REBUILD, "sqlite")
    assert [(i.rule, i.statement) for i in issues] == [("SL001", "DROP TABLE users")]


def test_rules__registry__complete_and_well_formed() -> None:
    assert [rule_id for rule_id, _ in CHECKS] == list(RULES)
    for rule_id, rule in RULES.items():
        assert rule.id == rule_id
        assert rule.dialect in {*DIALECTS, "all"}
        assert isinstance(rule.level, Level)
        assert rule.summary
        assert rule.fix
        assert "\n" not in rule.summary + rule.fix
    errors = {r.id for r in RULES.values() if r.level is Level.ERROR}
    assert errors == {"PG002", "SL004", "TX001", "TX002", "TX003"}
    assert {r.id for r in RULES.values() if r.optional} == {f"STY00{n}" for n in range(1, 8)}
    with pytest.raises(TypeError):
        RULES["X"] = RULES["PG001"]  # type: ignore[index]


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE INDEX idx ON orders (a) -- timescape:ignore PG001",
        "CREATE INDEX idx ON orders (a) /* timescape:ignore PG001,PG007 */",
        "/* timescape:ignore pg007 PG001 */ CREATE INDEX idx ON orders (a)",
        "-- big table, reviewed: timescape:ignore GEN001, PG001\nCREATE INDEX idx ON orders (a)",
    ],
)
def test_lint__ignore_comment__silences_rule(sql: str) -> None:
    assert lint([sql], "postgresql") == []


def test_lint__ignore_comment__only_named_rules_and_statement() -> None:
    issues = lint(
        [
            "ALTER TABLE t ADD CONSTRAINT uq UNIQUE (a) -- timescape:ignore PG001",
            "CREATE INDEX idx ON orders (a)",
        ],
        "postgresql",
    )
    assert [i.rule for i in issues] == ["PG006", "PG001"]


def test_lint__ignore_inside_string__does_not_silence() -> None:
    sql = "UPDATE notes SET body = '-- timescape:ignore GEN002'"
    assert [i.rule for i in lint([sql], "sqlite")] == ["GEN002"]


def test_lint__disabled__silences_project_wide() -> None:
    statements = ["CREATE INDEX idx ON orders (a)", "DROP INDEX old_idx"]
    assert [i.rule for i in lint(statements, "postgresql")] == ["PG001", "PG007"]
    assert [i.rule for i in lint(statements, "postgresql", disabled={"pg001"})] == ["PG007"]
    assert lint(statements, "postgresql", disabled=["PG001", "PG007"]) == []


@pytest.mark.parametrize("new_table", ["orders", "ORDERS", "public.orders"])
def test_lint__new_tables__suppress_pg001(new_table: str) -> None:
    assert lint(["CREATE INDEX idx ON orders (a)"], "postgresql", new_tables=[new_table]) == []


def test_lint__several_hits__in_statement_then_rule_order() -> None:
    issues = lint(
        [
            "ALTER TABLE t ADD COLUMN a uuid DEFAULT gen_random_uuid(), DROP COLUMN b",
            "UPDATE t SET a = NULL",
        ],
        "postgresql",
    )
    assert [(i.rule, i.level) for i in issues] == [
        ("PG002", Level.ERROR),
        ("GEN001", Level.WARNING),
        ("GEN002", Level.WARNING),
    ]
    assert all(isinstance(i, LintIssue) for i in issues)


def test_lint__unknown_dialect__input_error() -> None:
    with pytest.raises(InputError):
        lint(["SELECT 1"], "db2")


def test_import__analysis_package__does_not_load_sqlglot() -> None:
    code = "import sys, timescape.analysis; print('sqlglot' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def _variants(sql: str) -> list[str]:
    variants = [
        sql.lower(),
        sql.upper(),
        "-- leading comment; DROP nothing\n" + sql,
        "/* before */ " + sql + " /* after */",
        sql + ";",
        sql + "\n-- trailing comment",
    ]
    if "--" not in sql and "#" not in sql:
        variants.append(sql.replace(" ", " \n\t  "))
    return variants


def test_corpus__incompatible_statements_rewritten__stay_incompatible() -> None:
    flipped = []
    for case in CORPUS:
        if case.effect.is_compatible:
            continue
        for sql in _variants(case.sql):
            finding = classify([sql], case.dialect, applied=case.applied)[0]
            if finding.effect.is_compatible:
                flipped.append((case.dialect, sql, finding.reason))
    assert flipped == []


# -- lint expectations in the corpus (issue 16) -----------------------------------------------

_LABELLED = [c for c in CORPUS if c.rules is not None]


def _fired(case: Case) -> set[str]:
    issues = lint([case.sql], case.dialect, applied=case.applied)
    return {i.rule for i in issues if not RULES[i.rule].optional}


@pytest.mark.parametrize("case", _LABELLED, ids=[c.id for c in _LABELLED])
def test_corpus__labelled_statement__exactly_its_rules_fire(case: Case) -> None:
    assert _fired(case) == set(case.rules or ())


def hazard_table() -> str:
    """Hazards caught / missed and false alarms of lint, per dialect, over the labelled corpus.

    Run ``python -c "from tests.unit.test_analysis import hazard_table; print(hazard_table())"``.
    """
    lines = ["dialect      labelled  hazards  caught  missed  false alarms"]
    for dialect in DIALECTS:
        cases = [c for c in _LABELLED if c.dialect == dialect]
        hazards = [c for c in cases if c.is_hazard]
        caught = sum(1 for c in hazards if _fired(c))
        false = sum(1 for c in cases if not c.is_hazard and _fired(c))
        lines.append(
            f"{dialect:<12} {len(cases):>8} {len(hazards):>8} {caught:>7} "
            f"{len(hazards) - caught:>7} {false:>13}"
        )
    return "\n".join(lines)


def test_corpus__lint_hazards__caught_and_counted() -> None:
    print("\n" + hazard_table())
    per_dialect = Counter(c.dialect for c in _LABELLED)
    assert all(per_dialect[d] >= 8 for d in DIALECTS), per_dialect
    assert any(c.is_hazard and not c.rules for c in _LABELLED)  # known gaps stay visible


# -- transaction context, optional rules, knowledge snapshots (issue 16) -----------------------


@pytest.mark.parametrize(
    ("dialect", "sql"),
    [
        ("postgresql", "CREATE INDEX CONCURRENTLY i ON orders (a)"),
        ("postgresql", "COMMIT"),
        ("sqlite", "VACUUM"),
        ("mysql", "SET autocommit = 0"),
    ],
)
def test_lint__tx_rules__quiet_when_schema_not_transactional(dialect: str, sql: str) -> None:
    assert {i.rule for i in lint([sql], dialect)} & {"TX001", "TX003"}
    assert not [i for i in lint([sql], dialect, transactional=False) if i.rule.startswith("TX")]


def test_lint__tx002__names_the_statement_using_the_value() -> None:
    statements = ["ALTER TYPE s ADD VALUE 'gone'", "SELECT 1", "DELETE FROM t WHERE s = 'gone'"]
    issues = lint(statements, "postgresql")
    assert [(i.rule, i.index) for i in issues] == [("TX002", 0)]
    assert "DELETE FROM t WHERE s = 'gone'" in issues[0].reason
    assert lint(statements, "postgresql", transactional=False) == []


def test_lint__optional_rules__off_unless_enabled() -> None:
    sql = ["CREATE TABLE t (id int PRIMARY KEY, at timestamp, code char(2))"]
    assert lint(sql, "postgresql") == []
    rules = [i.rule for i in lint(sql, "postgresql", enabled=["sty001", "STY005"])]
    assert rules == ["STY001", "STY005"]
    assert lint(sql, "postgresql", enabled=["STY001"], disabled=["STY001"]) == []


def test_knowledge__snapshot__same_verdicts_as_applied_statements() -> None:
    applied = [c for case in CORPUS for c in case.applied]
    prior = Knowledge("postgresql").then(applied)
    for case in CORPUS:
        if case.applied and case.dialect == "postgresql":
            with_prior = classify(
                [case.sql], case.dialect, prior=Knowledge(case.dialect).then(case.applied)
            )
            assert with_prior == classify([case.sql], case.dialect, applied=case.applied)
    # A snapshot never changes: what a run learns stays in that run.
    classify(["DROP TABLE products", "CREATE TABLE products (id int)"], "postgresql", prior=prior)
    assert (
        classify(["ALTER TABLE products DROP COLUMN name"], "postgresql", prior=prior)[0].effect
        is B
    )
    assert prior.then(["CREATE TABLE x (a int)"]) is not prior


def test_knowledge__run_changes_a_column__snapshot_keeps_the_old_type() -> None:
    prior = Knowledge("postgresql").then(["CREATE TABLE t (c varchar(10))"])
    narrowed = classify(["ALTER TABLE t ALTER COLUMN c TYPE varchar(5)"], "postgresql", prior=prior)
    assert narrowed[0].effect is B
    # The run above learned c = varchar(5) in its own copy; the snapshot still says varchar(10).
    again = classify(["ALTER TABLE t ALTER COLUMN c TYPE varchar(8)"], "postgresql", prior=prior)
    assert again[0].effect is B, again[0].reason
    after = prior.then(["ALTER TABLE t ALTER COLUMN c TYPE varchar(5)"])
    widened = classify(["ALTER TABLE t ALTER COLUMN c TYPE varchar(8)"], "postgresql", prior=after)
    assert widened[0].effect is A, widened[0].reason
    assert (
        classify(["ALTER TABLE t ALTER COLUMN c TYPE varchar(8)"], "postgresql", prior=prior)[
            0
        ].effect
        is B
    )


def test_schema_reader__chain__reads_each_ancestor_once_and_agrees() -> None:
    def split(text: str) -> list[object]:
        return list(split_statements(text, "postgresql"))

    schemas = [SchemaVersion.build("s0", (Step("CREATE TABLE t (a varchar(10))", None, "s"),))]
    for i in range(1, 30):
        sql = f"ALTER TABLE t ALTER COLUMN a TYPE varchar({10 + i})"
        schemas.append(SchemaVersion.build(f"s{i}", (Step(sql, None, "s"),), parent=f"s{i - 1}"))
    catalog = Catalog(schemas, [])
    reader = SchemaReader(catalog, "postgresql", split)
    for schema in schemas:
        ancestors = [
            catalog.schema(n)
            for n in catalog.graph.topological(catalog.graph.ancestors(schema.name))
        ]
        slow = infer_schema(schema, "postgresql", split, ancestors=ancestors)
        assert infer_schema(schema, "postgresql", split, reader=reader)[2] == slow[2]
    assert infer_schema(schemas[-1], "postgresql", split, reader=reader)[2][0].effect is A
    assert len(reader._sql) == len(schemas)
