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

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

from timescape.model._pattern import lazy_pattern

if TYPE_CHECKING:
    from timescape.store.split import Dialect

__all__ = ["may_change_session"]

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
    safe = _SAFE_LEADS[dialect]
    lead = _lead().match
    for statement in statements:
        match = lead(statement)
        if match is None or match.group(1).upper() not in safe:
            return True
    return False
