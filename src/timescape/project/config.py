"""The project file, ``timescape.toml`` or ``[tool.timescape]`` in ``pyproject.toml``: definitions.

TOML is the only input. Nothing in it is evaluated or expanded (no ``${VAR}``); a step may name a
Python function (``{ python = "module:function" }``) or an Alembic revision, found and checksummed
by its source at load and imported only when it runs (:mod:`timescape.project.steps`). Loading
validates everything, including the schema DAG and the versions as a whole (the
:class:`~timescape.model.catalog.Catalog` is built), so a broken file is reported with its name,
the key and, where known, the line, before any database connection opens.

Precedence of the database URL: ``--database`` > ``TIMESCAPE_DATABASE_URL`` > ``[database] url`` >
``sqlite:///timescape.db`` beside the project file.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from timescape.engine.instances import (
    DEFAULT_DRAIN_TIMEOUT,
    DEFAULT_HEARTBEAT_INTERVAL,
    DEFAULT_POLL_INTERVAL,
)
from timescape.errors import DefinitionError, InputError
from timescape.manager import DEFAULT_PROTECTED_TAGS, Timescape
from timescape.model._record import record
from timescape.model.catalog import Catalog, VersionSpec
from timescape.model.schema import SchemaVersion, Step, StepCallable, validate_name
from timescape.model.usage import LifecycleSettings, format_duration, parse_duration
from timescape.project import cache as _cache
from timescape.project.sqlfile import decode_text, load_steps, read_bytes, read_text
from timescape.project.steps import step_script
from timescape.store.state import validate_prefix

__all__ = [
    "DEFAULT_URL",
    "PROJECT_FILE",
    "URL_ENV",
    "DatabaseSettings",
    "LintSettings",
    "Project",
    "find_project_file",
    "load_project",
]

PROJECT_FILE = "timescape.toml"
PYPROJECT_FILE = "pyproject.toml"
URL_ENV = "TIMESCAPE_DATABASE_URL"
DEFAULT_URL = "sqlite:///timescape.db"

_TOP_KEYS = ("database", "schemas", "versions", "lint", "lifecycle")
_DATABASE_KEYS = (
    "url",
    "migration_timeout",
    "lock_timeout",
    "ddl_lock_timeout",
    "rollback_on_deactivate",
    "protected_tags",
    "table_prefix",
    "allow_outside_project",
    "application_name",
    "heartbeat_interval",
    "stale_after",
    "poll_interval",
    "drain_timeout",
)
_SECONDS_KEYS = (
    "migration_timeout",
    "lock_timeout",
    "ddl_lock_timeout",
    "heartbeat_interval",
    "stale_after",
    "poll_interval",
    "drain_timeout",
)
_SCHEMA_KEYS = (
    "name",
    "parent",
    "migrations",
    "rollback",
    "dir",
    "compatible_with",
    "breaking",
    "transactional",
    "contract",
    "contract_rollback",
    "description",
)
_VERSION_KEYS = ("handler", "timestamp", "schema", "tags", "description")
_LINT_KEYS = ("disabled", "enabled")
_LIFECYCLE_KEYS = ("hot_within", "cold_after", "auto_retire", "auto_retire_interval")
_TOML_LINE = re.compile(r"at line (\d+)")


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
        if override:
            return override, "--database"
        env = os.environ.get(URL_ENV)
        if env:
            return env, URL_ENV
        if self.database.url:
            return self.database.url, "project file"
        return DEFAULT_URL, "default"

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

    Returns:
        The validated project.

    Raises:
        DefinitionError: On any problem with the file or the definitions, naming file and key.
        InputError: When no project file is found.

    Changed in 0.5: public as ``timescape.load_project``; ``path`` and ``start`` accept strings
    and any path-like, and ``path`` defaults to None (search from the current folder).
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
        project = _cached_project(file, key, label, prefix, text)
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
    reader = _Reader(label, prefix, _Lines(text, prefix))
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


def _cached_project(file: Path, key: str, label: str, prefix: str, text: str) -> Project | None:
    """The project from its cache, or None on a miss."""
    payload = _cache.load(file, key)
    if payload is None:
        return None
    reader = _Reader(label, prefix, _Lines(text, prefix))
    project = reader.cached_project(payload, file)
    if project is not None and _cache.holds_secret(project.database.url):
        _cache.forget(file)  # written by an older Timescape: a password on disk
        return None
    return project


_URL_VALUE = re.compile(r"""\s*=\s*(?P<q>["'])(?P<url>.*?)(?P=q)""")


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
            match = _URL_VALUE.match(text, at + 3)
            if match is not None:
                found.append(match.group("url"))
        at = text.find("url", at + 3)
    return " ".join(found) if found else None


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
            found = _TOML_LINE.search(str(exc))
            line = int(found.group(1)) if found else None
        problem = str(exc).split(" (at line", 1)[0]
        raise DefinitionError(f"invalid TOML: {problem}", file=label, line=line) from None
    except (RecursionError, MemoryError):
        raise DefinitionError("invalid TOML: nested too deeply", file=label) from None


class _Lines:
    """Best-effort key → line lookup in the TOML text, for messages (tomllib keeps no positions)."""

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-]+)\s*\]\]?\s*(#.*)?$")

    def __init__(self, text: str, prefix: str) -> None:
        self.prefix = prefix
        self.text = text
        self._lines: list[str] | None = None
        self._headers: list[tuple[int, str]] = []

    @property
    def lines(self) -> list[str]:
        """The text's lines, split (and scanned for headers) on first use.

        Only an error needs them, and scanning a 3 MB file takes 0.1 s: more than a whole
        command once the project is cached.
        """
        if self._lines is None:
            self._lines = self.text.splitlines()
            self._scan()
        return self._lines

    @property
    def headers(self) -> list[tuple[int, str]]:
        """``(line, table name)`` of every table header outside multi-line strings."""
        _ = self.lines
        return self._headers

    def _scan(self) -> None:
        in_string: str | None = None
        for number, line in enumerate(self._lines or (), start=1):
            for quote in ('"""', "'''"):
                if in_string in (None, quote) and line.count(quote) % 2 == 1:
                    in_string = None if in_string == quote else quote
            if in_string is None:
                match = self._HEADER.match(line)
                if match:
                    self._headers.append((number, match.group(2)))

    def _section(self, table: str, index: int | None) -> tuple[int, int] | None:
        name = self.prefix + table
        seen = [i for i, (_, header) in enumerate(self.headers) if header == name]
        position = seen[index or 0] if len(seen) > (index or 0) else None
        if position is None:
            return None
        start = self.headers[position][0]
        end = (
            self.headers[position + 1][0]
            if position + 1 < len(self.headers)
            else len(self.lines) + 1
        )
        return start, end

    def find(self, key: str) -> int | None:
        match = re.match(r"^(\w+)(?:\[(\d+)\])?(?:\.(\w+))?", key.removeprefix(self.prefix))
        if match is None:
            return None
        table, index, sub = match.group(1), match.group(2), match.group(3)
        section = self._section(table, int(index) if index is not None else None)
        if section is None:
            return self._top_level(table)
        start, end = section
        if sub is None:
            return start
        pattern = re.compile(rf"^\s*{re.escape(sub)}\s*=")
        for number in range(start + 1, end):
            if pattern.match(self.lines[number - 1]):
                return number
        return start

    def _top_level(self, key: str) -> int | None:
        pattern = re.compile(rf"^\s*(\[\[?\s*)?{re.escape(self.prefix + key)}\b")
        for number, line in enumerate(self.lines, start=1):
            if pattern.match(line):
                return number
        return None


def _names_python(table: Mapping[str, Any]) -> bool:
    for name in ("migrations", "rollback"):
        items = table.get(name)
        if isinstance(items, list) and any(isinstance(item, dict) for item in items):
            return True
    return False


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Reader:
    """Turns the parsed TOML document into definitions, naming file, key and line on errors."""

    def __init__(self, label: str, prefix: str, lines: _Lines) -> None:
        self.label = label
        self.prefix = prefix
        self.lines = lines
        # Tables of schemas given as a ``dir``: the cache keeps them as written (their SQL files
        # are read again on every load), keyed by position in [[schemas]].
        self.dir_tables: dict[int, dict[str, Any]] = {}

    def error(self, problem: str, key: str) -> DefinitionError:
        full = self.prefix + key
        return DefinitionError(problem, file=self.label, key=full, line=self.lines.find(full))

    def check_keys(self, table: Mapping[str, Any], allowed: Sequence[str], key: str) -> None:
        for name in table:
            if name not in allowed:
                import difflib  # noqa: PLC0415 - only an error needs it

                close = difflib.get_close_matches(name, allowed, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                where = f"{key}.{name}" if key else name
                raise self.error(
                    f"unknown key {name!r}{hint} (allowed: {', '.join(allowed)})", where
                )

    def table(self, value: object, key: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(f"must be a table, not {_short(value)}", key)
        return value

    def text(self, value: object, key: str) -> str:
        if not isinstance(value, str):
            raise self.error(f"must be a string, not {_short(value)}", key)
        return value

    def flag(self, value: object, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.error(f"must be true or false, not {_short(value)}", key)
        return value

    def seconds(self, value: object, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1e9:
            raise self.error(f"must be a positive number of seconds, not {_short(value)}", key)
        return float(value)

    def texts(self, value: object, key: str) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.error(f"must be a list of strings, not {_short(value)}", key)
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise self.error(f"must be a list of strings; item {i + 1} is {_short(item)}", key)
        return tuple(value)

    # -- tables -------------------------------------------------------------------------------

    def project(self, document: dict[str, Any], file: Path) -> Project:
        self.check_keys(document, _TOP_KEYS, "")
        database = self.database(document.get("database", {}))
        schemas = self.schemas(document.get("schemas", []), file.parent, database)
        versions = self.versions(document.get("versions", []))
        lint = self.lint(document.get("lint", {}))
        lifecycle = self.lifecycle(document.get("lifecycle", {}))
        return self.assemble(file, database, schemas, versions, lint, lifecycle=lifecycle)

    def assemble(
        self,
        file: Path,
        database: DatabaseSettings,
        schemas: list[SchemaVersion],
        versions: list[VersionSpec],
        lint: LintSettings,
        *,
        lifecycle: LifecycleSettings,
        catalog: Catalog | None = None,
    ) -> Project:
        """The project; ``catalog`` is the one the cache kept for these very definitions."""
        if catalog is None:
            try:
                catalog = Catalog(schemas, versions)
            except DefinitionError as exc:
                raise self.catalog_error(exc, schemas) from None
        return Project(
            path=file,
            root=file.parent,
            database=database,
            schemas=tuple(schemas),
            versions=tuple(versions),
            lint=lint,
            catalog=catalog,
            lifecycle=lifecycle,
        )

    # -- the parsed-project cache ---------------------------------------------------------------

    def payload(self, project: Project) -> dict[str, Any]:
        """The validated project as plain data for :mod:`timescape.project.cache`."""
        return {
            "database": {
                f.name: getattr(project.database, f.name)
                for f in dataclasses.fields(project.database)
            },
            "lint": project.lint.disabled,
            "lint_enabled": project.lint.enabled,
            "lifecycle": (
                project.lifecycle.hot_within.total_seconds(),
                project.lifecycle.cold_after.total_seconds(),
                project.lifecycle.auto_retire,
                project.lifecycle.auto_retire_interval.total_seconds(),
            ),
            "schemas": [
                ("dir", self.dir_tables[i])
                if i in self.dir_tables
                else ("sql", _cache.schema_data(s))
                for i, s in enumerate(project.schemas)
            ],
            "versions": [_cache.version_data(v) for v in project.versions],
            "catalog": _cache.catalog_data(project.catalog, project.versions),
            "digests": _cache.digest_data(
                [s for i, s in enumerate(project.schemas) if i not in self.dir_tables]
            ),
        }

    def cached_project(self, payload: Any, file: Path) -> Project | None:
        """The project from a cache payload; None when the payload does not have its shape.

        Schemas given as a ``dir`` are loaded and validated again, so a changed, added or removed
        SQL file is picked up, and reported, exactly as on a fresh parse.

        Raises:
            DefinitionError: When a ``dir`` no longer loads.
        """
        try:
            database = DatabaseSettings(**payload["database"])
            lint = LintSettings(
                disabled=tuple(payload["lint"]), enabled=tuple(payload.get("lint_enabled", ()))
            )
            hot, cold, auto, interval = payload["lifecycle"]
            lifecycle = LifecycleSettings(
                timedelta(seconds=hot), timedelta(seconds=cold), auto, timedelta(seconds=interval)
            )
            entries = [(kind, data) for kind, data in payload["schemas"]]
            versions = [_cache.version_from_data(v) for v in payload["versions"]]
            if any(kind not in ("sql", "dir") for kind, _ in entries):
                return None
            inline = {
                i: _cache.schema_from_data(data)
                for i, (kind, data) in enumerate(entries)
                if kind == "sql"
            }
            assigned = _cache.catalog_versions(payload["catalog"], versions)
            # Only the inline schemas' digests: a ``dir`` schema's files may have changed since.
            _cache.remember_digests(list(inline.values()), payload["digests"])
        except (TypeError, ValueError, KeyError, IndexError, AttributeError):
            return None  # not what this version of the cache writes: parse the file instead
        schemas = [
            inline[i] if kind == "sql" else self.schema_at(i, data, file.parent, database)
            for i, (kind, data) in enumerate(entries)
        ]
        catalog = Catalog.restore(schemas, assigned)
        return self.assemble(
            file, database, schemas, versions, lint, lifecycle=lifecycle, catalog=catalog
        )

    def catalog_error(self, exc: DefinitionError, schemas: Sequence[SchemaVersion]) -> Exception:
        if exc.file is not None:
            return exc
        key = exc.key or ""
        if not key.startswith(self.prefix + "versions["):
            names = sorted((s.name for s in schemas), key=len, reverse=True)
            for name in names:
                if key == name or key.startswith(name + "."):
                    index = max(i for i, s in enumerate(schemas) if s.name == name)
                    key = f"schemas[{index}]{key[len(name) :]}"
                    break
            return self.error(exc.problem, key)
        return DefinitionError(exc.problem, file=self.label, key=key, line=self.lines.find(key))

    def database(self, value: object) -> DatabaseSettings:
        table = self.table(value, "database")
        self.check_keys(table, _DATABASE_KEYS, "database")
        options: dict[str, Any] = {}
        for name, raw in table.items():
            key = f"database.{name}"
            if name in _SECONDS_KEYS:
                options[name] = self.seconds(raw, key)
            elif name in ("rollback_on_deactivate", "allow_outside_project"):
                options[name] = self.flag(raw, key)
            elif name == "protected_tags":
                options[name] = self.texts(raw, key)
            elif name == "table_prefix":
                try:
                    options[name] = validate_prefix(self.text(raw, key))
                except DefinitionError:
                    raise
                except InputError as exc:
                    raise self.error(exc.message, key) from None
            elif name == "url":
                if not isinstance(raw, str) or not raw.strip():
                    raise self.error("must be a non-empty string (a database URL)", key)
                options[name] = raw
            else:
                options[name] = self.text(raw, key)
        self.check_stale_after(options)
        return DatabaseSettings(**options)

    def check_stale_after(self, options: Mapping[str, Any]) -> None:
        interval = options.get("heartbeat_interval", DEFAULT_HEARTBEAT_INTERVAL)
        stale = options.get("stale_after")
        if stale is not None and stale <= interval:
            raise self.error(
                f"must be longer than heartbeat_interval ({interval:g} s), or every serving "
                "instance would count as gone",
                "database.stale_after",
            )

    def schemas(self, value: object, root: Path, database: DatabaseSettings) -> list[SchemaVersion]:
        if not isinstance(value, list):
            raise self.error("must be an array of tables ([[schemas]])", "schemas")
        return [self.schema_at(i, item, root, database) for i, item in enumerate(value)]

    def schema_at(
        self, index: int, item: object, root: Path, database: DatabaseSettings
    ) -> SchemaVersion:
        key = f"schemas[{index}]"
        table = self.table(item, key)
        self.check_keys(table, _SCHEMA_KEYS, key)
        if "dir" in table or _names_python(table):
            # Read again on every load: SQL files and Python sources may change on their own.
            self.dir_tables[index] = table
        try:
            return self.schema(table, key, root, database)
        except DefinitionError as exc:
            if exc.file not in (None, self.label) or exc.line is not None:
                raise
            where = (exc.key or key).removeprefix(self.prefix)
            raise self.error(exc.problem, where) from None

    def schema(
        self, table: dict[str, Any], key: str, root: Path, database: DatabaseSettings
    ) -> SchemaVersion:
        if "name" not in table:
            raise self.error("every schema needs a name", key)
        name = validate_name(self.text(table["name"], f"{key}.name"), key=f"{key}.name")
        parent_raw = table.get("parent")
        parent: tuple[str, ...] = ()
        if isinstance(parent_raw, str):
            parent = (parent_raw,)
        elif parent_raw is not None:
            parent = self.texts(parent_raw, f"{key}.parent")
        if "dir" in table and ("migrations" in table or "rollback" in table):
            given = "migrations" if "migrations" in table else "rollback"
            raise self.error(
                f"give either dir or {given}, not both (a dir holds the rollback files too)",
                f"{key}.dir",
            )
        contract = self.contract_steps(table, key)
        if "dir" in table:
            folder = self.text(table["dir"], f"{key}.dir")
            steps, files = load_steps(
                root.resolve(),
                folder,
                allow_outside=database.allow_outside_project,
                key=self.prefix + f"{key}.dir",
                project_file=self.label,
            )
            if files and contract:
                raise self.error(
                    "give contract steps either as NNN_name.contract.sql files in dir or as "
                    "contract / contract_rollback, not both",
                    f"{key}.contract",
                )
            contract = contract or files
        else:
            steps = self.inline_steps(
                table, key, name, root, allow_outside=database.allow_outside_project
            )
        breaking = table.get("breaking")
        return SchemaVersion.build(
            name,
            steps,
            parent=parent,
            compatible_with=self.texts(table.get("compatible_with", []), f"{key}.compatible_with"),
            breaking=None if breaking is None else self.flag(breaking, f"{key}.breaking"),
            transactional=self.flag(table.get("transactional", True), f"{key}.transactional"),
            contract=contract,
            description=self.text(table.get("description", ""), f"{key}.description"),
            key=key,
        )

    def inline_steps(
        self, table: dict[str, Any], key: str, name: str, root: Path, *, allow_outside: bool
    ) -> tuple[Step, ...]:
        migrations = self.scripts(
            table.get("migrations", []), f"{key}.migrations", root, allow_outside=allow_outside
        )
        rollbacks = self.scripts(
            table.get("rollback", []), f"{key}.rollback", root, allow_outside=allow_outside
        )
        if rollbacks and len(rollbacks) != len(migrations):
            raise self.error(
                f"schema {name!r} has {len(migrations)} migrations but {len(rollbacks)} rollback "
                "scripts; rollback[i] must undo migrations[i] (or give none: irreversible)",
                f"{key}.rollback",
            )
        return tuple(
            Step(
                m,
                rollbacks[i] if rollbacks else None,
                f"step{i + 1}",
                file=getattr(m, "file", None),
                rollback_file=getattr(rollbacks[i], "file", None) if rollbacks else None,
            )
            for i, m in enumerate(migrations)
        )

    def scripts(
        self, value: object, key: str, root: Path, *, allow_outside: bool
    ) -> tuple[str | StepCallable, ...]:
        """SQL texts, or ``{ python = "module:function" }`` / ``{ alembic = "file" }`` tables."""
        if not isinstance(value, list):
            raise self.error(f"must be a list of SQL strings, not {_short(value)}", key)
        if all(isinstance(item, str) for item in value):
            return tuple(value)
        rollback = key.endswith(".rollback")
        out: list[str | StepCallable] = []
        for i, item in enumerate(value):
            try:
                out.append(
                    step_script(
                        item,
                        root,
                        rollback=rollback,
                        key=f"{key}[{i}]",
                        label=self.label,
                        allow_outside=allow_outside,
                    )
                )
            except DefinitionError as exc:
                if exc.file not in (None, self.label):
                    raise
                raise self.error(exc.problem, f"{key}[{i}]".removeprefix(self.prefix)) from None
        return tuple(out)

    def contract_steps(self, table: dict[str, Any], key: str) -> tuple[Step, ...]:
        contract = self.texts(table.get("contract", []), f"{key}.contract")
        undo = self.texts(table.get("contract_rollback", []), f"{key}.contract_rollback")
        if undo and len(undo) != len(contract):
            raise self.error(
                "contract_rollback must have one script per contract script",
                f"{key}.contract_rollback",
            )
        return tuple(
            Step(c, undo[i] if undo else None, f"contract{i + 1}") for i, c in enumerate(contract)
        )

    def versions(self, value: object) -> list[VersionSpec]:
        if not isinstance(value, list):
            raise self.error("must be an array of tables ([[versions]])", "versions")
        result = []
        for i, item in enumerate(value):
            key = f"versions[{i}]"
            table = self.table(item, key)
            self.check_keys(table, _VERSION_KEYS, key)
            for required in ("handler", "timestamp", "schema"):
                if required not in table:
                    raise self.error(f"every version needs {required}", key)
            result.append(
                VersionSpec(
                    handler=self.text(table["handler"], f"{key}.handler"),
                    timestamp=self.timestamp(table["timestamp"], f"{key}.timestamp"),
                    schema=self.text(table["schema"], f"{key}.schema"),
                    tags=self.texts(table.get("tags", []), f"{key}.tags"),
                    description=self.text(table.get("description", ""), f"{key}.description"),
                    key=self.prefix + key,
                )
            )
        return result

    def timestamp(self, value: object, key: str) -> str | datetime:
        if isinstance(value, datetime | str):
            return value
        if isinstance(value, date | time):
            raise self.error(
                f"needs a date and a time, e.g. 2025-01-01T00:00:00Z, not {value.isoformat()}", key
            )
        raise self.error(f"must be an ISO-8601 timestamp, not {_short(value)}", key)

    def lint(self, value: object) -> LintSettings:
        table = self.table(value, "lint")
        self.check_keys(table, _LINT_KEYS, "lint")
        disabled = self.texts(table.get("disabled", []), "lint.disabled")
        enabled = self.texts(table.get("enabled", []), "lint.enabled")
        if disabled or enabled:
            self.rule_ids(disabled, "lint.disabled", optional_only=False)
            self.rule_ids(enabled, "lint.enabled", optional_only=True)
        return LintSettings(disabled=disabled, enabled=enabled)

    def rule_ids(self, ids: Sequence[str], key: str, *, optional_only: bool) -> None:
        from timescape.analysis.rules import RULES  # noqa: PLC0415 - only when [lint] lists rules

        for rule_id in ids:
            rule = RULES.get(rule_id.upper())
            if rule is None:
                import difflib  # noqa: PLC0415 - only an error needs it

                close = difflib.get_close_matches(rule_id.upper(), list(RULES), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise self.error(
                    f"unknown lint rule {rule_id!r}{hint} (the rules are listed in "
                    "docs/compatibility.md)",
                    key,
                )
            if optional_only and not rule.optional:
                optional = ", ".join(r.id for r in RULES.values() if r.optional)
                raise self.error(
                    f"rule {rule.id} is on by default; enabled lists optional rules only "
                    f"({optional})",
                    key,
                )

    def lifecycle(self, value: object) -> LifecycleSettings:
        table = self.table(value, "lifecycle")
        self.check_keys(table, _LIFECYCLE_KEYS, "lifecycle")
        options: dict[str, Any] = {}
        for name, raw in table.items():
            key = f"lifecycle.{name}"
            if name == "auto_retire":
                options[name] = self.flag(raw, key)
                continue
            try:
                options[name] = parse_duration(raw)
            except ValueError as exc:
                raise self.error(str(exc), key) from None
        settings = LifecycleSettings(**options)
        if settings.cold_after <= settings.hot_within:
            raise self.error(
                f"cold_after ({format_duration(settings.cold_after)}) must be longer than "
                f"hot_within ({format_duration(settings.hot_within)})",
                "lifecycle.cold_after",
            )
        return settings
