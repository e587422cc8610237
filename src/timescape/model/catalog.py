"""The validated set of definitions: schema versions and API versions, checked together.

Everything that can be wrong with definitions alone is caught here, before any connection opens:
duplicate or case-colliding names, unknown parents, cycles, unknown schemas on versions, duplicate
tags, handlers whose slugs collide.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, KeysView, Sequence
from datetime import datetime
from operator import attrgetter

from timescape.errors import DefinitionError, UnknownRefError
from timescape.model._record import record
from timescape.model.graph import SchemaGraph
from timescape.model.schema import SchemaVersion
from timescape.model.tsv import (
    TSV_MAX_LENGTH,
    Version,
    handler_slug,
    parse_timestamp,
    validate_handler,
    validate_tag,
)

__all__ = ["Catalog", "VersionSpec", "schema_lookup"]

_TSV_PREFIX = "tsv:"  # as format_tsv writes it: tsv:<unix-seconds>-<slug>-<seq:03d>
_SEQ_DIGITS_MAX = 6  # sequence numbers go up to 999,999


@record
class VersionSpec:
    """A version as declared, before its TSV is assigned.

    Attributes:
        handler: Handler path.
        timestamp: ISO-8601 text or a datetime.
        schema: The schema version it needs.
        tags: Tags to declare.
        description: Free text.
        key: Where it was declared, for error messages.
    """

    handler: str
    timestamp: str | datetime
    schema: str
    tags: tuple[str, ...] = ()
    description: str = ""
    key: str | None = None


class Catalog:
    """Schemas and versions, validated as a whole; immutable once built."""

    __slots__ = (
        "_contract",
        "_ordered_schemas",
        "_ordered_versions",
        "_schemas",
        "_tags",
        "_versions",
        "graph",
    )

    def __init__(self, schemas: Sequence[SchemaVersion], versions: Sequence[VersionSpec]) -> None:
        """Validate the definitions and assign TSVs.

        A version's sequence number is its position in its handler's timeline, by timestamp.

        Args:
            schemas: Schema versions, in definition order.
            versions: Version declarations.

        Raises:
            DefinitionError: On the first problem found, naming the key.
        """
        self._schemas: dict[str, SchemaVersion] = {}
        folded: dict[str, str] = {}
        for schema in schemas:
            other = folded.get(schema.name.casefold())
            if other is not None:
                problem = (
                    f"duplicate schema {schema.name!r}"
                    if other == schema.name
                    else f"schema {schema.name!r} differs from {other!r} only by case; "
                    "names must differ case-insensitively"
                )
                raise DefinitionError(problem, key=schema.name)
            folded[schema.name.casefold()] = schema.name
            self._schemas[schema.name] = schema
        for schema in schemas:
            for other_name in schema.compatible_with:
                if other_name not in self._schemas:
                    raise DefinitionError(
                        f"schema {schema.name!r} is declared compatible with unknown schema "
                        f"{other_name!r}",
                        key=f"{schema.name}.compatible_with",
                    )
        self.graph = SchemaGraph({s.name: s.parents for s in schemas})
        self._versions = self._assign_tsvs(versions)
        self._derive()

    @classmethod
    def restore(cls, schemas: Sequence[SchemaVersion], versions: Sequence[Version]) -> Catalog:
        """Rebuild a catalog an earlier process validated, from its schemas and assigned versions.

        Why: validating 10,000 versions and numbering their timelines cost a tenth of a second
        on every CLI command (issue 14); the parsed-project cache keeps what the validated
        catalog assigned, and this takes it back without checking it again. Only for data a
        :class:`Catalog` produced from the very same definitions (``versions`` in the order of
        its ``tsvs()``); anything else must go through the constructor.

        Args:
            schemas: Schema versions, in definition order.
            versions: The versions the catalog assigned, in the order of its ``tsvs()``.

        Returns:
            The catalog.
        """
        catalog = cls.__new__(cls)
        cls._fill(catalog, schemas, versions)
        return catalog

    def _fill(self, schemas: Sequence[SchemaVersion], versions: Sequence[Version]) -> None:
        self._schemas = {s.name: s for s in schemas}
        self.graph = SchemaGraph({s.name: s.parents for s in schemas})
        self._versions = {v.tsv: v for v in versions}
        self._derive()

    def _derive(self) -> None:
        """Build the derived views once: the catalog never changes after construction."""
        self._ordered_schemas = tuple(self._schemas[name] for name in self.graph.names)
        self._ordered_versions = tuple(
            sorted(self._versions.values(), key=attrgetter("handler", "timestamp"))
        )
        self._contract = tuple(s for s in self._ordered_schemas if s.contract)
        self._tags = {(v.handler, t): v.tsv for v in self._ordered_versions for t in v.tags}

    def _assign_tsvs(self, specs: Sequence[VersionSpec]) -> dict[str, Version]:
        # Everything about a handler (its path rule, its slug, who owns the slug) is checked once
        # per handler, not once per version: at 10,000 versions the repeats cost a tenth of a
        # second on every command (issue #5).
        slugs: dict[str, str] = {}
        handler_slugs: dict[str, str] = {}
        per_handler: dict[str, list[tuple[datetime, int, VersionSpec]]] = {}
        for i, spec in enumerate(specs):
            key = spec.key or f"versions[{i}]"
            handler = spec.handler
            known = handler_slugs.get(handler)
            if known is None:
                validate_handler(handler, key=f"{key}.handler")
            slug = known or handler_slug(handler)
            moment = parse_timestamp(spec.timestamp, key=f"{key}.timestamp")
            if spec.schema not in self._schemas:
                raise DefinitionError(
                    f"version of {handler} at {moment.isoformat()} needs unknown schema "
                    f"{spec.schema!r}",
                    key=f"{key}.schema",
                )
            for tag in spec.tags:
                validate_tag(tag, key=f"{key}.tags")
            seconds = int(moment.timestamp())
            # The length of format_tsv(moment, handler, 999_999), without building it.
            longest = len(_TSV_PREFIX) + len(str(seconds)) + len(slug) + 2 + _SEQ_DIGITS_MAX
            if longest > TSV_MAX_LENGTH:
                raise DefinitionError(
                    f"handler {handler[:40]!r}... makes TSVs of up to {longest} characters; "
                    f"a TSV holds at most {TSV_MAX_LENGTH} (it is a key in the state tables). "
                    "Shorten the handler path",
                    key=f"{key}.handler",
                )
            if known is None:
                owner = slugs.setdefault(slug, handler)
                if owner != handler:
                    raise DefinitionError(
                        f"handlers {owner!r} and {handler!r} share the TSV slug {slug!r}",
                        key=f"{key}.handler",
                    )
                handler_slugs[handler] = slug
                per_handler[handler] = []
            per_handler[handler].append((moment, seconds, spec))
        result: dict[str, Version] = {}
        for handler, entries in per_handler.items():
            result.update(_timeline(handler, handler_slugs[handler], entries))
        return result

    @property
    def schemas(self) -> list[SchemaVersion]:
        """Every schema, parents first."""
        return list(self._ordered_schemas)

    @property
    def contract_schemas(self) -> tuple[SchemaVersion, ...]:
        """The schemas that have deferred contract steps, parents first."""
        return self._contract

    @property
    def versions(self) -> list[Version]:
        """Every version, by handler then timestamp."""
        return list(self._ordered_versions)

    def tsvs(self) -> KeysView[str]:
        """The defined TSVs, as a set-like view (set operations run without a Python loop)."""
        return self._versions.keys()

    def has_version(self, tsv: str) -> bool:
        """True when ``tsv`` is a defined version."""
        return tsv in self._versions

    def has_schema(self, name: str) -> bool:
        """True when ``name`` is a defined schema."""
        return name in self._schemas

    def schema(self, name: str) -> SchemaVersion:
        """Return the schema called ``name``.

        Raises:
            UnknownRefError: If there is none.
        """
        try:
            return self._schemas[name]
        except KeyError:
            raise UnknownRefError(name, reason="no such schema") from None

    def version(self, tsv: str) -> Version:
        """Return the version with this TSV.

        Raises:
            UnknownRefError: If there is none.
        """
        try:
            return self._versions[tsv]
        except KeyError:
            raise UnknownRefError(tsv, reason="no such TSV") from None

    def declared_tags(self) -> dict[tuple[str, str], str]:
        """``(handler, tag) → tsv`` for tags declared in the definitions."""
        return dict(self._tags)

    def with_additions(
        self, schemas: Iterable[SchemaVersion], versions: Iterable[VersionSpec]
    ) -> Catalog:
        """Return a new catalog with more definitions, validated as a whole.

        Args:
            schemas: Schemas to add.
            versions: Versions to add.

        Returns:
            The new catalog; this one is unchanged.
        """
        specs = [
            VersionSpec(v.handler, v.timestamp, v.schema, v.tags, v.description, key=v.tsv)
            for v in self._versions.values()
        ]
        return Catalog([*self._schemas.values(), *schemas], [*specs, *versions])


def _timeline(
    handler: str, slug: str, entries: list[tuple[datetime, int, VersionSpec]]
) -> dict[str, Version]:
    """Number one handler's versions by timestamp; check timestamps and tags are unique.

    ``entries`` are ``(moment, unix seconds, spec)``; ``slug`` is the handler's slug.
    """
    result: dict[str, Version] = {}
    entries.sort(key=lambda e: e[0])
    tags_seen: dict[str, str] = {}
    head = f"-{slug}-"
    for seq, (moment, seconds, spec) in enumerate(entries, start=1):
        if seq > 1 and entries[seq - 2][0] == moment:
            raise DefinitionError(
                f"two versions of {handler} have the timestamp {moment.isoformat()}",
                key=spec.key,
            )
        if seq > 999_999:
            raise DefinitionError(f"handler {handler} has over 999,999 versions")
        # format_tsv(moment, handler, seq), with the slug and the seconds computed once.
        tsv = f"{_TSV_PREFIX}{seconds}{head}{seq:03d}"
        for tag in spec.tags:
            if tag in tags_seen:
                raise DefinitionError(
                    f"tag {tag!r} is on both {tags_seen[tag]} and {tsv} in {handler}; "
                    "a tag is unique per handler",
                    key=spec.key,
                )
            tags_seen[tag] = tsv
        result[tsv] = Version(
            tsv=tsv,
            handler=handler,
            timestamp=moment,
            schema=spec.schema,
            tags=tuple(spec.tags),
            description=spec.description,
        )
    return result


def schema_lookup(catalog: Catalog) -> Callable[[str], SchemaVersion | None]:
    """The catalog's schema by name, or None: a dict's bound ``get``, no Python call per name.

    Why: the planner looks up every applied ancestor of a version (a hundred at ten thousand
    schemas, issue 14), and :meth:`Catalog.schema` is a Python call each. Not a method, so the
    catalog's public surface stays as it is.
    """
    return catalog._schemas.get  # noqa: SLF001 - this module's own class
