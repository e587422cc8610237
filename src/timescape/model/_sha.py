"""SHA-256 without loading OpenSSL for what is small (issue 14: memory and cold start).

``import hashlib`` loads OpenSSL's libcrypto: 3.5 MB of resident memory and 2 ms of every start,
for digests of a few hundred bytes (checksums of migration scripts, the project cache key). The
interpreter's own SHA-256 (``_sha2`` since 3.12, ``_sha256`` before) gives the same digests
without it. It is about five times slower on large inputs, so from :data:`LARGE` bytes on, and
on an interpreter built without it, :func:`sha256` is hashlib's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, cast

__all__ = ["LARGE", "Digest", "sha256"]

LARGE = 1 << 20
"""From this many bytes on, OpenSSL's speed is worth its memory."""


class Digest(Protocol):
    """What Timescape uses of a hash object."""

    def update(self, data: bytes, /) -> None:
        """Feed more bytes."""

    def hexdigest(self) -> str:
        """The digest in hexadecimal."""


def _builtin() -> Callable[[bytes], Digest] | None:
    for name in ("_sha2", "_sha256"):
        try:
            return cast("Callable[[bytes], Digest]", __import__(name).sha256)
        except (ImportError, AttributeError):
            continue
    return None  # pragma: no cover - CPython builds have one of them


_BUILTIN = _builtin()


def sha256(data: bytes = b"", *, size: int | None = None) -> Digest:
    """A SHA-256 hash object over ``data``, like :func:`hashlib.sha256`.

    Args:
        data: The first bytes.
        size: How many bytes will be fed in all, when more follow through ``update``
            (defaults to ``len(data)``).

    Returns:
        The interpreter's own SHA-256 below :data:`LARGE` bytes, else OpenSSL's (hashlib).
    """
    if _BUILTIN is not None and (len(data) if size is None else size) < LARGE:
        return _BUILTIN(data)
    import hashlib  # noqa: PLC0415 - the point of this module

    return hashlib.sha256(data)
