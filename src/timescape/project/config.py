"""The project file, ``timescape.toml`` or ``[tool.timescape]`` in ``pyproject.toml``: definitions.

TOML is the only input. Nothing in it is evaluated or expanded (no ``${VAR}``); a step may name a
Python function (``{ python = "module:function" }``) or an Alembic revision, found and checksummed
by its source at load and imported only when it runs (:mod:`timescape.project.steps`). Loading
validates everything, including the schema DAG and the versions as a whole (the
:class:`~timescape.model.catalog.Catalog` is built), so a broken file is reported with its name,
the key and, where known, the line, before any database connection opens.

Precedence of the database URL: ``--database`` > ``TIMESCAPE_DATABASE_URL`` > ``[database] url`` >
``sqlite:///timescape.db`` beside the project file.

This module holds what a loaded project is (:class:`Project` and its settings) and how the file is
found, parsed or taken from its cache. Turning the parsed tables into validated definitions is
:mod:`timescape.project._reader`; finding a key's line for a message is
:mod:`timescape.project._lines`. Both load on first use: a cached project with no ``dir`` schema
needs neither, and an error-free load never needs the second.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from timescape._moved import lazy_getattr
from timescape.engine.instances import (
    DEFAULT_DRAIN_TIMEOUT,
    DEFAULT_HEARTBEAT_INTERVAL,
    DEFAULT_POLL_INTERVAL,
)
from timescape.errors import DefinitionError, InputError
from timescape.manager import DEFAULT_PROTECTED_TAGS, Timescape
from timescape.model._record import record
from timescape.model.catalog import Catalog, VersionSpec
from timescape.model.schema import SchemaVersion
from timescape.model.usage import LifecycleSettings
from timescape.project import cache as _cache
from timescape.project.sqlfile import decode_text, read_bytes, read_text

if TYPE_CHECKING:  # moved out; still reachable here (module __getattr__ below)
    from timescape.project._lines import _Lines as _Lines  # noqa: PLC0414 - re-exported
    from timescape.project._reader import _Reader as _Reader  # noqa: PLC0414 - re-exported

__all__ = [
    "DEFAULT_URL",
    "PROJECT_FILE",
    "URL_ENV",
    "DatabaseSettings",
    "LintSettings",
    "Project",
    "find_project_file",
    "load_project",
    "open_database_ahead",
    "pick_database_url",
]

PROJECT_FILE = "timescape.toml"
PYPROJECT_FILE = "pyproject.toml"
URL_ENV = "TIMESCAPE_DATABASE_URL"
DEFAULT_URL = "sqlite:///timescape.db"


@record
class DatabaseSettings:
    """The ``[database]`` table.

    Attributes:
        url: The URL written in the file (may hold a password: never print it unredacted).
        migration_timeout: Seconds per schema.
        lock_timeout: Seconds to wait for the Timescape lock.
        ddl_lock_timeout: Seconds a DDL statement may wait for a table lock.
        rollback_on_deactivate: Roll back schemas no live version needs.
        protected_tags: Tags whose versions need ``--force`` to deactivate.
        table_prefix: Prefix of the state tables.
        allow_outside_project: Allow ``dir`` paths outside the project folder.
        application_name: Name shown to the server.
        heartbeat_interval: Seconds between a serving instance's heartbeats.
        stale_after: Seconds without a heartbeat before an instance counts as gone (None: three
            heartbeat intervals).
        poll_interval: Seconds between change probes where there is no ``NOTIFY``.
        drain_timeout: Seconds a deactivation waits for the instances to drain a version.
    """

    url: str | None = field(default=None, repr=False)
    migration_timeout: float = 30.0
    lock_timeout: float = 30.0
    ddl_lock_timeout: float = 5.0
    rollback_on_deactivate: bool = True
    protected_tags: tuple[str, ...] = DEFAULT_PROTECTED_TAGS
    table_prefix: str = "timescape_"
    allow_outside_project: bool = False
    application_name: str = "timescape"
    heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL
    stale_after: float | None = None
    poll_interval: float = DEFAULT_POLL_INTERVAL
    drain_timeout: float = DEFAULT_DRAIN_TIMEOUT


@record
class LintSettings:
    """The ``[lint]`` table.

    Attributes:
        disabled: Rule ids silenced for the whole project.
        enabled: Optional rules (style rules, off by default) turned on for the project.
    """

    disabled: tuple[str, ...] = ()
    enabled: tuple[str, ...] = ()


@record
class Project:
    """A loaded, validated project.

    Attributes:
        path: The project file.
        root: Its folder; relative paths resolve against it.
        database: The ``[database]`` settings.
        schemas: Schema versions in file order.
        versions: Version declarations in file order.
        lint: The ``[lint]`` settings.
        catalog: The definitions validated as a whole.
        lifecycle: The ``[lifecycle]`` settings (hot/cold thresholds, automatic retirement).
    """

    path: Path
    root: Path
    database: DatabaseSettings
    schemas: tuple[SchemaVersion, ...]
    versions: tuple[VersionSpec, ...]
    lint: LintSettings
    catalog: Catalog = field(repr=False)
    lifecycle: LifecycleSettings = field(default_factory=LifecycleSettings)

    def database_url(self, override: str | None = None) -> tuple[str, str]:
        """Pick the database URL by precedence.

        Args:
            override: ``--database``, if given.

        Returns:
            ``(url, source)``; the source is ``--database``, ``TIMESCAPE_DATABASE_URL``,
            ``project file`` or ``default``. The URL may hold a password: redact before showing.
        """
        return pick_database_url(self.database, override)

    def timescape(self, database_url_override: str | None = None) -> Timescape:
        """Build the facade for this project; nothing connects yet.

        Args:
            database_url_override: ``--database``, if given.

        Returns:
            The facade, with every schema and version registered and the catalog built.

        Raises:
            InputError: For a bad URL (shown redacted).
        """
        url, _ = self.database_url(database_url_override)
        settings = self.database
        ts = Timescape(
            url,
            schemas=self.schemas,
            versions=self.versions,
            migration_timeout=settings.migration_timeout,
            lock_timeout=settings.lock_timeout,
            ddl_lock_timeout=settings.ddl_lock_timeout,
            rollback_on_deactivate=settings.rollback_on_deactivate,
            protected_tags=settings.protected_tags,
            table_prefix=settings.table_prefix,
            application_name=settings.application_name,
            base_dir=self.root,
            lifecycle=self.lifecycle,
            heartbeat_interval=settings.heartbeat_interval,
            stale_after=settings.stale_after,
            poll_interval=settings.poll_interval,
            drain_timeout=settings.drain_timeout,
        )
        if not ts._adopt_catalog(self.catalog):  # noqa: SLF001 - validated once, at load
            _ = ts.catalog  # pragma: no cover - the facade registers exactly these definitions
        return ts


def pick_database_url(settings: DatabaseSettings, override: str | None = None) -> tuple[str, str]:
    """:meth:`Project.database_url` from the ``[database]`` settings alone."""
    if override:
        return override, "--database"
    env = os.environ.get(URL_ENV)
    if env:
        return env, URL_ENV
    if settings.url:
        return settings.url, "project file"
    return DEFAULT_URL, "default"


def open_database_ahead(
    settings: DatabaseSettings, root: Path, override: str | None = None
) -> bool:
    """Start opening, on a helper thread, the connection :meth:`Project.timescape` will use.

    For ``load_project(on_database=...)``: the facade's backend then takes this connection
    instead of opening one (:mod:`timescape.store.ahead`). A URL that does not parse starts
    nothing: building the facade reports it, as before.

    Args:
        settings: The ``[database]`` table.
        root: The project folder (relative SQLite paths).
        override: ``--database``, if given.

    Returns:
        Whether opening started.
    """
    from timescape.store import ahead  # noqa: PLC0415 - the CLI's, loaded with the backend
    from timescape.store.backends import create_backend  # noqa: PLC0415 - idem
    from timescape.store.urls import parse_url, url_text  # noqa: PLC0415 - idem

    url, _ = pick_database_url(settings, override)
    try:
        backend = create_backend(
            parse_url(url_text(url), base_dir=root),
            lock_timeout=settings.lock_timeout,
            ddl_lock_timeout=settings.ddl_lock_timeout,
            migration_timeout=settings.migration_timeout,
            table_prefix=settings.table_prefix,
            application_name=settings.application_name,
        )
    except InputError:
        return False
    return ahead.open_ahead(backend)


def find_project_file(start: Path) -> Path | None:
    """Find ``timescape.toml``, or a ``pyproject.toml`` with ``[tool.timescape]``, upwards.

    Args:
        start: The folder to start in (usually the current directory).

    Returns:
        The file, or None when no folder from ``start`` up to the root has one.
    """
    for folder in (start, *start.parents):
        candidate = folder / PROJECT_FILE
        if candidate.is_file():
            return candidate
        pyproject = folder / PYPROJECT_FILE
        if pyproject.is_file() and _has_tool_table(pyproject):
            return pyproject
    return None


def _has_tool_table(path: Path) -> bool:
    try:
        text = read_text(path, label=str(path))
    except DefinitionError:
        return False
    return re.search(r"(?m)^\s*\[+\s*tool\.timescape[\].]", text) is not None


def _label(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load_project(
    path: str | os.PathLike[str] | None = None,
    *,
    start: str | os.PathLike[str] | None = None,
    cache: bool = False,
    on_database: Callable[[DatabaseSettings, Path], None] | None = None,
) -> Project:
    """Load and validate a project file.

    Reads only the project file and the migration files it names; opens no connection. With
    ``cache``, definitions validated by an earlier load of the very same bytes are taken from
    ``.timescape/`` beside the file instead of parsing it again (see :mod:`timescape.project.cache`:
    schemas with a ``dir`` are always read from disk again, and any problem with the cache is a
    miss), and a fresh parse is stored there for the next load.

    Args:
        path: A project file, a ``pyproject.toml``, or a folder holding one (the CLI's
            ``--project``); None to search ``start`` and its parents.
        start: Where the search begins (default: the current directory).
        cache: Use the parsed-project cache, unless ``TIMESCAPE_NO_CACHE`` is set.
        on_database: Called with the ``[database]`` settings and the project folder as soon as
            they are read, before the definitions are validated or rebuilt: the CLI starts
            opening the connection then (:mod:`timescape.store.ahead`). The project may still
            turn out invalid after the call.

    Returns:
        The validated project.

    Raises:
        DefinitionError: On any problem with the file or the definitions, naming file and key.
        InputError: When no project file is found.

    Changed in 0.5: public as ``timescape.load_project``; ``path`` and ``start`` accept strings
    and any path-like, and ``path`` defaults to None (search from the current folder).
    Changed in 0.5: ``on_database``.
    """
    path = _project_path(
        None if path is None else Path(path), None if start is None else Path(start)
    )
    file = path.resolve()
    label = _label(path)
    data = read_bytes(file, label=label)
    text = decode_text(data, label=label)
    prefix = "tool.timescape." if file.name == PYPROJECT_FILE else ""
    key = _usable_cache_key(file, data, text) if cache and _cache.is_enabled() else None
    if key is not None:
        project = _cached_project(file, key, label, prefix, text, on_database)
        if project is not None:
            return project
    document = _parse(text, label)
    if prefix:
        tool = document.get("tool", {})
        if not isinstance(tool, dict) or "timescape" not in tool:
            raise DefinitionError("has no [tool.timescape] table", file=label)
        document = tool["timescape"]
        if not isinstance(document, dict):
            raise DefinitionError("must be a table", file=label, key="tool.timescape")
    from timescape.project._reader import _Reader  # noqa: PLC0415 - it imports this module

    reader = _Reader(label, prefix, text, on_database)
    project = reader.project(document, file)
    if key is not None and _cache.holds_secret(project.database.url):
        _cache.forget(file)
        key = None
    if key is not None:
        _cache.save(file, key, reader.payload(project))
    return project


def _usable_cache_key(file: Path, data: bytes, text: str) -> str | None:
    """The cache key of the file's bytes, or None when the file must not be cached."""
    if _cache.holds_secret(_database_url(text)):
        # Never copy a password to disk (issue 11); an older cache may hold it: delete that.
        _cache.forget(file)
        return None
    return _cache.cache_key(data)


