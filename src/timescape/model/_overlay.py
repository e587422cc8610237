"""Read-only row mappings that a change derives from without copying every row.

Why: a :class:`~timescape.model.state.StateSnapshot` at 10,000 schemas and versions holds two
10,000-row mappings. Each change (an activation's commit, the planner's "what if this version
were live", the executor's rows as it writes them) used to copy both into new dicts, which made
one activation cost more at 10,000 rows than at 100 (issue 14). Now a snapshot's mappings are
read-only, so a derived snapshot can share its parent's rows and hold only what changed:

- :func:`frozen` wraps a dict in a :class:`types.MappingProxyType` (lookups and iteration at
  dict speed), for rows read from the database;
- :class:`Draft` is the mutable working copy a change writes into (reads fall through to the
  base), and :meth:`Draft.freeze` makes the result read-only again: the base itself when nothing
  changed, else an :class:`Overlay` of the base and the changed rows.

An :class:`Overlay` looks a key up in its changes, then in its base; the first whole pass over it
(``iter``, ``keys``, ``items``, ``values``) merges the two into one dict, once, and every later
pass reads that dict. Overlays never nest: one derived from an overlay shares the same base and
carries the (few) changed rows forward; once those reach an eighth of the base, the derived
mapping is merged into a plain dict instead, so lookups stay two probes and the rows carried per
change stay bounded.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, KeysView, Mapping, ValuesView
from types import MappingProxyType
from typing import Any, Final, TypeVar, cast

__all__ = ["Draft", "Overlay", "frozen", "layers"]

K = TypeVar("K")
V = TypeVar("V")

_GONE: Final[Any] = type("_Gone", (), {"__repr__": lambda _self: "<deleted>", "__slots__": ()})()
"""The value of a deleted key in an overlay's changes."""
_MISSING: Final[Any] = object()
_MERGE_MIN = 64  # below this many changed rows, never merge: a copy would cost more than it saves


def frozen(rows: dict[K, V]) -> Mapping[K, V]:
    """A read-only view of ``rows``; the caller hands the dict over and never changes it again.

    Args:
        rows: A dict nobody else holds a reference to (or that nobody will mutate).

    Returns:
        A :class:`types.MappingProxyType` over it.
    """
    return MappingProxyType(rows)


def layers(rows: Mapping[K, V]) -> tuple[Mapping[K, object], Mapping[K, V]]:
    """``(changed, base)``: the keys an overlay or draft changed, and the mapping under them.

    For a loop that looks up many keys, most of them unchanged (an activation's hundred
    ancestors): ``rows[key]`` for a key in ``changed``, ``base.get(key)`` (at C speed, no Python
    call per key) for any other. A plain mapping is its own base, with nothing changed.

    Args:
        rows: A snapshot's mapping.

    Returns:
        The changed keys (a mapping: test membership only) and the base.
    """
    if type(rows) is Overlay or type(rows) is Draft:
        return rows._changes, rows._base  # noqa: SLF001 - this module's own classes
    return {}, rows


class _Layered(Mapping[K, V]):
    """Lookups shared by :class:`Overlay` and :class:`Draft`: the changes first, then the base.

    ``_changes`` holds the rows written over ``_base`` (``_GONE`` for a deleted key): two dict
    probes at most per lookup.
    """

    __slots__ = ()
    _base: Mapping[K, V]
    _changes: dict[K, Any]

    def __getitem__(self, key: K) -> V:
        """The row, from the changes first."""
        value = self._changes.get(key, _MISSING)
        if value is _MISSING:
            return self._base[key]
        if value is _GONE:
            raise KeyError(key)
        return cast("V", value)

    def get(self, key: K, default: Any = None) -> Any:
        """The row, or ``default``."""
        value = self._changes.get(key, _MISSING)
        if value is _MISSING:
            return self._base.get(key, default)
        return default if value is _GONE else value

    def __contains__(self, key: object) -> bool:
        """Whether the key has a row."""
        value = self._changes.get(key, _MISSING)  # type: ignore[arg-type]
        if value is _MISSING:
            return key in self._base
        return value is not _GONE


