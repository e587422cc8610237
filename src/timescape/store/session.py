"""Which migration statements may change the session that Timescape's own statements run in.

A migration may move the ``search_path`` (every ``pg_dump`` file does), ``USE`` another database,
``SET ROLE``, change the time zone, the timeouts, ``sql_mode``, the character set, or a SQLite
``PRAGMA``. Timescape qualifies its state statements so none of this can redirect them, and the
backend restores the session after a step that may have changed it, before the state writes and
the next schema (issue 11). Restoring costs a statement (a round trip outside PostgreSQL's write
pipeline), so it is skipped for steps whose statements cannot change the session: those led by
a keyword that only defines or changes data (``CREATE``, ``INSERT``, ``ALTER`` ...). Anything else
(``SET``, ``RESET``, ``SELECT``, ``DO``, ``CALL``, ``USE``, ``LOCK``, ``PRAGMA``, a MySQL
conditional comment ``/*!40101 SET ... */``) counts as a possible change.

Not seen: a function or trigger that changes a setting from inside a data statement (``INSERT ...
VALUES (f())`` where ``f`` calls ``set_config``); such a change lasts until the next restore.

Pure: standard library only.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Final

from timescape.model._pattern import lazy_pattern

if TYPE_CHECKING:
    from timescape.store.split import Dialect

__all__ = ["may_change_session", "session_check"]

_DATA_AND_DEFINITION: Final = frozenset(
    {"CREATE", "ALTER", "DROP", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "GRANT", "REVOKE"}
)
_SAFE_LEADS: Final[dict[str, frozenset[str]]] = {
    "postgresql": _DATA_AND_DEFINITION
    | {"COMMENT", "COPY", "REFRESH", "REINDEX", "CLUSTER", "VACUUM", "ANALYZE", "MERGE"}
    | {"SECURITY", "IMPORT"},
    "mysql": _DATA_AND_DEFINITION | {"REPLACE", "RENAME", "ANALYZE", "OPTIMIZE", "REPAIR", "LOAD"},
    "sqlite": _DATA_AND_DEFINITION | {"REPLACE", "REINDEX", "ANALYZE", "VACUUM", "WITH", "SELECT"},
}


# The first word after leading comments; a MySQL conditional comment /*!NNNNN ... */ (or MariaDB's
# /*M!NNNNN ... */) runs its content, so the word inside it is the one that counts.
# Compiled on first use: only a step that ran asks (issue 14: not at import).
_lead = lazy_pattern(
    r"(?:\s+|--[^\n]*+\n?|/\*(?!M?!).*?\*/)*+(?:/\*M?!\d*\s*)?([A-Za-z_]+)", re.DOTALL
)


def may_change_session(statements: Iterable[str], dialect: Dialect) -> bool:
    """Tell whether any of ``statements`` may change session settings (conservatively).

    Args:
        statements: The statements a step ran, as split.
        dialect: Their dialect.

    Returns:
        False only when every statement is led by a keyword that cannot change the session.
    """
    may_change = session_check(dialect)
    return any(may_change(statement) for statement in statements)


@functools.cache
def session_check(dialect: Dialect) -> Callable[[str], bool]:
    """The test of one statement for ``dialect``: True when it may change session settings.

    For the step runner, which asks once per statement as it sends it (the text read once,
    issue 14); the same test as :func:`may_change_session`.

    Args:
        dialect: The statements' dialect.

    Returns:
        A function of one statement's text.
    """
    safe = _SAFE_LEADS[dialect]
    lead = _lead().match

    def may_change(statement: str) -> bool:
        match = lead(statement)
        return match is None or match.group(1).upper() not in safe

    return may_change
