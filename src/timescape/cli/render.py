"""Output for humans and programs: aligned tables, colour, relative times, and JSON documents.

Colour is used only when the stream is a terminal and ``NO_COLOR`` is unset (https://no-color.org).
JSON is one document, snake_case keys, timestamps ISO-8601 UTC with a ``Z``.

This module holds what every listing uses: colour, tables, times and the JSON form of values
(:func:`jsonable`, :func:`record_json`, :class:`Rows`). Two parts live apart, each imported on
first use so that a listing in a table loads neither: writing the JSON text
(:func:`dumps`, in :mod:`timescape.cli._jsontext`) and rendering a plan or an operation result
(:func:`plan_json`, :func:`plan_lines`, :func:`result_json`, :func:`result_lines`, in
:mod:`timescape.cli._operation`). Every name stays importable from here.
"""

from __future__ import annotations

import dataclasses
import enum
import operator
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from timescape._moved import lazy_getattr
from timescape.model._record import record
from timescape.model.moment import iso

if TYPE_CHECKING:  # the model loads when a command runs; the moved names on first use
    from timescape.cli._jsontext import dumps
    from timescape.cli._operation import plan_json, plan_lines, result_json, result_lines
    from timescape.reports import SchemaInfo

__all__ = [
    "Cell",
    "Rows",
    "Style",
    "contract_state",
    "contract_word",
    "dumps",
    "iso",
    "jsonable",
    "plan_json",
    "plan_lines",
    "record_json",
    "relative",
    "result_json",
    "result_lines",
    "table",
    "use_color",
    "when",
]


def use_color(stream: IO[str]) -> bool:
    """Tell whether to colour output on ``stream``: a terminal, ``NO_COLOR`` unset, not dumb."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Style:
    """ANSI styling that turns into plain text when colour is off."""

    _CODES: Mapping[str, str] = {
        "bold": "1",
        "dim": "2",
        "red": "31",
        "green": "32",
        "yellow": "33",
        "blue": "34",
        "magenta": "35",
        "cyan": "36",
    }

    def __init__(self, *, enabled: bool) -> None:
        """Enable or disable colour."""
        self.enabled = enabled

    def __call__(self, text: str, *styles: str) -> str:
        """Wrap ``text`` in the named styles (``bold``, ``red``, ...)."""
        if not self.enabled or not styles or not text:
            return text
        codes = ";".join(self._CODES[s] for s in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"

    def status(self, status: str) -> str:
        """Colour a schema or version status by meaning."""
        colour = {
            "applied": "green",
            "live": "green",
            "hot": "green",
            "warm": "yellow",
            "pending": "dim",
            "inactive": "dim",
            "cold": "blue",
            "rolled_back": "dim",
            "failed": "red",
            "interrupted": "red",
            "uncertain": "red",
        }.get(status)
        return self(status, colour) if colour else status


@record
class Cell:
    """A table cell whose colour is applied after alignment.

    Attributes:
        text: The plain text (used for widths).
        paint: Applied to the padded text.
    """

    text: str
    paint: Callable[[str], str] | None = None


def table(headers: Sequence[str], rows: Iterable[Sequence[str | Cell]], style: Style) -> str:
    """Render rows as an aligned table with a bold header; the last column is not padded.

    Args:
        headers: Column titles.
        rows: Cells (plain strings or :class:`Cell`).
        style: For the header and coloured cells.

    Returns:
        The table, lines joined by newlines (no trailing newline).
    """
    cells = [[c if isinstance(c, Cell) else Cell(c) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell.text))
    last = len(headers) - 1

    def line(row: Sequence[Cell]) -> str:
        parts = []
        for i, cell in enumerate(row):
            text = cell.text if i == last else cell.text.ljust(widths[i])
            parts.append(cell.paint(text) if cell.paint and cell.text else text)
        return "  ".join(parts).rstrip()

    head = "  ".join(h if i == last else h.ljust(widths[i]) for i, h in enumerate(headers))
    return "\n".join([style(head.rstrip(), "bold"), *(line(r) for r in cells)])


def contract_state(info: SchemaInfo) -> str:
    """A schema's contract: ``none`` (no contract steps), ``pending`` (not run) or ``done``."""
    return contract_word(info.contract_steps, done=info.contract_done)


def contract_word(steps: int, *, done: bool) -> str:
    """:func:`contract_state` from the two fields it reads."""
    if done:
        return "done"
    return "pending" if steps else "none"


