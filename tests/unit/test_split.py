"""Statement splitting per dialect, and transaction breakers (pure)."""

from __future__ import annotations

import pytest

from timescape.errors import InputError, SQLSplitError
from timescape.store.breakers import transaction_breaker
from timescape.store.split import Dialect, Statement, split_statements

DIALECTS: tuple[Dialect, ...] = ("sqlite", "postgresql", "mysql")


def texts(sql: str, dialect: Dialect) -> list[str]:
    return [statement.text for statement in split_statements(sql, dialect)]


def split_error(sql: str, dialect: Dialect) -> SQLSplitError:
    with pytest.raises(SQLSplitError) as caught:
        split_statements(sql, dialect)
    return caught.value


# -- every dialect -------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
def test_split__semicolon_in_string__one_statement(dialect: Dialect) -> None:
    assert texts("INSERT INTO t VALUES ('a;b'); SELECT 2", dialect) == [
        "INSERT INTO t VALUES ('a;b')",
        "SELECT 2",
    ]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_split__doubled_quote_in_string__string_continues(dialect: Dialect) -> None:
    assert texts("SELECT 'it''s; fine'; SELECT 2", dialect) == ["SELECT 'it''s; fine'", "SELECT 2"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_split__semicolon_in_double_quotes__one_statement(dialect: Dialect) -> None:
    assert texts('SELECT 1 AS "a;""b"; SELECT 2', dialect) == ['SELECT 1 AS "a;""b"', "SELECT 2"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_split__semicolon_in_line_comment__comment_kept_inside(dialect: Dialect) -> None:
    sql = "SELECT 1 -- not here; nor here\n + 1;\nSELECT 2"
    assert texts(sql, dialect) == ["SELECT 1 -- not here; nor here\n + 1", "SELECT 2"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_split__semicolon_in_block_comment__comment_kept_inside(dialect: Dialect) -> None:
    sql = "SELECT /* a; b;\n c */ 1; SELECT 2"
    assert texts(sql, dialect) == ["SELECT /* a; b;\n c */ 1", "SELECT 2"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_split__empty_statements__skipped(dialect: Dialect) -> None:
    assert texts(";;SELECT 1;; ;\n;SELECT 2;;", dialect) == ["SELECT 1", "SELECT 2"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_split__final_statement_without_semicolon__kept(dialect: Dialect) -> None:
    assert texts("SELECT 1;\nSELECT 2\n", dialect) == ["SELECT 1", "SELECT 2"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_split__trailing_comment_without_semicolon__no_statement(dialect: Dialect) -> None:
    assert texts("SELECT 1;\n-- the end; really\n/* done; */\n", dialect) == ["SELECT 1"]


@pytest.mark.parametrize(
    "sql", ["", "   \n\t", "-- only a comment", "/* only; a comment */", ";;\n;", "\ufeff"]
)
@pytest.mark.parametrize("dialect", DIALECTS)
def test_split__nothing_to_run__empty_list(sql: str, dialect: Dialect) -> None:
    assert split_statements(sql, dialect) == []


@pytest.mark.parametrize("dialect", DIALECTS)
def test_split__comments_around_statement__outside_text(dialect: Dialect) -> None:
    sql = "-- create users\n/* v1 */ CREATE TABLE users (id INT) /* trailing */ -- note\n;"
    assert split_statements(sql, dialect) == [Statement("CREATE TABLE users (id INT)", 2)]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_split__multiline_text__line_of_first_token(dialect: Dialect) -> None:
    sql = "\n\n  SELECT 1;\n-- comment\n\nSELECT\n  2; SELECT 3;\n\n\n-- x\n  SELECT 4"
    assert split_statements(sql, dialect) == [
        Statement("SELECT 1", 3),
        Statement("SELECT\n  2", 6),
        Statement("SELECT 3", 7),
        Statement("SELECT 4", 11),
    ]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_split__crlf_line_endings__lines_counted(dialect: Dialect) -> None:
    sql = "SELECT 1;\r\n\r\nSELECT 'a\r\nb';\r\nSELECT 3\r\n"
    assert split_statements(sql, dialect) == [
        Statement("SELECT 1", 1),
        Statement("SELECT 'a\r\nb'", 3),
        Statement("SELECT 3", 5),
    ]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_split__byte_order_mark__ignored(dialect: Dialect) -> None:
    assert split_statements("\ufeffSELECT 1", dialect) == [Statement("SELECT 1", 1)]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_split__unterminated_string__raises_at_its_line(dialect: Dialect) -> None:
    error = split_error("SELECT 1;\nSELECT 'abc;\nSELECT 3;", dialect)
    assert error.line == 2
    assert "unterminated string literal" in error.reason


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("quote", ["'", '"'])
def test_split__unterminated_string_with_doubled_quote__raises_where_it_opens(
    dialect: Dialect, quote: str
) -> None:
    sql = f"SELECT 1;\nSELECT {quote}a\nit{quote}{quote}s\n;"
    assert split_error(sql, dialect).line == 2
    compound = f"CREATE TRIGGER t BEGIN\nSELECT {quote}a\nit{quote}{quote}s;"
    assert split_error(compound, dialect).line == 2


@pytest.mark.parametrize("dialect", DIALECTS)
def test_split__unterminated_block_comment__raises_at_its_line(dialect: Dialect) -> None:
    error = split_error("SELECT 1;\n\n/* open;\nSELECT 2;", dialect)
    assert (error.line, error.exit_code) == (3, 2)
    assert "unterminated block comment" in error.reason


@pytest.mark.parametrize("dialect", DIALECTS)
def test_split__unterminated_double_quote__raises_at_its_line(dialect: Dialect) -> None:
    assert split_error('SELECT 1;\nSELECT "a;\n', dialect).line == 2


def test_split__unknown_dialect__raises_input_error() -> None:
    with pytest.raises(InputError, match="unknown SQL dialect 'oracle'"):
        split_statements("SELECT 1", "oracle")  # type: ignore[arg-type]


# -- sqlite --------------------------------------------------------------------------------------


def test_split__sqlite_backtick_and_bracket_identifiers__one_statement() -> None:
    sql = "SELECT 1 AS `a;b`, 2 AS [c;d]; SELECT 2"
    assert texts(sql, "sqlite") == ["SELECT 1 AS `a;b`, 2 AS [c;d]", "SELECT 2"]


def test_split__sqlite_backslash_in_string__not_an_escape() -> None:
    assert texts(r"SELECT 'a\'; SELECT 2", "sqlite") == [r"SELECT 'a\'", "SELECT 2"]


def test_split__sqlite_block_comments__not_nested() -> None:
    assert texts("/* a /* b */ SELECT 1; SELECT 2", "sqlite") == ["SELECT 1", "SELECT 2"]


SQLITE_TRIGGER = """CREATE TRIGGER audit AFTER UPDATE ON users
BEGIN
  UPDATE users SET seen = seen + 1 WHERE id = NEW.id;
  INSERT INTO log (msg) VALUES ('updated; id ' || NEW.id);
END"""


def test_split__sqlite_trigger_body__one_statement() -> None:
    sql = f"CREATE TABLE users (id INT);\n{SQLITE_TRIGGER};\nSELECT 3;"
    assert split_statements(sql, "sqlite") == [
        Statement("CREATE TABLE users (id INT)", 1),
        Statement(SQLITE_TRIGGER, 2),
        Statement("SELECT 3", 7),
    ]


def test_split__sqlite_trigger_with_case_end__one_statement() -> None:
    trigger = (
        "CREATE TEMP TRIGGER IF NOT EXISTS t1 BEFORE INSERT ON t "
        "WHEN CASE WHEN NEW.a > 0 THEN 1 ELSE 0 END BEGIN "
        "UPDATE t SET b = CASE NEW.a WHEN 1 THEN 'one;' ELSE CASE WHEN 1 THEN 2 END END; "
        "SELECT RAISE(ABORT, 'no; way') WHERE NEW.a < 0; END"
    )
    assert texts(f"{trigger}; SELECT 2", "sqlite") == [trigger, "SELECT 2"]


def test_split__sqlite_end_used_as_column_in_trigger__body_continues() -> None:
    trigger = "CREATE TRIGGER t1 AFTER INSERT ON t BEGIN UPDATE t SET end = 1; DELETE FROM u; END"
    assert texts(f"{trigger};SELECT 2", "sqlite") == [trigger, "SELECT 2"]


def test_split__sqlite_trigger_ending_the_text__kept() -> None:
    assert texts("CREATE TRIGGER t1 AFTER INSERT ON t BEGIN SELECT 1; END", "sqlite") == [
        "CREATE TRIGGER t1 AFTER INSERT ON t BEGIN SELECT 1; END"
    ]


def test_split__sqlite_unterminated_trigger__raises_at_begin() -> None:
    error = split_error(
        "SELECT 1;\nCREATE TRIGGER t1 AFTER INSERT ON t\nBEGIN\n SELECT 1;", "sqlite"
    )
    assert error.line == 3
    assert "BEGIN ... END block" in error.reason


def test_split__sqlite_transaction_begin__not_a_block() -> None:
    sql = "BEGIN; CREATE TABLE t (a); END TRANSACTION; SELECT CASE WHEN 1 THEN 2 END"
    assert texts(sql, "sqlite") == [
        "BEGIN",
        "CREATE TABLE t (a)",
        "END TRANSACTION",
        "SELECT CASE WHEN 1 THEN 2 END",
    ]


# -- postgresql ----------------------------------------------------------------------------------

PG_FUNCTION = """CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated := now(); -- ; here
  RAISE NOTICE 'it''s; done';
  RETURN NEW;
END;
$$"""


def test_split__postgresql_dollar_quoted_body__one_statement() -> None:
    sql = f"{PG_FUNCTION};\nSELECT 2;"
    assert split_statements(sql, "postgresql") == [
        Statement(PG_FUNCTION, 1),
        Statement("SELECT 2", 8),
    ]


def test_split__postgresql_tagged_dollar_quote__inner_dollars_ignored() -> None:
    function = (
        "CREATE FUNCTION f() RETURNS text AS $fn$ SELECT $$a;b$$ || $x$;$x$; $fn$ LANGUAGE sql"
    )
    assert texts(f"{function}; SELECT 2", "postgresql") == [function, "SELECT 2"]


def test_split__postgresql_dollar_in_identifier__no_dollar_quote() -> None:
    sql = "SELECT 1 AS a$$; SELECT $1; SELECT 3"
    assert texts(sql, "postgresql") == ["SELECT 1 AS a$$", "SELECT $1", "SELECT 3"]


def test_split__postgresql_nested_block_comment__one_comment() -> None:
    sql = "SELECT /* a /* b; */ c; */ 1; SELECT 2"
    assert texts(sql, "postgresql") == ["SELECT /* a /* b; */ c; */ 1", "SELECT 2"]


@pytest.mark.parametrize("prefix", ["E", "e"])
def test_split__postgresql_escape_string__backslash_escapes_quote(prefix: str) -> None:
    sql = f"SELECT {prefix}'it\\'s;'; SELECT 2"
    assert texts(sql, "postgresql") == [f"SELECT {prefix}'it\\'s;'", "SELECT 2"]


def test_split__postgresql_standard_string__backslash_is_literal() -> None:
    assert texts(r"SELECT 'a\'; SELECT 2", "postgresql") == [r"SELECT 'a\'", "SELECT 2"]


def test_split__postgresql_identifier_ending_in_e__not_an_escape_string() -> None:
    assert texts(r"SELECT somE'a\'; SELECT 2", "postgresql") == [r"SELECT somE'a\'", "SELECT 2"]


def test_split__postgresql_begin_atomic_body__one_statement() -> None:
    procedure = (
        "CREATE PROCEDURE p(a int) LANGUAGE sql BEGIN ATOMIC\n"
        "  INSERT INTO t VALUES (CASE WHEN a > 0 THEN a ELSE 0 END);\n"
        "  UPDATE t SET b = 1;\n"
        "END"
    )
    assert texts(f"{procedure};\nSELECT 2", "postgresql") == [procedure, "SELECT 2"]


def test_split__postgresql_parameter_named_begin__no_block() -> None:
    sql = "CREATE FUNCTION f(begin int) RETURNS int LANGUAGE sql RETURN begin; SELECT 2"
    assert texts(sql, "postgresql") == [
        "CREATE FUNCTION f(begin int) RETURNS int LANGUAGE sql RETURN begin",
        "SELECT 2",
    ]


def test_split__postgresql_transaction_begin__not_a_block() -> None:
    assert texts("BEGIN; SELECT 1; COMMIT", "postgresql") == ["BEGIN", "SELECT 1", "COMMIT"]


def test_split__postgresql_line_comment__ends_at_carriage_return() -> None:
    assert texts("SELECT 1 -- x\r;SELECT 2", "postgresql") == ["SELECT 1", "SELECT 2"]


def test_split__postgresql_unterminated_dollar_quote__raises_at_tag() -> None:
    error = split_error("SELECT 1;\nCREATE FUNCTION f() AS $body$\nSELECT 1;\n$$;", "postgresql")
    assert error.line == 2
    assert "$body$" in error.reason


def test_split__postgresql_unterminated_nested_comment__raises() -> None:
    assert split_error("SELECT 1;\n/* a /* b */ c;\nSELECT 2", "postgresql").line == 2


def test_split__postgresql_unterminated_escape_string__raises() -> None:
    assert split_error("SELECT E'abc\\';\nSELECT 2", "postgresql").line == 1


def test_split__postgresql_unterminated_begin_atomic__raises_at_begin() -> None:
    sql = "CREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n SELECT 1;"
    error = split_error(sql, "postgresql")
    assert error.line == 2
    assert "BEGIN ... END block" in error.reason


# -- mysql ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        r"SELECT 'it\'s;'",
        r'SELECT "a\";"',
        r"SELECT 'a\\'",
        "SELECT `a;``b`",
        "SELECT _utf8mb4'x;'",
    ],
)
def test_split__mysql_quotes__one_statement(statement: str) -> None:
    assert texts(f"{statement}; SELECT 2", "mysql") == [statement, "SELECT 2"]


def test_split__mysql_hash_comment__comment_kept_inside() -> None:
    assert texts("SELECT 1 # a; b\n+ 1; SELECT 2", "mysql") == ["SELECT 1 # a; b\n+ 1", "SELECT 2"]


@pytest.mark.parametrize("after", [" ", "\t", "\n"])
def test_split__mysql_dash_comment_before_whitespace__comment(after: str) -> None:
    assert texts(f"SELECT 1 --{after}\n; SELECT 2", "mysql") == ["SELECT 1", "SELECT 2"]
    assert texts(f"SELECT 1 --{after}-;x\n; SELECT 2", "mysql")[-1] == "SELECT 2"


def test_split__mysql_double_dash_without_space__not_a_comment() -> None:
    assert texts("SELECT 1--1; SELECT 2", "mysql") == ["SELECT 1--1", "SELECT 2"]


def test_split__mysql_executable_comment__statement_text() -> None:
    sql = "/*!40101 SET NAMES utf8mb4 */;\n/*!50003 CREATE TRIGGER t1 BEGIN SELECT 1; END */;"
    assert split_statements(sql, "mysql") == [
        Statement("/*!40101 SET NAMES utf8mb4 */", 1),
        Statement("/*!50003 CREATE TRIGGER t1 BEGIN SELECT 1; END */", 2),
    ]


MYSQL_PROCEDURE = """CREATE DEFINER=`root`@`localhost` PROCEDURE fill(IN n INT)
BEGIN
  DECLARE i INT DEFAULT 0;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
  IF n > 0 THEN
    SELECT IF(n > 10, 'big;', 'small;') INTO @size;
  ELSEIF n < 0 THEN
    SET n = 0;
  ELSE
    BEGIN
      SET i = 1;
    END;
  END IF;
  CASE n WHEN 1 THEN SET i = 2; ELSE SET i = CASE WHEN n > 2 THEN 3 ELSE 4 END; END CASE;
  IF NOT EXISTS (SELECT 1 FROM t) THEN CREATE TABLE IF NOT EXISTS t (a INT); END IF;
  ins: LOOP
    INSERT INTO t VALUES (REPEAT('x;', i));
    SET i = i + 1;
    IF i >= n THEN LEAVE ins; END IF;
  END LOOP ins;
  WHILE i > 0 DO SET i = i - 1; END WHILE;
  REPEAT SET i = i + 1; UNTIL i > 3 END REPEAT;
END"""


def test_split__mysql_procedure_without_delimiter__one_statement() -> None:
    sql = f"CREATE TABLE t (a INT);\n{MYSQL_PROCEDURE};\nCALL fill(3);"
    assert split_statements(sql, "mysql") == [
        Statement("CREATE TABLE t (a INT)", 1),
        Statement(MYSQL_PROCEDURE, 2),
        Statement("CALL fill(3)", 25),
    ]


@pytest.mark.parametrize("delimiter", ["//", "$$", ";;", "|"])
def test_split__mysql_procedure_with_delimiter__one_statement(delimiter: str) -> None:
    sql = (
        f"DELIMITER {delimiter}\n{MYSQL_PROCEDURE}{delimiter}\n"
        f"SELECT '{delimiter}' {delimiter}\nDELIMITER ;\nCALL fill(3);"
    )
    assert split_statements(sql, "mysql") == [
        Statement(MYSQL_PROCEDURE, 2),
        Statement(f"SELECT '{delimiter}'", 25),
        Statement("CALL fill(3)", 27),
    ]


def test_split__mysql_custom_delimiter__semicolon_is_text() -> None:
    sql = "delimiter //\nSELECT 1; SELECT 2 //\n  DELIMITER   ;  \nSELECT 3"
    assert texts(sql, "mysql") == ["SELECT 1; SELECT 2", "SELECT 3"]


def test_split__mysql_delimiter_inside_statement__not_a_directive() -> None:
    sql = "SELECT a,\ndelimiter\nFROM t; SELECT 2"
    assert texts(sql, "mysql") == ["SELECT a,\ndelimiter\nFROM t", "SELECT 2"]


def test_split__mysql_delimiter_line_in_other_dialect__a_statement() -> None:
    assert texts("DELIMITER //\nSELECT 1", "postgresql") == ["DELIMITER //\nSELECT 1"]


@pytest.mark.parametrize(
    "line", ["DELIMITER", "DELIMITER // extra", "DELIMITER '//'", "DELIMITER \\"]
)
def test_split__mysql_malformed_delimiter__raises_at_its_line(line: str) -> None:
    error = split_error(f"SELECT 1;\n{line}\nSELECT 2", "mysql")
    assert error.line == 2
    assert "DELIMITER" in error.reason


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE FUNCTION f(x INT) RETURNS INT DETERMINISTIC RETURN IF(x > 0, x, 0)",
        "CREATE TRIGGER t1 BEFORE INSERT ON t FOR EACH ROW SET NEW.a = IF(NEW.a < 0, 0, NEW.a)",
        "CREATE TRIGGER t1 BEFORE INSERT ON t FOR EACH ROW SET NEW.s = REPEAT('x', 2)",
        "CREATE PROCEDURE IF NOT EXISTS p() SELECT 1",
        "CREATE TABLE event (begin INT, `end` INT)",
    ],
)
def test_split__mysql_routine_without_block__ends_at_semicolon(statement: str) -> None:
    assert texts(f"{statement}; SELECT 2", "mysql") == [statement, "SELECT 2"]


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TRIGGER t1 BEFORE INSERT ON t FOR EACH ROW IF NEW.a < 0 THEN SET NEW.a = 0; END IF",
        (
            "CREATE TRIGGER t1 BEFORE INSERT ON t FOR EACH ROW FOLLOWS t0 "
            "CASE WHEN NEW.a < 0 THEN SET NEW.a = 0; ELSE SET NEW.a = 1; END CASE"
        ),
        "CREATE PROCEDURE p() COMMENT 'c' WHILE @a < 3 DO SET @a = @a + 1; END WHILE",
        "CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO BEGIN DELETE FROM t; DELETE FROM u; END",
        "ALTER EVENT e DO BEGIN DELETE FROM t; END",
        "BEGIN NOT ATOMIC DECLARE x INT; SET x = 1; END",
        "IF @a > 0 THEN SELECT 1; ELSE SELECT 2; END IF",
    ],
)
def test_split__mysql_compound_body__one_statement(statement: str) -> None:
    assert texts(f"{statement};\nSELECT 2", "mysql") == [statement, "SELECT 2"]


