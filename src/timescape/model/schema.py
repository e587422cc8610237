"""Schema versions and their steps, names, and the checksums that detect drift.

A schema version is an ordered list of steps on top of optional parents. Each step pairs a
migration with the rollback that undoes it: ``rollback[i]`` undoes ``migrations[i]``.
Checksums are computed on normalised text (LF line endings, no BOM, no trailing whitespace at the
end), so moving a file between Windows and Linux is not drift, while editing a comment is.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import field
from typing import TYPE_CHECKING, Any

from timescape.errors import DefinitionError
from timescape.model._pattern import lazy_pattern, pattern_getattr
from timescape.model._record import record
from timescape.model._sha import sha256

__all__ = [
    "CHECKSUM_ALGORITHM",
    "CHECKSUM_ALGORITHMS",
    "NAME_PATTERN",
    "SchemaVersion",
    "Step",
    "StepCallable",
    "checksum",
    "checksum_algorithm",
    "checksum_matches",
    "is_blank_sql",
    "is_known_checksum",
    "normalise_sql",
    "remember_text_digests",
    "schema_checksum",
    "text_digest",
    "unknown_algorithms",
    "upgraded_checksums",
    "validate_name",
]

CHECKSUM_ALGORITHM = "sha256-v1"
"""The algorithm new checksums are computed with; its name prefixes every stored value."""
if TYPE_CHECKING:
    NAME_PATTERN: re.Pattern[str]  # compiled on first use (module __getattr__ below)


# Compiled on first use, not at import (issue 14: a cached project checks no name).
# \Z, not $: `$` also matches before a trailing newline, which would let "name\n" through.
_name_pattern = lazy_pattern(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,127}\Z")


if not TYPE_CHECKING:  # type checkers read the declaration above
    __getattr__ = pattern_getattr(__name__, {"NAME_PATTERN": _name_pattern})


StepCallable = Callable[[Any], None]
"""A Python migration step: called with a migration connection (``execute``/``query``)."""


def validate_name(name: object, *, what: str = "schema name", key: str | None = None) -> str:
    """Check a schema (or other object) name.

    Names start with a letter or underscore and continue with letters, digits, ``_``, ``.`` and
    ``-``; at most 128 characters. Quotes, semicolons, whitespace and control characters can never
    pass, so a name is safe as data in every dialect and fits every state column.

    Args:
        name: The candidate.
        what: What kind of name it is, for the message.
        key: Where it came from, for the message.

    Returns:
        The name unchanged.

    Raises:
        DefinitionError: Naming the rule that was broken.
    """
    if not isinstance(name, str) or not _name_pattern().match(name):
        raise DefinitionError(
            f"invalid {what} {name!r}: start with a letter or '_', then letters, digits, '_', "
            "'.' or '-' (at most 128 characters; no quotes, semicolons or spaces)",
            key=key,
        )
    return name


def normalise_sql(text: str) -> str:
    """Return ``text`` as checksummed: LF endings, no UTF-8 BOM, no trailing whitespace at the end.

    Args:
        text: Script text as read.

    Returns:
        The normalised text.
    """
    text = text.removeprefix("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n").rstrip()


_blank = lazy_pattern(r"\ufeff?\s*+\Z")


def is_blank_sql(text: str) -> bool:
    """Tell whether ``normalise_sql(text)`` is empty, without copying ``text`` (a dump is big).

    Args:
        text: Script text as read.

    Returns:
        True for text that is only a BOM and whitespace.
    """
    return _blank().match(text) is not None


# Each script's whole checksum (``sha256-v1:<hex>``), not its hex digest: the definitions and
# the state rows then share one string per script instead of holding a digest and a prefixed
# copy of it each (issue 14: 1,000 schemas held half a megabyte of checksum text).
_TEXT_CHECKSUMS: dict[str, str] = {}
_TEXT_CHECKSUMS_MAX = 200_000
_PREFIX = "sha256-v1:"
"""The prefix of the memoised checksums: they are always ``sha256-v1``, whatever the current
algorithm (:func:`checksum` takes them only while that is the one in use)."""


_HASH_SLICE = 1 << 20


def _text_digest(script: str) -> str:
    """SHA-256 of ``normalise_sql(script).encode()``, fed in slices.

    A 50 MB script must not cost two more 50 MB copies (the stripped text and its encoding).
    """
    text = script.removeprefix("\ufeff")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if len(text) <= _HASH_SLICE:
        # The usual script, hashed at once: ``rstrip`` drops what the loop below does (both
        # go by ``str.isspace``), without a Python step per character (issue 14).
        return sha256(text.rstrip().encode()).hexdigest()
    end = len(text)
    while end and text[end - 1].isspace():
        end -= 1
    digest = sha256(size=end)  # characters: at least as many bytes
    for start in range(0, end, _HASH_SLICE):
        digest.update(text[start : min(start + _HASH_SLICE, end)].encode())
    return digest.hexdigest()


def _text_checksum(script: str) -> str:
    """``sha256-v1:<hex>`` of an SQL script, one string per script however often asked.

    Plans, drift checks and reports ask for the same scripts' checksums over and over: remember
    them by text (the definitions hold these strings anyway).
    """
    value = _TEXT_CHECKSUMS.get(script)
    if value is None and _DEFERRED:
        _take_deferred()
        value = _TEXT_CHECKSUMS.get(script)
    if value is None:
        value = _PREFIX + _text_digest(script)
        if len(_TEXT_CHECKSUMS) >= _TEXT_CHECKSUMS_MAX:
            _TEXT_CHECKSUMS.clear()
        _TEXT_CHECKSUMS[script] = value
    return value


def _sha256_v1(script: str | StepCallable) -> str:
    if isinstance(script, str):
        return _text_checksum(script)[len(_PREFIX) :]
    # A step declared in the project file (``{ python = "m:f" }``, an Alembic revision) names
    # the text it is checksummed by: the function's source, or the revision file.
    source = getattr(script, "checksum_source", None)
    if isinstance(source, str):
        return _text_digest(source)
    code = getattr(script, "__code__", None)
    name = f"{getattr(script, '__module__', '?')}:{getattr(script, '__qualname__', '?')}"
    payload = name.encode() + b"\0" + (code.co_code if code is not None else b"")
    return sha256(payload).hexdigest()


def text_digest(script: str) -> str:
    """The hex digest of an SQL script under :data:`CHECKSUM_ALGORITHM` (remembered by text).

    Args:
        script: SQL text as written.

    Returns:
        The digest, without the algorithm's name in front.
    """
    return _sha256_v1(script)


def remembered_checksums() -> Callable[[str], str | None]:
    """The lookup of the checksums already computed for SQL texts: ``text → checksum`` or None.

    Why: checking that a hundred applied ancestors still match their definitions asked
    :func:`checksum` for each step, five calls deep (issue 14). The lookup is one dict access;
    it answers only what the memo behind :func:`checksum` holds, always with the current
    algorithm, so a caller falls back to :attr:`Step.checksum` on None (a text not hashed yet,
    or digests taken from the parsed-project cache and not unpacked yet).

    Returns:
        ``dict.get`` of the memo (of an empty mapping when the current algorithm is not the
        one the memo holds).
    """
    if CHECKSUM_ALGORITHM != "sha256-v1":  # pragma: no cover - the only algorithm so far
        return _NOTHING_REMEMBERED.get
    return _TEXT_CHECKSUMS.get


_NOTHING_REMEMBERED: dict[str, str] = {}


def remember_text_digests(pairs: Callable[[], Iterable[tuple[str, str]]]) -> None:
    """Take digests :func:`text_digest` computed earlier for some scripts, without hashing again.

    Why: the parsed-project cache keeps the digests of the steps it holds, computed from the
    very same text; hashing 10,000 scripts again cost a tenth of ``schema list`` (issue 14).
    ``pairs`` is called when a checksum is first asked for, so commands that never ask
    (``version list``, ``stats``) do not even unpack them.

    Args:
        pairs: Returns ``(script, digest)`` with ``digest == text_digest(script)``.
    """
    if len(_DEFERRED) >= _DEFERRED_MAX:
        del _DEFERRED[0]  # only a memo: a project loaded long ago and never checked
    _DEFERRED.append(pairs)


_DEFERRED: list[Callable[[], Iterable[tuple[str, str]]]] = []
_DEFERRED_MAX = 16


def _take_deferred() -> None:
    # Another thread may take one first: this one then hashes the script itself, as without.
    while _DEFERRED:
        try:
            pairs = _DEFERRED.pop()
        except IndexError:  # pragma: no cover - emptied by another thread meanwhile
            return
        if len(_TEXT_CHECKSUMS) >= _TEXT_CHECKSUMS_MAX:
            _TEXT_CHECKSUMS.clear()
        _TEXT_CHECKSUMS.update((script, _PREFIX + digest) for script, digest in pairs())


CHECKSUM_ALGORITHMS: dict[str, Callable[[str | StepCallable], str]] = {"sha256-v1": _sha256_v1}
"""Every algorithm Timescape can verify with, by the name stored in front of each checksum.

