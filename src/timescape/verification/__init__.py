"""The old import path of :mod:`timescape.execution.verification`, kept working for existing code.

A package rather than a ``verification.py`` file, as for :mod:`timescape.config`: a file left at
the old path would stop git from following the rename when other branches edit it. At run time
``timescape.verification`` *is* :mod:`timescape.execution.verification` (the same module object);
the imports below are what type checkers read.
"""

from __future__ import annotations

import sys

from timescape.execution import verification as _moved
from timescape.execution.verification import verify_state as verify_state

__all__ = ["verify_state"]

sys.modules[__name__] = _moved