def relative(moment: datetime, now: datetime | None = None) -> str:
    """Say how long ago (or ahead) ``moment`` is: ``just now``, ``5 min ago``, ``in 2 days``."""
    now = now or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = (now - moment).total_seconds()
    ahead = seconds < 0
    seconds = abs(seconds)
    if seconds < 5:
        return "just now"
    for size, unit in ((86400, "day"), (3600, "h"), (60, "min"), (1, "s")):
        if seconds >= size:
            count = int(seconds // size)
            label = f"{count} {unit}" + ("s" if unit == "day" and count != 1 else "")
            return f"in {label}" if ahead else f"{label} ago"
    return "just now"  # pragma: no cover - the loop always returns for seconds >= 5


def when(moment: datetime | None, now: datetime | None = None) -> str:
    """A time for tables: relative within a week, a UTC date and time beyond, ``-`` for none."""
    if moment is None:
        return "-"
    now = now or datetime.now(UTC)
    if abs((now - moment).total_seconds()) < 7 * 86400:
        return relative(moment, now)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def jsonable(value: object) -> Any:  # noqa: PLR0911 - one return per kind of value
    """Turn dataclasses, datetimes, enums, paths, sets and callables into JSON values."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted(jsonable(v) for v in value)
    if isinstance(value, list | tuple | Rows):
        return [jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if callable(value):
        return _callable_name(value)
    return str(value)


def _callable_name(value: object) -> str:
    """``python:module.function``; steps declared in the project file name themselves."""
    label = getattr(value, "step_label", None)
    if isinstance(label, str):
        return label
    module = getattr(value, "__module__", "?")
    return f"python:{module}.{getattr(value, '__qualname__', '?')}"


_PLAIN = frozenset({str, int, bool, float, type(None)})


def record_json(record: object) -> dict[str, Any]:
    """A dataclass instance as a JSON object, as :func:`jsonable` makes it, in one shallow pass.

    Reports hold plain values, tuples of them and datetimes; only values that are not already
    JSON go through :func:`jsonable` (tuples of plain values are kept: every JSON encoder writes
    them as arrays), which keeps ``schema list`` cheap at ten thousand rows.

    Args:
        record: A dataclass instance.

    Returns:
        Its fields, in declaration order.

    Raises:
        TypeError: If ``record`` is not a dataclass instance.
    """
    fields = _record_fields(type(record))
    if fields is None:
        msg = f"not a dataclass instance: {record!r}"
        raise TypeError(msg)
    names, values = fields
    document = dict(zip(names, values(record), strict=True))
    for name, value in document.items():
        kind = type(value)
        if kind not in _PLAIN and not (kind is tuple and _PLAIN.issuperset(map(type, value))):
            document[name] = jsonable(value)
    return document


_Fields = tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]]
_RECORDS: dict[type, _Fields | None] = {}
_HEADS_MAX = 256  # entries per cache of shapes, here and in the JSON writer


def _record_fields(kind: type) -> _Fields | None:
    """The field names of a dataclass type and a getter of their values; None for other types.

    Enums and datetimes come first in :func:`jsonable`, so they never count as records here.
    """
    try:
        return _RECORDS[kind]
    except KeyError:
        pass
    fields: _Fields | None = None
    if dataclasses.is_dataclass(kind) and not issubclass(kind, enum.Enum | datetime):
        names = tuple(f.name for f in dataclasses.fields(kind))
        getter = operator.attrgetter(*names) if len(names) > 1 else None
        fields = (names, getter or (lambda record: tuple(getattr(record, n) for n in names)))
    if len(_RECORDS) < _HEADS_MAX:
        _RECORDS[kind] = fields
    return fields


class Rows:
    """A JSON array of objects given as their keys and one tuple of values per object.

    Why: a listing of 10,000 rows need not build a dict per row only for :func:`dumps` to take
    it apart again (issue 14). Encoded exactly as the list of dicts :meth:`documents` returns.
    """

    __slots__ = ("_columns", "_rows", "keys")

    def __init__(self, keys: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        """Hold ``rows``, each with one value per key, in the keys' order."""
        self.keys = keys
        self._rows: list[tuple[Any, ...]] | None = rows
        self._columns: list[Sequence[Any]] | None = None

    @classmethod
    def of_columns(cls, keys: tuple[str, ...], columns: list[Sequence[Any]]) -> Rows:
        """The same array given a column per key, each with one value per object.

        Why: :func:`dumps` encodes a table a column at a time; a listing whose fields come as
        columns (or gain one) need not make a tuple per row only to have it taken apart again
        (``schema list --json``, issue 14).
        """
        if len(columns) != len(keys) or len({len(column) for column in columns}) > 1:
            msg = "one column per key, each with one value per object"
            raise ValueError(msg)
        table = cls(keys, [])
        table._rows = None
        table._columns = columns
        return table

    @property
    def rows(self) -> list[tuple[Any, ...]]:
        """One tuple of values per object."""
        if self._rows is None:
            self._rows = list(zip(*self._columns or (), strict=True))
        return self._rows

    @property
    def columns(self) -> list[Sequence[Any]]:
        """One sequence of values per key (empty ones when there are no objects)."""
        if self._columns is None:
            rows = self._rows or []
            self._columns = list(zip(*rows, strict=True)) if rows else [() for _ in self.keys]
        return self._columns

    @property
    def count(self) -> int:
        """How many objects."""
        if self._rows is not None:
            return len(self._rows)
        return len(self._columns[0]) if self._columns else 0

    def documents(self) -> list[dict[str, Any]]:
        """The rows as dicts."""
        keys = self.keys
        return [dict(zip(keys, row, strict=True)) for row in self.rows]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """The rows as dicts (what :func:`jsonable` makes of them)."""
        return iter(self.documents())


def strip_ansi(text: str) -> str:
    """Remove colour codes."""
    if "\x1b" not in text:
        return text
    return re.sub(r"\x1b\[[0-9;]*m", "", text)  # compiled on first use (re's cache), not at import


_MOVED = {
    "dumps": "timescape.cli._jsontext",
    "plan_json": "timescape.cli._operation",
    "plan_lines": "timescape.cli._operation",
    "result_json": "timescape.cli._operation",
    "result_lines": "timescape.cli._operation",
}

if not TYPE_CHECKING:  # type checkers read the imports above; this keeps unknown names errors
    __getattr__ = lazy_getattr(__name__, _MOVED)
