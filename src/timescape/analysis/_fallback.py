"""Keyword inspection, for statements sqlglot could not parse or only kept as raw text.

It reads the leading keywords and the names after them and gives a verdict only for shapes it
knows; everything else is UNKNOWN. Statements that carry more than one statement's worth of
tokens (a stray ``;``) are UNKNOWN too, except routine and trigger bodies, which legitimately do.
"""

from __future__ import annotations

from timescape.analysis._alter import judge_index_drop
from timescape.analysis._alter_tokens import judge_alter_tokens
from timescape.analysis._known import Known
from timescape.analysis._text import Cursor, Kind, Token
from timescape.analysis._verdict import Verdict, combine
from timescape.analysis.effect import Effect

__all__ = ["holds_several_statements", "judge_session", "judge_tokens", "rename_pairs"]

A, D, U, B = Effect.ADDITIVE, Effect.DATA, Effect.UNKNOWN, Effect.BREAKING
_CREATE_MODIFIERS = frozenset(
    {
        "TEMP",
        "TEMPORARY",
        "GLOBAL",
        "LOCAL",
        "UNLOGGED",
        "RECURSIVE",
        "MATERIALIZED",
        "VIRTUAL",
        "TRUSTED",
        "PROCEDURAL",
        "CONSTRAINT",
        "OR",
        "REPLACE",
        "UNIQUE",
        "FULLTEXT",
        "SPATIAL",
        "DEFINER",
        "ALGORITHM",
        "SQL",
        "SECURITY",
        "INVOKER",
        "AGGREGATE",
    }
)
_HARMLESS_CREATE = frozenset(
    {
        "TABLE",
        "VIEW",
        "SEQUENCE",
        "TYPE",
        "DOMAIN",
        "EXTENSION",
        "SCHEMA",
        "DATABASE",
        "FUNCTION",
        "PROCEDURE",
        "COLLATION",
        "ROLE",
        "USER",
        "STATISTICS",
        "TEXT",
        "PUBLICATION",
    }
)
_SERVER_SCOPES = frozenset({"GLOBAL", "PERSIST", "PERSIST_ONLY"})
# SET forms that outlive the session or change who Timescape acts as.
_PERSISTENT_SETS = frozenset({"ROLE", "AUTHORIZATION", "PASSWORD", "DEFAULT", "RESOURCE"})
_BEHAVIOUR_CREATE = frozenset({"TRIGGER", "RULE", "POLICY", "EVENT"})
_BODIES = frozenset({"FUNCTION", "PROCEDURE", "TRIGGER", "EVENT"})
_MAINTENANCE = frozenset(
    {
        "VACUUM",
        "ANALYZE",
        "ANALYSE",
        "OPTIMIZE",
        "REINDEX",
        "CLUSTER",
        "CHECKPOINT",
        "REFRESH",
        "LOCK",
    }
)
_DML = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE", "REPLACE", "UPSERT"})
_TRANSACTION = frozenset({"BEGIN", "COMMIT", "START", "ROLLBACK", "SAVEPOINT", "RELEASE", "END"})
# SQLite pragmas that only affect this connection, or only read.
_QUIET_PRAGMAS = frozenset(
    {
        "foreign_keys",
        "defer_foreign_keys",
        "legacy_alter_table",
        "busy_timeout",
        "foreign_key_check",
        "foreign_key_list",
        "integrity_check",
        "quick_check",
        "optimize",
        "table_info",
        "table_xinfo",
        "index_list",
        "index_info",
        "cache_size",
        "temp_store",
        "synchronous",
        "journal_mode",
    }
)


def judge_session(cur: Cursor) -> Verdict | None:
    """Judge ``SET`` and ``PRAGMA``; None for other statements.

    A session setting (``SET lock_timeout``, ``SET foreign_key_checks``) lasts for Timescape's own
    connection only, so it cannot break other code; server-wide settings and role switches can.

    Args:
        cur: At the statement's first token.

    Returns:
        DATA for session-scoped settings and harmless pragmas, UNKNOWN for the rest.
    """
    if cur.accept("PRAGMA"):
        name = cur.name().rsplit(".", 1)[-1]
        if name in _QUIET_PRAGMAS:
            return Verdict.of(D, f"sets or reads pragma {name} (no shape change)")
        return Verdict.unknown(f"PRAGMA {name} may change the database file")
    if not cur.accept("SET"):
        return None
    scope = cur.accept_any("SESSION", "LOCAL", "GLOBAL", "PERSIST", "PERSIST_ONLY")
    if cur.symbol() == "@" and cur.symbol(1) == "@":
        cur.skip(2)
        scope = scope or cur.accept_any("SESSION", "GLOBAL", "PERSIST", "PERSIST_ONLY")
        cur.accept_any("LOCAL")
        cur.skip(int(cur.symbol() == "."))
    if scope in _SERVER_SCOPES or _SERVER_SCOPES & set(cur.words()):
        return Verdict.unknown("SET changes a server-wide setting")
    if cur.word() in _PERSISTENT_SETS or cur.accept("SESSION", "AUTHORIZATION"):
        return Verdict.unknown(f"SET {cur.word()} changes roles, passwords or resources")
    name = "user variable" if cur.symbol() == "@" else cur.name() or "option"
    return Verdict.of(D, f"sets session {name} (this connection only)")


