"""What every web adapter shares: the ref a request asks for, and the version that serves it.

The adapters (ASGI, FastAPI, Django, WSGI) differ only in how they read a header and write a
response. Which live version serves a path and a ref, or why none does (404 for a ref that names
nothing live, 400 for a malformed one), is decided here once, from Timescape's in-memory view:
a few dict lookups, never a query.

Added in 0.5.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl

from timescape.errors import TimescapeError, UnknownRefError
from timescape.manager import Timescape

__all__ = [
    "DEFAULT_HEADER",
    "DEFAULT_QUERY_PARAM",
    "RESPONSE_HEADER",
    "Refusal",
    "ResolvedVersion",
    "VersionRouter",
    "ref_from_query",
]

DEFAULT_HEADER = "X-API-Version"
"""The request header carrying the version ref (a TSV, a tag or an ISO-8601 timestamp)."""

DEFAULT_QUERY_PARAM = "api_version"
"""The query parameter carrying the version ref, when the header is absent."""

RESPONSE_HEADER = "X-Timescape-Version"
"""The response header naming the TSV that served the request."""


@dataclass(frozen=True, slots=True)
class ResolvedVersion:
    """The live version a request is served by.

    Attributes:
        tsv: Its TSV.
        handler: The handler it belongs to (``/api/products``).
        schema: The schema version it needs (applied while it is live).
        tags: Its tags at resolution time, declared and runtime ones.
        timestamp: When it was cut (UTC).
        ref: What the request asked for (header or query parameter), None for "newest live".

    Added in 0.5.
    """

    tsv: str
    handler: str
    schema: str
    tags: tuple[str, ...]
    timestamp: datetime
    ref: str | None = None

    @classmethod
    def of(cls, timescape: Timescape, tsv: str, *, ref: str | None = None) -> ResolvedVersion:
        """Describe a TSV from the facade's in-memory view (no I/O).

        Args:
            timescape: The facade.
            tsv: A defined TSV.
            ref: The ref the request gave.

        Returns:
            The description.
        """
        version = timescape.catalog.version(tsv)
        return cls(
            tsv=tsv,
            handler=version.handler,
            schema=version.schema,
            tags=tuple(timescape.version_tags(tsv)),
            timestamp=version.timestamp,
            ref=ref,
        )


@dataclass(frozen=True, slots=True)
class Refusal:
    """A request no live version may serve: the status, a JSON body and headers to send.

    Attributes:
        status: 404 (nothing live matches the ref) or 400 (the ref is malformed).
        body: ``{"error": {"type", "message", "handler", "ref"}}`` as UTF-8 JSON.
        headers: Header pairs, content type included.

    Added in 0.5.
    """

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, exc: TimescapeError, *, handler: str, ref: str | None) -> Refusal:
        """Build the refusal for an error met while resolving.

        Args:
            exc: The error (an :class:`~timescape.UnknownRefError` gives 404, others 400).
            handler: The handler the path belongs to.
            ref: The ref the request gave.

        Returns:
            The refusal.
        """
        document = {
            "error": {
                "type": type(exc).__name__,
                "message": exc.message,
                "handler": handler,
                "ref": ref,
            }
        }
        return cls(
            status=404 if isinstance(exc, UnknownRefError) else 400,
            body=json.dumps(document).encode(),
            headers=(("content-type", "application/json"),),
        )


def ref_from_query(query: str, name: str | None) -> str | None:
    """The ref given as a query parameter, or None.

    Args:
        query: The raw query string (``a=1&api_version=v2``).
        name: The parameter name, or None when refs are never read from the query.

    Returns:
        The first non-empty value of ``name``.
    """
    if not name or not query or name not in query:
        return None
    for key, value in parse_qsl(query):
        if key == name and value:
            return value
    return None


class VersionRouter:
    """Maps a request path and ref to the live version that serves it, from memory.

    A path belongs to the handler that is its longest prefix on segment boundaries
    (``/api/products/7`` → ``/api/products``); a path under no handler is not versioned.
    Thread-safe: it reads the facade's immutable view and swaps its own prefix table whole.

    Added in 0.5.
    """

    def __init__(self, timescape: Timescape) -> None:
        """Bind to a facade.

        Args:
            timescape: The facade, its definitions registered.
        """
        self.timescape = timescape
        self._prefixes: dict[str, str] = {}
        self._generation = -1

    def handler_for(self, path: str) -> str | None:
        """The handler a path belongs to, or None when it is not versioned."""
        prefixes = self._prefix_table()
        candidate = path.rstrip("/") or "/"
        while True:
            handler = prefixes.get(candidate)
            if handler is not None:
                return handler
            if candidate in ("", "/"):
                return None
            candidate = candidate.rsplit("/", 1)[0] or "/"

    def _prefix_table(self) -> dict[str, str]:
        generation = self.timescape.view_generation()
        if generation != self._generation:
            self._prefixes = {h.rstrip("/") or "/": h for h in self.timescape.handlers()}
            self._generation = generation
        return self._prefixes

    def decide(self, handler: str, ref: str | None) -> ResolvedVersion | Refusal:
        """The live version of ``handler`` that ``ref`` names, or the refusal to send.

        Args:
            handler: A defined handler.
            ref: TSV, tag or ISO-8601 timestamp; None (or empty) for the newest live version.

        Returns:
            The resolved version, or a refusal (404: nothing live matches; 400: bad ref).
        """
        ts = self.timescape
        try:
            if not ref:
                tsv = ts.latest_live(handler)
                if tsv is None:
                    raise UnknownRefError("latest", handler=handler, reason="no live version")
            else:
                tsv = ts.resolve(ref, handler)
                if not ts.is_version_active(tsv):
                    raise UnknownRefError(ref, handler=handler, reason=f"{tsv} is not live")
        except TimescapeError as exc:
            return Refusal.of(exc, handler=handler, ref=ref)
        return ResolvedVersion.of(ts, tsv, ref=ref or None)

    def decide_path(self, path: str, ref: str | None) -> ResolvedVersion | Refusal | None:
        """:meth:`decide` for the handler of ``path``; None when the path is not versioned."""
        handler = self.handler_for(path)
        if handler is None:
            return None
        return self.decide(handler, ref)

    @contextmanager
    def serving(self, version: ResolvedVersion, *, count: bool = True) -> Iterator[None]:
        """Account for one request served by ``version`` while the block runs.

        Args:
            version: The version serving it.
            count: Count the request for the usage statistics (flushed in the background).

        Yields:
            Nothing; leave the block when the response is complete.
        """
        if count:
            self.timescape.record_request(version.tsv)
        yield
