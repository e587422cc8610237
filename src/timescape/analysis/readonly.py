"""Which statements provably write nothing, and which tables a statement writes.

The executor asks these questions about a statement that was cancelled, lost with its connection,
or failed on a database whose statements are not atomic (MariaDB's non-transactional engines):
only a statement proven read-only here may be recorded ``failed`` without an operator looking.
Anything the parser cannot read, every call of a function it does not know (``SELECT f()``,
``DO f()``, ``NEXTVAL(s)``), locking reads (``FOR UPDATE``) and ``SELECT … INTO`` count as writing:
the answer errs towards ``uncertain``, never towards a second application.

Pure: parsing uses sqlglot (imported on first use).

Added in 0.2.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

from timescape.analysis._names import dialect_name, parse, table_name

if TYPE_CHECKING:
    from sqlglot import exp

__all__ = ["calls_routine", "is_read_only", "plain_dml_targets"]

# Functions sqlglot has no class for but that read nothing and write nothing. sqlglot's own
# function classes are the SQL builtins (COUNT, UPPER, NOW, ...); everything else it parses as
# ``Anonymous`` and that could be a stored function that writes.
_PURE_ANONYMOUS = frozenset(
    {
        "sleep",
        "pg_sleep",
        "version",
        "database",
        "schema",
        "connection_id",
        "current_user",
        "session_user",
        "user",
        "system_user",
        "pg_backend_pid",
        "sqlite_version",
    }
)
# Builtins sqlglot knows by class that still have effects outside the statement's result.
_EFFECTFUL_BUILTINS = frozenset({"nextval", "setval", "get_lock", "release_lock", "load_file"})
_DO = re.compile(r"\A\s*DO\s+(?!\$)", re.IGNORECASE)
_WRITES = ("Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter", "Command", "Into")


def is_read_only(sql: str, dialect: str) -> bool:
    """Tell whether a statement provably reads only: running it, or half of it, changes nothing.

    Args:
        sql: One statement.
        dialect: ``"sqlite"``, ``"postgresql"`` or ``"mysql"``.

    Returns:
        True for a ``SELECT``/``SHOW`` (MySQL's ``DO`` is judged as the ``SELECT`` of its
        expressions) with no ``INTO``, no locking clause, no data-changing CTE and no call of a
        function that is not a known builtin. False for everything else, including text that
        does not parse.
    """
    return _read_only(sql, dialect_name(dialect))


@lru_cache(maxsize=256)
def _read_only(sql: str, dialect: str) -> bool:
    from sqlglot import exp  # noqa: PLC0415 - sqlglot is slow to import; loaded on first use

    tree = _parse(sql, dialect)
    if isinstance(tree, exp.Show):
        return True
    if not isinstance(tree, exp.Query):
        return False
    return not any(_writes(node) or _unknown_code(node) for node in tree.walk())


def _parse(sql: str, dialect: str) -> exp.Expr | None:
    """Parse one statement; MySQL's ``DO expr, ...`` as the ``SELECT`` of its expressions."""
    text = sql.strip().rstrip(";").strip()
    if dialect == "mysql":
        match = _DO.match(text)
        if match:
            text = "SELECT " + text[match.end() :]
    return parse(text, dialect)


def _writes(node: exp.Expr) -> bool:
    """A node that changes data or locks rows: DML, DDL, ``INTO``, ``FOR UPDATE``/``SHARE``."""
    from sqlglot import exp  # noqa: PLC0415

    if type(node).__name__ in _WRITES or type(node).__name__ == "Lock":
        return True
    return isinstance(node, exp.Select) and bool(node.args.get("into") or node.args.get("locks"))


def _unknown_code(node: exp.Expr) -> bool:
    """A call of a function that is not a known side-effect-free builtin."""
    from sqlglot import exp  # noqa: PLC0415

    if isinstance(node, exp.Anonymous):
        return str(node.name).lower() not in _PURE_ANONYMOUS
    return isinstance(node, exp.Func) and _builtin_name(node) in _EFFECTFUL_BUILTINS


def _builtin_name(node: object) -> str:
    sql_names = getattr(node, "sql_names", None)
    names = sql_names() if callable(sql_names) else []
    return str(names[0]).lower() if names else ""


def plain_dml_targets(sql: str, dialect: str) -> tuple[str, ...] | None:
    """The tables a plain ``INSERT``/``UPDATE``/``DELETE``/``REPLACE`` names, if it is one.

    "Plain" means it calls no function that is not a known builtin: on a transactional table
    such a statement is atomic, so once the server answered it with an error, nothing of it
    remains (a stored function could write elsewhere).

    Args:
        sql: One statement.
        dialect: ``"sqlite"``, ``"postgresql"`` or ``"mysql"``.

    Returns:
        Every table it names, written or read (``name`` or ``schema.name``; a multi-table
        ``UPDATE`` may write any of them), or None when the statement is not a plain DML
        statement (or does not parse).
    """
    from sqlglot import exp  # noqa: PLC0415

    tree = _parse(sql, dialect_name(dialect))
    if not isinstance(tree, exp.Insert | exp.Update | exp.Delete):
        return None
    if any(_unknown_code(node) for node in tree.walk()):
        return None
    return _tables(tree)


def _tables(tree: exp.Expr) -> tuple[str, ...]:
    """Every real table a tree names (CTE names left out), without repeats."""
    from sqlglot import exp  # noqa: PLC0415

    ctes = {str(cte.alias).lower() for cte in tree.find_all(exp.CTE)}
    names = (table_name(t) for t in tree.find_all(exp.Table) if t.name)
    return tuple(dict.fromkeys(n for n in names if n.lower() not in ctes))


def calls_routine(sql: str, dialect: str) -> bool:
    """Tell whether a statement runs code the parser cannot see.

    That is ``CALL``, or a function call that is not a known builtin: a stored routine may write
    anywhere, including to tables whose engine cannot roll back.

    Args:
        sql: One statement.
        dialect: ``"sqlite"``, ``"postgresql"`` or ``"mysql"``.

    Returns:
        True for ``CALL``/``EXECUTE`` and for unknown functions; False otherwise, including text
        that does not parse (the server rejects it before running anything).
    """
    from sqlglot import exp  # noqa: PLC0415

    tree = _parse(sql, dialect_name(dialect))
    if tree is None:
        return False
    if isinstance(tree, exp.Command):
        return str(tree.this).upper() in {"CALL", "EXECUTE", "EXEC"}
    return any(_unknown_code(node) for node in tree.walk())