def judge_tokens(cur: Cursor, known: Known, dialect: str) -> Verdict:  # noqa: C901, PLR0911, PLR0912 - one branch per action or statement kind
    """Judge a statement from its keywords.

    Args:
        cur: At the statement's first token.
        known: What earlier statements taught; not updated here.
        dialect: A canonical Timescape dialect name.

    Returns:
        A verdict; UNKNOWN whenever the keywords do not settle it.
    """
    if cur.is_done:
        return Verdict.unknown("empty statement")
    if holds_several_statements(cur):
        return Verdict.unknown("text holds more than one statement")
    session = judge_session(Cursor(cur.sql, cur.tokens, cur.i))
    if session is not None:
        return session
    words = cur.words()
    first = words[0] if words else ""
    if first == "CREATE":
        return _create(cur, known)
    if first == "DROP":
        return _drop(cur, known)
    if first == "ALTER":
        return _alter(cur, known, dialect)
    if first == "RENAME":
        return _rename_table(cur)
    if first in _DML or (first == "WITH" and _DML & set(words)):
        return Verdict.of(D, f"{first} statement (changes rows only)")
    if first in _MAINTENANCE:
        return Verdict.of(D, f"{first} (maintenance; no shape change)")
    if first in {"GRANT", "COMMENT"} or words[:2] == ["SECURITY", "LABEL"]:
        return Verdict.of(A, f"{first} (adds privileges or documentation)")
    if first == "REVOKE":
        return Verdict.of(B, "revokes privileges older code may need")
    if first == "DO":
        return Verdict.unknown("DO block runs procedural code")
    if first in {"CALL", "EXEC", "EXECUTE"}:
        cur.skip()
        return Verdict.unknown(f"calls procedure {cur.name() or '?'}")
    if first in _TRANSACTION:
        # No shape changes: what it does to the schema's own transaction is lint's business
        # (TX003), and Timescape refuses it in a transactional schema before anything runs.
        return Verdict.of(D, f"{first} (transaction control; no shape change, see lint rule TX003)")
    return Verdict.unknown(f"unrecognised statement starting with {first.lower() or '?'!r}")


def holds_several_statements(cur: Cursor) -> bool:
    """Return whether the text holds more than one statement.

    A ``;`` followed by more text means a second statement, except inside a routine or trigger
    body (``BEGIN ... END``), which must then close at the very end of the text: a statement
    after the body's ``END`` counts as a second one, even when sqlglot folds it into the body.

    Args:
        cur: At the statement's first token; not moved.
    """
    tokens = cur.tokens[cur.i :]
    semicolons = [k for k, t in enumerate(tokens) if t.kind is Kind.SYMBOL and t.text == ";"]
    if not semicolons or all(_is_semicolon(t) for t in tokens[semicolons[0] :]):
        return False
    words = [t.text for t in tokens if t.kind is Kind.WORD]
    if words[:1] != ["CREATE"] or not _BODIES & set(words[:8]):
        return True
    return not _body_closes_last(tokens)


def _is_semicolon(token: Token) -> bool:
    return token.kind is Kind.SYMBOL and token.text == ";"


def _body_closes_last(tokens: list[Token]) -> bool:
    depth, opened = 0, False
    for k, token in enumerate(tokens):
        if token.kind is not Kind.WORD:
            continue
        if token.text in {"BEGIN", "CASE"}:
            depth, opened = depth + 1, True
        elif token.text == "END" and opened:
            following = tokens[k + 1] if k + 1 < len(tokens) else None
            if following is not None and following.is_word("IF", "LOOP", "WHILE", "REPEAT", "FOR"):
                continue
            depth -= 1
            if depth == 0:
                rest = [t for t in tokens[k + 1 :] if not _is_semicolon(t)]
                return not rest or (len(rest) == 1 and rest[0].kind is Kind.WORD)
    return False


def _create(cur: Cursor, known: Known) -> Verdict:
    cur.skip()
    modifiers: set[str] = set()
    while cur.word() in _CREATE_MODIFIERS:
        modifiers.add(cur.word())
        if cur.word() in {"DEFINER", "ALGORITHM"} and cur.symbol(1) == "=":
            cur.skip(3)  # DEFINER = user, ALGORITHM = MERGE
            if cur.symbol() == "@":
                cur.skip(2)  # DEFINER = `user`@`host`
            continue
        cur.skip()
    kind = cur.word()
    if kind == "FOREIGN":
        cur.skip()
        kind = cur.word()
    cur.skip()
    cur.accept("IF", "NOT", "EXISTS")
    if kind == "INDEX":
        return _create_index(cur, known, is_unique="UNIQUE" in modifiers)
    name = cur.name()
    label = kind.lower()
    if "REPLACE" in modifiers:
        return Verdict.unknown(
            f"replaces {label} {name}; cannot tell whether its behaviour changed", name
        )
    if kind in _BEHAVIOUR_CREATE:
        table = cur.name_after("TO" if kind == "RULE" else "ON")
        if table and known.is_new(table):
            return Verdict.of(A, f"creates {label} {name} on {table} (table is new)", table)
        return Verdict.unknown(
            f"creates {label} {name}; it can reject or rewrite what older code does", table or name
        )
    if kind in _HARMLESS_CREATE:
        return Verdict.of(A, f"creates {label} {name}", name)
    return Verdict.unknown(f"CREATE {kind or '?'} {name}".strip(), name)


