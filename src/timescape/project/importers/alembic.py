"""Alembic: one schema per revision, parents from ``down_revision`` (and ``depends_on``).

A merge revision (``down_revision`` a tuple) becomes a schema with several parents; branches stay
branches (two schemas with the same parent). Each schema has one step,
``{ alembic = "<revision file>" }``, that runs the revision's own ``upgrade()`` through Alembic's
operations on Timescape's connection (:mod:`timescape.engine.alembic`), and, unless its
``downgrade()`` does nothing (just ``pass``), a rollback that runs ``downgrade()``. Revisions are
not rendered to SQL: batch operations on SQLite and data steps read the live database, which
Alembic's offline mode cannot do. The revision files stay where they are.

Reading the history needs Alembic (the ``alembic`` extra); nothing here touches a database.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from timescape.errors import InputError
from timescape.project.importers.history import History, ImportedSchema, schema_name

__all__ = ["read"]


def read(path: Path, *, prefix: str | None = None) -> History:
    """Read an Alembic history from ``alembic.ini``, its folder, or the script directory.

    Args:
        path: ``alembic.ini``, the folder holding it, or the script directory (with ``env.py``
            and ``versions/``).
        prefix: Put before every schema name (default ``rev_``).

    Returns:
        The history, parents first.

    Raises:
        InputError: When Alembic is not installed or ``path`` is not an Alembic project.
    """
    script = _script_directory(path)
    revisions = list(reversed(list(script.walk_revisions())))
    if not revisions:
        raise InputError(f"{path}: the Alembic script directory holds no revisions")
    prefix = "rev_" if prefix is None else prefix
    names = {r.revision: schema_name(prefix, r.revision) for r in revisions}
    schemas: list[ImportedSchema] = []
    notes: list[str] = []
    has_children: set[str] = set()
    for revision in revisions:
        parents = [*_as_tuple(revision.down_revision), *_as_tuple(revision.dependencies)]
        missing = [p for p in parents if p not in names]
        if missing:
            raise InputError(
                f"Alembic revision {revision.revision} depends on {missing[0]!r}, which is not "
                "in this script directory (give every version location in alembic.ini)"
            )
        has_children.update(parents)
        file = Path(revision.path).resolve()
        item = {"alembic": str(file)}
        reversible = _has_downgrade(file)
        if not reversible:
            notes.append(
                f"{names[revision.revision]}: downgrade() does nothing; imported as irreversible"
            )
        schemas.append(
            ImportedSchema(
                name=names[revision.revision],
                parents=tuple(dict.fromkeys(names[p] for p in parents)),
                source=file.name,
                tool_id=revision.revision,
                inline=(item,),
                inline_rollback=(item,) if reversible else (),
                description=_first_line(revision.doc) or f"alembic {revision.revision}",
            )
        )
    heads = tuple(s.name for s in schemas if s.tool_id not in has_children)
    return History(
        tool="alembic", source=path, schemas=tuple(schemas), heads=heads, notes=tuple(notes)
    )


def _script_directory(path: Path) -> Any:
    try:
        from alembic.config import Config  # noqa: PLC0415 - optional extra
        from alembic.script import ScriptDirectory  # noqa: PLC0415
        from alembic.util.exc import CommandError  # noqa: PLC0415
    except ImportError:
        raise InputError(
            "importing an Alembic history needs Alembic: pip install 'timescape-db[alembic]'"
        ) from None
    ini = path if path.is_file() else path / "alembic.ini"
    try:
        if ini.is_file():
            config = Config(str(ini))
            if not config.get_main_option("script_location"):
                raise InputError(f"{ini} sets no script_location in [alembic]")
            return ScriptDirectory.from_config(config)
        if (path / "env.py").is_file() or (path / "versions").is_dir():
            return ScriptDirectory(str(path))
    except CommandError as exc:
        raise InputError(f"{path}: {exc}") from None
    raise InputError(
        f"{path} is not an Alembic project: give alembic.ini, its folder, or the script "
        "directory (with env.py and versions/)"
    )


def _as_tuple(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)  # type: ignore[attr-defined]


def _first_line(doc: object) -> str:
    return str(doc or "").strip().splitlines()[0].strip() if str(doc or "").strip() else ""


def _has_downgrade(file: Path) -> bool:
    """Whether the revision's ``downgrade()`` does something (not only ``pass`` or a docstring)."""
    text = file.read_text(encoding="utf-8")
    # Parse from the function on (it is top-level, so what follows it parses on its own): a
    # 500-revision history is read in a fraction of the time a parse of every whole file takes.
    start = text.find("\ndef downgrade")
    try:
        tree = ast.parse(text[start + 1 :] if start >= 0 else text)
    except SyntaxError:
        tree = ast.parse(text)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "downgrade":
            return any(
                not isinstance(stmt, ast.Pass)
                and not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant))
                for stmt in node.body
            )
    return False
