"""The schema DAG: validation, ancestors, descendants, closure, topological order (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from timescape.errors import DefinitionError
from timescape.model.graph import SchemaGraph

#      base
#     /    \
#   left   right
#     \    /
#      merge ── leaf
#   other (isolated)
DIAMOND = {
    "base": [],
    "left": ["base"],
    "right": ["base"],
    "merge": ["left", "right"],
    "leaf": ["merge"],
    "other": [],
}


@pytest.fixture
def graph() -> SchemaGraph:
    return SchemaGraph(DIAMOND)


def test_ancestors__diamond__every_transitive_parent(graph):
    assert graph.ancestors("leaf") == {"merge", "left", "right", "base"}
    assert graph.ancestors("merge") == {"left", "right", "base"}
    assert graph.ancestors("base") == frozenset()


def test_ancestors__asked_twice__same_memoised_value(graph):
    assert graph.ancestors("leaf") is graph.ancestors("leaf")


def test_descendants__diamond__every_transitive_child(graph):
    assert graph.descendants("base") == {"left", "right", "merge", "leaf"}
    assert graph.descendants("right") == {"merge", "leaf"}
    assert graph.descendants("leaf") == frozenset()


def test_closure__names__themselves_plus_ancestors(graph):
    assert graph.closure(["left", "other"]) == {"left", "base", "other"}
    assert graph.closure([]) == frozenset()


def test_topological__subset__parents_first_ties_in_definition_order(graph):
    assert graph.topological(["leaf", "base", "right", "left", "merge"]) == [
        "base",
        "left",
        "right",
        "merge",
        "leaf",
    ]
    assert graph.names.index("base") < graph.names.index("left") < graph.names.index("merge")


def test_topological__duplicates__once(graph):
    assert graph.topological(["base", "base"]) == ["base"]


def test_parents_children__direct_only(graph):
    assert graph.parents("merge") == ("left", "right")
    assert set(graph.children("base")) == {"left", "right"}
    assert "merge" in graph
    assert "nope" not in graph


def test_graph__child_defined_before_parent__order_still_parents_first():
    g = SchemaGraph({"c": ["b"], "b": ["a"], "a": []})
    assert g.names == ["a", "b", "c"]


def test_graph__unknown_parent__definition_error_names_both():
    with pytest.raises(DefinitionError, match="'s2' has unknown parent 'ghost'") as info:
        SchemaGraph({"s1": [], "s2": ["ghost"]})
    assert info.value.key == "s2.parent"


@pytest.mark.parametrize(
    "parents",
    [
        {"a": ["b"], "b": ["a"]},
        {"a": ["c"], "b": ["a"], "c": ["b"]},
        {"root": [], "a": ["root", "c"], "b": ["a"], "c": ["b"]},
    ],
)
def test_graph__cycle__definition_error_shows_cycle(parents):
    with pytest.raises(DefinitionError, match="form a cycle") as info:
        SchemaGraph(parents)
    assert " -> " in info.value.message


def test_graph__deep_chain__no_recursion_limit():
    n = 5000
    parents = {f"s{i}": ([f"s{i - 1}"] if i else []) for i in range(n)}
    g = SchemaGraph(parents)
    assert len(g.ancestors(f"s{n - 1}")) == n - 1
    assert g.names[0] == "s0"
    assert g.names[-1] == f"s{n - 1}"


@st.composite
def _dags(draw: st.DrawFn) -> dict[str, list[str]]:
    """Random DAGs, their schemas defined in any order (parents first or not)."""
    size = draw(st.integers(1, 12))
    names = [f"s{i}" for i in range(size)]
    parents = {
        name: draw(st.lists(st.sampled_from(names[:i]), max_size=3, unique=True)) if i else []
        for i, name in enumerate(names)
    }
    order = draw(st.permutations(names))
    return {name: parents[name] for name in order}


@given(_dags())
def test_topological__any_definition_order__same_order_as_the_depth_first_search(
    parents: dict[str, list[str]],
) -> None:
    graph = SchemaGraph(parents)

    assert graph._order == graph._depth_first()
    assert all(graph._order[p] < graph._order[n] for n, ps in parents.items() for p in ps)


def test_children__kept_as_tuples__leaves_share_the_empty_one():
    # A list per schema cost twice a tuple (a 1,000-schema chain held 110 KB of them, issue 14).
    g = SchemaGraph({"a": [], "b": ["a"], "c": ["a"], "d": ["b"]})
    assert g.children("a") == ("b", "c")
    leaf = g.children("c")
    assert leaf == ()
    assert g.children("d") is leaf
    assert g.descendants("a") == {"b", "c", "d"}
    assert all(type(kids) is tuple for kids in g._children.values())