def test_split__mysql_transaction_begin__not_a_block() -> None:
    assert texts("BEGIN; INSERT INTO t VALUES (1); COMMIT;", "mysql") == [
        "BEGIN",
        "INSERT INTO t VALUES (1)",
        "COMMIT",
    ]


def test_split__mysql_unterminated_procedure__raises_at_begin() -> None:
    sql = "SELECT 1;\nCREATE PROCEDURE p()\nBEGIN\n  IF 1 THEN SELECT 1; END IF;\n"
    error = split_error(sql, "mysql")
    assert error.line == 3
    assert "BEGIN ... END block" in error.reason


def test_split__mysql_unterminated_bare_if__raises_at_if() -> None:
    error = split_error("CREATE TRIGGER t1 BEFORE INSERT ON t FOR EACH ROW\nIF 1 THEN", "mysql")
    assert error.line == 2
    assert "IF ... END IF" in error.reason


def test_split__mysql_unterminated_backtick__raises() -> None:
    assert split_error("SELECT 1;\n\nSELECT `a;", "mysql").line == 3


def test_split__many_statements__all_split() -> None:
    sql = "".join(f"INSERT INTO t VALUES ({i}, 'v;{i}');\n" for i in range(10_000))
    statements = split_statements(sql, "postgresql")
    assert len(statements) == 10_000
    assert statements[-1] == Statement("INSERT INTO t VALUES (9999, 'v;9999')", 10_000)


