"""Data statements judged from their head alone: a dump's big ``INSERT ... VALUES`` and ``COPY``.

Parsing an 800 kB multi-row ``INSERT`` takes the SQL parser seconds (a 20 MB data dump, minutes),
yet its effect is known from its first words: it writes rows into one table (issue 11). Statements
from :data:`BULK_MIN` characters on that start ``INSERT INTO name [(columns)] VALUES (`` are judged
*data* without parsing, as is ``COPY name [(columns)] FROM STDIN`` (pg_dump's data, which the parser
does not know) at any size. Smaller ``INSERT`` statements go through the parser as before.
"""

from __future__ import annotations

import re
from typing import Final

from timescape.analysis._verdict import Verdict
from timescape.analysis.effect import Effect

__all__ = ["BULK_MIN", "bulk_data"]

BULK_MIN: Final = 4096
_PART: Final = r"""(?:[A-Za-z_][\w$]*|"(?:[^"]|"")+"|`(?:[^`]|``)+`)"""
_NAME: Final = rf"({_PART}(?:\s*\.\s*{_PART})?)"
_INSERT: Final = re.compile(
    rf"\s*INSERT\s+INTO\s+{_NAME}\s*(?:\([^()]*\)\s*)?VALUES\s*\(", re.IGNORECASE
)
_COPY: Final = re.compile(rf"\s*COPY\s+{_NAME}\s*(?:\([^()]*\)\s*)?FROM\s+STDIN\b", re.IGNORECASE)
_QUOTED: Final = re.compile(r'"((?:[^"]|"")+)"|`((?:[^`]|``)+)`|([^".`\s]+)')


def _table(name: str) -> str:
    parts = []
    for double, back, plain in _QUOTED.findall(name):
        if double:
            parts.append(double.replace('""', '"'))
        elif back:
            parts.append(back.replace("``", "`"))
        else:
            parts.append(plain.lower())
    return ".".join(parts)


def bulk_data(sql: str) -> Verdict | None:
    """Judge a big ``INSERT ... VALUES`` or a ``COPY ... FROM STDIN`` from its head, else None.

    Args:
        sql: One statement.

    Returns:
        A *data* verdict naming the table, or None when the statement needs the parser.
    """
    copy = _COPY.match(sql)
    if copy is not None:
        table = _table(copy.group(1))
        return Verdict.of(Effect.DATA, f"copies rows into {table} (changes rows only)", table)
    if len(sql) < BULK_MIN:
        return None
    insert = _INSERT.match(sql)
    if insert is None:
        return None
    table = _table(insert.group(1))
    return Verdict.of(Effect.DATA, f"inserts into {table} (changes rows only)", table)
