"""WSGI middleware (Flask, Bottle, Pyramid, any WSGI app): the version of each request, from memory.

```python
from flask import Flask, request
from timescape import TimescapeWSGIMiddleware, load_project

app = Flask(__name__)
app.wsgi_app = TimescapeWSGIMiddleware(app.wsgi_app, timescape=load_project().timescape())

@app.get("/api/products")
def products():
    version = request.environ["timescape.version"]     # a ResolvedVersion
    ...
```

For a path under a handler, the ref comes from the ``X-API-Version`` header or the
``api_version`` query parameter (newest live version when absent). The resolved
:class:`~timescape.web.request.ResolvedVersion` goes to ``environ["timescape.version"]`` and its
TSV to :data:`~timescape.web.asgi.current_version`; the response carries ``X-Timescape-Version``.
A ref naming nothing live gets a JSON 404 without reaching the app. Resolution reads memory only;
a background thread refreshes the view and flushes request counters every ``refresh_interval``
seconds (started by the first request, stopped by :meth:`TimescapeWSGIMiddleware.close` or at
interpreter exit).

Imports no web framework.

Added in 0.5.
"""

from __future__ import annotations

import atexit
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from timescape.manager import Timescape
from timescape.web._refresh import RefreshThread
from timescape.web.asgi import current_version
from timescape.web.request import (
    DEFAULT_HEADER,
    DEFAULT_QUERY_PARAM,
    RESPONSE_HEADER,
    Refusal,
    VersionRouter,
    ref_from_query,
)

__all__ = ["ENVIRON_KEY", "TimescapeWSGIMiddleware"]

ENVIRON_KEY = "timescape.version"
"""The WSGI environ key holding the request's :class:`~timescape.web.request.ResolvedVersion`."""

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class TimescapeWSGIMiddleware:
    """Resolve the API version of each request from memory and expose it to a WSGI app."""

    def __init__(
        self,
        app: WSGIApp,
        *,
        timescape: Timescape,
        header: str = DEFAULT_HEADER,
        query_param: str | None = DEFAULT_QUERY_PARAM,
        refresh_interval: float = 2.0,
        count_requests: bool = True,
    ) -> None:
        """Wrap a WSGI app.

        Args:
            app: The application.
            timescape: A configured facade.
            header: Request header carrying the version ref.
            query_param: Query parameter carrying the ref, or None to ignore the query string.
            refresh_interval: Seconds between background refreshes of the in-memory view.
            count_requests: Count requests per version (flushed with each refresh).
        """
        self.app = app
        self.timescape = timescape
        self.router = VersionRouter(timescape)
        self.environ_header = "HTTP_" + header.upper().replace("-", "_")
        self.query_param = query_param
        self.count_requests = count_requests
        self.refresher = RefreshThread(
            timescape, interval=refresh_interval, count_requests=count_requests
        )
        self._started = False

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Handle one request."""
        if not self._started:
            self._start()
        handler = self.router.handler_for(environ.get("PATH_INFO", "") or "/")
        if handler is None:
            return self.app(environ, start_response)
        ref = environ.get(self.environ_header) or ref_from_query(
            environ.get("QUERY_STRING", ""), self.query_param
        )
        decision = self.router.decide(handler, ref.strip() if ref else None)
        if isinstance(decision, Refusal):
            phrase = HTTPStatus(decision.status).phrase
            headers = [*decision.headers, ("content-length", str(len(decision.body)))]
            start_response(f"{decision.status} {phrase}", headers)
            return [decision.body]
        environ[ENVIRON_KEY] = decision
        tsv = decision.tsv

        def with_header(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            return start_response(status, [*headers, (RESPONSE_HEADER, tsv)], *exc)

        token = current_version.set(tsv)
        try:
            with self.router.serving(decision, count=self.count_requests):
                result = self.app(environ, with_header)
        finally:
            current_version.reset(token)
        return result

    def _start(self) -> None:
        self._started = True
        self.refresher.start()
        atexit.register(self.close)

    def close(self) -> None:
        """Stop the background refresh and flush request counters (idempotent)."""
        self.refresher.stop()
