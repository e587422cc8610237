"""Backward-compatible import path for :mod:`timescape.engine.callbacks` (moved there in 0.5)."""

from __future__ import annotations

from timescape.engine.callbacks import CALLBACKS, Callbacks

__all__ = ["CALLBACKS", "Callbacks"]
