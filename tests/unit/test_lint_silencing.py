"""``timescape:ignore`` comments beside a statement (pure: the splitter, the finder and lint)."""

from __future__ import annotations

import pytest

from timescape.analysis import attached_ignores, lint
from timescape.store.split import Dialect, split_statements


def _attached(sql: str, dialect: Dialect = "postgresql") -> list[set[str]]:
    texts = [s.text for s in split_statements(sql, dialect)]
    return [set(ids) for ids in attached_ignores(sql, texts, dialect)]


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("-- timescape:ignore PG001\nCREATE INDEX a ON t (x);\nSELECT 1", [{"PG001"}, set()]),
        ("CREATE INDEX a ON t (x); -- timescape:ignore PG001\nSELECT 1", [{"PG001"}, set()]),
        ("SELECT 1\n; -- timescape:ignore GEN002\nUPDATE t SET x = 1", [{"GEN002"}, set()]),
        ("/* timescape:ignore PG001 */ CREATE INDEX a ON t (x)", [{"PG001"}]),
        ("-- timescape:ignore PG001\n-- why: small table\nCREATE INDEX a ON t (x)", [{"PG001"}]),
        ("-- timescape:ignore PG001\n\nCREATE INDEX a ON t (x)", [set()]),
        ("SELECT 1; -- note\n-- timescape:ignore PG007\nDROP INDEX a", [set(), {"PG007"}]),
        ("SELECT 1; /* timescape:ignore GEN002 */ UPDATE t SET x = 1", [{"GEN002"}, set()]),
        ("UPDATE t SET x = 1 -- timescape:ignore gen002", [{"GEN002"}]),
        (
            "/* SELECT 1 */ SELECT 1 /* SELECT 1 */; SELECT 1 -- timescape:ignore X1",
            [set(), {"X1"}],
        ),
        ("SELECT '-- timescape:ignore X1'; SELECT 2", [set(), set()]),
        ("/* a /* timescape:ignore X1 */ b */\nSELECT 1", [{"X1"}]),
    ],
)
def test_attached_ignores__placements__attach_to_the_right_statement(
    sql: str, expected: list[set[str]]
) -> None:
    assert _attached(sql) == expected


def test_attached_ignores__mysql_comments_and_delimiter__attach() -> None:
    sql = (
        "# timescape:ignore MY003\nALTER TABLE t ADD INDEX a (x);\n"
        "DELIMITER //\n-- timescape:ignore X1\nCREATE TRIGGER g BEFORE INSERT ON t FOR EACH ROW "
        "BEGIN SET NEW.x = 1; END//\nDELIMITER ;\n"
        "/*! SET @a = 1 */; --not-a-comment\nSELECT 1"
    )
    assert _attached(sql, "mysql") == [{"MY003"}, {"X1"}, set(), set()]


def test_attached_ignores__texts_not_from_the_script__empty_sets() -> None:
    assert attached_ignores("SELECT 1", ["SELECT 2", "SELECT 1"], "sqlite") == [set(), set()]


def test_lint__ignored_per_statement__silences_that_statement_only() -> None:
    statements = ["CREATE INDEX a ON t (x)", "CREATE INDEX a ON t (x)", "CREATE INDEX b ON t (y)"]
    issues = lint(statements, "postgresql", ignored=[{"pg001"}])
    assert [(i.rule, i.index) for i in issues] == [("PG001", 1), ("PG001", 2)]
