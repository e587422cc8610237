"""The executor, recovery and verification moved into ``timescape.execution``; old paths still work."""

from __future__ import annotations

import importlib

import pytest

from timescape.execution import executor, recording, steps


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


def test_executor_parts__public_names__come_from_their_modules() -> None:
    assert executor.MigrationConnection is steps.MigrationConnection
    assert executor.SchemaOutcome is recording.SchemaOutcome
