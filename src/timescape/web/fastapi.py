"""FastAPI and Starlette integration: a version dependency, OpenAPI parameters, lifespan, routing.

```python
from typing import Annotated
from fastapi import Depends, FastAPI
from timescape import load_project
from timescape.web.fastapi import ResolvedVersion, Versioning

versioning = Versioning(load_project("timescape.toml").timescape())
app = FastAPI()
versioning.install(app)
Version = Annotated[ResolvedVersion, Depends(versioning.current)]

@app.get("/api/products")
@versioning.serves("v1.0.0")
async def products_v1(version: Version) -> dict[str, object]: ...

@app.get("/api/products")
@versioning.serves(since="v2.0.0")
async def products_v2(version: Version) -> dict[str, object]: ...
```

:meth:`Versioning.install` adds the pure-ASGI :class:`~timescape.web.asgi.TimescapeMiddleware`
on a :class:`~timescape.web.serving.ServingInstance` (every request under a handler is decided
from memory: served with ``X-Timescape-Version``, 404 for a ref naming nothing, 410 Gone for a
retiring version; the instance registers, heartbeats and follows state changes), wraps the app's
lifespan (the routing table is loaded in a worker thread before the first request; the instance
and the facade are closed after the last), and makes routes
version-aware: several endpoints may share a path and method, each marked with
:meth:`Versioning.serves`, and the one whose versions include the request's version is chosen by
routing itself, with no ``if`` chain in a handler. The :meth:`Versioning.current` dependency gives
a handler its :class:`~timescape.web.request.ResolvedVersion` and declares the version header and
query parameter in OpenAPI.

Needs the ``fastapi`` extra (``pip install 'timescape-db[fastapi]'``).

Added in 0.5.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

from fastapi import FastAPI, Header, HTTPException, Query, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope

from timescape._log import LazyLogger
from timescape.errors import InputError, UnknownRefError
from timescape.manager import Timescape
from timescape.web.asgi import TimescapeMiddleware
from timescape.web.request import (
    DEFAULT_HEADER,
    DEFAULT_QUERY_PARAM,
    RESPONSE_HEADER,
    ResolvedVersion,
)
from timescape.web.routing import Decision
from timescape.web.serving import ServingInstance

__all__ = ["ResolvedVersion", "VersionedRoute", "Versioning"]

logger = LazyLogger("timescape.web")

_Endpoint = TypeVar("_Endpoint", bound=Callable[..., Any])
_MARK = "__timescape_selector__"


class Versioning:
    """Timescape for one FastAPI (or Starlette) app: middleware, lifespan, dependency, routing."""

    def __init__(
        self,
        timescape: Timescape,
        *,
        header: str = DEFAULT_HEADER,
        query_param: str | None = DEFAULT_QUERY_PARAM,
        serving: ServingInstance | None = None,
        close_on_shutdown: bool = True,
    ) -> None:
        """Bind to a facade; nothing connects until the app starts.

        Args:
            timescape: The facade (for instance ``load_project(path).timescape()``).
            header: Request header carrying the version ref.
            query_param: Query parameter carrying the ref, or None to read only the header.
            serving: The serving instance (default: one with the project's ``[serving]``
                settings: heartbeat, change propagation, request counters).
            close_on_shutdown: Close the serving instance and the facade when the app stops.
        """
        self.timescape = timescape
        self.header = header
        self.query_param = query_param
        self.serving = serving or ServingInstance(timescape)
        self.close_on_shutdown = close_on_shutdown
        self.current = self._make_dependency()

    # -- installation -------------------------------------------------------------------------

    def install(self, app: FastAPI) -> None:
        """Add the middleware, wrap the lifespan and make the app's routes version-aware.

        Call it before the app serves its first request (Starlette builds its middleware stack
        then). Routes added afterwards with ``@app.get(...)`` and friends are
        :class:`VersionedRoute` instances; routers included from elsewhere need
        ``APIRouter(route_class=VersionedRoute)``.

        Args:
            app: The application.
        """
        app.add_middleware(
            TimescapeMiddleware,
            timescape=self.timescape,
            header=self.header,
            query_param=self.query_param,
            serving=self.serving,
        )
        app.router.route_class = VersionedRoute
        if app.openapi_url:
            path = app.openapi_url.removesuffix(".json") + "/{ref}.json"

            def versioned_openapi(ref: str) -> JSONResponse:
                try:
                    return JSONResponse(self.openapi(app, ref))
                except UnknownRefError as exc:
                    return JSONResponse({"detail": exc.message}, status_code=404)

            app.add_api_route(path, versioned_openapi, include_in_schema=False)
        inner = app.router.lifespan_context
        outer = self.lifespan

        @asynccontextmanager
        async def lifespan(started: Any) -> AsyncIterator[Mapping[str, Any]]:
            async with outer(started) as ours, inner(started) as theirs:
                yield {**(ours or {}), **(theirs or {})}

        app.router.lifespan_context = lifespan

    def openapi(self, app: FastAPI, ref: str) -> dict[str, Any]:
        """The OpenAPI document of ``app`` as one version sees it.

        Per path and method it holds the endpoint that serves ``ref``'s version (endpoints
        marked with :meth:`serves` for other versions are left out; unmarked ones stay), so
        each live version gets an accurate document. :meth:`install` serves it at
        ``/openapi/<ref>.json`` beside FastAPI's own ``/openapi.json``.

        Args:
            app: The application.
            ref: A TSV, tag or timestamp, resolved in the handler of each versioned route.

        Returns:
            The document (``info.version`` names the ref).

        Raises:
            UnknownRefError: When ``ref`` names a version of no versioned route's handler.
        """
        routes: list[Any] = []
        matched = False
        for route in app.routes:
            selector = getattr(route, "selector", None)
            if not isinstance(selector, _Selector):
                routes.append(route)
                continue
            handler = self.serving.handler_for(str(getattr(route, "path", "")))
            if handler is None:
                continue
            try:
                tsv = self.timescape.resolve(ref, handler)
            except UnknownRefError:
                continue
            matched = True
            if selector.selects(tsv):
                routes.append(route)
        if not matched:
            raise UnknownRefError(ref, reason="no versioned route's handler has such a version")
        return get_openapi(
            title=app.title,
            version=f"{app.version} ({ref})",
            openapi_version=app.openapi_version,
            summary=app.summary,
            description=app.description,
            routes=routes,
            tags=app.openapi_tags,
            servers=app.servers,
        )

    def lifespan(self, app: Any) -> AbstractAsyncContextManager[Mapping[str, Any] | None]:
        """The lifespan: load the view before serving, check routes, close after.

        Usable on its own as ``FastAPI(lifespan=versioning.lifespan)`` when the middleware is
        added by hand. The view is loaded in a worker thread, so a slow database never blocks
        the event loop; an unreachable one fails the startup with the Timescape error.

        Args:
            app: The application (its routes are checked: every ref given to :meth:`serves`
                must name a version of the handler the route's path belongs to).

        Returns:
            An async context manager yielding the lifespan state ``{"timescape": facade}``.
        """
        return self._lifespan(app)

    @asynccontextmanager
    async def _lifespan(self, app: Any) -> AsyncIterator[Mapping[str, Any] | None]:
        # The middleware opened the serving instance when the startup message arrived; opening
        # is idempotent, and this covers a lifespan used without install().
        await asyncio.to_thread(self.serving.open)
        self.check_routes(getattr(app, "routes", ()))
        try:
            yield {"timescape": self.timescape, "timescape_serving": self.serving}
        finally:
            if self.close_on_shutdown:
                await asyncio.to_thread(self._close)

    def _close(self) -> None:
        self.serving.close()
        self.timescape.close()

    def check_routes(self, routes: Any) -> None:
        """Refuse a route whose :meth:`serves` refs name no version of its handler.

        Args:
            routes: The app's routes.

        Raises:
            InputError: Naming the route, the ref and the handler.
        """
        for route in routes:
            selector = getattr(getattr(route, "endpoint", None), _MARK, None)
            if not isinstance(selector, _Selector):
                continue
            path = str(getattr(route, "path", ""))
            handler = self.serving.handler_for(path)
            if handler is None:
                raise InputError(
                    f"route {path} serves versions but is under no Timescape handler "
                    f"(handlers: {', '.join(self.timescape.handlers())})"
                )
            for ref in selector.all_refs:
                try:
                    self.timescape.resolve(ref, handler)
                except UnknownRefError as exc:
                    raise InputError(f"route {path}: {exc.message}") from exc

    # -- the dependency -----------------------------------------------------------------------

    def _make_dependency(self) -> Callable[..., ResolvedVersion]:
        def current(request: Request, **given: str | None) -> ResolvedVersion:
            decision = request.scope.get("state", {}).get("timescape_decision")
            if not isinstance(decision, Decision):
                raise HTTPException(
                    status_code=500,
                    detail=f"{request.url.path} is under no Timescape handler; "
                    "no version was resolved for it",
                )
            ref = next((v for v in given.values() if v), None)
            return ResolvedVersion.of(decision, ref=ref)

        help_text = "API version: a TSV, a tag or an ISO-8601 timestamp; default the newest live"
        parameters = [
            inspect.Parameter(
                "request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request
            )
        ]
        parameters.append(
            inspect.Parameter(
                "timescape_header",
                inspect.Parameter.KEYWORD_ONLY,
                annotation=str | None,
                default=Header(None, alias=self.header, description=help_text),
            )
        )
        if self.query_param:
            parameters.append(
                inspect.Parameter(
                    "timescape_query",
                    inspect.Parameter.KEYWORD_ONLY,
                    annotation=str | None,
                    default=Query(None, alias=self.query_param, description=help_text),
                )
            )
        current.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            parameters, return_annotation=ResolvedVersion
        )
        current.__doc__ = (
            "The version serving this request (a FastAPI dependency).\n\n"
            f"Declares the ``{self.header}`` header"
            + (f" and the ``{self.query_param}`` query parameter" if self.query_param else "")
            + f" in OpenAPI; the response carries ``{RESPONSE_HEADER}``."
        )
        return current

    # -- per-version endpoints ----------------------------------------------------------------

    def serves(self, *refs: str, since: str | None = None) -> Callable[[_Endpoint], _Endpoint]:
        """Mark an endpoint as serving only some versions of its handler.

        Put it under the route decorator. Several endpoints may share a path and method; routing
        picks the one whose versions include the request's. Refs are resolved against the
        handler of the route's path, again whenever the state changes (a moved tag moves its
        requests).

        Args:
            refs: TSVs, tags or timestamps of the versions served.
            since: A ref: this version and every later one of the handler are served too.

        Returns:
            The decorator (the endpoint is returned unchanged, only marked).

        Raises:
            InputError: When neither refs nor ``since`` is given.
        """
        if not refs and since is None:
            raise InputError("serves() needs at least one ref or since=")
        selector = _Selector(self.timescape, refs, since)

        def mark(endpoint: _Endpoint) -> _Endpoint:
            setattr(endpoint, _MARK, selector)
            return endpoint

        return mark


class _Selector:
    """Which TSVs an endpoint serves, recomputed per handler when the view's generation moves."""

    __slots__ = ("_cache", "refs", "since", "timescape")

    def __init__(self, timescape: Timescape, refs: tuple[str, ...], since: str | None) -> None:
        self.timescape = timescape
        self.refs = refs
        self.since = since
        self._cache: dict[str, tuple[int, frozenset[str]]] = {}

    @property
    def all_refs(self) -> tuple[str, ...]:
        return (*self.refs, self.since) if self.since is not None else self.refs

    def selects(self, tsv: str) -> bool:
        ts = self.timescape
        handler = ts.catalog.version(tsv).handler
        generation = ts.view_generation()
        cached = self._cache.get(handler)
        if cached is None or cached[0] != generation:
            cached = (generation, self._chosen(handler))
            self._cache[handler] = cached
        return tsv in cached[1]

    def _chosen(self, handler: str) -> frozenset[str]:
        ts = self.timescape
        chosen: set[str] = set()
        for ref in self.refs:
            try:
                chosen.add(ts.resolve(ref, handler))
            except UnknownRefError:
                logger.warning("serves(%r): no version of %s matches", ref, handler)
        if self.since is not None:
            try:
                start = ts.catalog.version(ts.resolve(self.since, handler)).timestamp
            except UnknownRefError:  # a tag removed at run time: serve nothing rather than fail
                logger.warning("serves(since=%r): no version of %s matches", self.since, handler)
                return frozenset(chosen)
            chosen.update(
                v.tsv for v in ts.catalog.versions if v.handler == handler and v.timestamp >= start
            )
        return frozenset(chosen)


class VersionedRoute(APIRoute):
    """An :class:`~fastapi.routing.APIRoute` that matches only the versions its endpoint serves.

    An endpoint without :meth:`Versioning.serves` matches every version, exactly as a plain
    ``APIRoute``. The versions served are listed in the OpenAPI operation as
    ``x-timescape-serves``.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        """Build the route (same arguments as :class:`~fastapi.routing.APIRoute`)."""
        selector = getattr(endpoint, _MARK, None)
        self.selector = selector if isinstance(selector, _Selector) else None
        if self.selector is not None:
            extra = dict(kwargs.get("openapi_extra") or {})
            extra.setdefault("x-timescape-serves", list(self.selector.all_refs))
            if self.selector.since is not None:
                extra.setdefault("x-timescape-since", self.selector.since)
            kwargs["openapi_extra"] = extra
        super().__init__(path, endpoint, **kwargs)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """Match as an ``APIRoute`` does, then only if the request's version is served here."""
        match, child = super().matches(scope)
        if match is Match.NONE or self.selector is None:
            return match, child
        tsv = scope.get("state", {}).get("timescape_version")
        if tsv is None or not self.selector.selects(tsv):
            return Match.NONE, {}
        return match, child
