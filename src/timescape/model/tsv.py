"""API versions: TSV ids, handlers, tags, and resolving a ref to a TSV.

A TSV (Timescape version) is ``tsv:<unix-seconds>-<slug>-<seq>``. The id is derived, never chosen,
so two app instances that load the same definitions agree on it without talking to each other.
Resolution is the hot path of every request, so :class:`VersionIndex` answers from dicts built once.
"""

from __future__ import annotations

import bisect
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from timescape.errors import DefinitionError, UnknownRefError
from timescape.model._pattern import lazy_pattern, pattern_getattr
from timescape.model._record import record

__all__ = [
    "TSV_MAX_LENGTH",
    "TSV_PATTERN",
    "Version",
    "VersionIndex",
    "format_tsv",
    "handler_slug",
    "parse_timestamp",
    "parse_tsv",
    "validate_handler",
    "validate_tag",
]

TSV_MAX_LENGTH = 191
"""Longest TSV: it must fit every backend's key columns (MySQL's utf8mb4 ``VARCHAR(191)``)."""

if TYPE_CHECKING:
    TSV_PATTERN: re.Pattern[str]  # compiled on first use (module __getattr__ below)

# Compiled on first use, not at import (issue 14: a listing uses none of them).
# \Z, not $: `$` also matches before a trailing newline, which would let "v1\n" through.
_tsv_pattern = lazy_pattern(r"^tsv:(\d{1,12})-([a-z0-9]+(?:-[a-z0-9]+)*)-(\d{3,6})\Z")
_handler_pattern = lazy_pattern(r"^/[A-Za-z0-9._~\-/{}:]{0,199}\Z")
_tag_pattern = lazy_pattern(r"^[A-Za-z0-9][A-Za-z0-9._+\-]{0,63}\Z")
_non_alnum = lazy_pattern(r"[^a-z0-9]+")


if not TYPE_CHECKING:  # type checkers read the declaration above
    __getattr__ = pattern_getattr(__name__, {"TSV_PATTERN": _tsv_pattern})


_LATEST = "latest"
_MOMENTS_MAX = 4096


def handler_slug(handler: str) -> str:
    """Return the slug of a handler path: ``/api/products`` → ``products``.

    Lower-cased, a leading ``api/`` dropped, every run of non-alphanumerics folded to ``-``.

    Args:
        handler: A validated handler path.

    Returns:
        The slug used inside TSVs.
    """
    path = handler.strip("/").lower()
    if path.startswith("api/"):
        path = path[4:]
    elif path == "api":
        path = ""
    return _non_alnum().sub("-", path).strip("-") or "root"


def format_tsv(timestamp: datetime, handler: str, seq: int) -> str:
    """Build a TSV string.

    Args:
        timestamp: The version's timestamp (timezone-aware).
        handler: The handler path.
        seq: 1-based position in the handler's timeline.

    Returns:
        ``tsv:<unix-seconds>-<slug>-<seq:03d>``.
    """
    return f"tsv:{int(timestamp.timestamp())}-{handler_slug(handler)}-{seq:03d}"


def parse_tsv(text: str) -> tuple[int, str, int]:
    """Split a TSV into its parts.

    Args:
        text: A TSV string.

    Returns:
        ``(unix_seconds, slug, seq)``.

    Raises:
        UnknownRefError: If ``text`` is not a well-formed TSV.
    """
    match = _tsv_pattern().match(text)
    if match is None:
        raise UnknownRefError(text, reason="not a TSV (expected tsv:<unix-seconds>-<slug>-<seq>)")
    return int(match.group(1)), match.group(2), int(match.group(3))


