"""Django integration: a sync-and-async middleware and ``manage.py timescape ...``.

```python
# settings.py
INSTALLED_APPS = [..., "timescape.web.django"]          # adds the management command
MIDDLEWARE = [..., "timescape.web.django.TimescapeMiddleware"]
TIMESCAPE = {"PROJECT": BASE_DIR / "timescape.toml"}   # optional; see below
```

The database is the one Django already uses: the URL is built from ``settings.DATABASES``
(the ``"default"`` alias unless ``TIMESCAPE["DATABASE"]`` names another), so there is no second URL
to keep in sync, and ``manage.py timescape version activate v2`` migrates exactly the database the
views read. The entry is read as Django's backend reads it: for PostgreSQL, ``OPTIONS`` (TLS,
``options``, ``service``, ``passfile``, ...), for MySQL/MariaDB, ``OPTIONS`` and the option file
in ``OPTIONS["read_default_file"]`` too (see :func:`url_from_settings`). The password never
appears in output (the CLI masks it).

``TIMESCAPE`` keys, all optional: ``PROJECT`` (the project file; default: searched from the current
folder up), ``DATABASE`` (an alias of ``DATABASES``), ``HEADER`` (``X-API-Version``),
``QUERY_PARAM`` (``api_version``; None to read only the header), ``POLL_INTERVAL`` (seconds
between change probes where PostgreSQL ``LISTEN`` is not used; default the project's ``[serving]``
setting), ``COUNT_REQUESTS`` (True).

The middleware works under WSGI (``runserver``, gunicorn) and ASGI (uvicorn, daphne) without a
thread hop: it reads only memory on the request path. A request under a handler gets
``request.timescape_version`` (a :class:`~timescape.web.request.ResolvedVersion`), the TSV in
:data:`~timescape.web.asgi.current_version`, and ``X-Timescape-Version`` on the response; a ref
naming nothing gets a JSON 404, and a retiring version 410 Gone, without reaching the view. A
request counts as in flight (a deactivation drains it) until Django closes its response, after
the last byte of a streamed body.

Needs the ``django`` extra (``pip install 'timescape-db[django]'``).

Added in 0.5.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from timescape.config import load_project
from timescape.errors import InputError
from timescape.manager import Timescape
from timescape.web.asgi import current_version
from timescape.web.django._url import url_from_settings
from timescape.web.request import DEFAULT_HEADER, DEFAULT_QUERY_PARAM, ResolvedVersion
from timescape.web.routing import Decision
from timescape.web.serving import ServingInstance

__all__ = [
    "TimescapeMiddleware",
    "database_url",
    "get_serving",
    "get_timescape",
    "project_path",
    "run_cli",
    "url_from_settings",
]

_lock = threading.Lock()
_shared: dict[str, ServingInstance] = {}


def _options() -> Mapping[str, Any]:
    value = getattr(settings, "TIMESCAPE", None) or {}
    if not isinstance(value, Mapping):
        raise InputError("settings.TIMESCAPE must be a dict (keys PROJECT, DATABASE, HEADER, …)")
    return value


def database_url(alias: str | None = None) -> str:
    """The Timescape URL of a database in ``settings.DATABASES``.

    Args:
        alias: The alias; default ``TIMESCAPE["DATABASE"]``, else ``"default"``.

    Returns:
        ``sqlite:////abs/path.db``, ``postgresql://user:pw@host:port/name`` or
        ``mysql://user:pw@host:port/name`` (see :func:`url_from_settings`).

    Raises:
        InputError: For an unknown alias, or an entry :func:`url_from_settings` refuses.
    """
    alias = alias or str(_options().get("DATABASE", "default"))
    databases: Mapping[str, Mapping[str, Any]] = settings.DATABASES
    if alias not in databases:
        known = ", ".join(sorted(databases)) or "none"
        raise InputError(f"settings.DATABASES has no {alias!r} (aliases: {known})")
    return url_from_settings(databases[alias], alias=alias)


def project_path() -> Path | None:
    """``TIMESCAPE["PROJECT"]`` as a path, or None to search from the current folder up."""
    value = _options().get("PROJECT")
    return Path(value) if value else None


def get_serving() -> ServingInstance:
    """The process-wide serving instance for this Django project, opened on first use.

    Its facade's definitions come from the project file, its database from
    ``settings.DATABASES``. Opening registers the process as a serving instance and loads the
    routing table; background threads then heartbeat, follow state changes and flush request
    counters until the interpreter exits.

    Returns:
        The open serving instance.

    Raises:
        DefinitionError: For a broken project file.
        InputError: For a database Timescape cannot use.
        TimescapeError: When the database cannot be reached.
    """
    key = database_url()
    with _lock:
        serving = _shared.get(key)
        if serving is None:
            options = _options()
            timescape = load_project(project_path()).timescape(key)
            poll = options.get("POLL_INTERVAL")
            serving = ServingInstance(
                timescape,
                poll_interval=float(poll) if poll is not None else None,
                count_requests=bool(options.get("COUNT_REQUESTS", True)),
            )
            serving.open()
            atexit.register(_close, serving)
            _shared[key] = serving
    return serving


def _close(serving: ServingInstance) -> None:
    serving.close()
    serving.timescape.close()


def get_timescape() -> Timescape:
    """The process-wide facade behind :func:`get_serving` (for views that act on versions)."""
    return get_serving().timescape


def run_cli(args: list[str], *, prog_name: str = "manage.py timescape") -> int:
    """Run the ``timescape`` CLI on this project's database; return its exit code.

    ``--project`` and ``--database`` are filled in from the settings before ``args``, so an
    explicit ``--database`` in ``args`` still wins.

    Args:
        args: The command line after ``timescape`` (``["version", "list", "--json"]``).
        prog_name: The name shown in usage lines.

    Returns:
        0 on success, 1 on failure, 2 on bad input (the CLI's exit codes).
    """
    from timescape.cli.main import cli  # noqa: PLC0415 - click loads only for the command

    prefix = ["--database", database_url()]
    project = project_path()
    if project is not None:
        prefix = ["--project", str(project), *prefix]
    code = cli.main(args=[*prefix, *args], prog_name=prog_name, standalone_mode=False)
    return int(code or 0)


class TimescapeMiddleware:
    """Resolve each request's API version from memory (sync and async Django)."""

    sync_capable = True
    async_capable = True

    def __init__(
        self, get_response: Callable[[HttpRequest], HttpResponseBase | Awaitable[HttpResponseBase]]
    ) -> None:
        """Bind to the next layer; the serving instance opens now, not per request.

        Args:
            get_response: The rest of Django's handler chain.
        """
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
        options = _options()
        self.serving = get_serving()
        self.header = str(options.get("HEADER", DEFAULT_HEADER))
        query = options.get("QUERY_PARAM", DEFAULT_QUERY_PARAM)
        self.query_param = str(query) if query else None

    def _ref(self, request: HttpRequest) -> str | None:
        ref = request.headers.get(self.header)
        if not ref and self.query_param:
            ref = request.GET.get(self.query_param)
        return ref.strip() or None if ref else None

    def __call__(self, request: HttpRequest) -> Any:
        """Handle one request (returns a coroutine under ASGI)."""
        if self.is_async:
            return self._acall(request)
        handler = self.serving.handler_for(request.path_info)
        if handler is None:
            return self.get_response(request)
        ref = self._ref(request)
        decision = self.serving.admit(handler, ref)
        if not decision.is_served:
            return _refusal(decision)
        request.timescape_version = ResolvedVersion.of(decision, ref=ref)  # type: ignore[attr-defined]
        token = current_version.set(decision.tsv)
        try:
            response = cast("HttpResponseBase", self.get_response(request))
        except BaseException:
            self.serving.release(decision)
            raise
        finally:
            current_version.reset(token)
        return self._finish(response, decision)

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        handler = self.serving.handler_for(request.path_info)
        if handler is None:
            return await cast("Awaitable[HttpResponseBase]", self.get_response(request))
        ref = self._ref(request)
        decision = self.serving.admit(handler, ref)
        if not decision.is_served:
            return _refusal(decision)
        request.timescape_version = ResolvedVersion.of(decision, ref=ref)  # type: ignore[attr-defined]
        token = current_version.set(decision.tsv)
        try:
            response = await cast("Awaitable[HttpResponseBase]", self.get_response(request))
        except BaseException:
            self.serving.release(decision)
            raise
        finally:
            current_version.reset(token)
        return self._finish(response, decision)

    def _finish(self, response: HttpResponseBase, decision: Decision) -> HttpResponseBase:
        """Add the headers; keep the request in flight until Django closes the response.

        Django closes every response once it is sent (the WSGI server calls ``close()``; the
        ASGI handler does it after the last body chunk), so a streamed body is covered too.
        """
        for name, value in decision.headers:
            response[name] = value
        close = response.close
        released = threading.Event()

        def close_and_release() -> None:
            try:
                close()
            finally:
                if not released.is_set():
                    released.set()
                    self.serving.release(decision)

        response.close = close_and_release  # type: ignore[method-assign]
        return response


def _refusal(decision: Decision) -> HttpResponse:
    response = HttpResponse(
        decision.json_body(), status=decision.status, content_type="application/json"
    )
    for name, value in decision.headers:
        response[name] = value
    return response
