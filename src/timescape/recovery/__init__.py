"""The old import path of :mod:`timescape.execution.recovery`, kept working for existing code.

A package rather than a ``recovery.py`` file, as for :mod:`timescape.config`: a file left at the
old path would stop git from following the rename when other branches edit it. At run time
``timescape.recovery`` *is* :mod:`timescape.execution.recovery` (the same module object, so
monkeypatching reaches it); the imports below are what type checkers read.
"""

from __future__ import annotations

import sys

from timescape.execution import recovery as _moved
from timescape.execution.recovery import Recovery as Recovery

__all__ = ["Recovery"]

sys.modules[__name__] = _moved