def _cached_project(  # noqa: PLR0917 - a private step of load_project, called once
    file: Path,
    key: str,
    label: str,
    prefix: str,
    text: str,
    on_database: Callable[[DatabaseSettings, Path], None] | None,
) -> Project | None:
    """The project from its cache, or None on a miss."""
    payload = _cache.load(file, key)
    if payload is None:
        return None
    from timescape.project._reader import _Reader  # noqa: PLC0415 - it imports this module

    reader = _Reader(label, prefix, text, on_database)
    project = reader.cached_project(payload, file)
    if project is not None and _cache.holds_secret(project.database.url):
        _cache.forget(file)  # written by an older Timescape: a password on disk
        return None
    return project


def _database_url(text: str) -> str | None:
    """Every ``url = "..."`` value of the file joined, read without parsing TOML (cheap).

    Only to decide, before a cached load, whether the project holds a password: a URL in any
    table that looks secret counts (a false positive costs only the cache).
    """
    found = []
    # Only where ``url`` starts a line's text: a regex scan of every line of a 3 MB file cost
    # 30 ms per command at 10,000 schemas; str.find jumps between the few places that matter.
    at = text.find("url")
    while at >= 0:
        line_start = text.rfind("\n", 0, at) + 1
        if not text[line_start:at].strip():
            value = _quoted_value(text, at + 3)
            if value is not None:
                found.append(value)
        at = text.find("url", at + 3)
    return " ".join(found) if found else None


