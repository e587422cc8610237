"""What the framework adapters share: the ref a request asks for, and the version serving it.

The adapters (FastAPI, Django, WSGI) differ only in how they read a header and write a response.
Which live version serves a path and a ref, or why none does (404 for a ref that names nothing,
410 Gone for a retiring or retired version), is the serving core's decision
(:class:`~timescape.web.serving.ServingInstance`); this module turns a served decision into the
:class:`ResolvedVersion` a handler receives.

Added in 0.5.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from timescape.errors import InputError
from timescape.model.tsv import parse_tsv
from timescape.web.routing import Decision

__all__ = [
    "DEFAULT_HEADER",
    "DEFAULT_QUERY_PARAM",
    "RESPONSE_HEADER",
    "ResolvedVersion",
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
        tags: Its tags when the routing table was built, declared and runtime ones.
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
    def of(cls, decision: Decision, *, ref: str | None = None) -> ResolvedVersion:
        """Describe the version a served decision names (no I/O).

        Args:
            decision: A decision whose outcome is ``serve``.
            ref: The ref the request gave.

        Returns:
            The description.

        Raises:
            InputError: For a decision that serves nothing (a 404 or 410).
        """
        if not decision.is_served or decision.tsv is None or decision.schema is None:
            raise InputError(f"a {decision.outcome!r} decision serves no version")
        seconds = parse_tsv(decision.tsv)[0]
        return cls(
            tsv=decision.tsv,
            handler=decision.handler,
            schema=decision.schema,
            tags=decision.tags,
            timestamp=datetime.fromtimestamp(seconds, UTC),
            ref=ref or None,
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
