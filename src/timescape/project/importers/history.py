"""What an importer produces, and how it is written into a project.

A :class:`History` is plain data: schemas in the tool's order, each with the files of its ``dir``
or its inline steps, the tool's own identifier (for adoption from the tool's table), and what was
left out and why. Writing appends TOML text to the project file, so the user's comments and layout
stay as they are, and refuses to overwrite anything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from timescape.errors import InputError
from timescape.model.schema import NAME_PATTERN

__all__ = ["History", "ImportedSchema", "schema_name", "write_history"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]+")


def schema_name(prefix: str, stem: str) -> str:
    """A valid schema name from a tool's file stem or revision id.

    Args:
        prefix: Put in front (the tool's default, or ``--prefix``).
        stem: The stem (``V1.1__create_products``, ``000001_create_users``, a revision id).

    Returns:
        ``prefix + stem`` with characters a name cannot hold replaced by ``_``, cut to 128.

    Raises:
        InputError: When no valid name results (a prefix starting with a digit, say).
    """
    name = (prefix + _UNSAFE.sub("_", stem))[:128]
    if not NAME_PATTERN.match(name):
        raise InputError(
            f"cannot make a schema name from {stem!r} with prefix {prefix!r}; pass --prefix "
            "starting with a letter (e.g. --prefix m)"
        )
    return name


@dataclass(frozen=True, slots=True)
class ImportedSchema:
    """One imported migration, as a schema.

    Attributes:
        name: The schema name.
        parents: Its parents (the previous migration; several for an Alembic merge).
        source: The file(s) it came from, relative to the imported folder.
        tool_id: The tool's identifier (Flyway version, golang-migrate/dbmate version, Alembic
            revision), matched against the tool's table when adopting.
        files: The files of its ``dir`` (``001_name.sql`` → text); empty for inline steps.
        inline: TOML items of ``migrations`` (SQL text, or ``{alembic = "file"}`` tables).
        inline_rollback: TOML items of ``rollback``; empty when irreversible.
        description: Free text written with it.
    """

    name: str
    parents: tuple[str, ...]
    source: str
    tool_id: str
    files: dict[str, str] = field(default_factory=dict)
    inline: tuple[str | dict[str, str], ...] = ()
    inline_rollback: tuple[str | dict[str, str], ...] = ()
    description: str = ""


@dataclass(frozen=True, slots=True)
class History:
    """A tool's history, read from its folder.

    Attributes:
        tool: ``alembic``, ``flyway``, ``golang-migrate``, ``dbmate`` or ``sql``.
        source: The folder (or file) read.
        schemas: In the tool's order, parents first.
        heads: Schemas no other schema builds on.
        skipped: What was not imported, one line each (e.g. Flyway ``R__`` files).
        notes: Other remarks for the user (irreversible migrations, …).
    """

    tool: str
    source: Path
    schemas: tuple[ImportedSchema, ...]
    heads: tuple[str, ...]
    skipped: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def by_tool_id(self) -> dict[str, str]:
        """The tool's identifiers → schema names."""
        return {s.tool_id: s.name for s in self.schemas}


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _toml_item(item: str | dict[str, str]) -> str:
    if isinstance(item, str):
        return _toml_string(item)
    inner = ", ".join(f"{key} = {_toml_string(value)}" for key, value in item.items())
    return "{ " + inner + " }"


def _toml_list(items: Sequence[str | dict[str, str]]) -> str:
    if len(items) == 1:
        return f"[{_toml_item(items[0])}]"
    return "[\n" + "".join(f"    {_toml_item(i)},\n" for i in items) + "]"


