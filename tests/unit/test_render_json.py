"""``dumps`` writes exactly what ``json.dumps(jsonable(x), indent=2)`` wrote before it (issue #5)."""

from __future__ import annotations

import enum
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from timescape.cli.render import Rows, dumps, jsonable, record_json


class Colour(enum.StrEnum):
    RED = "red"


class Size(enum.IntEnum):
    BIG = 3


class Shape(enum.Enum):
    ROUND = ("round", 1)


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    tags: tuple[str, ...]
    at: datetime | None
    sizes: tuple[int, ...] = ()


def _reference(value: object) -> str:
    return json.dumps(jsonable(value), indent=2, ensure_ascii=False)


scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
    | st.datetimes(timezones=st.just(UTC))
    | st.sampled_from([Colour.RED, Size.BIG, Shape.ROUND, Path("a/b")])
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.frozensets(st.text(max_size=3), max_size=3)
        | st.dictionaries(st.text(max_size=5), inner, max_size=4)
        | st.dictionaries(st.integers() | st.booleans() | st.none(), inner, max_size=3)
        | st.builds(Row, st.text(), st.lists(st.text()).map(tuple), st.none() | st.datetimes())
    ),
    max_leaves=25,
)


@given(values)
def test_dumps__any_document__same_text_as_json_dumps_of_jsonable(value: Any) -> None:
    assert dumps(value) == _reference(value)


def test_dumps__rows_sharing_keys_at_different_depths__indented_by_depth() -> None:
    row = {"name": "é", "tags": ("a", "b"), "empty": [], "none": None, "n": math.inf}
    document = {"rows": [row, row], "nested": {"rows": [row]}, "top": row}

    assert dumps(document) == _reference(document)


def test_record_json__report_row__same_as_jsonable_and_json_ready() -> None:
    row = Row("s1", ("t1", "t2"), datetime(2025, 1, 1, 12, 30, tzinfo=UTC), (1, 2))

    document = record_json(row)

    assert json.dumps(document) == json.dumps(jsonable(row))
    assert document["at"] == "2025-01-01T12:30:00Z"


@dataclass(frozen=True)
class One:
    at: datetime


@dataclass(frozen=True)
class Empty:
    pass


def test_dumps__dataclasses_of_one_and_no_field__same_as_jsonable() -> None:
    document = {"one": One(datetime(2025, 1, 1, tzinfo=UTC)), "empty": Empty(), "rows": [Empty()]}

    assert dumps(document) == _reference(document)
    assert record_json(One(datetime(2025, 1, 1, tzinfo=UTC))) == {"at": "2025-01-01T00:00:00Z"}


table_cells = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3).map(tuple), max_leaves=4
)


@given(
    st.lists(st.text(max_size=4), min_size=1, max_size=4, unique=True).flatmap(
        lambda keys: st.lists(
            st.fixed_dictionaries(dict.fromkeys(keys, table_cells)), min_size=8, max_size=12
        )
    )
)
def test_dumps__table_of_dicts_one_shape__same_text_as_json_dumps_of_jsonable(
    rows: list[dict[str, Any]],
) -> None:
    document = {"rows": rows, "nested": [{"deeper": rows}]}

    assert dumps(document) == _reference(document)


@given(
    st.lists(st.text(max_size=4), min_size=1, max_size=4, unique=True).flatmap(
        lambda keys: st.tuples(
            st.just(tuple(keys)),
            st.lists(st.tuples(*[table_cells] * len(keys)), min_size=0, max_size=12),
        )
    )
)
def test_dumps__rows_of_tuples__same_text_as_the_list_of_dicts(
    table: tuple[tuple[str, ...], list[tuple[Any, ...]]],
) -> None:
    keys, values = table
    dicts = [dict(zip(keys, v, strict=True)) for v in values]
    document = {"rows": Rows(keys, values), "nested": [{"deeper": Rows(keys, values)}]}

    assert dumps(document) == _reference({"rows": dicts, "nested": [{"deeper": dicts}]})
    assert jsonable(Rows(keys, values)) == jsonable(dicts)


@given(
    st.lists(
        st.builds(
            Row,
            st.text(),
            st.lists(st.text(), max_size=3).map(tuple),
            st.none()
            | st.datetimes(timezones=st.just(UTC))
            | st.datetimes()
            | st.datetimes(timezones=st.sampled_from([timezone(timedelta(hours=-5, minutes=-30))])),
            st.lists(st.integers(), max_size=2).map(tuple),
        ),
        min_size=8,
        max_size=12,
    )
)
def test_dumps__table_of_records__same_text_as_json_dumps_of_jsonable(rows: list[Row]) -> None:
    assert dumps({"rows": rows}) == _reference({"rows": rows})


