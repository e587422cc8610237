"""Backward-compatible import path for :mod:`timescape.web.asgi` (moved there in 0.2)."""

from __future__ import annotations

from timescape.web.asgi import TimescapeMiddleware, current_version

__all__ = ["TimescapeMiddleware", "current_version"]
