"""Old import paths for names that moved to modules of their own, imported on first use.

Splitting a module by job must not break ``from old.place import Name`` in user code, tests and
docs, nor load the new module for a command that never touches the name (issue 14: read-only
commands import only what they run). Each splitting module sets ``__getattr__`` (PEP 562) from
:func:`lazy_getattr` under ``if not TYPE_CHECKING``, next to type-only imports of the names, so
type checkers still see the names and still report unknown ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_getattr"]


def lazy_getattr(module: str, moved: Mapping[str, str]) -> Callable[[str], Any]:
    """Return a module ``__getattr__`` that imports each moved name from its new module.

    Args:
        module: The old module's name, for the error message.
        moved: Each moved name and the module that defines it now.

    Returns:
        The function to assign to the old module's ``__getattr__``.
    """

    def __getattr__(name: str) -> Any:  # noqa: N807 - it is the module's __getattr__
        target = moved.get(name)
        if target is None:
            msg = f"module {module!r} has no attribute {name!r}"
            raise AttributeError(msg)
        import importlib  # noqa: PLC0415 - only for the old names

        return getattr(importlib.import_module(target), name)

    return __getattr__
