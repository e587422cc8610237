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
the :class:`~timescape.web.serving.ServingInstance` underneath registers the process, heartbeats,
follows state changes and flushes request counters in background threads (opened by
:meth:`TimescapeWSGIMiddleware.open` or the first request, closed by
:meth:`TimescapeWSGIMiddleware.close` or at interpreter exit). A request stays in flight, for the
drain of a version being retired, until the server closes its response. A retiring version gets
410 Gone.

Imports no web framework.

Added in 0.5.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from typing import Any

from timescape.manager import Timescape
from timescape.web.asgi import current_version
from timescape.web.request import (
    DEFAULT_HEADER,
    DEFAULT_QUERY_PARAM,
    ResolvedVersion,
    ref_from_query,
)
from timescape.web.routing import Decision
from timescape.web.serving import ServingInstance

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
        serving: ServingInstance | None = None,
    ) -> None:
        """Wrap a WSGI app; nothing connects until :meth:`open` or the first request.

        Args:
            app: The application.
            timescape: A configured facade.
            header: Request header carrying the version ref.
            query_param: Query parameter carrying the ref, or None to ignore the query string.
            serving: The serving instance (default: one with the project's ``[serving]``
                settings: heartbeat, change propagation, request counters).
        """
        self.app = app
        self.timescape = timescape
        self.serving = serving or ServingInstance(timescape)
        self.environ_header = "HTTP_" + header.upper().replace("-", "_")
        self.query_param = query_param
        self._opening = threading.Lock()

    def open(self) -> None:
        """Open the serving instance now (else the first request does); closed at exit.

        Raises:
            TimescapeError: When the database cannot be reached.
        """
        with self._opening:
            if not self.serving.is_open:
                self.serving.open()
                atexit.register(self.close)

    def close(self) -> None:
        """Stop the heartbeat and change threads, flush counters, unregister (idempotent)."""
        self.serving.close()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Handle one request; it stays in flight until the server closes the response."""
        serving = self.serving
        if not serving.is_open:
            self.open()
        handler = serving.handler_for(environ.get("PATH_INFO", "") or "/")
        if handler is None:
            return self.app(environ, start_response)
        ref = environ.get(self.environ_header) or ref_from_query(
            environ.get("QUERY_STRING", ""), self.query_param
        )
        ref = ref.strip() or None if ref else None
        decision = serving.admit(handler, ref)
        if not decision.is_served:
            body = decision.json_body()
            phrase = HTTPStatus(decision.status).phrase
            headers = [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                *decision.headers,
            ]
            start_response(f"{decision.status} {phrase}", headers)
            return [body]
        environ[ENVIRON_KEY] = ResolvedVersion.of(decision, ref=ref)

        def with_headers(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            return start_response(status, [*headers, *decision.headers], *exc)

        token = current_version.set(decision.tsv)
        try:
            result = self.app(environ, with_headers)
        except BaseException:
            serving.release(decision)
            raise
        finally:
            current_version.reset(token)
        return _Released(result, serving, decision)


class _Released:
    """The app's response iterable; closing it (PEP 3333) ends the request's time in flight."""

    __slots__ = ("_decision", "_result", "_serving")

    def __init__(
        self, result: Iterable[bytes], serving: ServingInstance, decision: Decision
    ) -> None:
        self._result = result
        self._serving = serving
        self._decision = decision

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._result)

    def close(self) -> None:
        try:
            close = getattr(self._result, "close", None)
            if close is not None:
                close()
        finally:
            self._serving.release(self._decision)
