"""The state store's fast JSON for the lists in a schema row equals ``json.dumps`` byte for byte."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from timescape.store.state import _json_list


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
