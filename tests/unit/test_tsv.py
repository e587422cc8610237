"""TSV ids, handler slugs, timestamps, tags and ref resolution (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from timescape.errors import DefinitionError, UnknownRefError
from timescape.model.tsv import (
    Version,
    VersionIndex,
    format_tsv,
    handler_slug,
    parse_timestamp,
    parse_tsv,
    validate_handler,
    validate_tag,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)


# -- slug and format ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("handler", "slug"),
    [
        ("/api/products", "products"),
        ("/API/Products", "products"),
        ("/api/v2/user_list", "v2-user-list"),
        ("/products/{id}", "products-id"),
        ("/api", "root"),
        ("/", "root"),
        ("/api-docs", "api-docs"),
        ("/apiary", "apiary"),
        ("/a//b..c", "a-b-c"),
    ],
)
def test_handler_slug__paths__lowercased_api_dropped_non_alnum_folded(handler, slug):
    assert handler_slug(handler) == slug


def test_format_tsv__products_second_version__matches_spec_example():
    moment = parse_timestamp("2024-11-21T10:00:00Z")
    assert format_tsv(moment, "/api/products", 2) == "tsv:1732183200-products-002"


def test_format_tsv__parse_tsv__round_trips():
    tsv = format_tsv(T0, "/api/orders", 17)
    assert parse_tsv(tsv) == (int(T0.timestamp()), "orders", 17)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "tsv:",
        "tsv:abc-products-001",
        "tsv:1-products-1",
        "TSV:1-products-001",
        "tsv:1-Products-001",
        "tsv:1-products-001 ",
        "1-products-001",
        "tsv:1--products-001",
    ],
)
def test_parse_tsv__malformed__raises_unknown_ref(text):
    with pytest.raises(UnknownRefError, match="not a TSV"):
        parse_tsv(text)


# -- timestamps --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "2025-01-01T00:00:00Z",
        "2025-01-01T00:00:00+00:00",
        "2025-01-01T02:00:00+02:00",
        "2025-01-01",
        "2025-01-01T00:00:00",
        " 2025-01-01T00:00:00.999Z ",
    ],
)
def test_parse_timestamp__iso_forms__utc_whole_seconds(text):
    assert parse_timestamp(text) == T0


def test_parse_timestamp__naive_datetime__taken_as_utc():
    assert parse_timestamp(datetime(2025, 1, 1)) == T0


def test_parse_timestamp__aware_datetime__converted_to_utc():
    moment = datetime(2025, 1, 1, 5, tzinfo=timezone(timedelta(hours=5)))
    assert parse_timestamp(moment) == T0
    assert parse_timestamp(moment).tzinfo is UTC


@pytest.mark.parametrize(
    "text", ["yesterday", "2025-13-01", "2025-01-01T25:00:00Z", "", "1735689600"]
)
def test_parse_timestamp__not_iso__definition_error_naming_key(text):
    with pytest.raises(DefinitionError, match="not an ISO-8601 timestamp") as info:
        parse_timestamp(text, key="versions[0].timestamp")
    assert info.value.key == "versions[0].timestamp"


# -- handlers and tags -------------------------------------------------------------------------


@pytest.mark.parametrize("handler", ["/api/products", "/", "/api/v1.2/{id}", "/a-b_c~d:e"])
def test_validate_handler__valid__returned_unchanged(handler):
    assert validate_handler(handler) == handler


@pytest.mark.parametrize(
    "handler",
    [
        "api/products",
        "",
        "/api/products?x=1",
        "/api products",
        "/api/'x",
        "/a;b",
        "/" + "a" * 200,
        None,
        3,
    ],
)
def test_validate_handler__invalid__definition_error(handler):
    with pytest.raises(DefinitionError, match="invalid handler"):
        validate_handler(handler)


@pytest.mark.parametrize("tag", ["v1.2.0", "stable", "1.0", "release+build.5", "a" * 64])
def test_validate_tag__valid__returned_unchanged(tag):
    assert validate_tag(tag) == tag


@pytest.mark.parametrize("tag", ["", "-x", ".x", "v 1", "a;b", "it's", "a" * 65, None, "v1/2"])
def test_validate_tag__invalid_characters__definition_error(tag):
    with pytest.raises(DefinitionError, match="invalid tag"):
        validate_tag(tag)


def test_validate_tag__latest__reserved():
    with pytest.raises(DefinitionError, match="reserved"):
        validate_tag("latest")


def test_validate_tag__looks_like_timestamp__refused():
    with pytest.raises(DefinitionError, match="timestamp"):
        validate_tag("2025-01-01")


# -- resolution --------------------------------------------------------------------------------


def _version(handler: str, days: int, schema: str = "s1") -> Version:
    moment = T0 + timedelta(days=days)
    return Version(format_tsv(moment, handler, days + 1), handler, moment, schema)


@pytest.fixture
def index() -> VersionIndex:
    products = [_version("/api/products", d) for d in range(3)]
    orders = [_version("/api/orders", d) for d in range(2)]
    tags = {
        ("/api/products", "v1.0.0"): products[0].tsv,
        ("/api/products", "stable"): products[1].tsv,
        ("/api/orders", "stable"): orders[0].tsv,
        ("/api/orders", "beta"): orders[1].tsv,
    }
    return VersionIndex([*products, *orders], tags)


def _tsv(handler: str, days: int) -> str:
    return _version(handler, days).tsv


def test_resolve__tsv__returned(index):
    tsv = _tsv("/api/products", 1)
    assert index.resolve(tsv) == tsv
    assert index.resolve(tsv, "/api/products") == tsv


def test_resolve__tsv_of_other_handler__unknown(index):
    with pytest.raises(UnknownRefError, match="no such TSV"):
        index.resolve(_tsv("/api/products", 1), "/api/orders")


def test_resolve__unknown_tsv__unknown(index):
    with pytest.raises(UnknownRefError, match="no such TSV"):
        index.resolve("tsv:1-products-009")


def test_resolve__tag_with_handler__its_target(index):
    assert index.resolve("stable", "/api/products") == _tsv("/api/products", 1)
    assert index.resolve("stable", "/api/orders") == _tsv("/api/orders", 0)


def test_resolve__tag_unique_across_handlers__no_handler_needed(index):
    assert index.resolve("v1.0.0") == _tsv("/api/products", 0)
    assert index.resolve("beta") == _tsv("/api/orders", 1)


def test_resolve__tag_in_several_handlers_without_handler__ambiguous_names_them(index):
    with pytest.raises(UnknownRefError, match="several handlers") as info:
        index.resolve("stable")
    assert "/api/orders" in info.value.message
    assert "/api/products" in info.value.message


def test_resolve__tag_of_other_handler__unknown(index):
    with pytest.raises(UnknownRefError, match="no such tag"):
        index.resolve("v1.0.0", "/api/orders")


@pytest.mark.parametrize(
    ("ref", "days"),
    [
        ("2025-01-01T00:00:00Z", 0),  # exactly at the first version
        ("2025-01-01T23:59:59Z", 0),
        ("2025-01-02T00:00:00Z", 1),
        ("2025-01-02T12:00:00+00:00", 1),
        ("2030-01-01", 2),
    ],
)
def test_resolve__timestamp__newest_at_or_before(index, ref, days):
    assert index.resolve(ref, "/api/products") == _tsv("/api/products", days)


def test_resolve__timestamp_before_first__unknown(index):
    with pytest.raises(UnknownRefError, match="before the first version"):
        index.resolve("2024-12-31T23:59:59Z", "/api/products")


def test_resolve__timestamp_without_handler_among_several__asks_for_handler(index):
    with pytest.raises(UnknownRefError, match="pass --handler"):
        index.resolve("2025-01-02T00:00:00Z")


@pytest.mark.parametrize("ref", [None, "latest"])
def test_resolve__latest_or_none__newest_of_handler(index, ref):
    assert index.resolve(ref, "/api/products") == _tsv("/api/products", 2)
    assert index.resolve(ref, "/api/orders") == _tsv("/api/orders", 1)


def test_resolve__latest_without_handler_among_several__asks_for_handler(index):
    with pytest.raises(UnknownRefError, match="several handlers"):
        index.resolve(None)


def test_resolve__latest_single_handler__no_handler_needed():
    versions = [_version("/api/products", d) for d in range(2)]
    assert VersionIndex(versions, {}).resolve(None) == versions[1].tsv


def test_resolve__no_versions__unknown():
    with pytest.raises(UnknownRefError, match="no versions are defined"):
        VersionIndex([], {}).resolve(None)


def test_resolve__unknown_handler__unknown(index):
    with pytest.raises(UnknownRefError, match="no such handler"):
        index.resolve(None, "/api/nothing")


def test_resolve__garbage_ref__unknown(index):
    with pytest.raises(UnknownRefError, match="no such tag, TSV or timestamp"):
        index.resolve("v9.9.9", "/api/products")


def test_index__timeline_and_tags_of__sorted(index):
    timeline = index.timeline("/api/products")
    assert [v.tsv for v in timeline] == [_tsv("/api/products", d) for d in range(3)]
    assert index.tags_of(_tsv("/api/products", 1)) == ["stable"]
    assert index.tags_of("tsv:0-nothing-001") == []
    assert index.timeline("/api/none") == []
    assert index.handlers == ["/api/orders", "/api/products"]
    assert index.tag_target("/api/orders", "beta") == _tsv("/api/orders", 1)
