"""Lint migration statements for operational hazards: long locks, table rewrites, lost data.

Where :mod:`~timescape.analysis.classifier` asks "does this break older code?", lint asks "is this a
safe way to do it on a live database?". Each rule has a stable id, a level, and a one-line fix.
ERROR-level issues make ``timescape schema check`` fail; WARNING-level ones are reported.

Silencing: ``-- timescape:ignore PG001`` (or ``/* timescape:ignore PG001,PG002 */``) anywhere in a
statement silences those rules for that statement; so does one on the line(s) directly above it, or
after its ``;`` on its last line, which the splitter leaves out of the statement:
:func:`~timescape.analysis.attached_ignores` finds those and ``lint(..., ignored=...)`` takes them.
``disabled`` silences rules project-wide.

Added in 0.2.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from timescape.analysis._checks import CHECKS, Context
from timescape.analysis._known import Known
from timescape.analysis._names import dialect_name, parse
from timescape.analysis._statement import Statement, rebuilt_tables
from timescape.analysis._text import ignored_rules, tokenize
from timescape.analysis.classifier import learn
from timescape.analysis.knowledge import Knowledge

__all__ = ["RULES", "Level", "LintIssue", "Rule", "lint"]


class Level(StrEnum):
    """How serious a lint issue is."""

    WARNING = "warning"
    """Reported; does not fail ``schema check``."""
    ERROR = "error"
    """Fails ``schema check`` (exit 1) unless silenced."""


@dataclass(frozen=True, slots=True)
class Rule:
    """A lint rule, for documentation and for ``disabled`` lists.

    Attributes:
        id: Stable id, e.g. ``"PG001"``.
        dialect: ``"postgresql"``, ``"mysql"``, ``"sqlite"``, or ``"all"``.
        level: The level of its issues.
        summary: One line: what it catches.
        fix: One line: what to do instead.
        optional: Off unless a project enables it (``[lint] enabled``): a style preference
            rather than a hazard. Added in 0.3.
    """

    id: str
    dialect: str
    level: Level
    summary: str
    fix: str
    optional: bool = False


@dataclass(frozen=True, slots=True)
class LintIssue:
    """One rule firing on one statement.

    Attributes:
        rule: The rule id, e.g. ``"PG001"``.
        level: The rule's level.
        statement: The statement text, as given.
        reason: One line naming the objects involved.
        fix: One line: what to do instead.
        index: The statement's position in the ``statements`` given to :func:`lint` (0-based),
            so an issue can be traced back to its step and line even when two statements read
            the same. Added in 0.2.
    """

    rule: str
    level: Level
    statement: str
    reason: str
    fix: str
    index: int = 0


_W, _E = Level.WARNING, Level.ERROR
_RULE_LIST = (
    Rule(
        "PG001",
        "postgresql",
        _W,
        "CREATE INDEX without CONCURRENTLY on an existing table blocks its writes while building",
        "use CREATE INDEX CONCURRENTLY in a schema with transactional = false",
    ),
    Rule(
        "PG002",
        "postgresql",
        _E,
        "ADD COLUMN with a volatile default (random(), gen_random_uuid(), clock_timestamp(), "
        "serial, identity, stored generated) rewrites the table under ACCESS EXCLUSIVE",
        "add the column without a default, backfill it in batches, then SET DEFAULT",
    ),
    Rule(
        "PG003",
        "postgresql",
        _W,
        "SET NOT NULL scans the whole table under ACCESS EXCLUSIVE",
        "ADD CHECK (col IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT, then SET NOT NULL (PG 12+)",
    ),
    Rule(
        "PG004",
        "postgresql",
        _W,
        "ALTER COLUMN TYPE rewrites the table and its indexes (unless it only widens a varchar)",
        "add a new column, backfill it in batches, switch readers, then drop the old one",
    ),
    Rule(
        "PG005",
        "postgresql",
        _W,
        "ADD FOREIGN KEY / CHECK without NOT VALID scans the table while holding a lock",
        "add the constraint NOT VALID, then VALIDATE CONSTRAINT in a separate statement",
    ),
    Rule(
        "PG006",
        "postgresql",
        _W,
        "ADD UNIQUE / PRIMARY KEY without USING INDEX builds the index under ACCESS EXCLUSIVE",
        "CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT ... USING INDEX",
    ),
    Rule(
        "PG007",
        "postgresql",
        _W,
        "DROP INDEX without CONCURRENTLY takes ACCESS EXCLUSIVE on the table",
        "use DROP INDEX CONCURRENTLY in a schema with transactional = false",
    ),
    Rule(
        "PG008",
        "postgresql",
        _W,
        "REINDEX without CONCURRENTLY blocks writes to the table, and reads that use the index",
        "use REINDEX ... CONCURRENTLY (PG 12+) in a schema with transactional = false",
    ),
    Rule(
        "PG009",
        "postgresql",
        _W,
        "VACUUM FULL rewrites the table under ACCESS EXCLUSIVE: reads and writes wait",
        "use plain VACUUM, or pg_repack / pg_squeeze to reclaim space online",
    ),
    Rule(
        "PG010",
        "postgresql",
        _W,
        "CLUSTER rewrites the table under ACCESS EXCLUSIVE: reads and writes wait",
        "use pg_repack --order-by to re-order rows online",
    ),
    Rule(
        "PG011",
        "postgresql",
        _W,
        "LOCK TABLE in a mode that blocks writes holds it until the migration transaction ends",
        "drop the explicit lock: each statement takes the lock it needs, for as short as it can",
    ),
    Rule(
        "PG012",
        "postgresql",
        _W,
        "ALTER TABLE ... SET LOGGED / SET UNLOGGED rewrites the table under ACCESS EXCLUSIVE",
        "create the table with the right persistence, or change it in a maintenance window",
    ),
    Rule(
        "PG013",
        "postgresql",
        _W,
        "SET TABLESPACE copies the table or index to the new tablespace under ACCESS EXCLUSIVE",
        "move it in a maintenance window, or with pg_repack --tablespace",
    ),
    Rule(
        "PG014",
        "postgresql",
        _W,
        "DETACH PARTITION without CONCURRENTLY takes ACCESS EXCLUSIVE on the partitioned table",
        "use DETACH PARTITION ... CONCURRENTLY (PG 14+) in a schema with transactional = false",
    ),
    Rule(
        "PG015",
        "postgresql",
        _W,
        "ALTER DOMAIN ... ADD CONSTRAINT (or SET NOT NULL) checks every column of that domain",
        "add the constraint NOT VALID, then VALIDATE CONSTRAINT in a separate statement",
    ),
    Rule(
        "PG016",
        "postgresql",
        _W,
        "ADD CONSTRAINT ... EXCLUDE builds its index under ACCESS EXCLUSIVE",
        "add it while the table is small or in a maintenance window (no online form exists)",
    ),
    Rule(
        "PG017",
        "postgresql",
        _W,
        "TRUNCATE ... CASCADE also empties every table with a foreign key to it",
        "truncate the tables you mean by name, without CASCADE",
    ),
    Rule(
        "PG018",
        "postgresql",
        _W,
        "ADD COLUMN ... REFERENCES takes SHARE ROW EXCLUSIVE on the referenced table",
        "add the column, then ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID and VALIDATE it",
    ),
    Rule(
        "PG019",
        "postgresql",
        _W,
        "REFRESH MATERIALIZED VIEW without CONCURRENTLY takes ACCESS EXCLUSIVE: reads of the "
        "view wait for the whole refresh",
        "give the view a unique index and use REFRESH MATERIALIZED VIEW CONCURRENTLY",
    ),
    Rule(
        "MY001",
        "mysql",
        _W,
        "ALTER TABLE that copies the table (column type change, primary key change, charset "
        "conversion) without ALGORITHM=INPLACE/INSTANT",
        "add ALGORITHM=INPLACE, LOCK=NONE so MySQL refuses rather than copy and block writes",
    ),
    Rule(
        "MY002",
        "mysql",
        _W,
        "ALGORITHM=COPY copies the table and blocks writes for the whole copy",
        "use ALGORITHM=INPLACE or INSTANT, or an online schema change tool (gh-ost, pt-osc)",
    ),
    Rule(
        "MY003",
        "mysql",
        _W,
        "ADD FULLTEXT / SPATIAL INDEX on an existing table: InnoDB cannot build it with "
        "LOCK=NONE, so writes wait (a plain or unique index builds online by default)",
        "build it in a quiet window, or with an online schema change tool (gh-ost, pt-osc)",
    ),
    Rule(
        "MY004",
        "mysql",
        _W,
        "LOCK=SHARED / LOCK=EXCLUSIVE blocks writes (or reads and writes) for the whole ALTER",
        "drop the LOCK clause or use LOCK=NONE so the change runs online or fails at once",
    ),
    Rule(
        "MY005",
        "mysql",
        _W,
        "ADD COLUMN with an expression default (DEFAULT (UUID())) copies the table",
        "add the column without a default, backfill it in batches, then set the default",
    ),
    Rule(
        "MY006",
        "mysql",
        _W,
        "adding AUTO_INCREMENT to a column (ADD, MODIFY, CHANGE) copies the table or blocks "
        "its writes (no LOCK=NONE)",
        "create the table with its AUTO_INCREMENT key, or use an online schema change tool",
    ),
    Rule(
        "MY007",
        "mysql",
        _W,
        "ADD COLUMN ... STORED generated column copies the table to compute every row",
        "use a VIRTUAL generated column (added instantly), or an online schema change tool",
    ),
    Rule(
        "MY008",
        "mysql",
        _W,
        "ADD FOREIGN KEY copies the table while foreign_key_checks is on",
        "add it with SET foreign_key_checks = 0 and ALGORITHM=INPLACE, after checking the data",
    ),
    Rule(
        "SL001",
        "sqlite",
        _W,
        "table rebuild (DROP TABLE then re-create or rename): with foreign_keys ON the drop "
        "deletes every row first, cascading to child tables",
        "make sure no child table uses ON DELETE CASCADE / SET NULL on it; Timescape runs "
        "PRAGMA foreign_key_check before commit",
    ),
    Rule(
        "SL002",
        "sqlite",
        _W,
        "ALTER TABLE ... DROP COLUMN needs SQLite 3.35.0 or newer",
        "check the SQLite version where this runs, or rebuild the table instead",
    ),
    Rule(
        "SL003",
        "sqlite",
        _W,
        "ALTER TABLE ... RENAME COLUMN needs SQLite 3.25.0 or newer",
        "check the SQLite version where this runs, or rebuild the table instead",
    ),
    Rule(
        "SL004",
        "sqlite",
        _E,
        "ADD COLUMN that SQLite refuses: PRIMARY KEY/UNIQUE, NOT NULL without a default, a "
        "non-constant default, or a STORED generated column (on a non-empty table)",
        "add a plain nullable column (or one with a constant default), or rebuild the table",
    ),
    Rule(
        "GEN001",
        "all",
        _W,
        "DROP TABLE / DROP COLUMN / TRUNCATE loses data that rolling back cannot restore",
        "copy the data elsewhere first, or drop it in a later schema once nothing reads it",
    ),
    Rule(
        "GEN002",
        "all",
        _W,
        "UPDATE or DELETE without WHERE touches every row of an existing table",
        "add a WHERE clause or batch the change; ignore the rule if every row is meant",
    ),
    Rule(
        "GEN003",
        "all",
        _W,
        "RENAME of a table or column breaks code still using the old name",
        "add the new name alongside the old, move readers over, drop the old name later",
    ),
    Rule(
        "TX001",
        "all",
        _E,
        "statement that cannot run inside a transaction (CREATE INDEX CONCURRENTLY, VACUUM, "
        "...) in a schema with transactional = true",
        "move it to a schema with transactional = false",
    ),
    Rule(
        "TX002",
        "postgresql",
        _E,
        "ALTER TYPE ... ADD VALUE, then a use of the new value in the same transaction",
        "use the new value in a later schema, or make this one transactional = false",
    ),
    Rule(
        "TX003",
        "all",
        _E,
        "BEGIN / COMMIT / ROLLBACK in a step of a schema with transactional = true",
        "remove it: Timescape runs the schema in one transaction (or set transactional = false)",
    ),
    Rule(
        "STY001",
        "all",
        _W,
        "primary or foreign key column of a 32-bit (or smaller) integer type (not on SQLite)",
        "use bigint (or bigint identity) for keys",
        optional=True,
    ),
    Rule(
        "STY002",
        "postgresql",
        _W,
        "timestamp without time zone",
        "use timestamptz: it stores an instant, whatever the session time zone",
        optional=True,
    ),
    Rule(
        "STY003",
        "postgresql",
        _W,
        "varchar(n): raising the limit later needs a migration",
        "use text, with a CHECK (length(col) <= n) if a limit matters",
        optional=True,
    ),
    Rule(
        "STY004",
        "postgresql",
        _W,
        "serial / bigserial column",
        "use bigint GENERATED BY DEFAULT AS IDENTITY",
        optional=True,
    ),
    Rule(
        "STY005",
        "all",
        _W,
        "char(n): values are padded with blanks to n characters",
        "use text or varchar",
        optional=True,
    ),
    Rule(
        "STY006",
        "all",
        _W,
        "UPDATE or INSERT assigning the same column twice",
        "assign each column once",
        optional=True,
    ),
    Rule(
        "STY007",
        "all",
        _W,
        "identifier longer than 63 bytes (PostgreSQL truncates it) or 64 bytes (MySQL refuses it)",
        "use a shorter name",
        optional=True,
    ),
)

#: Every lint rule, by id. Read-only.
RULES: Mapping[str, Rule] = MappingProxyType({rule.id: rule for rule in _RULE_LIST})


def lint(
    statements: Sequence[str],
    dialect: str,
    *,
    disabled: Collection[str] = (),
    new_tables: Collection[str] = (),
    applied: Sequence[str] = (),
    ignored: Sequence[Collection[str]] = (),
    prior: Knowledge | None = None,
    enabled: Collection[str] = (),
    transactional: bool = True,
) -> list[LintIssue]:
    """Check the statements of one schema against the dialect's rules.

    Pure: reads nothing but its arguments. Tables created earlier in ``statements`` count as new,
    like those in ``new_tables``: rules about locking existing tables do not fire on them.

    Args:
        statements: The schema's statements, in order (already split).
        dialect: ``"sqlite"``, ``"postgresql"`` or ``"mysql"``.
        disabled: Rule ids silenced for the whole project.
        new_tables: Tables created earlier in the same schema (outside ``statements``).
        applied: Statements already applied before these, read only to learn column types.
        ignored: Per statement (same order as ``statements``), rule ids silenced by comments
            outside its text, as :func:`~timescape.analysis.attached_ignores` finds them; may be
            shorter than ``statements``.
        prior: What earlier statements taught, learned once (:class:`Knowledge`); ``applied``
            is read on top of it. Added in 0.3.
        enabled: Optional rules (:attr:`Rule.optional`) to run too. Added in 0.3.
        transactional: Whether the statements run inside one transaction (a schema's
            ``transactional`` flag): the ``TX`` rules fire only then. Added in 0.3.

    Returns:
        The issues, in statement order, then in the order of :data:`RULES`.

    Raises:
        InputError: ``dialect`` is not supported.
    """
    name = dialect_name(dialect)
    off = {rule.upper() for rule in disabled}
    on = {rule.upper() for rule in enabled}
    off |= {rule.id for rule in _RULE_LIST if rule.optional and rule.id not in on}
    if prior is not None:
        known = prior.working_copy(new_tables=new_tables)
    else:
        known = Known(name, new_tables=new_tables)
    for sql in applied:
        learn(sql, name, known)
    known.settle()
    parsed = [
        Statement(sql=sql, tree=parse(sql, name), tokens=tokenize(sql, name)[0], dialect=name)
        for sql in statements
    ]
    rebuilt = rebuilt_tables(parsed, known)
    checks = [
        (rule_id, check)
        for rule_id, check in CHECKS
        if rule_id not in off and RULES[rule_id].dialect in {"all", name}
    ]
    issues: list[LintIssue] = []
    for index, statement in enumerate(parsed):
        silenced = off | ignored_rules(statement.sql, name)
        if index < len(ignored):
            silenced |= {rule.upper() for rule in ignored[index]}
        found: list[tuple[str, str]] = []
        here = Context(rebuilt[index], transactional, parsed, index)
        for rule_id, check in checks:
            if rule_id not in silenced:
                found.extend((rule_id, reason) for reason in check(statement, known, here))
        issues.extend(
            LintIssue(
                rule_id, RULES[rule_id].level, statement.sql, reason, RULES[rule_id].fix, index
            )
            for rule_id, reason in found
        )
        learn(statement.sql, name, known)
    return issues
