"""How state values are stored as text: moments, JSON lists, statuses, and schema rows read back.

Every state table stores times as ISO text at millisecond precision and lists as JSON arrays, so
all three databases hold the same bytes. Writers and readers share these helpers, which are tuned
for the hot path (issue 14): a chain of ten thousand schemas encodes and decodes them per row.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from timescape.model.state import SchemaState, SchemaStatus

__all__ = [
    "MAX_ERROR",
    "STATUSES",
    "as_stored",
    "in_stored_form",
    "iso",
    "json_list",
    "json_lists",
    "json_object",
    "now",
    "parse",
]

MAX_ERROR = 4000
"""The longest error text a schema row keeps (longer ones are cut)."""
STATUSES = {s.value: s for s in SchemaStatus}
"""Each status by its stored text."""


def now() -> datetime:
    """The current UTC time, millisecond precision.

    From the clock's whole milliseconds: a double holds them to well under half a microsecond
    for millennia, so the moment is exact, at a third of the cost of cutting ``datetime.now``'s
    microseconds with ``replace`` (once per schema applied; issue 14).
    """
    return datetime.fromtimestamp(time.time_ns() // 1_000_000 / 1000, UTC)


def json_list(items: Sequence[str | None]) -> str:
    """``json.dumps(list(items))``, byte for byte, without the encoder for plain values.

    Every schema row written stores three such lists (parents, checksums, rollback checksums),
    whose items are printable ASCII names and hex digests: those are written as they are, and
    anything else goes through :func:`json.dumps`.
    """
    if not items:
        return "[]"
    if None not in items:
        # The usual list (names, digests): one join, and one test of the joined text, where
        # the separators' two quotes each must be the only ones (issue 14).
        body = '", "'.join(items)  # type: ignore[arg-type]  # no None among them
        if (
            body.isascii()
            and body.isprintable()
            and "\\" not in body
            and body.count('"') == 2 * (len(items) - 1)
        ):
            return f'["{body}"]'
        return json.dumps(list(items))
    parts = []
    for item in items:
        if item is None:
            parts.append("null")
        elif _plain(item):
            parts.append(f'"{item}"')
        else:
            return json.dumps(list(items))
    return "[" + ", ".join(parts) + "]"


def json_object(value: dict[str, Any]) -> str:
    """``json.dumps(value)``, byte for byte, without the encoder for plain values.

    Each event stores one such object (a schema applied: its step count and the reason), and
    ``json.dumps`` builds an encoder per call (issue 14): keys and text that are printable ASCII
    names, ints and None are written as they are; anything else goes through :func:`json.dumps`.
    """
    parts = []
    for key, item in value.items():
        if type(key) is not str or not _plain(key):
            return json.dumps(value)
        if type(item) is int:
            parts.append(f'"{key}": {item}')
        elif type(item) is str and _plain(item):
            parts.append(f'"{key}": "{item}"')
        elif item is None:
            parts.append(f'"{key}": null')
        else:
            return json.dumps(value)
    return "{" + ", ".join(parts) + "}"


def _plain(text: str) -> bool:
    """Whether JSON writes ``text`` between its quotes as it is."""
    return text.isascii() and text.isprintable() and '"' not in text and "\\" not in text


def json_lists(values: Sequence[str | None]) -> list[list[Any]]:
    """Decode JSON arrays (an empty value is ``[]``) with one parse for the whole column.

    Falls back to one parse per value, raising as that would, unless the joined text decodes to
    exactly one list per value.
    """
    joined = ",".join([v or "[]" for v in values])  # a list, not a generator (issue 14)
    try:
        decoded = json.loads(f"[{joined}]")
    except ValueError:
        decoded = None
    if (
        isinstance(decoded, list)
        and len(decoded) == len(values)
        and set(map(type, decoded)) <= _LISTS
    ):
        return decoded
    return [json.loads(v or "[]") for v in values]


_LISTS = frozenset({list})


_ISO_LAST: tuple[datetime | None, str | None] = (None, None)


def iso(moment: datetime | None) -> str | None:
    """The stored text of ``moment``; the last one is remembered (held, so ``is`` is safe).

    A schema's row and its event carry the same moment three times, and ``isoformat`` with a
    ``timespec`` costs more than the rest of the row's values together (issue 14).
    """
    global _ISO_LAST  # noqa: PLW0603 - a one-entry memo, swapped as one tuple (thread-safe)
    if moment is None:
        return None
    last, text = _ISO_LAST
    if moment is last:
        return text
    text = moment.isoformat(timespec="milliseconds")
    _ISO_LAST = (moment, text)
    return text


def as_stored(moment: datetime | None) -> datetime | None:
    """The value :func:`parse` reads back after :func:`iso` wrote ``moment``."""
    if moment is None or moment.microsecond % 1000 == 0:
        return moment
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def parse(text: str | None) -> datetime | None:
    """The moment stored as ``text`` (None for none)."""
    return datetime.fromisoformat(text) if text else None


def in_stored_form(state: SchemaState) -> bool:
    """Tell whether ``state`` is already what reading its row back gives (the executor's rows).

    Then the cache keeps it as it is, instead of a copy built field by field per schema.
    """
    error = state.error
    return (
        type(state.steps_done) is int
        and type(state.checksums) is tuple
        and type(state.rollback_checksums) is tuple
        and type(state.parents) is tuple
        and type(state.contract_done) is bool
        and (error is None or 0 < len(error) <= MAX_ERROR)
        and as_stored(state.applied_at) is state.applied_at
        and as_stored(state.rolled_back_at) is state.rolled_back_at
        and as_stored(state.attempt_started_at) is state.attempt_started_at
    )
