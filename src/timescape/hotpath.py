"""Backward-compatible import path for :mod:`timescape.engine.hotpath` (moved there in 0.5)."""

from __future__ import annotations

from timescape.engine.hotpath import HotPath, View

__all__ = ["HotPath", "View"]
