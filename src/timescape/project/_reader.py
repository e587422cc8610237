"""Turns the parsed project file into validated definitions, naming file, key and line on errors.

Why a module of its own: this is the one place that knows every table and key of the project
file (``[database]``, ``[[schemas]]``, ``[[versions]]``, ``[lint]``, ``[lifecycle]``) and what
each may hold; :mod:`timescape.project.config` finds, parses and caches the file and hands the
parsed document, or a cache payload, to :class:`_Reader`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from timescape.engine.instances import DEFAULT_HEARTBEAT_INTERVAL
from timescape.errors import DefinitionError, InputError
from timescape.model.catalog import Catalog, VersionSpec
from timescape.model.schema import SchemaVersion, Step, StepCallable, validate_name
from timescape.model.usage import LifecycleSettings, format_duration, parse_duration
from timescape.project import cache as _cache
from timescape.project.config import DatabaseSettings, LintSettings, Project
from timescape.project.sqlfile import load_steps
from timescape.store.state import validate_prefix

if TYPE_CHECKING:
    from timescape.project._lines import _Lines

__all__ = ["_Reader"]

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

    def __init__(
        self,
        label: str,
        prefix: str,
        text: str,
        on_database: Callable[[DatabaseSettings, Path], None] | None = None,
    ) -> None:
        self.label = label
        self.on_database = on_database
        self.prefix = prefix
        self.source = text
        self._lines: _Lines | None = None
        # Tables of schemas given as a ``dir``: the cache keeps them as written (their SQL files
        # are read again on every load), keyed by position in [[schemas]].
        self.dir_tables: dict[int, dict[str, Any]] = {}

    @property
    def lines(self) -> _Lines:
        """Key → line lookup in the text, made on first use: only an error needs it."""
        if self._lines is None:
            from timescape.project._lines import _Lines  # noqa: PLC0415 - only for errors

            self._lines = _Lines(self.source, self.prefix)
        return self._lines

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
        if self.on_database is not None:
            self.on_database(database, file.parent)
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
            if self.on_database is not None:
                self.on_database(database, file.parent)
            lint = LintSettings(
                disabled=tuple(payload["lint"]), enabled=tuple(payload.get("lint_enabled", ()))
            )
            hot, cold, auto, interval = payload["lifecycle"]
            lifecycle = LifecycleSettings(
                timedelta(seconds=hot), timedelta(seconds=cold), auto, timedelta(seconds=interval)
            )
            entries = [(kind, data) for kind, data in payload["schemas"]]
            versions = _cache.versions_from_data(payload["versions"])
            if any(kind not in ("sql", "dir") for kind, _ in entries):
                return None
            at = [i for i, (kind, _) in enumerate(entries) if kind == "sql"]
            inline = dict(
                zip(at, _cache.schemas_from_data([entries[i][1] for i in at]), strict=True)
            )
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
        from timescape.project.steps import step_script  # noqa: PLC0415 - only non-SQL steps

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
