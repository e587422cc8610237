"""Patterns compiled on first use keep their public names (issue 14: cold start)."""

from __future__ import annotations

import re

import pytest

import timescape.model.schema
import timescape.model.tsv
from timescape.model._pattern import lazy_pattern


def test_lazy_pattern__called_twice__compiles_once_and_matches_as_re() -> None:
    getter = lazy_pattern(r"^a+\Z", re.IGNORECASE)
    first = getter()
    assert getter() is first
    assert first.match("AaA") is not None
    assert (first.pattern, first.flags & re.IGNORECASE) == (r"^a+\Z", re.IGNORECASE)


def test_public_pattern__imported_by_name__is_the_compiled_pattern() -> None:
    from timescape.model.schema import NAME_PATTERN  # noqa: PLC0415 - through __getattr__
    from timescape.model.tsv import TSV_PATTERN  # noqa: PLC0415 - likewise

    assert TSV_PATTERN.match("tsv:1735689600-products-001") is not None
    assert TSV_PATTERN is timescape.model.tsv.TSV_PATTERN
    assert NAME_PATTERN.match("s1") is not None
    assert NAME_PATTERN.match("s1\n") is None


def test_public_pattern__unknown_name__attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'NOPE'"):
        _ = timescape.model.tsv.NOPE  # type: ignore[attr-defined]