# -- transaction breakers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        ("BEGIN", "BEGIN starts a transaction of its own"),
        ("begin work", "BEGIN starts a transaction of its own"),
        ("START TRANSACTION ISOLATION LEVEL SERIALIZABLE", "START TRANSACTION starts"),
        ("COMMIT", "COMMIT would end the migration transaction"),
        ("END", "END would commit"),
        ("ROLLBACK", "ROLLBACK would end the migration transaction"),
        ("ABORT", "ABORT would roll back"),
        ("COMMIT PREPARED 'x'", "COMMIT PREPARED cannot run inside a transaction block"),
        ("PREPARE TRANSACTION 'x'", "PREPARE TRANSACTION would end"),
        ("VACUUM (VERBOSE) t", "VACUUM cannot run inside a transaction block"),
        (
            "CREATE INDEX CONCURRENTLY i ON t (a)",
            "CREATE INDEX CONCURRENTLY cannot run inside a transaction block",
        ),
        ("create unique index concurrently i on t (a)", "CREATE INDEX CONCURRENTLY cannot"),
        ("DROP INDEX CONCURRENTLY IF EXISTS i", "DROP INDEX CONCURRENTLY cannot"),
        ("REINDEX (VERBOSE) TABLE CONCURRENTLY t", "REINDEX CONCURRENTLY cannot"),
        ("REINDEX DATABASE d", "REINDEX DATABASE cannot"),
        ("CREATE DATABASE d", "CREATE DATABASE cannot"),
        ("DROP TABLESPACE s", "DROP TABLESPACE cannot"),
        ("ALTER SYSTEM SET work_mem = '64MB'", "ALTER SYSTEM cannot"),
        ("DISCARD ALL", "DISCARD ALL cannot"),
        ("ALTER TABLE p DETACH PARTITION c CONCURRENTLY", "DETACH PARTITION CONCURRENTLY cannot"),
        ("-- why\n/* note */ VACUUM", "VACUUM cannot"),
        ("ROLLBACK WORK AND CHAIN", "ROLLBACK would end the migration transaction"),
        ("REINDEX INDEX CONCURRENTLY i", "REINDEX CONCURRENTLY cannot"),
        ("CREATE INDEX\n\tCONCURRENTLY i ON t (a)", "CREATE INDEX CONCURRENTLY cannot"),
        ("CREATE INDEX /* x */ CONCURRENTLY i ON t (a)", "CREATE INDEX CONCURRENTLY cannot"),
    ],
)
def test_transaction_breaker__postgresql_breaker__reason(statement: str, reason: str) -> None:
    assert reason in (transaction_breaker(statement, "postgresql") or "")


