"""The state store's fast JSON for the lists in a schema row equals ``json.dumps`` byte for byte."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from timescape.store.state import _json_list
from timescape.store.state.codec import json_object, now


@given(st.lists(st.none() | st.text(max_size=20)))
def test_json_list__any_items__same_as_json_dumps(items: list[str | None]) -> None:
    assert _json_list(items) == json.dumps(items)


def test_json_list__checksums_and_names__written_plainly() -> None:
    items = ["sha256-v1:" + "ab" * 32, None, "schema_v2"]
    assert _json_list(tuple(items)) == json.dumps(items)
    assert json.loads(_json_list(items)) == items
    assert _json_list(['say "hi"', "back\\slash", "é", "tab\t"]) == json.dumps(
        ['say "hi"', "back\\slash", "é", "tab\t"]
    )


_DETAIL_VALUES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=20)
    | st.floats(allow_nan=False)
    | st.lists(st.text(max_size=5), max_size=3)
)


@given(st.dictionaries(st.text(max_size=10), _DETAIL_VALUES, max_size=5))
def test_json_object__any_detail__same_as_json_dumps(detail: dict[str, object]) -> None:
    assert json_object(detail) == json.dumps(detail)


def test_json_object__an_event_detail__written_plainly() -> None:
    detail = {"steps": 3, "reason": "needed by tsv:1735689600-api-items-001", "none": None}
    assert json_object(detail) == json.dumps(detail)
    assert json_object({}) == "{}"
    assert json_object({"flag": True, "n": 2}) == json.dumps({"flag": True, "n": 2})


def test_now__whole_milliseconds_in_utc() -> None:
    moment = now()
    assert moment.tzinfo is UTC
    assert moment.microsecond % 1000 == 0
    assert abs((datetime.now(UTC) - moment).total_seconds()) < 1
