"""Definitions registered through the Python API: schema versions and API versions.

Registration is cheap and incremental (a version's TSV is known the moment it is added); the whole
set is validated together, as a :class:`~timescape.model.catalog.Catalog`, the first time it is
used after a change, and always before any connection opens.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from timescape.errors import DefinitionError
from timescape.model.catalog import Catalog, VersionSpec
from timescape.model.schema import SchemaVersion, Step, StepCallable
from timescape.model.tsv import format_tsv, parse_timestamp, validate_handler, validate_tag

__all__ = ["Definitions"]


class Definitions:
    """The registry behind :class:`~timescape.Timescape`'s ``add_schema`` and ``add_version``."""

    def __init__(
        self,
        schemas: Iterable[SchemaVersion] = (),
        versions: Iterable[VersionSpec] = (),
        *,
        mutex: threading.RLock | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        """Start from optional definitions.

        Args:
            schemas: Schema versions to register.
            versions: Version declarations to register.
            mutex: The owner's in-process mutex (a new one when alone).
            on_change: Called, under the mutex, whenever the catalog is rebuilt or adopted (the
                facade drops its hot-path view, which was built from the previous catalog).
        """
        self._mutex = mutex if mutex is not None else threading.RLock()
        self._on_change = on_change
        self._schemas: list[SchemaVersion] = list(schemas)
        self._folded_names = {s.name.casefold() for s in self._schemas}
        self._specs: list[VersionSpec] = list(versions)
        self._timelines: dict[str, list[float]] = {}
        self._catalog: Catalog | None = None

    def register_schema(self, schema: SchemaVersion) -> SchemaVersion:
        """Register a schema version built with :class:`SchemaVersion`."""
        with self._mutex:
            folded = schema.name.casefold()
            if folded in self._folded_names:  # a set: registering N schemas stays linear
                raise DefinitionError(
                    f"schema {schema.name!r} is already registered", key=schema.name
                )
            self._schemas.append(schema)
            # The name itself when folding changes nothing: no second copy of each name.
            self._folded_names.add(schema.name if folded == schema.name else folded)
            self._catalog = None
            return schema

    def add_schema(
        self,
        name: str,
        migrations: Sequence[str | StepCallable],
        rollback: Sequence[str | StepCallable] | None = None,
        *,
        parent: str | Sequence[str] | None = None,
        compatible_with: Sequence[str] = (),
        breaking: bool | None = None,
        transactional: bool = True,
        contract: Sequence[str] = (),
        contract_rollback: Sequence[str] = (),
    ) -> SchemaVersion:
        """Define and register a schema version from parallel migration and rollback lists."""
        schema = SchemaVersion.from_scripts(
            name,
            migrations,
            rollback,
            parent=parent,
            compatible_with=compatible_with,
            breaking=breaking,
            transactional=transactional,
        )
        if contract:
            if contract_rollback and len(contract_rollback) != len(contract):
                raise DefinitionError(
                    "contract_rollback must have one script per contract script",
                    key=f"{name}.contract_rollback",
                )
            steps = tuple(
                Step(c, contract_rollback[i] if contract_rollback else None, f"contract{i + 1}")
                for i, c in enumerate(contract)
            )
            schema = SchemaVersion.build(
                name,
                schema.steps,
                parent=parent,
                compatible_with=compatible_with,
                breaking=breaking,
                transactional=transactional,
                contract=steps,
            )
        return self.register_schema(schema)

    def add_version(
        self,
        handler: str,
        timestamp: str | datetime,
        schema: str,
        *,
        tags: Sequence[str] = (),
        description: str = "",
    ) -> str:
        """Register an API version and return its TSV."""
        validate_handler(handler)
        moment = parse_timestamp(timestamp)
        for tag in tags:
            validate_tag(tag)
        with self._mutex:
            stamps = self._timeline_stamps(handler)
            key = moment.timestamp()
            position = bisect.bisect_left(stamps, key)
            if position < len(stamps) and stamps[position] == key:
                raise DefinitionError(
                    f"{handler} already has a version at {moment.isoformat()}", key=handler
                )
            stamps.insert(position, key)
            self._specs.append(VersionSpec(handler, moment, schema, tuple(tags), description))
            self._catalog = None
            return format_tsv(moment, handler, position + 1)

    def _timeline_stamps(self, handler: str) -> list[float]:
        stamps = self._timelines.get(handler)
        if stamps is None:
            stamps = sorted(
                parse_timestamp(s.timestamp).timestamp()
                for s in self._specs
                if s.handler == handler
            )
            self._timelines[handler] = stamps
        return stamps

    @property
    def catalog(self) -> Catalog:
        """The validated definitions (built on first use after a registration).

        Raises:
            DefinitionError: If the definitions are inconsistent as a whole.
        """
        with self._mutex:
            if self._catalog is None:
                self._catalog = Catalog(self._schemas, self._specs)
                self._changed()
            return self._catalog

    def adopt_catalog(self, catalog: Catalog) -> bool:
        """Take ``catalog`` as the validated definitions when it was built from exactly them.

        The project loader has already validated the definitions it registers (it must, to
        report errors by file, key and line); building the same catalog again cost a tenth of a
        second at 10,000 versions on every CLI command (issue #5). Nothing changes when the
        catalog holds other schema objects or a different number of versions.

        Args:
            catalog: A catalog built from the registered schemas and versions.

        Returns:
            Whether it was adopted.
        """
        with self._mutex:
            schemas = catalog.schemas
            if len(schemas) != len(self._schemas) or len(catalog.versions) != len(self._specs):
                return False
            mine = {id(s) for s in self._schemas}
            if any(id(s) not in mine for s in schemas):
                return False
            self._catalog = catalog
            self._changed()
            return True

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()