@pytest.mark.parametrize(
    "statement",
    [
        "SAVEPOINT s",
        "RELEASE SAVEPOINT s",
        "ROLLBACK TO SAVEPOINT s",
        "ROLLBACK WORK TO s",
        "ALTER TYPE mood ADD VALUE 'meh'",
        "CREATE INDEX i ON t (a)",
        "CREATE INDEX i_concurrently ON t (a)",
        'CREATE INDEX "CONCURRENTLY" ON t (a)',
        "DROP INDEX i",
        "REINDEX TABLE t",
        "REFRESH MATERIALIZED VIEW CONCURRENTLY v",
        "ALTER TABLE p DETACH PARTITION c",
        "SELECT 'COMMIT'",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END",
        "",
    ],
)
def test_transaction_breaker__postgresql_fine__none(statement: str) -> None:
    assert transaction_breaker(statement, "postgresql") is None


@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        ("BEGIN IMMEDIATE", "BEGIN cannot run inside the migration transaction"),
        ("COMMIT TRANSACTION", "COMMIT would end"),
        ("END", "END would commit"),
        ("ROLLBACK", "ROLLBACK would end"),
        ("VACUUM", "VACUUM cannot run inside a transaction"),
        ("PRAGMA foreign_keys = OFF", "PRAGMA foreign_keys is a no-op inside a transaction"),
        ("pragma main.foreign_keys=0", "PRAGMA foreign_keys is a no-op"),
        ("PRAGMA journal_mode(WAL)", "PRAGMA journal_mode cannot change"),
        ("ATTACH DATABASE 'x.db' AS x", "ATTACH cannot run inside a transaction"),
        ("DETACH x", "DETACH cannot run inside a transaction"),
    ],
)
def test_transaction_breaker__sqlite_breaker__reason(statement: str, reason: str) -> None:
    assert reason in (transaction_breaker(statement, "sqlite") or "")


