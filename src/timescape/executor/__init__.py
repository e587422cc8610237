"""The old import path of :mod:`timescape.execution.executor`, kept working for existing code.

A package rather than an ``executor.py`` file, as for :mod:`timescape.config`: a file left at the
old path would stop git from following the rename when other branches edit it. At run time
``timescape.executor`` *is* :mod:`timescape.execution.executor` (the same module object, so
``timescape.executor.MigrationConnection``, named in the docs for Python steps' type hints, is the
class itself); the imports below are what type checkers read.
"""

from __future__ import annotations

import sys

from timescape.execution import executor as _moved
from timescape.execution.executor import Executor as Executor
from timescape.execution.executor import MigrationConnection as MigrationConnection
from timescape.execution.executor import SchemaOutcome as SchemaOutcome

__all__ = ["Executor", "MigrationConnection", "SchemaOutcome"]

sys.modules[__name__] = _moved