A later release adds its algorithm here and keeps the old ones: rows written by an older release
are then re-verified with their own algorithm (no false drift) and upgraded once they match."""


def checksum(script: str | StepCallable | None) -> str | None:
    """Return the versioned checksum of a step script (``sha256-v1:<hex>``).

    A Python callable is identified by its qualified name and its bytecode, so renaming or editing
    it is drift while moving the file is not.

    Args:
        script: SQL text, a callable, or None (no script).

    Returns:
        The checksum with the current algorithm, or None for no script.
    """
    if script is None:
        return None
    if isinstance(script, str) and CHECKSUM_ALGORITHM == "sha256-v1":
        return _text_checksum(script)
    return f"{CHECKSUM_ALGORITHM}:{CHECKSUM_ALGORITHMS[CHECKSUM_ALGORITHM](script)}"


def schema_checksum(step_checksums: Sequence[str]) -> str | None:
    """A schema's checksum from its steps' checksums: SHA-256 over them, one per line.

    Args:
        step_checksums: The migration checksums, in step order.

    Returns:
        ``sha256-v1:<hex>``, or None for no steps.
    """
    if not step_checksums:
        return None
    digest = sha256("\n".join(step_checksums).encode()).hexdigest()
    return f"{CHECKSUM_ALGORITHM}:{digest}"


def checksum_algorithm(stored: str) -> str:
    """The algorithm named by a stored checksum (``sha256-v1`` for ``sha256-v1:…``)."""
    return stored.partition(":")[0]


def is_known_checksum(stored: str | None) -> bool:
    """Tell whether this Timescape can verify ``stored`` (no value counts as verifiable)."""
    return stored is None or checksum_algorithm(stored) in CHECKSUM_ALGORITHMS


def unknown_algorithms(stored: Sequence[str | None]) -> list[str]:
    """The algorithms named in ``stored`` that this Timescape cannot verify, sorted."""
    return sorted({checksum_algorithm(v) for v in stored if v and not is_known_checksum(v)})


def checksum_matches(stored: str | None, script: str | StepCallable | None) -> bool:
    """Tell whether a stored checksum still describes ``script``.

    The stored value names its algorithm and is verified with that algorithm, so rows written with
    an older one are not reported as drifted. A value in an unknown algorithm (a newer Timescape
    wrote it) never matches: callers check :func:`is_known_checksum` first and report it as
    unverifiable instead of as drift.

    Args:
        stored: The checksum recorded when the step was applied.
        script: The step's current definition.

    Returns:
        True when they agree (or both are absent).
    """
    if stored is None or script is None:
        return stored is None and script is None
    algorithm, _, digest = stored.partition(":")
    compute = CHECKSUM_ALGORITHMS.get(algorithm)
    return compute is not None and digest == compute(script)


def upgraded_checksums(
    stored: Sequence[str | None], scripts: Sequence[str | StepCallable | None]
) -> tuple[str | None, ...] | None:
    """Re-compute with the current algorithm each stored value that an older algorithm verifies.

    Values that do not match (drift) or whose algorithm is unknown stay as they are, so an upgrade
    never hides drift. Pure.

    Args:
        stored: Stored checksums, in step order.
        scripts: The current scripts, in step order.

    Returns:
        The new values, or None when nothing needs upgrading.
    """
    out = list(stored)
    for i, value in enumerate(stored):
        script = scripts[i] if i < len(scripts) else None
        if (
            value is not None
            and script is not None
            and checksum_algorithm(value) != CHECKSUM_ALGORITHM
            and checksum_matches(value, script)
        ):
            out[i] = checksum(script)
    return tuple(out) if out != list(stored) else None


_NO_NAMES: frozenset[str] = frozenset()
"""Shared by every schema declaring no ``compatible_with``: an empty frozenset is 216 bytes."""


def _step_name(index: int) -> str:
    """``step<index + 1>``, one string per name across all schemas (interned)."""
    return sys.intern(f"step{index + 1}")


@record
class Step:
    """One migration step and the rollback that undoes it.

    Attributes:
        migration: SQL text (one or more statements) or a Python callable.
        rollback: SQL text or callable undoing it; None when the step is irreversible.
        name: A short label (the file stem when loaded from ``dir``).
        file: The migration file it came from, relative to the project, if any.
        rollback_file: The rollback file it came from, if any.
    """

    migration: str | StepCallable
    rollback: str | StepCallable | None = None
    name: str = ""
    file: str | None = None
    rollback_file: str | None = None

    @property
    def checksum(self) -> str:
        """The migration script's checksum."""
        value = checksum(self.migration)
        if value is None:  # pragma: no cover - migration is never None by construction
            msg = "a step always has a migration"
            raise AssertionError(msg)
        return value

    @property
    def rollback_checksum(self) -> str | None:
        """The rollback script's checksum, or None when there is none."""
        return checksum(self.rollback)