@pytest.mark.parametrize(
    "statement",
    [
        "SAVEPOINT s",
        "RELEASE s",
        "ROLLBACK TO s",
        "ROLLBACK TRANSACTION TO SAVEPOINT s",
        "PRAGMA foreign_keys",
        "PRAGMA user_version = 3",
        "CREATE TRIGGER t1 AFTER INSERT ON t BEGIN SELECT 1; END",
    ],
)
def test_transaction_breaker__sqlite_fine__none(statement: str) -> None:
    assert transaction_breaker(statement, "sqlite") is None


@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        ("BEGIN", "BEGIN implicitly commits the migration transaction"),
        ("BEGIN WORK", "BEGIN implicitly commits"),
        ("START TRANSACTION READ WRITE", "START TRANSACTION implicitly commits"),
        ("COMMIT AND NO CHAIN", "COMMIT would end"),
        ("ROLLBACK WORK", "ROLLBACK would end"),
        ("SET autocommit = 0", "SET autocommit"),
        ("SET @@SESSION.autocommit=1", "SET autocommit"),
        ("SET sql_mode = '', AUTOCOMMIT = 0", "SET autocommit"),
    ],
)
def test_transaction_breaker__mysql_breaker__reason(statement: str, reason: str) -> None:
    assert reason in (transaction_breaker(statement, "mysql") or "")


