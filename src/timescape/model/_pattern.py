"""Regular expressions compiled on first use, not at import (issue 14: cold start).

Compiling a pattern runs ``re._compiler`` in Python, 30-200 µs a pattern; a module compiling its
patterns at import makes every command that imports it pay for them, used or not (``timescape
schema list`` compiled twenty it never used). :func:`lazy_pattern` returns a getter instead: its
first call compiles, and each later call returns the same pattern through :func:`functools.cache`'s
C wrapper (tens of nanoseconds, against a lookup in ``re``'s own cache from Python for
``re.match(text, ...)``). Bind ``getter().match`` once before a loop over many rows.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping

__all__ = ["lazy_pattern", "pattern_getattr"]


def lazy_pattern(pattern: str, flags: int = 0) -> Callable[[], re.Pattern[str]]:
    """A getter of ``re.compile(pattern, flags)``, compiled at its first call.

    Args:
        pattern: The regular expression.
        flags: ``re`` flags.

    Returns:
        A function of no argument returning the compiled pattern (the same object every time).
    """
    return functools.cache(functools.partial(re.compile, pattern, flags))


def pattern_getattr(
    module: str, public: Mapping[str, Callable[[], re.Pattern[str]]]
) -> Callable[[str], re.Pattern[str]]:
    """A module ``__getattr__`` (PEP 562) giving public pattern constants, compiled when asked for.

    For a pattern that is public API (``NAME_PATTERN``): the module sets ``__getattr__`` from
    this under ``if not TYPE_CHECKING`` and declares the name's type under ``if TYPE_CHECKING``.

    Args:
        module: The module's name, for the error message.
        public: Each public name and the getter of its pattern.

    Returns:
        The function to assign to the module's ``__getattr__``.
    """

    def __getattr__(name: str) -> re.Pattern[str]:  # noqa: N807 - it is the module's __getattr__
        getter = public.get(name)
        if getter is None:
            msg = f"module {module!r} has no attribute {name!r}"
            raise AttributeError(msg)
        return getter()

    return __getattr__
