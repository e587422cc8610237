"""Lint checks for statements that fail inside, or end, the schema's transaction.

A schema with ``transactional = true`` (the default) runs all its steps in one transaction on
PostgreSQL and SQLite; Timescape refuses statements that cannot run there before anything runs
(:mod:`timescape.store.breakers`). These checks say so in ``schema check``, ahead of the attempt.
They stay quiet for ``transactional = false`` schemas, where each statement commits on its own.
"""

from __future__ import annotations

from timescape.analysis._known import Known
from timescape.analysis._statement import Context, Statement
from timescape.analysis._text import Kind

__all__ = ["TX_CHECKS"]

_ENDERS = frozenset({"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "PREPARE"})


def _breaker(st: Statement) -> str | None:
    from timescape.errors import TimescapeError  # noqa: PLC0415 - only needed here
    from timescape.store.breakers import transaction_breaker  # noqa: PLC0415 - pure, lexical

    try:
        return transaction_breaker(st.sql, st.dialect)  # type: ignore[arg-type]
    except TimescapeError:  # an unterminated comment or quote: the splitter reports those
        return None


def _first_word(st: Statement) -> str:
    return st.cursor().word()


def _tx001(st: Statement, _known: Known, ctx: Context) -> list[str]:
    if not ctx.transactional or _first_word(st) in _ENDERS:
        return []
    reason = _breaker(st)
    return [f"{reason}; this schema runs in one transaction"] if reason else []


def _tx002(st: Statement, _known: Known, ctx: Context) -> list[str]:
    if not ctx.transactional:
        return []
    cur = st.cursor()
    if not cur.accept("ALTER", "TYPE"):
        return []
    name = cur.name()
    if not cur.accept("ADD", "VALUE"):
        return []
    cur.accept("IF", "NOT", "EXISTS")
    if cur.is_done or cur.tokens[cur.i].kind is not Kind.STRING:
        return []
    value = cur.tokens[cur.i].text
    for later in ctx.statements[ctx.index + 1 :]:
        if any(t.kind is Kind.STRING and t.text == value for t in later.tokens):
            head = " ".join(later.sql.split())[:60]
            reason = (
                f"adds value '{value}' to type {name}, and a later statement in the same "
                f"transaction uses it ({head}): PostgreSQL refuses a new enum value before "
                "its transaction commits"
            )
            return [reason]
    return []


def _tx003(st: Statement, _known: Known, ctx: Context) -> list[str]:
    if not ctx.transactional or _first_word(st) not in _ENDERS:
        return []
    reason = _breaker(st)
    return [f"{reason}; Timescape manages the schema's transaction"] if reason else []


TX_CHECKS = (
    ("TX001", _tx001),
    ("TX002", _tx002),
    ("TX003", _tx003),
)