@pytest.mark.parametrize(
    "statement",
    [
        "BEGIN NOT ATOMIC SELECT 1; END",
        "SAVEPOINT s",
        "ROLLBACK TO SAVEPOINT s",
        "ROLLBACK WORK TO s",
        "SET @autocommit = 0",
        "SET x = 'autocommit'",
        "CREATE TABLE t (a INT)",
        "LOCK INSTANCE FOR BACKUP",
        "LOCK TABLES t WRITE",  # mysqldump's; steps run outside a transaction on MySQL
        "UNLOCK TABLES",
    ],
)
def test_transaction_breaker__mysql_fine__none(statement: str) -> None:
    assert transaction_breaker(statement, "mysql") is None


@pytest.mark.parametrize("statement", ["BEGIN ", "BEGIN;", " begin work ;\n", "COMMIT;"])
def test_transaction_breaker__mysql_trailing_blank_or_semicolon__still_reported(
    statement: str,
) -> None:
    assert transaction_breaker(statement, "mysql") is not None


def test_transaction_breaker__unknown_dialect__raises_input_error() -> None:
    with pytest.raises(InputError, match="unknown SQL dialect"):
        transaction_breaker("COMMIT", "oracle")  # type: ignore[arg-type]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_transaction_breaker__split_output__one_reason_per_breaker(dialect: Dialect) -> None:
    sql = "CREATE TABLE t (a INT);\n-- done\nCOMMIT;\nSELECT 'ROLLBACK';"
    reasons = [transaction_breaker(s.text, dialect) for s in split_statements(sql, dialect)]
    assert reasons == [None, "COMMIT would end the migration transaction", None]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_transaction_breaker__unterminated_leading_comment__raises(dialect: Dialect) -> None:
    with pytest.raises(SQLSplitError):
        transaction_breaker("/* COMMIT", dialect)


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite", "mysql"])
def test_transaction_breaker__leading_words_shortcut__same_answer_as_lexing(
    dialect: Dialect,
) -> None:
    # Every breaker prefix, with each word followed by a word that ends it, one that continues
    # it and one that does not: the shortcut on plain leading words answers as the lexer does.
    from timescape.store import breakers  # noqa: PLC0415 - the private rules, for coverage

    words = {w for prefix, _ in breakers._BREAKERS[dialect] for w in prefix.split()}
    tails = ["", " x", " TO s", " AND CHAIN", " CONCURRENTLY i ON t (a)", " INDEX i ON t (a)"]
    statements = {
        " ".join(prefix.split()[:n]) + tail
        for prefix, _ in breakers._BREAKERS[dialect]
        for n in range(1, len(prefix.split()) + 1)
        for tail in tails
    } | {f"{a} {b} {c}" for a in words for b in words for c in ("x", "TO", "CONCURRENTLY")}
    for statement in sorted(statements):
        lexed = transaction_breaker("/**/" + statement, dialect)  # a comment: the lexer's path
        assert transaction_breaker(statement, dialect) == lexed, statement