def test_dumps__table_with_percent_keys_and_mixed_columns__same_text() -> None:
    rows = [
        {"100%": i, "%s": None if i % 2 else f"é{i}", "b": i % 3 == 0, "t": ("x",) * (i % 2)}
        for i in range(10)
    ]
    rows[4]["100%"] = True  # one odd type in a column
    rows[7]["t"] = ({"k": 1},)  # a non-string tuple

    assert dumps(rows) == _reference(rows)


def test_dumps__rows_whose_keys_differ__same_text() -> None:
    rows = [{"a": i, "b": i} for i in range(9)] + [{"b": 1, "a": 2}]

    assert dumps(rows) == _reference(rows)


def test_dumps__utc_timestamps_column__same_text_as_iso() -> None:
    # The state store's UTC times take a shortcut past iso(); other zones and naive ones do not.
    moments = [
        datetime(2025, 1, 1, 12, 30, tzinfo=UTC),
        datetime(2025, 1, 1, 12, 30, 5, 123456, tzinfo=UTC),
        datetime(2025, 1, 1, 12, 30, 5, 999, tzinfo=UTC),
        None,
        datetime(2025, 1, 1, 12, 30, 5, 500000, tzinfo=timezone(timedelta(hours=1))),
        datetime(2025, 1, 1, 12, 30, 5),
    ] * 2
    rows = [{"at": moment, "n": i} for i, moment in enumerate(moments)]

    assert dumps(rows) == _reference(rows)
    assert dumps(Rows(("at", "n"), [tuple(r.values()) for r in rows])) == _reference(rows)


def test_dumps__columns_of_strings_then_others__same_text() -> None:
    # Columns are tried as strings first: a subclass, a None or a number met late, lists with
    # a non-string item, and equal moments in other zones (formatted once) all write as before.
    at = datetime(2025, 1, 1, 12, 0, 0, 250000, tzinfo=UTC)
    rows = [
        {
            "name": f"s{i}",
            "late": Colour.RED if i == 9 else f"x{i}",
            "gap": None if i == 9 else "y",
            "number": 7 if i == 9 else "7",
            "tags": ("a", 1) if i == 9 else ("a", Colour.RED),
            "at": [at, at.astimezone(timezone(timedelta(hours=2))), at.replace(tzinfo=None)][i % 3],
        }
        for i in range(10)
    ]
    assert dumps(rows) == _reference(rows)
    assert dumps(Rows(tuple(rows[0]), [tuple(r.values()) for r in rows])) == _reference(rows)


def test_dumps__columns_of_one_item_lists__same_text_as_the_list_of_dicts() -> None:
    # A list of one string takes its own path (a schema's parent, one checksum); one of a
    # non-string item, an enum's text, escapes, an empty list and longer ones beside it.
    items = [("a",), ('q"uote\n',), (), ("x", "y"), (Colour.RED,), ("\u00e9",), (5,), ("z",)]
    rows = [{"name": f"s{i}", "one": items[i % len(items)], "only": (f"v{i}",)} for i in range(17)]
    assert dumps(Rows(tuple(rows[0]), [tuple(r.values()) for r in rows])) == _reference(rows)
    no_ints = [{**r, "one": ("a",) if r["one"] == (5,) else r["one"]} for r in rows]
    assert dumps(Rows(tuple(rows[0]), [tuple(r.values()) for r in no_ints])) == _reference(no_ints)


column = st.one_of(
    st.lists(st.text(), min_size=9, max_size=9),
    st.lists(st.none() | st.text() | st.sampled_from([Colour.RED, 5]), min_size=9, max_size=9),
    st.lists(st.lists(st.text() | st.integers(), max_size=3).map(tuple), min_size=9, max_size=9),
    st.lists(
        st.none() | st.datetimes(timezones=st.none() | st.just(UTC) | st.timezones()),
        min_size=9,
        max_size=9,
    ),
)


@given(st.lists(column, min_size=1, max_size=4))
def test_dumps__rows_of_any_columns__same_text_as_the_list_of_dicts(columns: list[Any]) -> None:
    keys = tuple(f"k{i}" for i in range(len(columns)))
    rows = list(zip(*columns, strict=True))
    documents = [dict(zip(keys, row, strict=True)) for row in rows]
    assert dumps(Rows(keys, rows)) == _reference(documents)
    assert dumps(Rows.of_columns(keys, columns)) == _reference(documents)


def test_rows_of_columns__few_none_or_uneven__same_text_or_refused() -> None:
    keys = ("name", "n")
    for size in (0, 1, 7, 8):
        columns: list[Any] = [[f"s{i}" for i in range(size)], list(range(size))]
        documents = [{"name": f"s{i}", "n": i} for i in range(size)]
        table = Rows.of_columns(keys, columns)
        assert (table.count, table.rows) == (size, [(f"s{i}", i) for i in range(size)])
        assert dumps({"rows": table}) == _reference({"rows": documents})
    assert Rows(keys, []).columns == [(), ()]
    for uneven in ([["a", "b"], [1]], [["a"]]):
        with pytest.raises(ValueError, match="one column per key"):
            Rows.of_columns(keys, uneven)