def parse_timestamp(value: str | datetime, *, key: str | None = None) -> datetime:
    """Parse an ISO-8601 timestamp; a naive one is taken as UTC.

    Args:
        value: ISO-8601 text (``2025-01-01T00:00:00Z``) or a datetime.
        key: Where the value came from, for the error message.

    Returns:
        A timezone-aware UTC datetime, truncated to whole seconds.

    Raises:
        DefinitionError: If the text is not ISO-8601.
    """
    if isinstance(value, datetime):
        parsed = value
    else:
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise DefinitionError(
                f"{value!r} is not an ISO-8601 timestamp (e.g. 2025-01-01T00:00:00Z)", key=key
            ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).replace(microsecond=0)


def validate_handler(handler: object, *, key: str | None = None) -> str:
    """Check a handler path: starts with ``/``, URL path characters only, at most 200 chars.

    Args:
        handler: The candidate handler.
        key: Where it came from, for the error message.

    Returns:
        The handler unchanged.

    Raises:
        DefinitionError: If the handler breaks a rule (the message names the rule).
    """
    if not isinstance(handler, str) or not _handler_pattern().match(handler):
        raise DefinitionError(
            f"invalid handler {handler!r}: must start with '/' and use only letters, digits and "
            "._~-/{}: (at most 200 characters)",
            key=key,
        )
    return handler


def validate_tag(tag: object, *, key: str | None = None) -> str:
    """Check a tag: a letter or digit, then letters, digits and ``._+-``; at most 64 characters.

    Args:
        tag: The candidate tag.
        key: Where it came from, for the error message.

    Returns:
        The tag unchanged.

    Raises:
        DefinitionError: If the tag breaks the rule, or looks like a TSV or a timestamp.
    """
    if not isinstance(tag, str) or not _tag_pattern().match(tag):
        raise DefinitionError(
            f"invalid tag {tag!r}: use a letter or digit, then letters, digits and ._+- "
            "(at most 64 characters)",
            key=key,
        )
    if tag == _LATEST:
        raise DefinitionError("'latest' is reserved: it always means the newest version", key=key)
    if _looks_like_timestamp(tag):
        raise DefinitionError(f"tag {tag!r} would be read as a timestamp", key=key)
    return tag


def _looks_like_timestamp(text: str) -> bool:
    if len(text) < 10 or not text[:4].isdigit() or text[4] != "-":
        return False
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


@record
class Version:
    """One API version of a handler, with the schema version it needs.

    Attributes:
        tsv: Its id.
        handler: The handler path, e.g. ``/api/products``.
        timestamp: When it was cut (UTC).
        schema: Name of the schema version it needs.
        tags: Labels declared in the definitions (runtime tags live in the state tables).
        description: Free text for humans.
    """

    tsv: str
    handler: str
    timestamp: datetime
    schema: str
    tags: tuple[str, ...] = ()
    description: str = ""


class _HandlerTimeline:
    """One handler's versions, oldest first, and their timestamps (for bisect).

    A plain slots class: a dataclass compiles three methods at import that nothing calls.
    """

    __slots__ = ("stamps", "versions")

    def __init__(self) -> None:
        """An empty timeline."""
        self.versions: list[Version] = []
        self.stamps: list[float] = []