def schemas_toml(history: History, dirs: dict[str, str]) -> str:
    """The ``[[schemas]]`` tables for ``history``.

    Args:
        history: What was read.
        dirs: Schema name → its ``dir`` as written (relative to the project folder).

    Returns:
        TOML text, one table per schema, in order.
    """
    blocks = [f"# Imported from {history.tool}: {history.source}\n"]
    for schema in history.schemas:
        lines = ["[[schemas]]", f"name = {_toml_string(schema.name)}"]
        if len(schema.parents) == 1:
            lines.append(f"parent = {_toml_string(schema.parents[0])}")
        elif schema.parents:
            lines.append(f"parent = [{', '.join(map(_toml_string, schema.parents))}]")
        if schema.name in dirs:
            lines.append(f"dir = {_toml_string(dirs[schema.name])}")
        else:
            lines.append(f"migrations = {_toml_list(schema.inline)}")
            if schema.inline_rollback:
                lines.append(f"rollback = {_toml_list(schema.inline_rollback)}")
        description = schema.description or f"{history.tool} {schema.source}"
        lines.append(f"description = {_toml_string(description)}")
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def _write_checked(
    project_file: Path, text: str, files: dict[Path, str], *, dirs: set[Path]
) -> None:
    """Write the files and append ``text``, then load the project; undo it all if it fails.

    A project file that no longer loads (a name equal to an existing one but for case, say) is
    worse than no import: every command would refuse to run. So the import is validated as any
    load is, and on a definition error the project file and the written folders are put back.

    Raises:
        InputError: Naming what the load reported, after everything was put back.
    """
    import contextlib  # noqa: PLC0415
    import shutil  # noqa: PLC0415

    from timescape.errors import DefinitionError  # noqa: PLC0415
    from timescape.project.config import load_project  # noqa: PLC0415 - config imports us

    created = not project_file.exists()
    before = None if created else project_file.read_text(encoding="utf-8")
    root = project_file.parent
    new_folders = {
        folder
        for path in files
        for folder in path.parents
        if folder.is_relative_to(root) and folder != root and not folder.exists()
    }
    try:
        for path, content in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
        if before is None:
            project_file.write_text('[database]\nurl = "sqlite:///timescape.db"\n\n' + text)
        else:
            separator = "" if before.endswith("\n\n") else "\n" if before.endswith("\n") else "\n\n"
            project_file.write_text(before + separator + text, encoding="utf-8")
        load_project(project_file)
    except (DefinitionError, OSError) as exc:
        if before is None:
            project_file.unlink(missing_ok=True)
        else:
            project_file.write_text(before, encoding="utf-8")
        for folder in dirs:
            shutil.rmtree(folder, ignore_errors=True)
        for folder in sorted(new_folders, key=lambda f: len(f.parts), reverse=True):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only what this import created, and only when empty
        raise InputError(f"nothing imported: the project would not load: {exc}") from None


def _relative_to(history: History, root: Path) -> History:
    """Point ``{ alembic = "…" }`` items at their files relative to the project folder."""
    import dataclasses  # noqa: PLC0415
    import os  # noqa: PLC0415

    def fix(item: str | dict[str, str]) -> str | dict[str, str]:
        if isinstance(item, dict) and "alembic" in item:
            return {"alembic": Path(os.path.relpath(item["alembic"], root.resolve())).as_posix()}
        return item

    schemas = tuple(
        dataclasses.replace(
            s,
            inline=tuple(map(fix, s.inline)),
            inline_rollback=tuple(map(fix, s.inline_rollback)),
        )
        for s in history.schemas
    )
    return dataclasses.replace(history, schemas=schemas)


@dataclass(frozen=True, slots=True)
class Written:
    """What :func:`write_history` wrote (or, in a dry run, would write).

    Attributes:
        project_file: The project file appended to (created when missing).
        created_project: Whether it was created.
        files: Files written, relative to the project folder.
        toml: The TOML text appended.
    """

    project_file: Path
    created_project: bool
    files: tuple[str, ...]
    toml: str