def _quoted_value(text: str, at: int) -> str | None:
    """The quoted value of ``= "..."`` (or ``'...'``) from ``at`` on, else None.

    Whitespace around ``=`` may include line breaks, as the line-anchored pattern this replaced
    allowed: TOML does not, but a file it refuses is never cached, and for a secret check
    finding too much only costs the cache. The value itself ends on its line.
    String operations, not a regex: this runs on every cached load, and compiling a pattern cost
    more than the scan (issue 14).
    """
    size = len(text)
    i = at
    while i < size and text[i].isspace():
        i += 1
    if i == size or text[i] != "=":
        return None
    i += 1
    while i < size and text[i].isspace():
        i += 1
    if i == size or text[i] not in "\"'":
        return None
    end = text.find("\n", i + 1)
    close = text.find(text[i], i + 1, size if end < 0 else end)
    return text[i + 1 : close] if close >= 0 else None


def _project_path(path: Path | None, start: Path | None) -> Path:
    if path is None:
        origin = (start or Path.cwd()).resolve()
        found = find_project_file(origin)
        if found is None:
            raise InputError(
                f"no {PROJECT_FILE} (or pyproject.toml with [tool.timescape]) in {origin} or "
                "above; run 'timescape init' or pass --project PATH"
            )
        return found
    if path.is_dir():
        inner = path / PROJECT_FILE
        if not inner.is_file() and (path / PYPROJECT_FILE).is_file():
            inner = path / PYPROJECT_FILE
        return inner
    return path


def _parse(text: str, label: str) -> dict[str, Any]:
    import tomllib  # noqa: PLC0415 - a cached project is never parsed

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        if line is None:
            found = re.search(r"at line (\d+)", str(exc))
            line = int(found.group(1)) if found else None
        problem = str(exc).split(" (at line", 1)[0]
        raise DefinitionError(f"invalid TOML: {problem}", file=label, line=line) from None
    except (RecursionError, MemoryError):
        raise DefinitionError("invalid TOML: nested too deeply", file=label) from None


_MOVED = {
    "_Lines": "timescape.project._lines",
    "_Reader": "timescape.project._reader",
}

if not TYPE_CHECKING:  # type checkers read the imports above; this keeps unknown names errors
    __getattr__ = lazy_getattr(__name__, _MOVED)
