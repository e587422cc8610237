"""The catalog: definitions validated as a whole, TSV assignment (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from timescape.errors import DefinitionError, UnknownRefError
from timescape.model.catalog import Catalog, VersionSpec
from timescape.model.schema import SchemaVersion, Step
from timescape.model.tsv import format_tsv, parse_timestamp


def _s(name: str, parent: str | list[str] | None = None, **kw: object) -> SchemaVersion:
    return SchemaVersion.build(
        name, [Step(f"CREATE TABLE {name}_t (x INT)", f"DROP TABLE {name}_t")], parent=parent, **kw
    )  # type: ignore[arg-type]


def test_catalog__versions__tsv_seq_is_position_in_handler_timeline():
    cat = Catalog(
        [_s("s1"), _s("s2", "s1")],
        [
            VersionSpec("/api/products", "2025-02-01T00:00:00Z", "s2"),
            VersionSpec("/api/products", "2025-01-01T00:00:00Z", "s1"),
            VersionSpec("/api/orders", "2025-01-15T00:00:00Z", "s1"),
        ],
    )
    tsvs = [v.tsv for v in cat.versions]
    assert tsvs == [
        "tsv:1736899200-orders-001",
        "tsv:1735689600-products-001",
        "tsv:1738368000-products-002",
    ]
    assert cat.version("tsv:1738368000-products-002").schema == "s2"


def test_catalog__schemas__parents_first():
    cat = Catalog([_s("c", "b"), _s("b", "a"), _s("a")], [])
    assert [s.name for s in cat.schemas] == ["a", "b", "c"]


def test_catalog__duplicate_schema__definition_error():
    with pytest.raises(DefinitionError, match="duplicate schema 's1'"):
        Catalog([_s("s1"), _s("s1")], [])


def test_catalog__names_differ_only_by_case__definition_error():
    with pytest.raises(DefinitionError, match="only by case"):
        Catalog([_s("Schema_V1"), _s("schema_v1")], [])


def test_catalog__unknown_parent__definition_error():
    with pytest.raises(DefinitionError, match="unknown parent 'ghost'"):
        Catalog([_s("s1", "ghost")], [])


def test_catalog__cycle__definition_error():
    with pytest.raises(DefinitionError, match="cycle"):
        Catalog([_s("a", "b"), _s("b", "a")], [])


def test_catalog__compatible_with_unknown__definition_error():
    with pytest.raises(DefinitionError, match="compatible with unknown schema 'ghost'") as info:
        Catalog([_s("s1", compatible_with=["ghost"])], [])
    assert info.value.key == "s1.compatible_with"


def test_catalog__version_with_unknown_schema__definition_error_names_key():
    with pytest.raises(DefinitionError, match="unknown schema 'nope'") as info:
        Catalog([_s("s1")], [VersionSpec("/api/p", "2025-01-01", "nope", key="versions[3]")])
    assert info.value.key == "versions[3].schema"


def test_catalog__bad_timestamp__definition_error_names_key():
    with pytest.raises(DefinitionError, match="ISO-8601") as info:
        Catalog([_s("s1")], [VersionSpec("/api/p", "soon", "s1")])
    assert info.value.key == "versions[0].timestamp"


def test_catalog__bad_handler__definition_error():
    with pytest.raises(DefinitionError, match="invalid handler"):
        Catalog([_s("s1")], [VersionSpec("api/p", "2025-01-01", "s1")])


def test_catalog__bad_tag__definition_error():
    with pytest.raises(DefinitionError, match="invalid tag"):
        Catalog([_s("s1")], [VersionSpec("/api/p", "2025-01-01", "s1", tags=("a b",))])


def test_catalog__same_timestamp_twice_in_handler__definition_error():
    with pytest.raises(DefinitionError, match="two versions of /api/p have the timestamp"):
        Catalog(
            [_s("s1")],
            [
                VersionSpec("/api/p", "2025-01-01T00:00:00Z", "s1"),
                VersionSpec("/api/p", datetime(2025, 1, 1, tzinfo=UTC), "s1"),
            ],
        )


def test_catalog__same_timestamp_in_different_handlers__allowed():
    cat = Catalog(
        [_s("s1")],
        [
            VersionSpec("/api/p", "2025-01-01", "s1"),
            VersionSpec("/api/q", "2025-01-01", "s1"),
        ],
    )
    assert len(cat.versions) == 2


def test_catalog__duplicate_tag_in_handler__definition_error():
    with pytest.raises(DefinitionError, match="unique per handler"):
        Catalog(
            [_s("s1")],
            [
                VersionSpec("/api/p", "2025-01-01", "s1", tags=("stable",)),
                VersionSpec("/api/p", "2025-01-02", "s1", tags=("stable",)),
            ],
        )


def test_catalog__same_tag_in_two_handlers__allowed():
    cat = Catalog(
        [_s("s1")],
        [
            VersionSpec("/api/p", "2025-01-01", "s1", tags=("stable",)),
            VersionSpec("/api/q", "2025-01-02", "s1", tags=("stable",)),
        ],
    )
    assert len(cat.declared_tags()) == 2


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("/api/products", "/products"),
        ("/api/user_list", "/api/user-list"),
        ("/api/Products", "/api/products"),
    ],
)
def test_catalog__handlers_with_same_slug__definition_error(a, b):
    with pytest.raises(DefinitionError, match="share the TSV slug"):
        Catalog(
            [_s("s1")], [VersionSpec(a, "2025-01-01", "s1"), VersionSpec(b, "2025-01-02", "s1")]
        )


def test_catalog__lookups__unknown_raise_unknown_ref():
    cat = Catalog([_s("s1")], [VersionSpec("/api/p", "2025-01-01", "s1", tags=("v1",))])
    assert cat.has_schema("s1")
    assert not cat.has_schema("s2")
    with pytest.raises(UnknownRefError, match="no such schema"):
        cat.schema("s2")
    with pytest.raises(UnknownRefError, match="no such TSV"):
        cat.version("tsv:1-p-001")
    assert cat.declared_tags() == {("/api/p", "v1"): cat.versions[0].tsv}


def test_with_additions__valid__new_catalog_old_unchanged():
    cat = Catalog([_s("s1")], [VersionSpec("/api/p", "2025-01-01", "s1")])
    bigger = cat.with_additions([_s("s2", "s1")], [VersionSpec("/api/p", "2025-01-02", "s2")])
    assert [v.schema for v in bigger.versions] == ["s1", "s2"]
    assert bigger.versions[0].tsv == cat.versions[0].tsv
    assert len(cat.versions) == 1


def test_with_additions__duplicate__definition_error():
    cat = Catalog([_s("s1")], [])
    with pytest.raises(DefinitionError, match="duplicate"):
        cat.with_additions([_s("s1")], [])


@pytest.mark.parametrize(
    "handler", ["/api/products", "/API/Items.v2/{id}", "/api", "/", "/x--y//z~"]
)
@pytest.mark.parametrize("stamp", ["1969-07-20T20:17:40Z", "2025-03-04T05:06:07+02:00"])
def test_catalog__tsvs__same_as_format_tsv(handler, stamp):
    specs = [VersionSpec(handler, stamp, "s1"), VersionSpec(handler, "2030-01-01T00:00:00Z", "s1")]
    cat = Catalog([_s("s1")], specs)

    moments = sorted(parse_timestamp(s.timestamp) for s in specs)
    assert [v.tsv for v in cat.versions] == [
        format_tsv(m, handler, seq) for seq, m in enumerate(moments, start=1)
    ]


def test_catalog__handler_too_long_for_tsv__definition_error_names_version():
    fits = "/" + "a" * (191 - len(format_tsv(datetime(2025, 1, 1, tzinfo=UTC), "/", 999_999)) + 4)
    Catalog([_s("s1")], [VersionSpec(fits, "2025-01-01T00:00:00Z", "s1")])
    with pytest.raises(DefinitionError, match="191") as info:
        Catalog(
            [_s("s1")],
            [
                VersionSpec(fits, "2025-01-01T00:00:00Z", "s1", key="v0"),
                VersionSpec(fits + "b", "2025-01-01T00:00:00Z", "s1", key="v1"),
            ],
        )
    assert info.value.key == "v1.handler"


def test_catalog__slug_clash_on_a_later_version__names_that_version():
    with pytest.raises(DefinitionError, match="share the TSV slug") as info:
        Catalog(
            [_s("s1")],
            [
                VersionSpec("/api/a-b", "2025-01-01T00:00:00Z", "s1", key="v0"),
                VersionSpec("/api/a-b", "2025-01-02T00:00:00Z", "s1", key="v1"),
                VersionSpec("/api/a_b", "2025-01-03T00:00:00Z", "s1", key="v2"),
            ],
        )
    assert info.value.key == "v2.handler"
