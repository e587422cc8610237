"""MySQL/MariaDB lint checks for ALTER TABLE forms that copy the table or block its writes.

InnoDB's online DDL table (https://dev.mysql.com/doc/refman/8.0/en/innodb-online-ddl-operations.html)
says which operations run in place with concurrent writes; these checks flag the ones that cannot,
on tables older code is using. Each check returns one reason per hit.
"""

from __future__ import annotations

from timescape.analysis._known import Known
from timescape.analysis._statement import Context, Statement, alter_parts, has_run, option

__all__ = ["MY_CHECKS", "varchar_bytes_per_char"]

# Bytes per character of MySQL character sets, for the VARCHAR length prefix (1 byte up to 255
# bytes of maximum length, 2 bytes beyond).
_CHARSET_BYTES = {
    "ascii": 1,
    "latin1": 1,
    "binary": 1,
    "ucs2": 2,
    "utf8": 3,
    "utf8mb3": 3,
    "utf8mb4": 4,
    "utf16": 4,
    "utf32": 4,
}
_ASSUMED_BYTES = 4  # utf8mb4, MySQL 8's default: assuming the widest keeps the check careful


def varchar_bytes_per_char(words: list[str]) -> int:
    """Return the bytes per character a column definition's CHARACTER SET / COLLATE names.

    Args:
        words: The definition's keywords, upper-cased.

    Returns:
        The charset's maximum bytes per character; 4 (utf8mb4) when none is named.
    """
    for i, word in enumerate(words):
        if word in {"CHARSET", "SET", "COLLATE"} and i + 1 < len(words):
            name = words[i + 1].lower()
            charset = name.split("_", 1)[0] if word == "COLLATE" else name
            if charset in _CHARSET_BYTES:
                return _CHARSET_BYTES[charset]
    return _ASSUMED_BYTES


def _existing_alter(st: Statement, known: Known) -> tuple[str, list[list[str]]]:
    kind, name, parts = alter_parts(st)
    if kind != "TABLE" or not name or known.is_new(name):
        return name, []
    return name, [part.words() for part in parts]


def _column_adds(parts: list[list[str]]) -> list[list[str]]:
    return [words for words in parts if words[:1] == ["ADD"] and words[1:2] not in _NOT_COLUMNS]


_NOT_COLUMNS = (
    ["CONSTRAINT"],
    ["INDEX"],
    ["KEY"],
    ["UNIQUE"],
    ["PRIMARY"],
    ["FOREIGN"],
    ["FULLTEXT"],
    ["SPATIAL"],
    ["CHECK"],
    ["PARTITION"],
)


def _my004(st: Statement, known: Known, _: Context) -> list[str]:
    lock = option(st, "LOCK")
    if lock not in {"SHARED", "EXCLUSIVE"}:
        return []
    cur = st.cursor()
    if cur.accept("CREATE"):
        cur.accept_any("UNIQUE", "FULLTEXT", "SPATIAL")
        table = cur.name_after("ON") if cur.accept("INDEX") else ""
    else:
        table, parts = _existing_alter(st, known)
        table = table if parts else ""
    if not table or known.is_new(table):
        return []
    blocked = "writes" if lock == "SHARED" else "reads and writes"
    return [f"LOCK={lock} blocks {blocked} on {table} for the whole ALTER"]


def _my005(st: Statement, known: Known, _: Context) -> list[str]:
    table, parts = _existing_alter(st, known)
    return [
        f"adds a column to {table} with an expression default: MySQL copies the table"
        for words in _column_adds(parts)
        if "DEFAULT" in words and _default_is_expression(st)
    ]


def _default_is_expression(st: Statement) -> bool:
    # The keyword lists drop symbols: look at the token after DEFAULT in the text.
    tokens = st.tokens
    return any(
        t.is_word("DEFAULT") and k + 1 < len(tokens) and tokens[k + 1].text == "("
        for k, t in enumerate(tokens)
    )


def _my006(st: Statement, known: Known, _: Context) -> list[str]:
    kind, table, parts = alter_parts(st)
    if kind != "TABLE" or not table or known.is_new(table):
        return []
    reasons = []
    for part in parts:
        words = part.words()
        if words[:1] not in (["ADD"], ["MODIFY"], ["CHANGE"]):
            continue
        if "AUTO_INCREMENT" not in words and "SERIAL" not in words:
            continue
        part.skip()
        part.accept("COLUMN")
        old = known.column(table, part.name()) if words[0] != "ADD" else None
        if old is None or not old.is_generated:  # already AUTO_INCREMENT: nothing is added
            reasons.append(
                f"adds AUTO_INCREMENT to a column of {table}: the table is copied or its writes "
                "wait"
            )
    return reasons


def _my007(st: Statement, known: Known, _: Context) -> list[str]:
    table, parts = _existing_alter(st, known)
    return [
        f"adds a STORED generated column to {table}: MySQL copies the table to compute it"
        for words in _column_adds(parts)
        if "AS" in words and ("STORED" in words or "PERSISTENT" in words)
    ]


def _my008(st: Statement, known: Known, _: Context) -> list[str]:
    table, parts = _existing_alter(st, known)
    return [
        f"adds a foreign key to {table}: with foreign_key_checks on, MySQL copies the table"
        for words in parts
        if words[:1] == ["ADD"] and has_run(words[:5], "FOREIGN", "KEY")
    ]


MY_CHECKS = (
    ("MY004", _my004),
    ("MY005", _my005),
    ("MY006", _my006),
    ("MY007", _my007),
    ("MY008", _my008),
)
