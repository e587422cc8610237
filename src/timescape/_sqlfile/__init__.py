"""The old import path of :mod:`timescape.project.sqlfile` (the same module object at run time).

A package rather than a ``_sqlfile.py`` file, so git follows the move when other branches edit it.
"""

from __future__ import annotations

import sys

from timescape.project import sqlfile as _moved

sys.modules[__name__] = _moved
