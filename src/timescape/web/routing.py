"""Routing decisions and the table that precomputes them from one state view.

Built off the request path (in the change-listener thread) each time the state generation
moves, then swapped in whole. A request costs a prefix walk, one ref resolution in the version
index and a dict lookup for a decision prepared in advance; only a 404 builds its body on the spot
(it names the ref asked for).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from typing import TYPE_CHECKING, Literal

from timescape.errors import UnknownRefError

if TYPE_CHECKING:
    from timescape.engine.hotpath import View
    from timescape.model.state import VersionState
    from timescape.model.tsv import Version

__all__ = ["Availability", "Decision", "Outcome", "RoutingTable", "availability", "build_table"]

Availability = Literal["live", "retiring", "inactive"]

Outcome = Literal["serve", "unknown", "gone"]
"""What a :class:`Decision` says: serve the version, 404 unknown ref, 410 Gone."""

_LATEST = frozenset({"latest"})


@dataclass(frozen=True, slots=True)
class Decision:
    """How to answer one request; ready to be rendered by any web framework.

    Attributes:
        outcome: ``serve``, ``unknown`` (404) or ``gone`` (410).
        status: The HTTP status to answer with when not serving (200 when serving).
        handler: The handler the request's path belongs to.
        tsv: The version served (or the retired one asked for); None for an unknown ref.
        schema: The schema the served version needs.
        tags: The tags of ``tsv``.
        body: The JSON-ready error body for 404/410 (None when serving).
        headers: Response headers to add: the served TSV, or ``Sunset``/``Deprecation``.
        generation: The state generation the decision was made on.
    """

    outcome: Outcome
    status: int
    handler: str
    tsv: str | None = None
    schema: str | None = None
    tags: tuple[str, ...] = ()
    body: Mapping[str, object] | None = None
    headers: tuple[tuple[str, str], ...] = ()
    generation: int = 0

    @property
    def is_served(self) -> bool:
        """True when the app should handle the request with :attr:`tsv`."""
        return self.outcome == "serve"

    def json_body(self) -> bytes:
        """The error body as UTF-8 JSON (``b""`` when serving)."""
        if self.body is None:
            return b""
        return json.dumps(self.body, separators=(",", ":")).encode()


def availability(row: VersionState | None) -> Availability:
    """Where a version stands for routing: live, retiring (draining) or inactive."""
    if row is None:
        return "inactive"
    if row.is_retiring:
        return "retiring"
    return "live" if row.is_routed else "inactive"


@dataclass(frozen=True, slots=True)
class RoutingTable:
    """Immutable; readers on many threads need no lock.

    Attributes:
        generation: The state generation it was built from.
        view: The facade's view (its version index resolves refs).
        prefixes: Handler path (no trailing slash) → handler.
        latest: Handler → its newest live TSV.
        served: Live TSV → the ready "serve" decision.
        gone: Retiring or retired TSV → the ready 410 decision.
        live_by_handler: Handler → live TSVs, newest first.
        known_tags: Handler → every tag of its versions, sorted.
    """

    generation: int
    view: View
    prefixes: dict[str, str]
    latest: dict[str, str]
    served: dict[str, Decision]
    gone: dict[str, Decision]
    live_by_handler: dict[str, tuple[str, ...]]
    known_tags: dict[str, tuple[str, ...]]

    def handler_for(self, path: str) -> str | None:
        """The handler whose path is the longest prefix of ``path`` (segment-wise), or None."""
        prefixes = self.prefixes
        candidate = path.rstrip("/") or "/"
        while True:
            handler = prefixes.get(candidate)
            if handler is not None:
                return handler
            if candidate in ("", "/"):
                return None
            candidate = candidate.rsplit("/", 1)[0] or "/"

    def is_live(self, tsv: str) -> bool:
        """True when new requests may be routed to ``tsv``."""
        return tsv in self.served

    def decide(self, handler: str, ref: str | None) -> Decision:
        """The decision for a request asking ``ref`` (None: the newest live version)."""
        if ref is None or ref.lower() in _LATEST:
            tsv = self.latest.get(handler)
            if tsv is None:
                return self._unknown(handler, ref, "no version of it is live")
            return self.served[tsv]
        try:
            tsv = self.view.index.resolve(ref, handler)
        except UnknownRefError as exc:
            return self._unknown(handler, ref, exc.reason or "no such version")
        decision = self.served.get(tsv) or self.gone.get(tsv)
        if decision is not None:
            return decision
        return self._unknown(handler, ref, f"{tsv} has never been live", tsv=tsv)

    def _unknown(
        self, handler: str, ref: str | None, reason: str, *, tsv: str | None = None
    ) -> Decision:
        live = self.live_by_handler.get(handler, ())
        asked = ref if ref is not None else "latest"
        body = {
            "error": {
                "type": "UnknownRefError",
                "status": 404,
                "message": f"version {asked!r} of {handler} is not available: {reason}",
                "ref": asked,
                "handler": handler,
                "known_tags": list(self.known_tags.get(handler, ())),
                "alternatives": [self._describe(t) for t in live],
            }
        }
        headers = [("Cache-Control", "no-store")]
        if live:
            headers.append(("X-Timescape-Alternatives", ", ".join(live)))
        return Decision(
            "unknown",
            404,
            handler,
            tsv=tsv,
            body=body,
            headers=tuple(headers),
            generation=self.generation,
        )

    def _describe(self, tsv: str) -> dict[str, object]:
        return {"tsv": tsv, "tags": self.view.index.tags_of(tsv)}


def build_table(view: View) -> RoutingTable:
    """Precompute every serve and 410 decision of a view (the change thread calls this)."""
    index = view.index
    rows = view.snapshot.versions
    live_by_handler: dict[str, tuple[str, ...]] = {}
    known_tags: dict[str, tuple[str, ...]] = {}
    states: list[tuple[Version, Availability]] = []
    for handler in index.handlers:
        handler_tags: set[str] = set()
        live: list[str] = []
        for version in reversed(index.timeline(handler)):
            handler_tags.update(index.tags_of(version.tsv))
            state = availability(rows.get(version.tsv))
            states.append((version, state))
            if state == "live":
                live.append(version.tsv)
        live_by_handler[handler] = tuple(live)
        known_tags[handler] = tuple(sorted(handler_tags))
    table = RoutingTable(
        generation=view.generation,
        view=view,
        prefixes={h.rstrip("/") or "/": h for h in index.handlers},
        latest={h: live[0] for h, live in live_by_handler.items() if live},
        served={},
        gone={},
        live_by_handler=live_by_handler,
        known_tags=known_tags,
    )
    for version, state in states:
        tsv = version.tsv
        tags = tuple(index.tags_of(tsv))
        if state == "live":
            table.served[tsv] = Decision(
                "serve",
                200,
                version.handler,
                tsv=tsv,
                schema=version.schema,
                tags=tags,
                headers=(("X-Timescape-Version", tsv),),
                generation=view.generation,
            )
            continue
        row = rows.get(tsv)
        if row is None or (state == "inactive" and row.deactivated_at is None):
            continue  # never live: a 404, not a 410
        table.gone[tsv] = _gone(table, version, tags, state, row)
    return table


def _gone(
    table: RoutingTable,
    version: Version,
    tags: tuple[str, ...],
    state: Availability,
    row: VersionState,
) -> Decision:
    handler, tsv = version.handler, version.tsv
    alternatives = table.live_by_handler.get(handler, ())
    # Deprecated since it was marked retiring (or deactivated, when that took one phase);
    # sunset when it was deactivated.
    since = row.retiring_at if state == "retiring" else (row.deactivated_at or row.retiring_at)
    headers: list[tuple[str, str]] = [("Cache-Control", "no-store")]
    if since is not None:
        # RFC 9745: Deprecation is a structured-field date; RFC 8594: Sunset is an HTTP-date.
        headers.append(("Deprecation", f"@{int(since.timestamp())}"))
    if state == "inactive" and row.deactivated_at is not None:
        headers.append(("Sunset", _http_date(row.deactivated_at)))
    if alternatives:
        headers.append(("X-Timescape-Alternatives", ", ".join(alternatives)))
    what = "is being retired" if state == "retiring" else "has been retired"
    hint = f"; use {alternatives[0]}" if alternatives else "; no version of it is live"
    body = {
        "error": {
            "type": "VersionGoneError",
            "status": 410,
            "message": f"version {tsv} of {handler} {what}{hint}",
            "version": tsv,
            "tags": list(tags),
            "handler": handler,
            "state": state,
            "since": since.isoformat() if since is not None else None,
            "alternatives": [table._describe(t) for t in alternatives],  # noqa: SLF001
        }
    }
    return Decision(
        "gone",
        410,
        handler,
        tsv=tsv,
        schema=version.schema,
        tags=tags,
        body=body,
        headers=tuple(headers),
        generation=table.generation,
    )


def _http_date(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)
