"""``iso_texts``: stored ISO text to the printed form, the same as through a ``datetime``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from timescape.cli.render import iso as render_iso
from timescape.model.moment import iso, iso_texts

_ZONES = st.sampled_from(
    [None, UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))]
)
_MOMENTS = st.builds(
    lambda moment, zone: moment.replace(tzinfo=zone),
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9998, 12, 30)),
    _ZONES,
)
_SPECS = st.sampled_from(["auto", "seconds", "milliseconds", "microseconds"])


def _stored(moment: datetime) -> str:
    """The text Timescape's state tables hold for ``moment``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _through_datetime(texts: list[str | None]) -> list[str | None]:
    return [iso(datetime.fromisoformat(t)) if t else None for t in texts]


@given(st.lists(st.one_of(st.none(), st.just(""), st.tuples(_MOMENTS, _SPECS))))
def test_iso_texts__any_iso_texts__same_as_through_datetime(
    values: list[tuple[datetime, str] | str | None],
) -> None:
    texts = [v if not isinstance(v, tuple) else v[0].isoformat(timespec=v[1]) for v in values]
    assert list(iso_texts(texts)) == _through_datetime(texts)


@given(st.lists(st.one_of(st.none(), _MOMENTS.map(_stored)), min_size=1))
def test_iso_texts__stored_form_only__same_as_through_datetime(texts: list[str | None]) -> None:
    assert list(iso_texts(texts)) == _through_datetime(texts)


def test_iso_texts__stored_forms__fraction_kept_or_dropped() -> None:
    texts = ["2026-12-06T12:00:00.123+00:00", None, "2026-12-06T12:00:01.000+00:00", ""]
    assert list(iso_texts(texts)) == [
        "2026-12-06T12:00:00.123Z",
        None,
        "2026-12-06T12:00:01Z",
        None,
    ]
    assert list(iso_texts([])) == []


def test_iso_texts__stored_shape_other_zone__converted_to_utc() -> None:
    # Digit for digit the stored shape, but not UTC: the whole column goes through datetimes.
    texts = ["2026-12-06T12:00:00.123+00:00", "2026-12-06T14:00:00.000+02:00"]
    assert list(iso_texts(texts)) == ["2026-12-06T12:00:00.123Z", "2026-12-06T12:00:00Z"]


def test_iso_texts__not_iso__raises_value_error_as_fromisoformat() -> None:
    with pytest.raises(ValueError, match=r"month must be in 1\.\.12"):
        iso_texts(["2026-12-06T12:00:00.123+00:00", "2026-13-01T00:00:00.000+00:00"])


def test_iso__render_iso__is_the_same_function() -> None:
    assert render_iso is iso
    assert iso(datetime(2026, 1, 1, 0, 0, 0, 500)) == "2026-01-01T00:00:00.000Z"
    assert iso(None) is None


@given(st.lists(st.one_of(st.none(), st.tuples(_MOMENTS, _SPECS))))
def test_iso_texts__moments_given__same_as_reading_them(
    values: list[tuple[datetime, str] | None],
) -> None:
    texts = [v if v is None else v[0].isoformat(timespec=v[1]) for v in values]
    moments = [datetime.fromisoformat(t) if t else None for t in texts]
    assert list(iso_texts(texts, moments)) == _through_datetime(texts)
