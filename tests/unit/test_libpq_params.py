"""The libpq framing's pure parts: numbered placeholders and values bound as text (issue 14)."""

from __future__ import annotations

from datetime import date

import pytest

from timescape.store.backends._libpq import INT8_OID, bound_params, numbered


def test_numbered__each_placeholder__numbered_in_order() -> None:
    assert numbered("INSERT INTO t (a, b) VALUES (?, ?)") == "INSERT INTO t (a, b) VALUES ($1, $2)"
    assert numbered("WITH w AS (UPDATE t SET a = ? RETURNING 1) SELECT ?") == (
        "WITH w AS (UPDATE t SET a = $1 RETURNING 1) SELECT $2"
    )
    assert numbered("COMMIT") == "COMMIT"


def test_bound_params__plain_values__text_with_their_types() -> None:
    assert bound_params(("name", 42, None, -(2**63), "")) == (
        [b"name", b"42", None, str(-(2**63)).encode(), b""],
        [0, INT8_OID, 0, INT8_OID, 0],
    )


@pytest.mark.parametrize(
    "value",
    [True, 2**63, "naïve", 1.5, date(2025, 1, 2), b"raw"],
    ids=["bool", "beyond-bigint", "non-ascii", "float", "date", "bytes"],
)
def test_bound_params__value_needing_adaptation__none(value: object) -> None:
    assert bound_params(("plain", value)) is None
