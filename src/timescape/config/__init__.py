"""The old import path of :mod:`timescape.project.config`, kept working for existing code.

A package rather than a ``config.py`` file: the module itself moved to ``project/config.py``, and a
file left at the old path would stop git from following the rename when other branches edit it.
At run time ``timescape.config`` *is* :mod:`timescape.project.config` (the same module object, so
every name, private ones included, and monkeypatching reach it); the imports below are what type
checkers read.
"""

from __future__ import annotations

import sys

from timescape.project import config as _moved
from timescape.project.config import (
    DEFAULT_URL as DEFAULT_URL,
)
from timescape.project.config import (
    PROJECT_FILE as PROJECT_FILE,
)
from timescape.project.config import (
    URL_ENV as URL_ENV,
)
from timescape.project.config import (
    DatabaseSettings as DatabaseSettings,
)
from timescape.project.config import (
    LintSettings as LintSettings,
)
from timescape.project.config import (
    Project as Project,
)
from timescape.project.config import (
    find_project_file as find_project_file,
)
from timescape.project.config import (
    load_project as load_project,
)

__all__ = [
    "DEFAULT_URL",
    "PROJECT_FILE",
    "URL_ENV",
    "DatabaseSettings",
    "LintSettings",
    "Project",
    "find_project_file",
    "load_project",
]

sys.modules[__name__] = _moved