class Overlay(_Layered[K, V]):
    """A read-only mapping: a base mapping (never changed) and the rows changed over it.

    Build it with :meth:`Draft.freeze`; assigning or deleting a key raises :class:`TypeError`, as
    for any :class:`~collections.abc.Mapping` without those methods.
    """

    __slots__ = ("_base", "_changes", "_len", "_merged")

    def __init__(self, base: Mapping[K, V], changes: dict[K, Any], length: int) -> None:
        """Wrap ``base`` and ``changes`` (``_GONE`` for a deleted key); ``length`` is the result's.

        Internal: :meth:`Draft.freeze` computes ``length`` from the two.
        """
        self._base = base
        self._changes = changes
        self._len = length
        self._merged: dict[K, V] | None = None

    def __len__(self) -> int:
        """How many rows."""
        return self._len

    def __iter__(self) -> Iterator[K]:
        """The keys: the base's order, then keys added over it (the order is not a contract)."""
        return iter(self._merge())

    def keys(self) -> KeysView[K]:
        """The keys, as a dict's keys view (set operations at C speed)."""
        return self._merge().keys()

    def items(self) -> ItemsView[K, V]:
        """The rows, as a dict's items view."""
        return self._merge().items()

    def values(self) -> ValuesView[V]:
        """The values, as a dict's values view."""
        return self._merge().values()

    def __eq__(self, other: object) -> bool:
        """Equal to any mapping with the same rows."""
        if isinstance(other, Mapping):
            rows = other._merge() if isinstance(other, Overlay) else dict(other)
            return self._merge() == rows
        return NotImplemented

    __hash__ = None  # type: ignore[assignment] # a mapping is not hashable

    def __repr__(self) -> str:
        """``Overlay({...})`` with every row."""
        return f"{type(self).__name__}({self._merge()!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickles as the merged rows (read-only again when loaded)."""
        return (frozen, (dict(self._merge()),))

    def _merge(self) -> dict[K, V]:
        """The rows as one dict, built at the first whole pass and kept (never handed out)."""
        merged = self._merged
        if merged is None:
            merged = _apply(self._base, self._changes)
            self._merged = merged
        return merged


def _copy(base: Mapping[K, V]) -> dict[K, V]:
    """A dict of ``base``'s rows, at C speed for a dict, a proxy or a merged overlay."""
    # Exact type checks: isinstance against an ABC subclass runs the ABC machinery.
    if type(base) is Overlay:
        return dict(base._merge())  # noqa: SLF001 - this module's own class
    if type(base) is MappingProxyType or type(base) is dict:
        return cast("dict[K, V]", base.copy())
    return dict(base)


def _apply(base: Mapping[K, V], changes: dict[K, Any]) -> dict[K, V]:
    merged = _copy(base)
    for key, value in changes.items():
        if value is _GONE:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


class Draft(_Layered[K, V]):
    """A working copy of a read-only mapping: writes stay here, reads fall through to the base.

    Copy-on-write without the copy: writing one row of a 10,000-row mapping costs one dict
    entry. :meth:`freeze` gives the read-only result.
    """

    __slots__ = ("_base", "_changes")

    def __init__(self, base: Mapping[K, V]) -> None:
        """Start from ``base``, which is never changed.

        Args:
            base: The read-only rows (a snapshot's mapping).
        """
        self._changes: dict[K, Any]
        if type(base) is Overlay:
            # Never an overlay over an overlay: lookups stay two probes. A merged one lends its
            # dict (never handed out, so never changed); else its changes are carried forward.
            merged, parent, changes = base._merged, base._base, base._changes  # noqa: SLF001
            if merged is not None:
                self._base: Mapping[K, V] = frozen(merged)
                self._changes = {}
            else:
                self._base = parent
                self._changes = dict(changes)
        else:
            self._base = base
            self._changes = {}

    def __len__(self) -> int:
        """How many rows (counts the changes against the base)."""
        return len(self._base) + self._added()

    def __iter__(self) -> Iterator[K]:
        """The keys, as :meth:`freeze`'s result would give them."""
        return iter(_apply(self._base, self._changes))

    def __setitem__(self, key: K, value: V) -> None:
        """Write a row."""
        self._changes[key] = value

    def pop(self, key: K, default: Any = None) -> Any:
        """Delete a row if there is one; return it, or ``default``."""
        value = self.get(key, _MISSING)
        if value is _MISSING:
            return default
        self._changes[key] = _GONE
        return value

    def freeze(self) -> Mapping[K, V]:
        """The rows as a read-only mapping: the base itself when nothing changed.

        Returns:
            The base, an :class:`Overlay` of it, or (once the changes reach an eighth of the
            base) one merged read-only dict.
        """
        changes = self._changes
        base = self._base
        if not changes:
            return base
        if len(changes) >= _MERGE_MIN and 8 * len(changes) >= len(base):
            return frozen(_apply(base, changes))
        return Overlay(base, dict(changes), len(base) + self._added())

    def _added(self) -> int:
        """Rows the changes add to the base (negative when they delete more than they add)."""
        base = self._base
        added = 0
        for key, value in self._changes.items():
            if key in base:
                added -= value is _GONE
            else:
                added += value is not _GONE
        return added
