"""Could a statement that ended badly have changed the database? Only a proof says no.

A step that failed is recorded ``failed`` (a plain retry runs it again) only when nothing of it can
remain; otherwise it is ``uncertain`` and waits for ``timescape schema resolve``. The judgement
comes from the parsed statement (:mod:`timescape.analysis.readonly`), never from its first keyword,
and, on MySQL/MariaDB, from the storage engine of every table it names:

- a statement proven read-only changed nothing, however it ended;
- a statement whose connection was lost may have finished on the server;
- a cancelled statement (timeout, Ctrl-C) was rolled back only where statements are atomic:
  always on PostgreSQL and SQLite; on MySQL/MariaDB only a plain ``INSERT``/``UPDATE``/``DELETE``
  whose tables are all on a transactional engine (InnoDB) with no triggers. A DDL statement, a
  stored function or procedure, or a MyISAM/Aria table may have kept part of the work;
- a statement that failed on its own (a constraint, a syntax error) is atomic on a transactional
  engine; on MySQL/MariaDB a non-transactional table it names may keep the rows written before the
  error, and a stored routine (``CALL p()``, ``SELECT f()``) may have written anywhere.

Added in 0.2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from timescape.store.base import Backend

__all__ = ["may_have_written"]


def may_have_written(backend: Backend, statement: str | None, *, ending: str) -> bool:
    """Tell whether a statement that ended badly may have left changes behind.

    Args:
        backend: The backend it ran on (asked about storage engines on MySQL/MariaDB; its
            connection must be usable unless ``ending`` is ``"lost"``).
        statement: The statement's text; None when unknown (a Python step).
        ending: ``"cancelled"`` (timeout or Ctrl-C), ``"lost"`` (no answer from the server) or
            ``"failed"`` (the server reported an error).

    Returns:
        False only when it is proven that nothing of the statement remains.
    """
    if statement is None:
        return ending != "failed"
    if ending != "lost" and not backend.statements_may_be_partial:
        return False  # every statement is atomic here: no parse needed (sqlglot loads lazily)
    try:
        return _may_have_written(backend, statement, ending)
    except Exception:  # the parser choked, or the engine lookup failed: no proof
        return True


def _may_have_written(backend: Backend, statement: str, ending: str) -> bool:
    from timescape.analysis.readonly import (  # noqa: PLC0415 - sqlglot loads only on a failure
        calls_routine,
        is_read_only,
        plain_dml_targets,
    )

    dialect = backend.dialect
    if is_read_only(statement, dialect):
        return False
    if ending == "lost":
        return True
    tables = plain_dml_targets(statement, dialect)
    if tables is not None:
        # After an error of its own, a table the catalog does not know was never written
        # (``no such table``); after a cancel it may be a temporary table: no proof.
        return bool(backend.non_transactional(tables, unknown=ending == "cancelled"))
    if ending == "cancelled":
        # DDL, a stored routine, anything not plain DML: part of it may have been kept.
        return True
    # A failed DDL statement left its table as it was; a stored routine may have written to a
    # non-transactional table before the error, and nothing here can tell.
    return calls_routine(statement, dialect)