def write_history(
    history: History,
    project_file: Path,
    *,
    migrations_dir: str = "migrations",
    existing: Sequence[str] = (),
    dry_run: bool = False,
) -> Written:
    """Append ``history`` to the project file and write each schema's ``dir``.

    Nothing is overwritten: a schema name already in the project, or a ``dir`` folder that exists,
    is refused before anything is written.

    Args:
        history: What was read.
        project_file: ``timescape.toml`` (created with a ``[database]`` table when missing) or a
            ``pyproject.toml`` with ``[tool.timescape]``.
        migrations_dir: Folder (relative to the project) under which each schema's ``dir`` goes.
        existing: Schema names the project already defines.
        dry_run: Write nothing; return what would be written.

    Returns:
        What was (or would be) written.

    Raises:
        InputError: On a name clash, an existing ``dir`` folder, or a project that would not
            load with the import (then nothing stays written).
    """
    root = project_file.parent
    known = {name.casefold() for name in existing}
    taken = sorted(s.name for s in history.schemas if s.name.casefold() in known)
    if taken:
        raise InputError(
            f"the project already defines schema {taken[0]!r}"
            + (f" (and {len(taken) - 1} more)" if len(taken) > 1 else "")
            + "; remove those entries or import with another --prefix"
        )
    dirs: dict[str, str] = {}
    files: dict[Path, str] = {}
    for schema in history.schemas:
        if not schema.files:
            continue
        folder = f"{migrations_dir.rstrip('/')}/{schema.name}"
        if (root / folder).exists():
            raise InputError(
                f"{root / folder} already exists; remove it or import with another --prefix"
            )
        dirs[schema.name] = folder
        for name, text in schema.files.items():
            files[root / folder / name] = text
    history = _relative_to(history, root)
    text = schemas_toml(history, dirs)
    if project_file.name == "pyproject.toml":
        text = text.replace("[[schemas]]", "[[tool.timescape.schemas]]")
    created = not project_file.exists()
    if not dry_run:
        _write_checked(project_file, text, files, dirs={root / d for d in dirs.values()})
    return Written(
        project_file=project_file,
        created_project=created,
        files=tuple(sorted(p.relative_to(root).as_posix() for p in files)),
        toml=text,
    )


@dataclass(frozen=True, slots=True)
class MigrationFile:
    """One file of a file-based tool, as classified by its importer.

    Attributes:
        path: The file.
        order: Sort key (the version's numbers).
        tool_id: The tool's identifier of the migration.
        stem: The migration's name (``V1__create_products``), shared by its up and down files.
        is_undo: Whether it undoes the migration (Flyway ``U``, golang-migrate ``.down``).
    """

    path: Path
    order: tuple[int, ...]
    tool_id: str
    stem: str
    is_undo: bool = False


def linear_history(
    tool: str,
    source: Path,
    found: Sequence[MigrationFile],
    *,
    prefix: str,
    skipped: Sequence[str] = (),
) -> History:
    """One schema per migration, each the parent of the next, files copied as they are.

    The copied files keep the tool's names: a schema's ``dir`` accepts the tool's convention.

    Args:
        tool: The tool's name.
        source: The folder read.
        found: Every migration and undo file.
        prefix: Put before every schema name.
        skipped: Lines about files left out.

    Returns:
        The history.

    Raises:
        InputError: On two migrations with one version, or an undo file without its migration.
    """
    from timescape.project.sqlfile import read_text  # noqa: PLC0415 - sibling module, lazily

    ups: dict[str, MigrationFile] = {}
    downs: dict[str, MigrationFile] = {}
    for item in found:
        target = downs if item.is_undo else ups
        if item.tool_id in target:
            raise InputError(
                f"{tool}: two files for version {item.tool_id}: "
                f"{target[item.tool_id].path.name} and {item.path.name}"
            )
        target[item.tool_id] = item
    orphans = sorted(set(downs) - set(ups))
    if orphans:
        raise InputError(f"{tool}: {downs[orphans[0]].path.name} undoes no migration")
    if not ups:
        raise InputError(f"{source} holds no {tool} migration files")
    schemas: list[ImportedSchema] = []
    notes: list[str] = []
    parent: tuple[str, ...] = ()
    for up in sorted(ups.values(), key=lambda m: m.order):
        name = schema_name(prefix, up.stem)
        files = {up.path.name: read_text(up.path, label=str(up.path))}
        down = downs.get(up.tool_id)
        if down is not None:
            files[down.path.name] = read_text(down.path, label=str(down.path))
        shown = (
            up.path.relative_to(source).as_posix()
            if up.path.is_relative_to(source)
            else str(up.path)
        )
        schemas.append(
            ImportedSchema(name=name, parents=parent, source=shown, tool_id=up.tool_id, files=files)
        )
        parent = (name,)
    return History(
        tool=tool,
        source=source,
        schemas=tuple(schemas),
        heads=parent,
        skipped=tuple(skipped),
        notes=tuple(notes),
    )
