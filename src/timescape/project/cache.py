"""The parsed-project cache: validated definitions kept beside the project file, as plain data.

Why: every command loads the whole project file, and at 10,000 schemas parsing a 3 MB
``timescape.toml`` with :mod:`tomllib` and validating it cost more than the command itself
(issue #5). The cache keeps what that produced, so a command whose project file did not change
rebuilds its definitions from plain data instead.

Where: ``.timescape/<project file name>.cache`` in the project folder; the folder holds a
``.gitignore`` of ``*``, so nothing in it is ever committed. ``TIMESCAPE_NO_CACHE=1`` turns the
cache off (nothing is read or written); deleting the folder is always safe.

Never stale: the key is a SHA-256 over the project file's bytes, the cache format, the Timescape
version and the Python version, so any edit (even one that keeps size and mtime) re-parses.
Schemas with a ``dir`` are not cached at all: their table is kept as written, and their SQL files
are listed, read and validated again on every load, exactly as without the cache.

Secret-free: a project whose database URL holds a password (or a password-like query parameter)
is never cached, and an older cache of it is deleted, so the password stays in the one file the
user wrote (keep it out of that file, e.g. in ``TIMESCAPE_DATABASE_URL``, to get the cache).

Contained: a ``.timescape`` that is a symbolic link, or a cache file that is one, is never
followed: nothing is read or written through it (issue 11).

Safe: the payload is ``marshal`` of plain data only (strings, numbers, tuples, lists, dicts; never
``pickle``: nothing from disk is ever called or instantiated by name), behind a SHA-256 of itself,
so a truncated or corrupt file is detected before it is decoded. Every problem (missing,
unreadable, corrupt, wrong shape, unwritable folder) is a miss: the project is parsed as if there
were no cache. Writers write a temporary file and rename it over the old one, so concurrent
commands never read half a file.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from itertools import starmap
from pathlib import Path
from typing import Any

from timescape import __version__
from timescape.errors import DefinitionError
from timescape.model._record import maker
from timescape.model._sha import sha256
from timescape.model.catalog import Catalog, VersionSpec
from timescape.model.schema import SchemaVersion, Step, remember_text_digests, text_digest
from timescape.model.tsv import Version, parse_timestamp
from timescape.project.sqlfile import read_bytes

__all__ = [
    "CACHE_DIR",
    "NO_CACHE_ENV",
    "cache_file",
    "cache_key",
    "catalog_data",
    "catalog_versions",
    "digest_data",
    "forget",
    "holds_secret",
    "is_enabled",
    "load",
    "remember_digests",
    "save",
    "schema_data",
    "schema_from_data",
    "schemas_from_data",
    "version_data",
    "version_from_data",
    "versions_from_data",
]

CACHE_DIR = ".timescape"
"""The cache folder, in the project folder."""
NO_CACHE_ENV = "TIMESCAPE_NO_CACHE"
"""Set (to anything but ``0`` or nothing) to neither read nor write the cache."""

_FORMAT = 4  # bumped whenever the payload's shape changes
_MAGIC = b"timescape-project-cache\n"
_DIGEST = 64  # hex characters of a SHA-256
_GITIGNORE = "# Created by timescape: a cache of parsed project files, safe to delete.\n*\n"


def is_enabled() -> bool:
    """Tell whether the cache may be used (``TIMESCAPE_NO_CACHE`` is unset, empty or ``0``)."""
    return os.environ.get(NO_CACHE_ENV, "") in ("", "0")


def cache_file(project_file: Path) -> Path:
    """Where the cache of ``project_file`` lives.

    Args:
        project_file: The resolved project file.

    Returns:
        ``<folder>/.timescape/<name>.cache``.
    """
    return project_file.parent / CACHE_DIR / f"{project_file.name}.cache"


def cache_key(data: bytes) -> str:
    """The key of a project file's cache entry: anything that changes the result changes it.

    Args:
        data: The project file's bytes.

    Returns:
        A hex SHA-256.
    """
    digest = sha256(
        f"{_FORMAT}\0{__version__}\0{sys.version_info[0]}.{sys.version_info[1]}\0".encode(),
        size=len(data),
    )
    digest.update(data)
    return digest.hexdigest()


def load(project_file: Path, key: str) -> Any | None:
    """Read the cached payload for ``key``; None on a miss, whatever the reason.

    Args:
        project_file: The resolved project file.
        key: :func:`cache_key` of its bytes.

    Returns:
        The payload :func:`save` stored, or None.
    """
    path = cache_file(project_file)
    if not _contained(path):
        return None
    try:
        # read_bytes never blocks on a FIFO and refuses anything but a regular file.
        data = read_bytes(path, label=str(path))
    except DefinitionError:
        return None
    head = len(_MAGIC)
    body = head + 2 * (_DIGEST + 1)
    if not data.startswith(_MAGIC) or data[head : head + _DIGEST] != key.encode():
        return None
    payload = data[body:]  # one copy of the megabytes, for the digest and for marshal
    if data[body - _DIGEST - 1 : body - 1] != sha256(payload).hexdigest().encode():
        return None
    try:
        return marshal.loads(payload)  # noqa: S302 - plain data behind its own SHA-256
    except (EOFError, ValueError, TypeError):  # pragma: no cover - the digest matched
        return None


def save(project_file: Path, key: str, payload: Any) -> None:
    """Store ``payload`` for ``key``, atomically; do nothing if that is not possible.

    Args:
        project_file: The resolved project file.
        key: :func:`cache_key` of its bytes.
        payload: Plain data (what ``marshal`` can hold).
    """
    path = cache_file(project_file)
    if not _contained(path):
        return
    try:
        body = marshal.dumps(payload)
    except ValueError:  # pragma: no cover - callers pass plain data only
        return
    data = b"".join((_MAGIC, key.encode(), b"\n", sha256(body).hexdigest().encode(), b"\n", body))
    try:
        _ensure_folder(path.parent)
        import tempfile  # noqa: PLC0415 - only a cache write needs it (random, shutil, bz2...)

        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError:  # a read-only project folder, a file named .timescape, a full disk ...
        return
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        Path(temporary).replace(path)
    except OSError:
        with contextlib.suppress(OSError):
            Path(temporary).unlink()


def forget(project_file: Path) -> None:
    """Delete the cache of ``project_file`` if there is one (it may hold what must not be kept).

    Args:
        project_file: The resolved project file.
    """
    path = cache_file(project_file)
    if _contained(path):
        with contextlib.suppress(OSError):
            path.unlink()


def holds_secret(url: str | None) -> bool:
    """Tell whether a database URL carries a password, which must never be copied to disk.

    Args:
        url: The URL as written in the project file.

    Returns:
        True when masking it changes it (a userinfo password or a password-like parameter).
    """
    if not url:
        return False
    from timescape.store.urls import redact  # noqa: PLC0415 - only for projects with a URL

    return redact(url) != url


def _contained(path: Path) -> bool:
    """Whether the cache folder and file are what they seem: not symbolic links out of the project.

    A ``.timescape`` link could send the cache (and anything written there) outside the project,
    or onto a file of someone else's; a miss costs only a parse.
    """
    folder = path.parent
    try:
        if folder.is_symlink() or path.is_symlink():
            return False
    except OSError:
        return False
    return not folder.exists() or folder.resolve().parent == folder.parent.resolve()


def _ensure_folder(folder: Path) -> None:
    if folder.is_dir():
        return
    folder.mkdir()
    (folder / ".gitignore").write_text(_GITIGNORE, encoding="utf-8")


# -- definitions <-> plain data -------------------------------------------------------------------


def _step_data(step: Step) -> tuple[str, str | None, str, str | None, str | None]:
    if not isinstance(step.migration, str) or not isinstance(step.rollback, str | None):
        msg = "only SQL steps can be cached"  # a project file holds SQL text only
        raise TypeError(msg)
    return (step.migration, step.rollback, step.name, step.file, step.rollback_file)


def schema_data(schema: SchemaVersion) -> tuple[Any, ...]:
    """A validated schema as plain data.

    Args:
        schema: A schema read from the project file.

    Returns:
        A tuple :func:`schema_from_data` turns back into an equal schema, with the steps'
        checksums and the schema's (``schema list`` shows both for every schema: formatting
        10,000 of them again from their digests was a twentieth of the command, issue 14).
    """
    return (
        schema.name,
        tuple(_step_data(s) for s in schema.steps),
        schema.parents,
        tuple(sorted(schema.compatible_with)),
        schema.breaking,
        schema.transactional,
        tuple(_step_data(s) for s in schema.contract),
        schema.description,
        schema.checksums,
        schema.checksum,
    )


def schema_from_data(data: tuple[Any, ...]) -> SchemaVersion:
    """Rebuild a schema from :func:`schema_data`, without validating it again.

    Args:
        data: What :func:`schema_data` returned for a schema that passed validation.

    Returns:
        The schema.
    """
    return schemas_from_data([data])[0]


def schemas_from_data(entries: Sequence[tuple[Any, ...]]) -> list[SchemaVersion]:
    """:func:`schema_from_data` of each entry, in order.

    Why a loop of its own: this runs once per schema on every command, and looking up the
    makers once per schema (three calls) was a tenth of it at 10,000 schemas (issue 14).

    Args:
        entries: What :func:`schema_data` returned for schemas that passed validation.

    Returns:
        The schemas.

    Raises:
        ValueError: When an entry's checksums do not fit its steps (a payload of another shape).
    """
    # Positional, and no copies of what marshal already returns as tuples.
    step = maker(Step, len(entries))
    make = maker(SchemaVersion, len(entries))
    schemas = []
    for data in entries:
        (
            name,
            steps,
            parents,
            compatible,
            breaking,
            transactional,
            contract,
            description,
            sums,
            sum_,
        ) = data
        schema = make(
            name,
            tuple(starmap(step, steps)),
            parents,
            frozenset(compatible) if compatible else _NO_NAMES,
            breaking,
            transactional,
            tuple(starmap(step, contract)) if contract else (),
            description,
        )
        if type(sums) is not tuple or len(sums) != len(steps):
            msg = "the cached checksums do not fit the steps"
            raise ValueError(msg)
        schema.remember_checksums(sums, sum_)
        schemas.append(schema)
    return schemas


_NO_NAMES: frozenset[str] = frozenset()


def version_data(spec: VersionSpec) -> tuple[Any, ...]:
    """A version declaration as plain data (a TOML datetime becomes ``(isoformat,)``).

    Args:
        spec: A version read from the project file.

    Returns:
        A tuple :func:`version_from_data` turns back into an equal declaration.
    """
    moment = spec.timestamp
    stamp = (moment.isoformat(),) if isinstance(moment, datetime) else moment
    return (spec.handler, stamp, spec.schema, spec.tags, spec.description, spec.key)


def version_from_data(data: tuple[Any, ...]) -> VersionSpec:
    """Rebuild a version declaration from :func:`version_data`.

    Args:
        data: What :func:`version_data` returned.

    Returns:
        The declaration.
    """
    return versions_from_data([data])[0]


def versions_from_data(entries: Sequence[tuple[Any, ...]]) -> list[VersionSpec]:
    """:func:`version_from_data` of each entry, in order (the maker looked up once).

    Args:
        entries: What :func:`version_data` returned.

    Returns:
        The declarations.
    """
    make = maker(VersionSpec, len(entries))
    read = datetime.fromisoformat
    return [
        make(handler, read(stamp[0]) if type(stamp) is tuple else stamp, schema, tags, text, key)
        for handler, stamp, schema, tags, text, key in entries
    ]


# -- what the validated catalog assigned, and the steps' digests ----------------------------------


def catalog_data(
    catalog: Catalog, specs: Sequence[VersionSpec]
) -> tuple[list[str], list[int], list[str]]:
    """What a validated catalog assigned to ``specs``, as plain data.

    Args:
        catalog: The catalog built from the project's definitions.
        specs: The version declarations it was built from, in order.

    Returns:
        The TSVs in the order of ``catalog.tsvs()``, for each the index of its declaration, and
        its timestamp as the catalog holds it (UTC, whole seconds) in ISO-8601, for
        :func:`catalog_versions`.
    """
    tsvs = list(catalog.tsvs())
    position = {(s.handler, parse_timestamp(s.timestamp)): i for i, s in enumerate(specs)}
    versions = list(map(catalog.version, tsvs))
    return (
        tsvs,
        [position[v.handler, v.timestamp] for v in versions],
        [v.timestamp.isoformat() for v in versions],
    )


def catalog_versions(
    data: tuple[list[str], list[int], list[str]], specs: Sequence[VersionSpec]
) -> list[Version]:
    """The versions :func:`catalog_data` kept, for :meth:`Catalog.restore`.

    The timestamps come back through ``datetime.fromisoformat`` alone: :func:`parse_timestamp`
    (strip, convert to UTC, truncate) ran when the cache was written, and running it again per
    version was a fifth of loading 10,000 of them (issue 14).

    Args:
        data: What :func:`catalog_data` returned.
        specs: The same declarations, as :func:`version_from_data` rebuilt them.

    Returns:
        The versions, in the catalog's order.

    Raises:
        ValueError: When ``data`` does not fit ``specs`` (a payload of another shape: a miss).
    """
    tsvs, positions, stamps = data
    if not len(tsvs) == len(positions) == len(stamps) == len(specs):
        msg = "the cached catalog does not fit the declarations"
        raise ValueError(msg)
    versions = []
    parse = datetime.fromisoformat
    make = maker(Version, len(tsvs))
    for tsv, spec, stamp in zip(tsvs, map(specs.__getitem__, positions), stamps, strict=True):
        versions.append(
            make(tsv, spec.handler, parse(stamp), spec.schema, spec.tags, spec.description)
        )
    return versions


_DIGEST_BYTES = 32


def digest_data(schemas: Sequence[SchemaVersion]) -> bytes:
    """The digests of the inline schemas' scripts, as one string of bytes.

    Per schema, per step (steps, then contract steps): the migration's digest, then the
    rollback's when it has one; 32 bytes each, so loading them creates no object per digest.

    Args:
        schemas: Schemas read from the project file (SQL steps only).

    Returns:
        The digests, concatenated.
    """
    return bytes.fromhex("".join(text_digest(s) for s in _scripts(schemas)))


def remember_digests(schemas: Sequence[SchemaVersion], digests: bytes) -> None:
    """Hand :func:`digest_data`'s digests of ``schemas`` to the checksum memo (used lazily).

    Args:
        schemas: The inline schemas, as :func:`schema_from_data` rebuilt them.
        digests: :func:`digest_data` of them.

    Raises:
        ValueError: When ``digests`` is not bytes (a payload of another shape: a miss).
    """
    if type(digests) is not bytes:
        msg = "the cached digests are not bytes"
        raise ValueError(msg)

    def pairs() -> Iterable[tuple[str, str]]:
        scripts = list(_scripts(schemas))
        if len(digests) != _DIGEST_BYTES * len(scripts):
            return ()  # not these schemas' digests: every script is hashed, as without a cache
        text = digests.hex()
        size = 2 * _DIGEST_BYTES
        return zip(scripts, (text[i : i + size] for i in range(0, len(text), size)), strict=True)

    remember_text_digests(pairs)


def _scripts(schemas: Sequence[SchemaVersion]) -> Iterator[str]:
    """Every script of ``schemas``, in :func:`digest_data`'s order."""
    for schema in schemas:
        for step in (*schema.steps, *schema.contract):
            yield _text(step.migration)
            if step.rollback is not None:
                yield _text(step.rollback)


def _text(script: object) -> str:
    if not isinstance(script, str):
        msg = "only SQL steps are cached"
        raise TypeError(msg)
    return script
