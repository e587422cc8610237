"""Moved to :mod:`timescape.engine.callbacks`; this path keeps working."""

from timescape.engine.callbacks import CALLBACKS as CALLBACKS
from timescape.engine.callbacks import Callbacks as Callbacks

__all__ = ["CALLBACKS", "Callbacks"]
