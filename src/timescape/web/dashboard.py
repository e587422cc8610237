"""``timescape dashboard``: a read-only web page over the state, on the standard library only.

The page (:mod:`timescape.web._page`) polls ``/api/state`` and redraws itself, so an activation
made anywhere shows up without a reload. The server is :class:`http.server.ThreadingHTTPServer`:
nothing to install, and no framework to keep up to date for a page that only reads.

Read-only by construction: only ``GET`` and ``HEAD`` are routed, every other method (``POST``,
``PUT``, ``DELETE``, ``PATCH``, ``OPTIONS``, anything) is answered 405 before any work is done,
and the handlers only call the facade's read-only reports. It binds to ``127.0.0.1`` unless told
otherwise, refuses requests whose ``Host`` is not the address it is bound to (DNS rebinding), and
sends a strict content security policy. No secret reaches a page: the database URL is shown
redacted, error texts are the facade's (redacted at their source), and as a second line every
response body passes through :meth:`DashboardServer.scrub`, which masks each known password form.

Added in 0.5.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Collection
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from timescape._log import LazyLogger
from timescape.errors import TimescapeError
from timescape.web import _page
from timescape.web.picture import SchemaNode, schema_svg

if TYPE_CHECKING:
    from timescape.manager import Timescape

__all__ = ["DEFAULT_PORT", "DashboardServer", "dashboard_state"]

logger = LazyLogger("timescape.dashboard")

DEFAULT_PORT = 8765
_LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
_HISTORY_LIMIT = 500
_CACHE_S = 0.2
_GRAPH_LIMIT = 300
"""The picture shows at most this many schemas (the newest); a larger DAG would not be readable."""


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment is not None else None


def _state(active: bool, status: str) -> str:  # noqa: FBT001 - values, not options
    if status == "retiring":
        return "retiring"
    return "live" if active else "inactive"


def _contract(steps: int, done: bool) -> str:  # noqa: FBT001 - a value, not an option
    if done:
        return "done"
    return "pending" if steps else "none"


def _instances(ts: Timescape) -> list[dict[str, Any]]:
    """Registered serving instances (stale ones included, marked)."""
    return [
        {
            "id": info.id,
            "name": info.name,
            "label": info.label,
            "host": info.host,
            "pid": info.pid,
            "started_at": _iso(info.started_at),
            "heartbeat_at": _iso(info.heartbeat_at),
            "heartbeat_age_s": round(info.age_s, 1),
            "generation": info.generation,
            "in_flight": dict(info.in_flight),
            "stale": info.is_stale,
        }
        for info in ts.instances()
    ]


def dashboard_state(ts: Timescape, *, history_limit: int = _HISTORY_LIMIT) -> dict[str, Any]:
    """Everything the page shows, read from the database (read-only; no lock is waited for).

    Args:
        ts: The facade.
        history_limit: How many of the newest events to include.

    Returns:
        A JSON-ready document (``"format": 1``).
    """
    versions = ts.versions()
    schemas = ts.schemas()
    statuses = {s.name: s.status for s in schemas}
    live_by_schema: dict[str, int] = {}
    for v in versions:
        if v.active:
            live_by_schema[v.schema] = live_by_schema.get(v.schema, 0) + 1
    handlers: dict[str, list[dict[str, Any]]] = {}
    for v in versions:
        handlers.setdefault(v.handler, []).append(
            {
                "tsv": v.tsv,
                "timestamp": _iso(v.timestamp),
                "schema": v.schema,
                "schema_status": statuses.get(v.schema, "pending"),
                "active": v.active,
                "state": _state(v.active, v.status),
                "status": v.status,
                "tags": list(v.tags),
                "request_count": v.request_count,
                "last_accessed": _iso(v.last_accessed),
                "activated_at": _iso(v.activated_at),
            }
        )
    shown = schemas[-_GRAPH_LIMIT:] if len(schemas) > _GRAPH_LIMIT else schemas
    nodes = [
        SchemaNode(
            s.name,
            s.parents,
            s.status,
            _contract(s.contract_steps, s.contract_done),
            live_by_schema.get(s.name, 0),
        )
        for s in shown
    ]
    graph_note = (
        f"showing the newest {len(shown)} of {len(schemas)} schemas; "
        "timescape schema graph --format svg draws them all"
        if len(shown) < len(schemas)
        else None
    )
    report = ts.verify()
    stats = ts.stats()
    instances = _instances(ts)
    since = {v.tsv: v.retiring_since for v in versions}
    drains = [
        {
            "tsv": v["tsv"],
            "handler": h,
            "retiring_since": _iso(since.get(v["tsv"])),
            "in_flight": sum(
                int(i["in_flight"].get(v["tsv"], 0)) for i in instances if not i["stale"]
            ),
            "holders": [
                i["name"] for i in instances if not i["stale"] and i["in_flight"].get(v["tsv"])
            ],
        }
        for h, rows in handlers.items()
        for v in rows
        if v["state"] == "retiring"
    ]
    return {
        "format": 1,
        "generated_at": _iso(datetime.now(UTC)),
        "database": ts.url.redacted,
        "protected_tags": list(ts.protected_tags),
        "stats": {
            "live_versions": stats.active_versions,
            "versions": stats.total_versions,
            "applied_schemas": stats.active_schemas,
            "pending_schemas": stats.pending_schemas,
            "failed_schemas": stats.failed_schemas
            + stats.interrupted_schemas
            + stats.uncertain_schemas,
            "schemas": stats.total_schemas,
            "handlers": stats.handlers,
        },
        "handlers": [{"handler": h, "versions": rows} for h, rows in sorted(handlers.items())],
        "schemas": [
            {
                "name": s.name,
                "parents": list(s.parents),
                "status": s.status,
                "used_by": list(s.used_by),
                "contract": _contract(s.contract_steps, s.contract_done),
                "steps": s.steps,
                "steps_done": s.steps_done,
                "applied_at": _iso(s.applied_at),
                "error": s.error,
            }
            for s in schemas
        ],
        "graph_svg": schema_svg(nodes),
        "graph_note": graph_note,
        "instances": instances,
        "drains": drains,
        "history": [
            {
                "id": e.id,
                "at": _iso(e.at),
                "kind": e.kind,
                "subject": e.subject,
                "actor": e.actor,
                "duration_ms": e.duration_ms,
                "detail": e.detail,
            }
            for e in ts.history(limit=history_limit)
        ],
        "verify": {
            "ok": report.ok,
            "checked_schemas": report.checked_schemas,
            "problems": [
                {"kind": p.kind, "subject": p.subject, "message": p.message}
                for p in report.problems
            ],
        },
    }


class DashboardServer(ThreadingHTTPServer):
    """The dashboard's HTTP server: read-only routes over one facade.

    Use :meth:`serve_forever` (blocking) and :meth:`shutdown` from another thread, or run it as a
    context manager like any :class:`socketserver.BaseServer`.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        timescape: Timescape,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        refresh_s: float = 2.0,
        secrets: Collection[str] = (),
    ) -> None:
        """Bind the socket (serving starts with :meth:`serve_forever`).

        Args:
            timescape: The facade whose state is shown.
            host: Address to bind; loopback unless the operator says otherwise.
            port: TCP port (0: any free port; read :attr:`port` afterwards).
            refresh_s: How often the page polls for a new state.
            secrets: Password forms to mask in every response (the CLI passes the URL's).

        Raises:
            OSError: When the address cannot be bound (in use, not local).
        """
        self.timescape = timescape
        self.refresh_s = refresh_s
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._state_lock = threading.Lock()
        # Several tabs polling share one computation per half refresh interval.
        self._cache_s = max(_CACHE_S, refresh_s / 2)
        self._cached: tuple[float, bytes] | None = None
        super().__init__((host, port), _Handler)
        self.host = host

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        """The page's address."""
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{shown}:{self.port}/"

    @property
    def is_loopback(self) -> bool:
        """True when bound to a loopback address."""
        return self.host in _LOOPBACK or self.host.startswith("127.")

    def scrub(self, text: str) -> str:
        """Mask every known password form in ``text``."""
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def state_body(self) -> bytes:
        """The ``/api/state`` document, computed at most once per half refresh interval."""
        with self._state_lock:
            cached = self._cached
            if cached is not None and time.monotonic() - cached[0] < self._cache_s:
                return cached[1]
            try:
                document = dashboard_state(self.timescape)
            except TimescapeError as exc:
                document = {"format": 1, "error": {"type": type(exc).__name__, "message": str(exc)}}
            body = self.scrub(json.dumps(document, default=str)).encode()
            self._cached = (time.monotonic(), body)
            return body

    def accepts_host(self, header: str | None) -> bool:
        """Whether a request's ``Host`` names this server (DNS-rebinding protection).

        A server bound to a wildcard or public address accepts any host; a loopback one only the
        loopback names.
        """
        if not self.is_loopback:
            return True
        if not header:
            return False
        name = urlsplit(f"//{header}").hostname or ""
        return name in _LOOPBACK or name.startswith("127.") or name == self.host


