"""Names that left ``timescape.store.base`` for modules of their own are still importable from it."""

from __future__ import annotations

import importlib

import pytest

from timescape.store import base, identity, listener, locking, watchdog

_MOVED = {
    "actor": identity,
    "host_name": identity,
    "Listener": listener,
    "LockInfo": locking,
    "Watchdog": watchdog,
}


@pytest.mark.parametrize("name", sorted(_MOVED))
def test_moved_name__imported_from_base__is_the_new_module_s_object(name: str) -> None:
    module = importlib.import_module("timescape.store.base")
    assert getattr(module, name) is getattr(_MOVED[name], name)
    assert name in base.__all__


def test_unknown_name__asked_of_base__attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = base.no_such_name  # type: ignore[attr-defined]
