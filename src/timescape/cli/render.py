"""Output for humans and programs: aligned tables, colour, relative times, and JSON documents.

Colour is used only when the stream is a terminal and ``NO_COLOR`` is unset (https://no-color.org).
JSON is one document, snake_case keys, timestamps ISO-8601 UTC with a ``Z``.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import operator
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from itertools import chain, repeat
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from timescape.model._record import record

if TYPE_CHECKING:  # the model loads when a command runs, not for --help
    from timescape.model.plan import Plan
    from timescape.reports import OperationResult, SchemaInfo

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

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


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


def iso(moment: datetime | None) -> str | None:
    """ISO-8601 in UTC with a ``Z`` (None stays None)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    spec = "milliseconds" if moment.microsecond else "seconds"
    return moment.astimezone(UTC).isoformat(timespec=spec).replace("+00:00", "Z")


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

    __slots__ = ("keys", "rows")

    def __init__(self, keys: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        """Hold ``rows``, each with one value per key, in the keys' order."""
        self.keys = keys
        self.rows = rows

    def documents(self) -> list[dict[str, Any]]:
        """The rows as dicts."""
        keys = self.keys
        return [dict(zip(keys, row, strict=True)) for row in self.rows]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """The rows as dicts (what :func:`jsonable` makes of them)."""
        return iter(self.documents())


def dumps(document: object) -> str:
    """One JSON document, indented by two spaces, non-ASCII kept.

    The text is exactly ``json.dumps(jsonable(document), indent=2, ensure_ascii=False)``, built
    in one pass: with ``indent`` the standard library falls back to its pure-Python encoder, and
    ``jsonable`` walked the document once more before it; at 10,000 schemas the two took longer
    than the command's work (issue #5). Plain values are written as they are, anything else goes
    through :func:`jsonable` first.
    """
    out: list[str] = []
    _encode(document, "\n", out)
    return "".join(out)


_encode_str: Callable[[str], str] = json.encoder.encode_basestring


def _float(value: float) -> str:
    if value != value:  # noqa: PLR0124 - NaN is the one value unequal to itself
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def _bool(value: bool) -> str:  # noqa: FBT001 - a value, not an option
    return "true" if value else "false"


# Scalars by exact type (subclasses such as enums take the general path, as in json.dumps).
_SCALARS: dict[type, Callable[[Any], str]] = {
    str: _encode_str,
    int: int.__repr__,
    bool: _bool,
    float: _float,
    type(None): lambda _: "null",
}
_STR = frozenset({str})


def _strings(items: Sequence[str], newline: str, inner: str) -> str:
    """A list of strings, indented; ``inner`` is ``newline`` plus one more indent."""
    if not items:
        return "[]"
    return "[" + inner + ("," + inner).join(map(_encode_str, items)) + newline + "]"


_HEADS: dict[tuple[str, ...], list[str]] = {}
_HEADS_MAX = 256


def _encode(value: object, newline: str, out: list[str]) -> None:
    """Append ``value`` as indented JSON; ``newline`` is a newline plus the current indent.

    Scalars inside containers are written in the container's loop, not by a call per value:
    the calls were most of the cost of a ten-thousand-row document.
    """
    scalar = _SCALARS.get(type(value))
    if scalar is not None:
        out.append(scalar(value))
    elif isinstance(value, str):
        out.append(_encode_str(value))
    elif isinstance(value, bool):  # pragma: no cover - bool cannot be subclassed
        out.append(_bool(value))
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        out.append(_float(value))
    elif isinstance(value, list | tuple):
        _encode_list(value, newline, out)
    elif type(value) is Rows:
        _encode_rows(value, newline, out)
    elif type(value) is dict and all(type(key) is str for key in value):
        _encode_object(tuple(value), value.values(), newline, out)
    elif (fields := _record_fields(type(value))) is not None:
        # A report row: its fields straight from the instance, no intermediate dict.
        names, values = fields
        _encode_object(names, values(value), newline, out)
    else:
        # Datetimes, enums, other mappings, sets, paths, callables.
        _encode(jsonable(value), newline, out)


def _encode_rows(value: Rows, newline: str, out: list[str]) -> None:
    """Append :class:`Rows` as :func:`_encode_list` appends its :meth:`Rows.documents`."""
    if len(value.rows) < _ROWS_MIN or not value.keys:
        _encode_list(value.documents(), newline, out)
        return
    inner = newline + "  "
    out.append("[" + inner)
    out.append(_rows(value.keys, value.rows, inner))
    out.append(newline + "]")


def _encode_list(value: Sequence[Any], newline: str, out: list[str]) -> None:
    """Append a list: strings in one join, rows of one shape as a table, anything else by item."""
    if not value:
        out.append("[]")
        return
    inner = newline + "  "
    if _STR.issuperset(map(type, value)):
        out.append(_strings(value, newline, inner))
        return
    shape = _rows_shape(value)
    if shape is not None:
        keys, rows = shape
        out.append("[" + inner)
        out.append(_rows(keys, rows, inner))
        out.append(newline + "]")
        return
    for i, item in enumerate(value):
        out.append(("[" if i == 0 else ",") + inner)
        _encode(item, inner, out)
    out.append(newline + "]")


def _encode_object(
    keys: tuple[str, ...], values: Iterable[Any], newline: str, out: list[str]
) -> None:
    """Append a JSON object from its keys and, in the same order, its values."""
    if not keys:
        out.append("{}")
        return
    inner = newline + "  "
    shape = (newline, *keys)
    heads = _HEADS.get(shape)
    if heads is None:
        # Rows of a list share their keys: write each key's '",\n    "key": ' text once.
        heads = [
            ("{" if i == 0 else ",") + inner + _encode_str(k) + ": " for i, k in enumerate(keys)
        ]
        if len(_HEADS) < _HEADS_MAX:
            _HEADS[shape] = heads
    deeper = inner + "  "
    for head, item in zip(heads, values, strict=True):
        kind = type(item)
        scalar = _SCALARS.get(kind)
        if scalar is not None:
            out.append(head + scalar(item))
        elif (kind is tuple or kind is list) and _STR.issuperset(map(type, item)):
            out.append(head + _strings(item, inner, deeper))
        else:
            out.append(head)
            _encode(item, inner, out)
    out.append(newline + "}")


_NONE = type(None)
_STR_OR_NONE = frozenset({str, _NONE})
_SEQUENCES = frozenset({tuple, list})
_DATETIME_OR_NONE = frozenset({datetime, _NONE})
_ROWS_MIN = 8  # below this, checking the shape costs more than it saves


def _rows_shape(  # noqa: PLR0911 - one return per reason it is not a table
    items: Sequence[object],
) -> tuple[tuple[str, ...], list[tuple[Any, ...]]] | None:
    """Keys and value tuples when ``items`` are rows of one shape; None otherwise.

    Rows are instances of one dataclass, or plain dicts with the same string keys in the same
    order: a list of them is a table, and :func:`_rows` encodes it column by column.
    """
    if len(items) < _ROWS_MIN:
        return None
    kind = type(items[0])
    if len(set(map(type, items))) != 1:
        return None
    if kind is dict:
        dicts: Sequence[dict[Any, Any]] = items  # type: ignore[assignment]
        keys: tuple[str, ...] = tuple(dicts[0])
        if not keys or not all(type(k) is str for k in keys):
            return None
        if not all(map(keys.__eq__, map(tuple, dicts))):
            return None
        return keys, list(map(tuple, map(dict.values, dicts)))
    fields = _record_fields(kind)
    if fields is None or not fields[0]:
        return None
    names, values = fields
    return names, list(map(values, items))


def _rows(keys: tuple[str, ...], rows: list[tuple[Any, ...]], newline: str) -> str:
    """The rows as the indented JSON objects :func:`_encode_object` writes, ``,``-separated.

    Values are encoded a column at a time, where one type covers the column in one C-level
    pass (issue #5); then the text is the columns interleaved with each key's fixed text, joined
    in one C-level pass: no ``%`` and no tuple per row (issue 14, 10,000 rows of 22 fields).
    """
    inner = newline + "  "
    deeper = inner + "  "
    separator = "," + newline
    heads = [
        (separator + "{" if i == 0 else ",") + inner + _encode_str(k) + ": "
        for i, k in enumerate(keys)
    ]
    columns = [_column(column, inner, deeper) for column in zip(*rows, strict=True)]
    pieces: list[Iterable[str]] = []
    for head, column in zip(heads, columns, strict=True):
        pieces += (repeat(head), column)
    pieces.append(repeat(newline + "}"))
    # zip stops at the shortest: the columns, one value per row each.
    text = "".join(chain.from_iterable(zip(*pieces, strict=False)))
    return text[len(separator) :]  # the first row has no separator before it


def _column(values: tuple[Any, ...], inner: str, deeper: str) -> Sequence[str]:  # noqa: PLR0911 - one return per column kind
    """One column's values, encoded as :func:`_encode_object` encodes each of them."""
    kinds = set(map(type, values))
    if kinds <= _STR:
        return list(map(_encode_str, values))
    if kinds <= _STR_OR_NONE:
        return ["null" if v is None else _encode_str(v) for v in values]
    if kinds == {int}:
        return list(map(int.__repr__, values))
    if kinds == {bool}:
        return list(map(_BOOLS.__getitem__, values))
    if kinds <= _DATETIME_OR_NONE:
        return _datetimes(values)
    if kinds <= _SEQUENCES and set(map(type, chain.from_iterable(values))) <= _STR:
        # _strings inlined: a call per value was a third of these columns' cost.
        head, tail, between = "[" + deeper, inner + "]", "," + deeper
        return [head + between.join(map(_encode_str, v)) + tail if v else "[]" for v in values]
    encoded = []
    for item in values:
        kind = type(item)
        scalar = _SCALARS.get(kind)
        if scalar is not None:
            encoded.append(scalar(item))
        elif (kind is tuple or kind is list) and _STR.issuperset(map(type, item)):
            encoded.append(_strings(item, inner, deeper))
        else:
            buffer: list[str] = []
            _encode(item, inner, buffer)
            encoded.append("".join(buffer))
    return encoded


_BOOLS = {True: "true", False: "false"}


def _datetimes(values: tuple[datetime | None, ...]) -> list[str]:
    """Timestamps (activated_at, applied_at...) as :func:`iso` writes them, quoted.

    ISO text needs no escaping, so no encoder. The state store reads UTC times (``tzinfo`` is
    :data:`datetime.UTC` itself): :func:`iso`'s conversion and ``+00:00`` rewrite are then a slice;
    any other time goes through :func:`iso`.
    """
    out = []
    for v in values:
        if v is None:
            out.append("null")
        elif v.tzinfo is UTC:
            text = v.isoformat(timespec="milliseconds" if v.microsecond else "seconds")
            out.append(f'"{text[:-6]}Z"')  # the text ends with +00:00
        else:
            out.append(f'"{iso(v)}"')
    return out


def plan_json(plan: Plan, *, transactional_ddl: bool | None = None) -> dict[str, Any]:
    """The plan as JSON: every action, step and statement in execution order."""
    actions = [
        {
            "kind": str(action.kind),
            "schema": action.name,
            "reason": action.reason,
            "steps_done_before": action.steps_done_before,
            "transaction": _unit(action.schema.transactional, transactional_ddl),
            "steps": [
                {
                    "index": step.index,
                    "file": step.file,
                    "callable": jsonable(step.script) if step.is_callable else None,
                    "statements": [{"line": s.line, "sql": s.text} for s in step.statements],
                }
                for step in action.steps
            ],
        }
        for action in plan.actions
    ]
    return {
        "operation": plan.operation,
        "target": plan.target,
        "actions": actions,
        "activate": list(plan.activate),
        "deactivate": list(plan.deactivate),
        "notes": list(plan.notes),
        "forced": list(plan.forced),
        "statements": plan.statements(),
    }


def _unit(transactional: bool, transactional_ddl: bool | None) -> str | None:  # noqa: FBT001
    if transactional_ddl is None:
        return None
    return "schema" if transactional and transactional_ddl else "step"


def result_json(
    result: OperationResult, *, transactional_ddl: bool | None = None
) -> dict[str, Any]:
    """An operation result as JSON (plan included)."""
    return {
        "operation": result.operation,
        "target": result.target,
        "dry_run": result.dry_run,
        "changed": result.changed,
        "message": result.message,
        "duration_ms": result.duration_ms,
        "plan": plan_json(result.plan, transactional_ddl=transactional_ddl),
        "outcomes": jsonable(result.outcomes),
        "irreversible": list(result.irreversible),
        "drain": result.drain.as_dict() if result.drain is not None else None,
    }


# Keyed by the values of ActionKind (a StrEnum: its members look themselves up here).
_VERBS = {
    "apply": "apply",
    "rollback": "roll back",
    "contract": "contract",
    "uncontract": "undo the contract of",
}


def plan_lines(plan: Plan, style: Style, *, transactional_ddl: bool | None = None) -> list[str]:
    """The exact plan for humans: schemas, steps and SQL in execution order."""
    lines: list[str] = []
    number = 0
    for action in plan.actions:
        number += 1
        unit = _unit(action.schema.transactional, transactional_ddl)
        how = {"schema": "one transaction", "step": "step by step, progress recorded"}.get(
            unit or "", ""
        )
        suffix = f"  [{how}]" if how else ""
        lines.append(
            f"{number}. {style(_VERBS[action.kind], 'bold')} {style(action.name, 'cyan')}"
            f"  ({action.reason}){suffix}"
        )
        if not action.steps:
            lines.append("     (no steps)")
        total = len(
            action.schema.contract
            if action.kind in ("contract", "uncontract")
            else action.schema.steps
        )
        for step in action.steps:
            undo = action.kind in ("rollback", "uncontract")
            head = f"undo step {step.index} of {total}" if undo else f"step {step.index} of {total}"
            source = f"  {step.file}" if step.file else ""
            lines.append(style(f"     {head}{source}", "dim"))
            if step.is_callable:
                lines.append(f"       {jsonable(step.script)}(connection)")
            for statement in step.statements:
                if step.file:
                    lines.append(style(f"       -- {step.file}:{statement.line}", "dim"))
                lines.extend(f"       {text}" for text in _sql(statement.text).splitlines())
                if statement.data is not None:
                    rows = statement.data.count("\n")
                    lines.append(style(f"       -- then {rows} line(s) of COPY data", "dim"))
    for tsv in plan.deactivate:
        number += 1
        lines.append(f"{number}. {style('mark', 'bold')} {tsv} inactive")
    for tsv in plan.activate:
        number += 1
        lines.append(f"{number}. {style('mark', 'bold')} {tsv} active")
    return lines


def _sql(text: str) -> str:
    stripped = text.rstrip()
    return stripped if stripped.endswith(";") else stripped + ";"


def result_lines(
    result: OperationResult, style: Style, *, transactional_ddl: bool | None = None
) -> list[str]:
    """What an operation did (or would do), for humans."""
    plan = result.plan
    if result.dry_run:
        if plan.is_noop:
            lines = [f"Dry run: {result.message}. Nothing was changed."]
        else:
            lines = [
                style(f"Dry run: {plan.operation} {plan.target}. Nothing was changed.", "bold"),
                "Plan, in execution order:",
                *plan_lines(plan, style, transactional_ddl=transactional_ddl),
            ]
    elif plan.is_noop:
        lines = [result.message]
    else:
        done = {
            "activate": "Activated",
            "deactivate": "Deactivated",
            "migrate": "Migrated",
            "rollback": "Rolled back",
        }.get(plan.operation, plan.operation.capitalize())
        lines = [style(f"{done} {plan.target} in {result.duration_ms} ms", "green")]
        for outcome in result.outcomes:
            lines.append(
                f"  {outcome.status:<12} {outcome.schema}  "
                f"({outcome.steps_run} step{'s' if outcome.steps_run != 1 else ''}, "
                f"{outcome.duration_ms} ms)"
            )
        lines.extend(_drain_lines(result))
        for tsv in plan.deactivate:
            lines.append(f"  deactivated  {tsv}")
        for tsv in plan.activate:
            lines.append(f"  activated    {tsv}")
    notes = [n for n in plan.notes if not n.endswith(": not applied yet")]
    if result.dry_run:
        notes = [n for n in notes if not n.startswith(tuple(f"{k} " for k in _VERBS))]
    if notes and not plan.is_noop:
        lines.append("Why:")
        lines.extend(f"  - {n}" for n in notes)
    if plan.forced:
        lines.append(style("Forced:", "yellow"))
        lines.extend(f"  - {f}" for f in plan.forced)
    return lines


def _drain_lines(result: OperationResult) -> list[str]:
    drain = result.drain
    if drain is None or drain.forced or not drain.instances:
        return []
    count = len(drain.instances)
    return [f"  drained      waited {drain.waited_s:.2f} s for {count} instance(s)"]


def strip_ansi(text: str) -> str:
    """Remove colour codes."""
    return _ANSI.sub("", text)