def _create_index(cur: Cursor, known: Known, *, is_unique: bool) -> Verdict:
    cur.accept("CONCURRENTLY")
    cur.accept("IF", "NOT", "EXISTS")
    name = "" if cur.word() == "ON" else cur.name()
    table = cur.name_after("ON")
    if not is_unique:
        return Verdict.of(A, f"creates index {name} on {table}".replace("  ", " "), table)
    if known.is_new(table):
        return Verdict.of(A, f"creates unique index {name} on new table {table}", table)
    return Verdict.of(
        B,
        f"new unique index {name} on {table} may reject existing or future rows".replace("  ", " "),
        table,
    )


def _drop(cur: Cursor, known: Known) -> Verdict:
    cur.skip()
    cur.accept_any("TEMPORARY", "TEMP")
    kind = cur.word()
    if kind in {"MATERIALIZED", "FOREIGN"}:
        cur.skip()
        kind = f"{kind} {cur.word()}"
    cur.skip()
    if kind == "OWNED" and cur.accept("BY"):
        owner = cur.name()
        return Verdict.of(B, f"drops every object owned by {owner}", owner)
    cur.accept("CONCURRENTLY")
    cur.accept("IF", "EXISTS")
    names = [cur.name()]
    while cur.symbol() == ",":
        cur.skip()
        names.append(cur.name())
    label = kind.lower() or "object"
    if kind == "INDEX":
        table = cur.name_after("ON")
        return combine(judge_index_drop(n, known, table=table) for n in names)
    return combine(_drop_named(kind, label, n, known) for n in names)


def _drop_named(kind: str, label: str, name: str, known: Known) -> Verdict:
    if kind in _BEHAVIOUR_CREATE:
        return Verdict.unknown(f"drops {label} {name}; older code may rely on what it does", name)
    if kind in {"TABLE", "VIEW"} and (known.is_new(name) or known.is_new_view(name)):
        return Verdict.of(A, f"drops {label} {name} (created earlier in this schema)", name)
    return Verdict.of(B, f"drops {label} {name}", name)


def _alter(cur: Cursor, known: Known, dialect: str) -> Verdict:  # noqa: PLR0911 - one branch per action or statement kind
    cur.skip()
    kind = cur.word()
    if kind == "TABLE":
        cur.skip()
        return judge_alter_tokens(cur, known, dialect)
    if kind in {"MATERIALIZED", "FOREIGN"}:
        cur.skip()
        kind = f"{kind} {cur.word()}"
    cur.skip()
    cur.accept("IF", "EXISTS")
    name = cur.name()
    label = kind.lower() or "object"
    words = cur.words()
    if kind == "TYPE":
        if words[:2] == ["ADD", "VALUE"]:
            return Verdict.unknown(
                f"adds a value to type {name}; older code reading it may meet a value it "
                "cannot map",
                name,
            )
        if words[:1] in (["RENAME"], ["DROP"], ["ALTER"]):
            return Verdict.of(B, f"renames or removes part of type {name}", name)
    if kind == "INDEX" and words[:1] == ["RENAME"]:
        return Verdict.unknown(f"renames index {name}; code naming it in hints breaks", name)
    if "RENAME" in words[:2] or words[:2] == ["SET", "SCHEMA"]:
        return Verdict.of(B, f"renames or moves {label} {name}", name)
    if words[:2] == ["OWNED", "BY"]:
        return Verdict.of(D, f"ties {label} {name} to a column (no shape change)", name)
    if kind in {"INDEX", "SEQUENCE"} and words[:2] == ["SET", "TABLESPACE"]:
        return Verdict.of(D, f"moves {label} {name} (no shape change)", name)
    return Verdict.unknown(f"ALTER {kind} {' '.join(words[:2])}".strip(), name)


def _rename_table(cur: Cursor) -> Verdict:
    cur.skip()
    cur.accept_any("TABLE", "TABLES")
    objects: list[str] = []
    for part in cur.split(","):
        old = part.name()
        part.accept("TO")
        objects += [old, part.name()]
    pairs = ", ".join(f"{objects[i]} to {objects[i + 1]}" for i in range(0, len(objects), 2))
    return Verdict.of(B, f"renames table {pairs}", *objects)


def rename_pairs(cur: Cursor) -> list[tuple[str, str]]:
    """Return the ``(old, new)`` pairs of a MySQL ``RENAME TABLE`` statement, else ``[]``."""
    if not cur.accept("RENAME") or not cur.accept_any("TABLE", "TABLES"):
        return []
    pairs: list[tuple[str, str]] = []
    for part in cur.split(","):
        old = part.name()
        if part.accept("TO"):
            pairs.append((old, part.name()))
    return pairs
