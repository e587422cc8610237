"""ASGI middleware: route each request to a live API version, with no I/O on the request path.

The version a request asks for comes from a header (``X-API-Version`` by default) or a query
parameter; it may be a TSV, a tag or a timestamp, and defaults to the handler's newest *live*
version. The resolved TSV goes to ``scope["state"]["timescape_version"]`` and to the
:data:`current_version` context variable, and the response carries it back in
``X-Timescape-Version``. A version being retired or already retired gets **410 Gone** with the live
alternatives (and ``Deprecation``/``Sunset`` headers); an unknown ref gets **404** with the
handler's known tags. Both bodies are JSON.

Everything is decided by a :class:`~timescape.web.serving.ServingInstance`: it is opened at
lifespan start-up in a worker thread (registering this process as a serving instance, loading the
routing table, starting the heartbeat and the change listener) and closed at shutdown. Without a
lifespan (some test clients), the first request opens it, also in a worker thread: the event loop
never blocks on the database. A request stays *in flight* until the app returns (so a streamed
body and background tasks run after it are covered), and a drain waits for it.

Pure ASGI: no web-framework imports.

Added in 0.1. Changed in 0.2: built on the serving core; 410 Gone; lifespan start-up; heartbeats
and PostgreSQL ``LISTEN`` propagation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from typing import Any
from urllib.parse import parse_qsl

from timescape._log import LazyLogger
from timescape.errors import TimescapeError
from timescape.manager import Timescape
from timescape.web.routing import Decision
from timescape.web.serving import ServingInstance

__all__ = ["TimescapeMiddleware", "current_version"]

logger = LazyLogger("timescape.asgi")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

current_version: ContextVar[str | None] = ContextVar("timescape_version", default=None)
"""The TSV of the request being served (None outside a versioned request)."""

_JSON = (b"content-type", b"application/json")


class TimescapeMiddleware:
    """Resolve the API version of each request from memory and expose it to the app."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        timescape: Timescape,
        header: str = "x-api-version",
        query_param: str | None = "api_version",
        refresh_interval: float = 5.0,
        count_requests: bool = True,
        heartbeat_interval: float | None = None,
        poll_interval: float | None = None,
        listen: bool = True,
        register: bool = True,
        label: str | None = None,
        serving: ServingInstance | None = None,
    ) -> None:
        """Wrap an ASGI app.

        Args:
            app: The application.
            timescape: A configured facade (its definitions registered).
            header: Request header carrying the version ref (case-insensitive).
            query_param: Query parameter carrying the ref, or None to ignore the query string.
            refresh_interval: Seconds between writes of the request counters. (Before 0.2 it
                also paced the state refresh, which now follows every change at once.)
            count_requests: Count requests per version (flushed every ``refresh_interval``).
            heartbeat_interval: Seconds between heartbeats (default: the project's setting).
            poll_interval: Seconds between change probes without notifications (default: the
                project's setting, else 0.5).
            listen: Use PostgreSQL ``LISTEN`` for changes (else poll).
            register: Register as a serving instance (deactivations drain it).
            label: Name shown by ``timescape instances``.
            serving: A serving instance to share (its other options then apply).

        Changed in 0.2: the keyword options from ``heartbeat_interval`` on.
        """
        self.app = app
        self.timescape = timescape
        self.header = header.lower().encode("latin-1")
        self.query_param = query_param
        self.refresh_interval = refresh_interval
        self.count_requests = count_requests
        self.serving = serving or ServingInstance(
            timescape,
            heartbeat_interval=heartbeat_interval,
            poll_interval=poll_interval,
            flush_interval=refresh_interval,
            listen=listen,
            register=register,
            count_requests=count_requests,
            label=label,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        serving = self.serving
        if not serving.is_open:
            await self.aopen()
        handler = serving.handler_for(scope.get("path", ""))
        if handler is None:
            await self.app(scope, receive, send)
            return
        decision = serving.admit(handler, self._requested_ref(scope))
        try:
            if not decision.is_served:
                await _reject(scope, send, decision)
                return
            tsv = str(decision.tsv)
            state = scope.setdefault("state", {})
            state["timescape_version"] = tsv
            state["timescape_decision"] = decision
            token = current_version.set(tsv)
            try:
                await self.app(scope, receive, _with_headers(send, decision))
            finally:
                current_version.reset(token)
        finally:
            serving.release(decision)

    def _requested_ref(self, scope: Scope) -> str | None:
        for name, value in scope.get("headers", ()):
            if name.lower() == self.header:
                text = str(value.decode("latin-1")).strip()
                return text or None
        if self.query_param:
            query = scope.get("query_string", b"")
            if query:
                decoded: str = query.decode("latin-1")
                for key, given in parse_qsl(decoded):
                    if key == self.query_param and given:
                        return given
        return None

    # -- lifespan ------------------------------------------------------------------------------

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Open at start-up, close at shutdown, whether or not the app speaks lifespan."""
        seen: list[str] = []

        async def wrapped_receive() -> Message:
            message = await receive()
            seen.append(message["type"])
            if message["type"] == "lifespan.startup":
                await self.aopen()
            return message

        async def wrapped_send(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                await self.aclose()
            await send(message)

        try:
            await self.app(scope, wrapped_receive, wrapped_send)
        except Exception:
            if seen:
                raise
            logger.debug("the app does not support lifespan; running it for Timescape alone")
        if seen:
            return
        # The app returned without a lifespan loop: run one for the serving instance.
        await receive()
        try:
            await self.aopen()
        except TimescapeError as exc:
            await send({"type": "lifespan.startup.failed", "message": exc.message})
            return
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await self.aclose()
        await send({"type": "lifespan.shutdown.complete"})

    async def aopen(self) -> None:
        """Open the serving instance in a worker thread (idempotent).

        Raises:
            TimescapeError: When the database cannot be reached; the app should not start.

        Added in 0.2.
        """
        if not self.serving.is_open:
            await asyncio.to_thread(self.serving.open)

    async def aclose(self) -> None:
        """Stop the heartbeat and change threads, flush counters and unregister (worker thread)."""
        await asyncio.to_thread(self.serving.close)


async def _reject(scope: Scope, send: Send, decision: Decision) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    headers = [_JSON]
    headers.extend((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in decision.headers)
    await send({"type": "http.response.start", "status": decision.status, "headers": headers})
    await send({"type": "http.response.body", "body": decision.json_body()})


def _with_headers(send: Send, decision: Decision) -> Send:
    extra = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in decision.headers]

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            headers.extend(extra)
            message["headers"] = headers
        await send(message)

    return wrapped