_ROUTES = {
    "/": ("page", "text/html; charset=utf-8"),
    "/app.js": ("script", "text/javascript; charset=utf-8"),
    "/app.css": ("style", "text/css; charset=utf-8"),
    "/api/state": ("state", "application/json"),
    "/graph.svg": ("graph", "image/svg+xml"),
}
_SECURITY_HEADERS = (
    (
        "Content-Security-Policy",
        (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        ),
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
)


class _Handler(BaseHTTPRequestHandler):
    server: DashboardServer
    server_version = "timescape-dashboard"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def __getattr__(self, name: str) -> Any:
        # http.server looks up do_<METHOD>; any method but GET/HEAD is refused the same way.
        if name.startswith("do_"):
            return self._refuse
        raise AttributeError(name)

    def _refuse(self) -> None:
        # The request's body is never read: close the connection so it cannot be taken for the
        # next request.
        self.close_connection = True
        self._send(
            HTTPStatus.METHOD_NOT_ALLOWED,
            b"read-only: only GET and HEAD\n",
            "text/plain; charset=utf-8",
            extra=(("Allow", "GET, HEAD"), ("Connection", "close")),
        )

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answer a malformed request without echoing it (its line may hold a secret)."""
        del message, explain
        self.close_connection = True
        status = HTTPStatus(code)
        body = f"{status.value} {status.phrase}\n".encode()
        self._send(status, body, "text/plain; charset=utf-8", extra=(("Connection", "close"),))

    def do_GET(self) -> None:
        self._get(head=False)

    def do_HEAD(self) -> None:
        self._get(head=True)

    def _get(self, *, head: bool) -> None:
        server = self.server
        if not server.accepts_host(self.headers.get("Host")):
            self._send(HTTPStatus.MISDIRECTED_REQUEST, b"unknown host\n", "text/plain", head=head)
            return
        route = _ROUTES.get(urlsplit(self.path).path)
        if route is None:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain", head=head)
            return
        kind, content_type = route
        if kind == "page":
            body = _page.html(refresh_ms=int(server.refresh_s * 1000)).encode()
        elif kind == "script":
            body = _page.SCRIPT.encode()
        elif kind == "style":
            body = _page.STYLE.encode()
        elif kind == "graph":
            document = json.loads(server.state_body())
            body = str(document.get("graph_svg", "")).encode()
        else:
            body = server.state_body()
        self._send(HTTPStatus.OK, body, content_type, head=head)

    def _send(
        self,
        status: HTTPStatus,
        body: bytes,
        content_type: str,
        *,
        head: bool = False,
        extra: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (*_SECURITY_HEADERS, *extra):
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        logger.debug("%s %s", self.address_string(), format % args)
