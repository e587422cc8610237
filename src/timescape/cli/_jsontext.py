"""JSON text: one indented document, byte for byte what ``json.dumps`` writes, in one pass.

Why a module of its own: the standard library's encoder falls back to pure Python as soon as it
indents, and at ten thousand rows that took longer than the command's work (issues #5 and 14).
This writer is specialised for the documents the CLI prints (reports, tables of rows), which makes
it long; only ``--json`` needs it, so a listing in a table never imports it. What a value *is* in
JSON (:func:`~timescape.cli.render.jsonable`) stays in :mod:`timescape.cli.render`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from itertools import repeat
from typing import Any

from timescape.cli.render import _HEADS_MAX, Rows, _record_fields, iso, jsonable

__all__ = ["dumps"]


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
    if value.count < _ROWS_MIN or not value.keys:
        _encode_list(value.documents(), newline, out)
        return
    inner = newline + "  "
    out.append("[" + inner)
    out += _table(value.keys, value.columns, inner)
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
        out += _rows(keys, rows, inner)
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


def _rows(keys: tuple[str, ...], rows: list[tuple[Any, ...]], newline: str) -> list[str]:
    """The rows as the indented JSON objects :func:`_encode_object` writes, ``,``-separated."""
    return _table(keys, list(zip(*rows, strict=True)), newline)


def _table(keys: tuple[str, ...], columns: Sequence[Sequence[Any]], newline: str) -> list[str]:
    """The objects of ``columns`` (one per key) as :func:`_rows` writes them.

    Values are encoded a column at a time, where one type covers the column in one C-level
    pass (issue #5); then each row's text is its values interleaved with each key's fixed text,
    joined in one C-level pass: no ``%`` and no tuple of our own per row (issue 14, 10,000 rows
    of 22 fields). The rows' texts go to the caller's list as they are: the document is joined
    once, not the table first (9 MB at 10,000 schemas, copied again, and once more to cut the
    first separator).
    """
    inner = newline + "  "
    deeper = inner + "  "
    separator = "," + newline
    heads = [
        (separator + "{" if i == 0 else ",") + inner + _encode_str(k) + ": "
        for i, k in enumerate(keys)
    ]
    encoded = [_column(column, inner, deeper) for column in columns]
    pieces: list[Iterable[str]] = []
    for head, column in zip(heads, encoded, strict=True):
        pieces += (repeat(head), column)
    pieces.append(repeat(newline + "}"))
    # zip stops at the shortest: the columns, one value per row each.
    texts = list(map("".join, zip(*pieces, strict=False)))
    if texts:
        texts[0] = texts[0][len(separator) :]  # the first row has no separator before it
    return texts


def _column(values: Sequence[Any], inner: str, deeper: str) -> Sequence[str]:  # noqa: PLR0911 - one return per column kind
    """One column's values, encoded as :func:`_encode_object` encodes each of them.

    A column of strings, the commonest, is tried first with no look at its types: the encoder
    refuses anything but a string (a subclass of ``str`` is written as its text, as every other
    path writes it), and taking the set of the types cost as much as encoding (issue 14).
    """
    try:
        return list(map(_encode_str, values))
    except TypeError:
        pass
    kinds = set(map(type, values))
    if kinds <= _STR_OR_NONE:
        return ["null" if v is None else _encode_str(v) for v in values]
    if kinds == {int}:
        return list(map(int.__repr__, values))
    if kinds == {bool}:
        return list(map(_BOOLS.__getitem__, values))
    if kinds <= _DATETIME_OR_NONE:
        return _datetimes(values)
    if kinds <= _SEQUENCES:
        # _strings inlined: a call per value was a third of these columns' cost. The items are
        # not looked at first either: the encoder refuses what is not a string.
        # A list of one string (a schema's parent, its one step's checksum, the one version
        # using it) skips the join and its map: half the time of these columns at 10,000 rows.
        head, tail, between = "[" + deeper, inner + "]", "," + deeper
        with contextlib.suppress(TypeError):
            return [
                head + _encode_str(v[0]) + tail
                if len(v) == 1
                else head + between.join(map(_encode_str, v)) + tail
                if v
                else "[]"
                for v in values
            ]
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


def _datetimes(values: Sequence[datetime | None]) -> list[str]:
    """Timestamps (activated_at, applied_at...) as :func:`iso` writes them, quoted.

    ISO text needs no escaping, so no encoder. The state store reads UTC times (``tzinfo`` is
    :data:`datetime.UTC` itself): :func:`iso`'s conversion and ``+00:00`` rewrite are then a slice;
    any other time goes through :func:`iso`. Each distinct moment is formatted once: formatting
    costs forty times a lookup, and a column repeats moments (the versions of many handlers
    released together share a timestamp; issue 14). Equal moments print the same text, whatever
    their zones: the text is the UTC time.
    """
    out = []
    printed: dict[datetime, str] = {}
    for v in values:
        if v is None:
            out.append("null")
            continue
        text = printed.get(v)
        if text is None:
            if v.tzinfo is UTC:
                text = v.isoformat(timespec="milliseconds" if v.microsecond else "seconds")
                text = f'"{text[:-6]}Z"'  # the text ends with +00:00
            else:
                text = f'"{iso(v)}"'
            printed[v] = text
        out.append(text)
    return out
