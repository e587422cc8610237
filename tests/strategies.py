"""Hypothesis strategies: random schema DAGs, versions on them, and operation sequences."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from tests.modelutil import catalog, schema
from timescape.model.catalog import Catalog
from timescape.model.schema import Step

HANDLERS = ("/api/products", "/api/orders", "/api/users")


@dataclass(frozen=True)
class World:
    """A random catalog and the TSVs of its versions, in definition order."""

    catalog: Catalog
    tsvs: tuple[str, ...]


@st.composite
def worlds(draw: st.DrawFn, *, compatible: bool | None = None, contracts: bool = False) -> World:
    """A DAG of 1-7 schemas (each may build on up to 2 earlier ones) and 1-6 versions.

    Args:
        draw: Hypothesis draw.
        compatible: True: every schema declares ``breaking = false`` (the gate never refuses);
            None: declarations are random (breaking, non-breaking, undeclared, compatible_with).
        contracts: Give some schemas deferred contract steps.
    """
    n = draw(st.integers(1, 7))
    schemas = []
    for i in range(n):
        earlier = [f"s{j}" for j in range(i)]
        parents = draw(st.lists(st.sampled_from(earlier), max_size=2, unique=True)) if earlier else []
        breaking = False if compatible else draw(st.sampled_from([None, True, False]))
        compat = [] if compatible or not earlier else draw(
            st.lists(st.sampled_from(earlier), max_size=2, unique=True))
        contract = ()
        if contracts and draw(st.booleans()):
            contract = (Step(f"DROP TABLE s{i}_old", f"CREATE TABLE s{i}_old (x INT)", "contract1"),)
        schemas.append(schema(f"s{i}", parents, steps=draw(st.integers(1, 3)),
                              compatible_with=compat, breaking=breaking, contract=contract))
    m = draw(st.integers(1, 6))
    versions = [(draw(st.sampled_from(HANDLERS)), f"s{draw(st.integers(0, n - 1))}") for _ in range(m)]
    cat = catalog(schemas, versions)
    # catalog() numbers versions per handler in definition order; map definition order to TSVs.
    seen: dict[str, int] = {}
    tsvs = []
    for handler, _ in versions:
        tsvs.append([v.tsv for v in cat.versions if v.handler == handler][seen.get(handler, 0)])
        seen[handler] = seen.get(handler, 0) + 1
    return World(cat, tuple(tsvs))


def operations(world_size: int, max_ops: int = 12) -> st.SearchStrategy[list[tuple[str, int]]]:
    """Sequences of ``("activate" | "deactivate", version position)``."""
    return st.lists(
        st.tuples(st.sampled_from(["activate", "deactivate"]), st.integers(0, world_size - 1)),
        max_size=max_ops,
    )
