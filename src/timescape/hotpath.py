"""Moved to :mod:`timescape.engine.hotpath`; this path keeps working."""

from timescape.engine.hotpath import HotPath as HotPath
from timescape.engine.hotpath import View as View

__all__ = ["HotPath", "View"]
