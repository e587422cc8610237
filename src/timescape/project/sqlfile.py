"""Reading migration files from a schema's ``dir``: naming conventions, containment, encodings.

The policy (RELIABILITY decision 4): ``dir`` and every file in it must resolve inside the project
folder (symlinks followed) unless ``allow_outside_project = true``; FIFOs, devices and directories
named ``*.sql`` are refused after a ``stat``, before anything is opened, and files are opened
non-blocking and checked again with ``fstat``, so a swapped-in FIFO cannot hang the load either.
Files must be UTF-8 (a BOM is dropped); a NUL byte or an invalid sequence is a definition error
naming the file and the line.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from timescape.errors import DefinitionError
from timescape.model._pattern import lazy_pattern
from timescape.model._record import record
from timescape.model.schema import Step, is_blank_sql

__all__ = ["MAX_FILE_BYTES", "decode_text", "load_steps", "read_bytes", "read_text"]

MAX_FILE_BYTES = 64 * 1024 * 1024
"""Largest file read (project or migration file); larger ones are a definition error."""

# Compiled on first use: only a schema with a ``dir`` is scanned, and a cached project's listing
# reads none (issue 14).
_step_file = lazy_pattern(
    r"^(?P<number>\d+)_(?P<label>.+?)(?P<contract>\.contract)?(?P<rollback>\.rollback)?\.sql$"
)
# Other tools' conventions, accepted as they are: Flyway's versioned and undo migrations, and
# golang-migrate's up/down pairs. dbmate's single files (``-- migrate:up`` / ``-- migrate:down``)
# have the NNN_name.sql shape and are told apart by their content.
_python_file = lazy_pattern(r"^(?P<number>\d+)_(?P<label>.+)\.py$")
_flyway_file = lazy_pattern(r"^(?P<kind>[VU])(?P<version>\d+(?:[._]\d+)*)__(?P<label>.+)\.sql$")
_flyway_repeatable = lazy_pattern(r"^R__.+\.sql$")
_golang_file = lazy_pattern(r"^(?P<number>\d+)_(?P<label>.+)\.(?P<direction>up|down)\.sql$")
_dbmate_up = lazy_pattern(r"(?m)^--\s*migrate:up\b[^\n]*$")
_dbmate_down = lazy_pattern(r"(?m)^--\s*migrate:down\b[^\n]*$")
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_NOCTTY", 0)
)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_text(path: Path, *, label: str, key: str | None = None) -> str:
    """Read a regular UTF-8 file without ever blocking on a special file.

    Args:
        path: The file (symlinks are followed; containment is the caller's check).
        label: How to name the file in errors.
        key: The project-file key that led here.

    Returns:
        The text, without a UTF-8 BOM.

    Raises:
        DefinitionError: When the file is missing, special, too large, or not UTF-8.
    """
    return decode_text(read_bytes(path, label=label, key=key), label=label, key=key)


def read_bytes(path: Path, *, label: str, key: str | None = None) -> bytes:
    """Read a regular file's bytes without ever blocking on a special file.

    The project loader hashes the bytes before it decides whether to decode and parse them at
    all (the parsed-project cache), so reading and decoding are separate steps.

    Args:
        path: The file (symlinks are followed; containment is the caller's check).
        label: How to name the file in errors.
        key: The project-file key that led here.

    Returns:
        The bytes as stored.

    Raises:
        DefinitionError: When the file is missing, special or too large.
    """
    try:
        before = path.stat()
    except FileNotFoundError:
        raise DefinitionError("file does not exist", file=label, key=key) from None
    except OSError as exc:
        raise DefinitionError(f"cannot read: {exc.strerror}", file=label, key=key) from None
    if not stat.S_ISREG(before.st_mode):
        raise DefinitionError(
            f"is {_kind(before.st_mode)}; only regular files are read", file=label, key=key
        )
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise DefinitionError(f"cannot open: {exc.strerror}", file=label, key=key) from None
    try:
        after = os.fstat(fd)
        if not stat.S_ISREG(after.st_mode):
            raise DefinitionError(
                f"is {_kind(after.st_mode)}; only regular files are read", file=label, key=key
            )
        if after.st_size > MAX_FILE_BYTES:
            raise DefinitionError(
                f"is {after.st_size} bytes; files over {MAX_FILE_BYTES} bytes are refused",
                file=label,
                key=key,
            )
        # One read of the whole file (a regular file answers it in one go), so no list of
        # chunks and no joined copy beside them: a 50 MB file must not cost 150 MB to load.
        chunks = [os.read(fd, after.st_size + 1)]
        size = len(chunks[0])
        while size <= MAX_FILE_BYTES:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    del chunks
    if len(data) > MAX_FILE_BYTES:
        raise DefinitionError(
            f"grew past {MAX_FILE_BYTES} bytes while being read", file=label, key=key
        )
    return data


def decode_text(data: bytes, *, label: str, key: str | None = None) -> str:
    """Decode a file's bytes as UTF-8 text, dropping a BOM.

    Args:
        data: What :func:`read_bytes` returned.
        label: How to name the file in errors.
        key: The project-file key that led here.

    Returns:
        The text.

    Raises:
        DefinitionError: On a NUL byte or an invalid UTF-8 sequence, naming the line.
    """
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise DefinitionError(
            "contains a NUL byte; migration files must be UTF-8 text",
            file=label,
            key=key,
            line=line,
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DefinitionError(
            f"is not valid UTF-8 (byte 0x{data[exc.start]:02x}); save it as UTF-8",
            file=label,
            key=key,
            line=line,
        ) from None


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def _shown(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if _inside(path, root) else str(path)


def load_steps(
    root: Path,
    folder: str,
    *,
    allow_outside: bool,
    key: str,
    project_file: str,
) -> tuple[tuple[Step, ...], tuple[Step, ...]]:
    """Load a schema's ``dir``: its steps, then its contract steps.

    ``NNN_name.sql`` is a step and ``NNN_name.rollback.sql`` undoes it; ``NNN_name.contract.sql`` is
    a contract step (deferred until every live version is on the schema or a descendant) and
    ``NNN_name.contract.rollback.sql`` undoes it. Each kind runs in name order; other files
    (README, hidden files) are ignored. Each step records its files relative to the project
    folder, so errors and dry runs can name them.

    Other tools' folders are read as they are (one convention per ``dir``): Flyway's
    ``V<version>__name.sql`` with ``U<version>__name.sql`` undo files (in version order: ``V1.10``
    after ``V1.9``; ``R__`` repeatables are refused), golang-migrate's ``<n>_name.up.sql`` /
    ``<n>_name.down.sql`` (numeric order), and dbmate's ``<n>_name.sql`` holding ``-- migrate:up``
    and ``-- migrate:down`` sections.

    Args:
        root: The project folder (resolved).
        folder: The ``dir`` value as written.
        allow_outside: ``[database] allow_outside_project``.
        key: The key of the ``dir`` value, for errors.
        project_file: How to name the project file in errors.

    Returns:
        ``(steps, contract steps)``; a migration without a rollback file is irreversible.

    Raises:
        DefinitionError: On containment, file-type, naming or encoding problems, or contract steps
            of which only some have a rollback file.
    """
    loader = _DirLoader(root, folder, allow_outside=allow_outside, key=key, label=project_file)
    found = loader.scan(loader.directory())
    steps = tuple(loader.step(stem, path, found.rollbacks.get(stem)) for stem, path in found.steps)
    contract = tuple(
        loader.step(stem, path, found.contract_rollbacks.get(stem)) for stem, path in found.contract
    )
    undoable = [s.rollback is not None for s in contract]
    if any(undoable) and not all(undoable):
        missing = next(s.file for s in contract if s.rollback is None)
        raise loader.error(
            "some contract steps have a .contract.rollback.sql file and this one does not; give "
            "one per contract step, or none",
            missing,
        )
    return steps, contract


@record
class _Found:
    """The step files of one ``dir``, by kind; steps and contract steps in name order."""

    steps: tuple[tuple[str, Path], ...]
    rollbacks: dict[str, Path]
    contract: tuple[tuple[str, Path], ...]
    contract_rollbacks: dict[str, Path]


class _DirLoader:
    def __init__(
        self, root: Path, folder: str, *, allow_outside: bool, key: str, label: str
    ) -> None:
        self.root = root
        self.folder = folder
        self.allow_outside = allow_outside
        self.key = key
        self.label = label

    def error(self, problem: str, file: str | None = None) -> DefinitionError:
        return DefinitionError(problem, file=file or self.label, key=self.key)

    def contain(self, path: Path, problem: str, file: str | None = None) -> None:
        if not self.allow_outside and not _inside(path, self.root):
            raise self.error(
                f"{problem} {path}, outside the project folder {self.root}; set "
                "allow_outside_project = true in [database] to allow it",
                file,
            )

    def directory(self) -> Path:
        base = (self.root / self.folder).resolve()
        self.contain(base, f"dir {self.folder!r} resolves to")
        try:
            mode = base.stat().st_mode
        except FileNotFoundError:
            raise self.error(f"dir {self.folder!r} does not exist (looked for {base})") from None
        except OSError as exc:
            raise self.error(f"dir {self.folder!r} cannot be read: {exc.strerror}") from None
        if not stat.S_ISDIR(mode):
            raise self.error(f"dir {self.folder!r} is not a directory")
        return base

    def scan(self, base: Path) -> _Found:
        names = [
            e
            for e in sorted(base.iterdir())
            if not e.name.startswith(".") and e.name.endswith(".sql")
        ]
        repeatable = next((e for e in names if _flyway_repeatable().match(e.name)), None)
        if repeatable is not None:
            raise self.error(
                "Flyway repeatable migrations (R__*.sql) are not supported: a schema's steps run "
                "once; turn it into a versioned V<n>__name.sql step or a schema of its own",
                _shown(repeatable, self.root),
            )
        if any(_flyway_file().match(e.name) for e in names):
            return self.scan_foreign(
                names, _flyway_file(), "V<version>__name.sql / U<version>__name.sql"
            )
        if any(_golang_file().match(e.name) for e in names):
            return self.scan_foreign(names, _golang_file(), "<n>_name.up.sql / <n>_name.down.sql")
        return self.scan_native(base)

    def scan_foreign(self, entries: list[Path], pattern: re.Pattern[str], shape: str) -> _Found:
        """Flyway or golang-migrate files: ordered by their version numbers, not by name."""
        steps: dict[str, tuple[tuple[int, ...], Path]] = {}
        rollbacks: dict[str, Path] = {}
        for entry in entries:
            shown = _shown(entry, self.root)
            match = pattern.match(entry.name)
            if match is None:
                raise self.error(
                    f"file name must look like {shape}, as the other files in this dir do",
                    shown,
                )
            self.contain(entry.resolve(), "resolves to", shown)
            groups = match.groupdict()
            number = groups.get("version") or groups["number"]
            order = tuple(int(part) for part in re.split(r"[._]", number))
            while len(order) > 1 and order[-1] == 0:
                order = order[:-1]  # Flyway: 1.0 is version 1
            is_undo = groups.get("kind") == "U" or groups.get("direction") == "down"
            if "kind" in groups:
                stem = f"V{number}__{match['label']}"
                key = number
            else:
                stem = f"{number}_{match['label']}"
                key = stem
            if is_undo:
                rollbacks[key] = entry
            elif key in steps or any(o == order for o, _ in steps.values()):
                raise self.error(f"two migrations with version {number}", shown)
            else:
                steps[key] = (order, entry)
        orphans = sorted(set(rollbacks) - set(steps))
        if orphans:
            raise self.error(
                "rollback file without a migration", _shown(rollbacks[orphans[0]], self.root)
            )
        if not steps:
            raise self.error(f"dir {self.folder!r} holds no migration files ({shape})")
        ordered = sorted(steps.items(), key=lambda item: item[1][0])
        stems = {key: _stem_of(path, pattern) for key, (_, path) in ordered}
        return _Found(
            steps=tuple((stems[key], path) for key, (_, path) in ordered),
            rollbacks={stems[key]: path for key, path in rollbacks.items()},
            contract=(),
            contract_rollbacks={},
        )

    def add(self, kind: dict[str, Path], stem: str, entry: Path) -> None:
        """File ``entry`` as step ``stem`` (contained; one file per step and kind)."""
        shown = _shown(entry, self.root)
        self.contain(entry.resolve(), "resolves to", shown)
        if stem in kind:
            raise self.error(
                f"two files for step {stem}: {kind[stem].name} and {entry.name}", shown
            )
        kind[stem] = entry

    def scan_native(self, base: Path) -> _Found:
        kinds: dict[tuple[bool, bool], dict[str, Path]] = {
            (contract, rollback): {} for contract in (False, True) for rollback in (False, True)
        }
        widths: set[int] = set()
        for entry in sorted(base.iterdir()):
            python = _python_file().match(entry.name)
            if python is not None:
                # A Python step file: apply(connection), and rollback(connection) to undo it.
                widths.add(len(python["number"]))
                self.add(kinds[False, False], f"{python['number']}_{python['label']}", entry)
                continue
            if entry.name.startswith(".") or not entry.name.endswith(".sql"):
                continue
            shown = _shown(entry, self.root)
            match = _step_file().match(entry.name)
            if match is None:
                raise self.error(
                    "file name must look like NNN_name.sql, NNN_name.rollback.sql, "
                    "NNN_name.contract.sql or NNN_name.contract.rollback.sql",
                    shown,
                )
            widths.add(len(match["number"]))
            kind = kinds[bool(match["contract"]), bool(match["rollback"])]
            self.add(kind, f"{match['number']}_{match['label']}", entry)
        for contract in (False, True):
            migrations, rollbacks = kinds[contract, False], kinds[contract, True]
            orphans = sorted(set(rollbacks) - set(migrations))
            if orphans:
                suffix = ".contract.sql" if contract else ".sql"
                raise self.error(
                    f"rollback file without a migration {orphans[0]}{suffix}",
                    _shown(rollbacks[orphans[0]], self.root),
                )
        if not kinds[False, False]:
            raise self.error(f"dir {self.folder!r} holds no NNN_name.sql migration files")
        if len(widths) > 1:
            raise self.error(
                f"dir {self.folder!r} mixes step numbers of different widths; files run in name "
                "order, so pad the numbers to the same width (001_, 002_, ..., 010_)"
            )
        return _Found(
            steps=tuple(sorted(kinds[False, False].items())),
            rollbacks=kinds[False, True],
            contract=tuple(sorted(kinds[True, False].items())),
            contract_rollbacks=kinds[True, True],
        )

    def step(self, stem: str, migration: Path, rollback: Path | None) -> Step:
        if migration.suffix == ".py":
            return self.python_step(stem, migration, rollback)
        shown = _shown(migration, self.root)
        text = read_text(migration, label=shown, key=self.key)
        if is_blank_sql(text):
            raise self.error("migration file is empty", shown)
        if _dbmate_up().search(text):
            return self.dbmate_step(stem, text, shown, rollback)
        undo = undo_shown = None
        if rollback is not None:
            undo_shown = _shown(rollback, self.root)
            undo = read_text(rollback, label=undo_shown, key=self.key)
            if is_blank_sql(undo):
                raise self.error("rollback file is empty", undo_shown)
        return Step(migration=text, rollback=undo, name=stem, file=shown, rollback_file=undo_shown)

    def python_step(self, stem: str, path: Path, rollback: Path | None) -> Step:
        """A ``NNN_name.py`` step: ``apply(connection)``, undone by ``rollback(connection)``."""
        from timescape.project.steps import python_file_steps  # noqa: PLC0415 - imports sqlfile

        shown = _shown(path, self.root)
        apply, undo = python_file_steps(path, shown, self.root, key=self.key)
        if rollback is not None:
            if undo is not None:
                raise self.error(
                    f"{shown} defines rollback() and {_shown(rollback, self.root)} exists too; "
                    "keep one",
                    shown,
                )
            undo_text = read_text(rollback, label=_shown(rollback, self.root), key=self.key)
            return Step(
                apply, undo_text, stem, file=shown, rollback_file=_shown(rollback, self.root)
            )
        return Step(apply, undo, stem, file=shown, rollback_file=shown if undo else None)

    def dbmate_step(self, stem: str, text: str, shown: str, rollback: Path | None) -> Step:
        """A dbmate file: ``-- migrate:up`` then ``-- migrate:down`` sections in one file."""
        if rollback is not None:
            raise self.error(
                "a dbmate file (-- migrate:up) holds its own rollback in -- migrate:down; "
                "remove the separate .rollback.sql file",
                _shown(rollback, self.root),
            )
        up_marker = _dbmate_up().search(text)
        down_marker = _dbmate_down().search(text)
        if up_marker is None:  # pragma: no cover - the caller checked
            raise self.error("no -- migrate:up line", shown)
        if down_marker is not None and down_marker.start() < up_marker.start():
            raise self.error("-- migrate:down comes before -- migrate:up", shown)
        # Blank out everything outside a section, keeping the line count, so that statement line
        # numbers in errors and dry runs still point into the file.
        end = down_marker.start() if down_marker else len(text)
        up = _keep_lines(text, up_marker.end(), end)
        down = _keep_lines(text, down_marker.end(), len(text)) if down_marker else ""
        if not up.strip():
            raise self.error("the -- migrate:up section is empty", shown)
        return Step(
            migration=up,
            rollback=down if down.strip() else None,
            name=stem,
            file=shown,
            rollback_file=shown if down.strip() else None,
        )


def _keep_lines(text: str, start: int, end: int) -> str:
    """``text[start:end]``, preceded by as many newlines as the text before ``start`` holds."""
    return "\n" * text.count("\n", 0, start) + text[start:end]


def _stem_of(path: Path, pattern: re.Pattern[str]) -> str:
    match = pattern.match(path.name)
    if match is None:  # pragma: no cover - matched before
        return path.stem
    groups = match.groupdict()
    if "kind" in groups:
        return f"V{groups['version']}__{groups['label']}"
    return f"{groups['number']}_{groups['label']}"
