"""The executor, recovery and verification moved into ``timescape.execution``; old paths still work."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize(
    ("old", "new", "names"),
    [
        (
            "timescape.executor",
            "timescape.execution.executor",
            ("Executor", "MigrationConnection", "SchemaOutcome"),
        ),
        ("timescape.recovery", "timescape.execution.recovery", ("Recovery",)),
        ("timescape.verification", "timescape.execution.verification", ("verify_state",)),
    ],
)
def test_old_module_path__imported__is_the_moved_module(old: str, new: str, names: tuple[str, ...]):
    moved = importlib.import_module(new)
    assert importlib.import_module(old) is moved  # monkeypatching the old path reaches the code
    for name in names:
        assert getattr(importlib.import_module(old), name) is getattr(moved, name)
    namespace: dict[str, object] = {}
    exec(f"from {old} import *", namespace)  # noqa: S102
    assert set(names) <= namespace.keys()