@record
class SchemaVersion:
    """A named, ordered list of steps built on optional parent schemas.

    Attributes:
        name: Unique (case-insensitively) schema name.
        steps: The steps, applied in order, rolled back in reverse.
        parents: Names of the schemas it builds on (a DAG).
        compatible_with: Schemas whose live versions keep working once this one is applied.
        breaking: Declared breaking (True), non-breaking (False), or undeclared (None).
        transactional: False for schemas whose statements cannot run in a transaction.
        contract: Deferred steps run once no live version needs the pre-expand shape.
        description: Free text.
    """

    name: str
    steps: tuple[Step, ...] = ()
    parents: tuple[str, ...] = ()
    compatible_with: frozenset[str] = field(default_factory=frozenset)
    breaking: bool | None = None
    transactional: bool = True
    contract: tuple[Step, ...] = ()
    description: str = ""
    # The steps' checksums and the schema's, worked out once per schema of SQL steps (or handed
    # over by the parsed-project cache, which keeps them): ``schema list`` asks for them for
    # every schema, and re-deriving 10,000 of them was a tenth of the command (issue 14).
    _checksums: tuple[str, ...] | None = field(default=None, init=False, repr=False, compare=False)
    _checksum: str | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def from_scripts(
        cls,
        name: str,
        migrations: Sequence[str | StepCallable],
        rollback: Sequence[str | StepCallable] | None = None,
        *,
        parent: str | Sequence[str] | None = None,
        compatible_with: Sequence[str] = (),
        breaking: bool | None = None,
        transactional: bool = True,
        description: str = "",
        key: str | None = None,
    ) -> SchemaVersion:
        """Build a schema from parallel migration and rollback lists, as the original API did.

        Args:
            name: Schema name.
            migrations: Migration scripts in order.
            rollback: Rollback scripts, ``rollback[i]`` undoing ``migrations[i]``; empty or None
                makes the schema irreversible.
            parent: One parent name or several.
            compatible_with: Schema names this one is declared compatible with.
            breaking: Explicit breaking declaration.
            transactional: Whether its steps run in one transaction where the database allows.
            description: Free text.
            key: Where the definition came from, for error messages.

        Returns:
            The validated schema.

        Raises:
            DefinitionError: On a bad name or a rollback list whose length differs.
        """
        where = key or name
        validate_name(name, key=where)
        rollbacks = list(rollback or [])
        if rollbacks and len(rollbacks) != len(migrations):
            raise DefinitionError(
                f"schema {name!r} has {len(migrations)} migrations but {len(rollbacks)} rollback "
                "scripts; rollback[i] must undo migrations[i] (or give none: irreversible)",
                key=f"{where}.rollback",
            )
        steps = tuple(
            Step(migration=m, rollback=rollbacks[i] if rollbacks else None, name=_step_name(i))
            for i, m in enumerate(migrations)
        )
        return cls.build(
            name,
            steps,
            parent=parent,
            compatible_with=compatible_with,
            breaking=breaking,
            transactional=transactional,
            description=description,
            key=where,
        )

    @classmethod
    def build(
        cls,
        name: str,
        steps: Sequence[Step],
        *,
        parent: str | Sequence[str] | None = None,
        compatible_with: Sequence[str] = (),
        breaking: bool | None = None,
        transactional: bool = True,
        contract: Sequence[Step] = (),
        description: str = "",
        key: str | None = None,
    ) -> SchemaVersion:
        """Validate and build a schema from steps.

        Args:
            name: Schema name.
            steps: The steps.
            parent: One parent name or several.
            compatible_with: Declared compatible schemas.
            breaking: Explicit breaking declaration.
            transactional: Whether steps run in one transaction where possible.
            contract: Deferred contract steps.
            description: Free text.
            key: Where the definition came from.

        Returns:
            The schema.

        Raises:
            DefinitionError: On bad names, empty scripts, or a partially reversible schema.
        """
        where = key or name
        validate_name(name, key=where)
        parents = (parent,) if isinstance(parent, str) else tuple(parent or ())
        for p in parents:
            validate_name(p, what="parent schema name", key=f"{where}.parent")
        if len(set(parents)) != len(parents):
            raise DefinitionError("a parent is listed twice", key=f"{where}.parent")
        if name in parents:
            raise DefinitionError(f"schema {name!r} lists itself as parent", key=f"{where}.parent")
        for other in compatible_with:
            validate_name(other, what="compatible schema name", key=f"{where}.compatible_with")
        for i, step in enumerate((*steps, *contract)):
            if isinstance(step.migration, str) and is_blank_sql(step.migration):
                raise DefinitionError(f"step {i + 1} is empty", key=f"{where}.migrations")
        reversible = [s.rollback is not None for s in steps]
        if any(reversible) and not all(reversible):
            missing = [i + 1 for i, ok in enumerate(reversible) if not ok]
            raise DefinitionError(
                f"schema {name!r} has rollback scripts for some steps but not for step(s) "
                f"{', '.join(map(str, missing))}",
                key=f"{where}.rollback",
            )
        return cls(
            name=name,
            steps=tuple(steps),
            parents=parents,
            compatible_with=frozenset(compatible_with) if compatible_with else _NO_NAMES,
            breaking=breaking,
            transactional=transactional,
            contract=tuple(contract),
            description=description,
        )

    @property
    def is_reversible(self) -> bool:
        """True when every step has a rollback (a schema without steps is trivially reversible)."""
        # A loop, not all() over a generator (0.15 against 0.60 us for one step): ``schema
        # list`` asks it of every schema, 2% of the command at 10,000 schemas (issue 14).
        for step in self.steps:  # noqa: SIM110 - see above
            if step.rollback is None:
                return False
        return True

    @property
    def checksums(self) -> tuple[str, ...]:
        """Checksums of the migration scripts, in step order."""
        sums = self._checksums
        if sums is None:
            sums = tuple(step.checksum for step in self.steps)
            # Kept for SQL text only: a callable's checksum follows its code, which can change.
            if all(type(step.migration) is str for step in self.steps):
                object.__setattr__(self, "_checksums", sums)
        return sums

    @property
    def checksum(self) -> str | None:
        """The schema's checksum: SHA-256 over its steps' checksums (None without steps).

        Added in 0.3 (``SchemaInfo.checksum`` of ``schema list``).
        """
        value = self._checksum
        if value is None:
            value = schema_checksum(self.checksums)
            if self._checksums is not None:
                object.__setattr__(self, "_checksum", value)
        return value

    def remember_checksums(self, checksums: tuple[str, ...], schema: str | None) -> None:
        """Take what :attr:`checksums` and :attr:`checksum` would compute, computed earlier.

        For the parsed-project cache, which keeps them beside the steps they were computed from.

        Args:
            checksums: ``self.checksums`` as computed for these very steps.
            schema: ``self.checksum`` likewise.
        """
        object.__setattr__(self, "_checksums", checksums)
        object.__setattr__(self, "_checksum", schema)

    @property
    def rollback_checksums(self) -> tuple[str | None, ...]:
        """Checksums of the rollback scripts, in step order."""
        return tuple(step.rollback_checksum for step in self.steps)
