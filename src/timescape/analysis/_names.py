"""Dialects, parsing, and the names of the objects a statement touches.

Names follow one rule everywhere in the analyser: an unquoted identifier is lower-cased, a quoted
one keeps its case, and the parts of a qualified name are joined with dots, without quotes
(``public."Products"`` → ``public.Products``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from timescape.errors import InputError

if TYPE_CHECKING:
    from sqlglot import exp

__all__ = [
    "DIALECTS",
    "bare_table",
    "column_name",
    "dialect_name",
    "ident",
    "parse",
    "table_name",
]

#: Timescape dialect name → sqlglot dialect name.
DIALECTS: dict[str, str] = {"sqlite": "sqlite", "postgresql": "postgres", "mysql": "mysql"}
_ALIASES = {"postgres": "postgresql", "mariadb": "mysql"}
#: The schema a bare table name lands in, per dialect, so ``public.t`` and ``t`` match.
_DEFAULT_SCHEMA = {"postgresql": "public.", "sqlite": "main."}


def dialect_name(dialect: str) -> str:
    """Return the Timescape dialect name for ``dialect``, accepting common aliases.

    Args:
        dialect: ``"sqlite"``, ``"postgresql"`` or ``"mysql"`` (``"postgres"``, ``"mariadb"`` too).

    Returns:
        The canonical name.

    Raises:
        InputError: The dialect is not one Timescape supports.
    """
    name = _ALIASES.get(dialect.lower(), dialect.lower())
    if name not in DIALECTS:
        raise InputError(
            f"unknown SQL dialect {dialect!r}: expected one of {', '.join(sorted(DIALECTS))}"
        )
    return name


class _DropFallbackWarning(logging.Filter):
    """Silence sqlglot's 'falling back to Command' warning: the analyser reports it itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Falling back to parsing as a 'Command'" not in record.getMessage()


@contextmanager
def _quiet() -> Iterator[None]:
    logger = logging.getLogger("sqlglot")
    quiet = _DropFallbackWarning()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


@lru_cache(maxsize=8192)
def parse(sql: str, dialect: str) -> exp.Expr | None:
    """Parse one statement with sqlglot.

    The tree is cached and shared: callers must not modify it.

    Args:
        sql: One statement.
        dialect: A canonical Timescape dialect name.

    Returns:
        The statement's tree, or None when sqlglot rejects it or finds more or fewer than one
        statement in it.
    """
    engine, tokenizer = _engine(dialect)
    with _quiet():
        try:
            found = engine.parser().parse(tokenizer.tokenize(sql), sql)
        except Exception:  # any failure inside the parser means "could not parse"
            return None
    trees = [tree for tree in found if tree is not None]
    return trees[0] if len(trees) == 1 else None


@lru_cache(maxsize=8)
def _engine(dialect: str) -> tuple[Any, Any]:
    """Return sqlglot's dialect and one reusable tokenizer for it.

    ``sqlglot.parse`` builds a new tokenizer per call, which costs about as much as tokenizing a
    short statement; the tokenizer resets itself on every call, so one per dialect is enough.
    """
    from sqlglot.dialects.dialect import Dialect  # noqa: PLC0415 - optional and slow to import

    engine = Dialect.get_or_raise(DIALECTS[dialect])
    return engine, engine.tokenizer()


def ident(node: exp.Expr | None) -> str:  # noqa: PLR0911 - one branch per node type
    """Return the normalised name of an identifier-like node (lower-cased unless quoted).

    Args:
        node: A sqlglot Identifier, Column, Table, Var or Literal, or None.

    Returns:
        The name, or ``""`` for None.
    """
    from sqlglot import exp  # noqa: PLC0415 - see parse()

    if node is None:
        return ""
    if isinstance(node, exp.Identifier):
        return str(node.this) if node.quoted else str(node.this).lower()
    if isinstance(node, exp.Table):
        return table_name(node)
    if isinstance(node, exp.Column):
        return column_name(node)
    if isinstance(node, exp.Dot):
        return ".".join(ident(part) for part in node.flatten())
    if isinstance(node, exp.Expression):
        inner = node.args.get("this")
        if isinstance(inner, exp.Expression):
            return ident(inner)
        return str(node.name).lower()
    return str(node).lower()


def table_name(table: exp.Expr | None) -> str:
    """Return ``catalog.schema.table`` for a Table node, each part normalised.

    Args:
        table: A sqlglot Table (or anything with ``this``/``db``/``catalog`` args).

    Returns:
        The dotted name, ``""`` when there is none.
    """
    if table is None:
        return ""
    parts = [table.args.get("catalog"), table.args.get("db"), table.args.get("this")]
    return ".".join(ident(part) for part in parts if part is not None and ident(part))


def column_name(column: exp.Expr) -> str:
    """Return a column node's own name (its table qualifier, if any, is left out).

    Args:
        column: A sqlglot Column or Identifier.

    Returns:
        The normalised column name.
    """
    return ident(column.args.get("this"))


def bare_table(name: str, dialect: str) -> str:
    """Return a table name without the dialect's default schema, for matching names.

    Args:
        name: A dotted, normalised name.
        dialect: A canonical Timescape dialect name.

    Returns:
        ``name`` without a leading ``public.`` (PostgreSQL) or ``main.`` (SQLite).
    """
    prefix = _DEFAULT_SCHEMA.get(dialect)
    if prefix and name.startswith(prefix):
        return name[len(prefix) :]
    return name
