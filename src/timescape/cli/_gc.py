"""Listings run without the cyclic garbage collector: they build objects and free none.

``schema list``, ``version list`` and ``stats`` at 10,000 schemas create a few hundred thousand
objects (the project from its cache, the state rows, the report rows, the JSON text's pieces)
and let go of none until they exit; every allocation threshold crossed meanwhile made the
collector walk all that was built so far, a tenth of the command's CPU (issue 14). Everything
they make is freed by reference counting, so nothing waits for the collector; it is switched
back on afterwards (as it was) for whatever runs next in the same process (tests, embedders).
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from typing import ParamSpec, TypeVar

__all__ = ["without_collector"]

P = ParamSpec("P")
R = TypeVar("R")


def without_collector(command: Callable[P, R]) -> Callable[P, R]:
    """Run ``command`` with the cyclic collector paused (then as it was before)."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return command(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()

    return run
