"""The schema DAG: ancestors, closure and topological order.

Parents come first in every order this module returns; ties follow definition order so plans are
deterministic and read like the project file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from timescape.errors import DefinitionError

__all__ = ["SchemaGraph"]


class SchemaGraph:
    """An immutable DAG of schema names, validated on construction.

    Closures are memoised, so asking for the ancestors of every live version on every plan costs a
    dict lookup after the first time.
    """

    __slots__ = ("_ancestors", "_children", "_closures", "_order", "_parents")

    def __init__(self, parents: Mapping[str, Sequence[str]]) -> None:
        """Validate the graph: every parent exists and there is no cycle.

        Args:
            parents: ``name → parent names``, in definition order.

        Raises:
            DefinitionError: Naming the unknown parent or the cycle.
        """
        self._parents: dict[str, tuple[str, ...]] = {n: tuple(p) for n, p in parents.items()}
        children: dict[str, list[str]] = {}
        for name, ps in self._parents.items():
            for parent in ps:
                if parent not in self._parents:
                    raise DefinitionError(
                        f"schema {name!r} has unknown parent {parent!r}", key=f"{name}.parent"
                    )
                children.setdefault(parent, []).append(name)
        # Kept as tuples, a leaf's the shared empty one: a list per schema cost twice as much
        # (a 1,000-schema chain held 110 KB of them, issue 14).
        self._children: dict[str, tuple[str, ...]] = {
            name: tuple(children[name]) if name in children else () for name in self._parents
        }
        self._order = self._topological_all()
        self._ancestors: dict[str, frozenset[str]] = {}
        self._closures: dict[str, frozenset[str]] = {}

    def _topological_all(self) -> dict[str, int]:
        # Most projects define every schema after its parents: then the definition order is the
        # order the search below would find (each root's parents are already done), and there
        # is no cycle. One pass tells; it costs a fraction of the search at 10,000 schemas.
        position: dict[str, int] = {}
        for name, parents in self._parents.items():
            if not all(map(position.__contains__, parents)):
                break
            position[name] = len(position)
        else:
            return position
        return self._depth_first()

    def _depth_first(self) -> dict[str, int]:
        # Depth-first with an explicit stack: definition files can be deep chains, and recursion
        # would cap the chain length at the interpreter's recursion limit.
        position: dict[str, int] = {}
        state: dict[str, int] = {}  # 1 = on the stack, 2 = done
        for root in self._parents:
            if state.get(root) == 2:
                continue
            stack: list[tuple[str, int]] = [(root, 0)]
            path: list[str] = [root]
            state[root] = 1
            while stack:
                node, i = stack[-1]
                parents = self._parents[node]
                if i < len(parents):
                    stack[-1] = (node, i + 1)
                    parent = parents[i]
                    mark = state.get(parent)
                    if mark == 1:
                        cycle = [*path[path.index(parent) :], parent]
                        raise DefinitionError(
                            f"schema parents form a cycle: {' -> '.join(reversed(cycle))}",
                            key=f"{node}.parent",
                        )
                    if mark is None:
                        state[parent] = 1
                        stack.append((parent, 0))
                        path.append(parent)
                    continue
                stack.pop()
                path.pop()
                state[node] = 2
                position[node] = len(position)
        return position

    def __contains__(self, name: object) -> bool:
        """True when ``name`` is a schema of this graph."""
        return name in self._parents

    @property
    def names(self) -> list[str]:
        """Every schema, parents before children."""
        return sorted(self._parents, key=self._order.__getitem__)

    def parents(self, name: str) -> tuple[str, ...]:
        """The direct parents of ``name``."""
        return self._parents[name]

    def children(self, name: str) -> tuple[str, ...]:
        """The direct children of ``name``."""
        return self._children[name]

    def ancestors(self, name: str) -> frozenset[str]:
        """Every schema ``name`` builds on, transitively, excluding itself."""
        cached = self._ancestors.get(name)
        if cached is not None:
            return cached
        # The walk up a long chain (a hundred ancestors at ten thousand schemas, issue 14) runs
        # once per activation of a fresh instance: operators, not method calls, where they can.
        parents_of, known_of = self._parents, self._ancestors
        seen: set[str] = set()
        todo = list(parents_of[name])
        while todo:
            node = todo.pop()
            if node in seen:
                continue
            seen.add(node)
            if node in known_of:
                seen |= known_of[node]
                continue
            todo += parents_of[node]
        result = frozenset(seen)
        self._ancestors[name] = result
        return result

    def descendants(self, name: str) -> frozenset[str]:
        """Every schema built on ``name``, transitively, excluding itself."""
        seen: set[str] = set()
        todo = list(self._children[name])
        while todo:
            node = todo.pop()
            if node not in seen:
                seen.add(node)
                todo.extend(self._children[node])
        return frozenset(seen)

    def closure_of(self, name: str) -> frozenset[str]:
        """``name`` plus all its ancestors (memoised: every live version asks on every plan)."""
        cached = self._closures.get(name)
        if cached is None:
            cached = self.ancestors(name) | {name}
            self._closures[name] = cached
        return cached

    def closure(self, names: Iterable[str]) -> frozenset[str]:
        """The given schemas plus all their ancestors."""
        result: set[str] = set()
        for name in names:
            if name not in result:
                result.add(name)
                result.update(self.ancestors(name))
        return frozenset(result)

    def topological(self, names: Iterable[str]) -> list[str]:
        """Order ``names`` so that every parent comes before its children."""
        return sorted(set(names), key=self._order.__getitem__)