class VersionIndex:
    """Answers "which TSV does this ref mean?" from in-memory dicts.

    Built once from the definitions plus the runtime tags; immutable afterwards, so readers on many
    threads need no lock and a refresh swaps in a new index atomically.
    """

    __slots__ = ("_by_tsv", "_handlers", "_moments", "_tags", "_tags_by_name")

    def __init__(self, versions: list[Version], tags: dict[tuple[str, str], str]) -> None:
        """Index versions by TSV and by handler timeline, and tags by (handler, tag).

        Args:
            versions: Every known version.
            tags: ``(handler, tag) → tsv``, definitions and runtime tags merged.
        """
        self._by_tsv: dict[str, Version] = {v.tsv: v for v in versions}
        self._handlers: dict[str, _HandlerTimeline] = {}
        for version in sorted(versions, key=lambda v: (v.handler, v.timestamp)):
            timeline = self._handlers.setdefault(version.handler, _HandlerTimeline())
            timeline.versions.append(version)
            timeline.stamps.append(version.timestamp.timestamp())
        self._tags = dict(tags)
        self._tags_by_name: dict[str, list[str]] = {}
        # Parsed timestamp refs (clients pin a few dates and send them on every request). Only
        # a memo: entries never change an answer, and a full one is simply emptied.
        self._moments: dict[str, float] = {}
        for handler, tag in sorted(tags):
            self._tags_by_name.setdefault(tag, []).append(handler)

    @property
    def handlers(self) -> list[str]:
        """All handler paths, sorted."""
        return sorted(self._handlers)

    def get(self, tsv: str) -> Version | None:
        """Return the version with this TSV, or None."""
        return self._by_tsv.get(tsv)

    def timeline(self, handler: str) -> list[Version]:
        """Return the handler's versions, oldest first (empty if the handler is unknown)."""
        timeline = self._handlers.get(handler)
        return list(timeline.versions) if timeline else []

    def tags_of(self, tsv: str) -> list[str]:
        """Return the tags pointing at ``tsv``, sorted."""
        version = self._by_tsv.get(tsv)
        if version is None:
            return []
        return sorted(
            tag for (h, tag), t in self._tags.items() if t == tsv and h == version.handler
        )

    def tag_target(self, handler: str, tag: str) -> str | None:
        """Return the TSV a tag points at in a handler, or None."""
        return self._tags.get((handler, tag))

    def resolve(self, ref: str | None, handler: str | None = None) -> str:
        """Resolve a ref to a TSV.

        A ref is a TSV, a tag, an ISO-8601 timestamp (the newest version at or before it), or
        nothing / ``latest`` (the newest version). Pure dict and bisect work: no I/O.

        Args:
            ref: The ref as the user or the request gave it.
            handler: The handler to look in; optional when the ref alone is unambiguous.

        Returns:
            The TSV.

        Raises:
            UnknownRefError: If nothing matches, or the ref is ambiguous without a handler.
        """
        if ref is not None and ref.startswith("tsv:"):
            version = self._by_tsv.get(ref)
            if version is None or (handler is not None and version.handler != handler):
                raise UnknownRefError(ref, handler=handler, reason="no such TSV")
            return ref
        if handler is not None and handler not in self._handlers:
            raise UnknownRefError(ref or _LATEST, handler=handler, reason="no such handler")
        if ref is None or ref == _LATEST:
            timeline = self._timeline_for(ref or _LATEST, handler)
            return timeline.versions[-1].tsv
        if handler is not None:
            tsv = self._tags.get((handler, ref))
            if tsv is not None:
                return tsv
        else:
            owners = self._tags_by_name.get(ref)
            if owners is not None:
                if len(owners) > 1:
                    raise UnknownRefError(
                        ref,
                        reason=f"tag is used in several handlers ({', '.join(owners)}); "
                        "pass --handler",
                    )
                return self._tags[(owners[0], ref)]
        return self._resolve_timestamp(ref, handler)

    def _timeline_for(self, ref: str, handler: str | None) -> _HandlerTimeline:
        if handler is None:
            if len(self._handlers) != 1:
                reason = (
                    "no versions are defined"
                    if not self._handlers
                    else "several handlers exist; pass --handler"
                )
                raise UnknownRefError(ref, reason=reason)
            return next(iter(self._handlers.values()))
        return self._handlers[handler]

    def _resolve_timestamp(self, ref: str, handler: str | None) -> str:
        moment = self._moments.get(ref)
        if moment is None:
            if not _looks_like_timestamp(ref):
                raise UnknownRefError(ref, handler=handler, reason="no such tag, TSV or timestamp")
            moment = parse_timestamp(ref).timestamp()
            if len(self._moments) >= _MOMENTS_MAX:
                self._moments.clear()
            self._moments[ref] = moment
        timeline = self._timeline_for(ref, handler)
        position = bisect.bisect_right(timeline.stamps, moment)
        if position == 0:
            raise UnknownRefError(ref, handler=handler, reason="before the first version")
        return timeline.versions[position - 1].tsv
