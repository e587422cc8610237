"""ASGI middleware: route each request to a live API version, with no I/O on the request path.

The version a request asks for comes from a header (``X-API-Version`` by default) or a query
parameter; it may be a TSV, a tag or a timestamp, and defaults to the handler's newest *live*
version. The resolved TSV goes to ``scope["state"]["timescape_version"]`` and to the
:data:`current_version` context variable, and the response carries it back in
``X-Timescape-Version``. Resolution is a few dict lookups in Timescape's in-memory view; a
background task refreshes that view from the database every ``refresh_interval`` seconds and flushes
request counters, so state changed by another process shows up without a restart.

Pure ASGI: no web-framework imports.

Added in 0.2.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from typing import Any
from urllib.parse import parse_qsl

from timescape.errors import TimescapeError, UnknownRefError
from timescape.manager import Timescape

__all__ = ["TimescapeMiddleware", "current_version"]

logger = logging.getLogger("timescape.asgi")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

current_version: ContextVar[str | None] = ContextVar("timescape_version", default=None)
"""The TSV of the request being served (None outside a versioned request)."""


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
    ) -> None:
        """Wrap an ASGI app.

        Args:
            app: The application.
            timescape: A configured facade (its definitions registered).
            header: Request header carrying the version ref (case-insensitive).
            query_param: Query parameter carrying the ref, or None to ignore the query string.
            refresh_interval: Seconds between background refreshes of the in-memory view.
            count_requests: Count requests per version (flushed with each refresh).
        """
        self.app = app
        self.timescape = timescape
        self.header = header.lower().encode("latin-1")
        self.query_param = query_param
        self.refresh_interval = refresh_interval
        self.count_requests = count_requests
        self._prefixes: dict[str, str] = {}
        self._generation = -1
        self._task: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        kind = scope["type"]
        if kind == "lifespan":
            await self.app(scope, receive, self._lifespan_send(send))
            return
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        self._ensure_refresher()
        handler = self._handler_for(scope.get("path", ""))
        if handler is None:
            await self.app(scope, receive, send)
            return
        try:
            tsv = self._resolve(scope, handler)
        except TimescapeError as exc:
            await self._reject(scope, send, exc)
            return
        scope.setdefault("state", {})["timescape_version"] = tsv
        if self.count_requests:
            self.timescape.record_request(tsv)
        token = current_version.set(tsv)
        try:
            await self.app(scope, receive, _with_header(send, tsv))
        finally:
            current_version.reset(token)

    # -- resolution (memory only) -------------------------------------------------------------

    def _handler_for(self, path: str) -> str | None:
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
        view_generation = self.timescape.view_generation()
        if view_generation != self._generation:
            self._prefixes = {h.rstrip("/") or "/": h for h in self.timescape.handlers()}
            self._generation = view_generation
        return self._prefixes

    def _resolve(self, scope: Scope, handler: str) -> str:
        ref = self._requested_ref(scope)
        if ref is None:
            tsv = self.timescape.latest_live(handler)
            if tsv is None:
                raise UnknownRefError("latest", handler=handler, reason="no live version")
            return tsv
        tsv = self.timescape.resolve(ref, handler)
        if not self.timescape.is_version_active(tsv):
            raise UnknownRefError(ref, handler=handler, reason=f"{tsv} is not live")
        return tsv

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

    async def _reject(self, scope: Scope, send: Send, exc: TimescapeError) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = json.dumps({"error": {"type": type(exc).__name__, "message": exc.message}})
        await send(
            {
                "type": "http.response.start",
                "status": 404 if isinstance(exc, UnknownRefError) else 400,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body.encode()})

    # -- background refresh -------------------------------------------------------------------

    def _lifespan_send(self, send: Send) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                self._ensure_refresher()
            elif message["type"] == "lifespan.shutdown.complete":
                await self.aclose()
            await send(message)

        return wrapped

    def _ensure_refresher(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._refresh_loop())

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_interval)
            try:
                await asyncio.to_thread(self._refresh_once)
            except Exception:
                logger.warning(
                    "Timescape refresh failed; serving the last known state", exc_info=True
                )

    def _refresh_once(self) -> None:
        if self.count_requests:
            self.timescape.flush_usage()
        self.timescape.refresh()

    async def aclose(self) -> None:
        """Stop the background refresher and flush counters."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.count_requests:
            with contextlib.suppress(TimescapeError):
                await asyncio.to_thread(self.timescape.flush_usage)


def _with_header(send: Send, tsv: str) -> Send:
    value = tsv.encode("latin-1")

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            headers.append((b"x-timescape-version", value))
            message["headers"] = headers
        await send(message)

    return wrapped
