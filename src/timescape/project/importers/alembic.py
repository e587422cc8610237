"""Alembic: one schema per revision, parents from ``down_revision`` (and ``depends_on``).

A merge revision (``down_revision`` a tuple) becomes a schema with several parents; branches stay
branches (two schemas with the same parent). Each schema has one step,
``{ alembic = "<revision file>" }``, that runs the revision's own ``upgrade()`` through Alembic's
operations on Timescape's connection (:mod:`timescape.engine.alembic`), and, unless its
``downgrade()`` does nothing (just ``pass``), a rollback that runs ``downgrade()``. The revision
files stay where they are.

With ``render_sql`` (a dialect), each revision whose ``upgrade()`` and ``downgrade()`` both render
in Alembic's offline mode (``alembic upgrade --sql``) becomes SQL steps instead, written to the
schema's ``dir``: the gate and ``schema check`` can then judge them and ``schema adopt`` check
their objects, but the project is tied to that dialect and the SQL, once written, no longer follows
the revision file. Revisions that cannot render (batch mode on SQLite reflects the live table, a
data step reads rows) stay revision steps.

Reading the history needs Alembic (the ``alembic`` extra); nothing here touches a database.
"""

from __future__ import annotations

import ast
import io
import re
from pathlib import Path
from typing import Any

from timescape.errors import InputError
from timescape.project.importers.history import History, ImportedSchema, schema_name

__all__ = ["read"]


def read(path: Path, *, prefix: str | None = None, render_sql: str | None = None) -> History:
    """Read an Alembic history from ``alembic.ini``, its folder, or the script directory.

    Args:
        path: ``alembic.ini``, the folder holding it, or the script directory (with ``env.py``
            and ``versions/``).
        prefix: Put before every schema name (default ``rev_``).
        render_sql: ``sqlite``, ``postgresql`` or ``mysql``: render what renders offline as SQL.

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
        name = names[revision.revision]
        if not reversible:
            notes.append(f"{name}: downgrade() does nothing; imported as irreversible")
        rendered = (
            _render(revision.module, render_sql, reversible=reversible) if render_sql else None
        )
        if render_sql and rendered is None:
            notes.append(f"{name}: does not render offline; runs the revision's functions")
        files: dict[str, str] = {}
        inline: tuple[str | dict[str, str], ...] = (item,)
        if rendered is not None:
            up, down = rendered
            stem = _UNSAFE_FILE.sub("_", f"001_{revision.revision}")
            inline = ()
            if up:
                files[f"{stem}.sql"] = up
                if down:
                    files[f"{stem}.rollback.sql"] = down
        schemas.append(
            ImportedSchema(
                name=name,
                parents=tuple(dict.fromkeys(names[p] for p in parents)),
                source=file.name,
                tool_id=revision.revision,
                files=files,
                inline=inline,
                inline_rollback=(item,) if reversible and rendered is None else (),
                description=_first_line(revision.doc) or f"alembic {revision.revision}",
            )
        )
    heads = tuple(s.name for s in schemas if s.tool_id not in has_children)
    return History(
        tool="alembic", source=path, schemas=tuple(schemas), heads=heads, notes=tuple(notes)
    )


_UNSAFE_FILE = re.compile(r"[^A-Za-z0-9_.\-]+")


def _render(module: Any, dialect: str, *, reversible: bool) -> tuple[str, str] | None:
    """``(upgrade SQL, downgrade SQL)`` as Alembic's offline mode renders them, or None."""
    up = _render_one(module, "upgrade", dialect)
    if up is None:
        return None
    down = _render_one(module, "downgrade", dialect) if reversible else ""
    if down is None:
        return None
    return up, down


def _render_one(module: Any, function: str, dialect: str) -> str | None:
    from alembic.migration import MigrationContext  # noqa: PLC0415 - optional extra
    from alembic.operations import Operations  # noqa: PLC0415

    buffer = io.StringIO()
    context = MigrationContext.configure(
        dialect_name=dialect,
        opts={"as_sql": True, "output_buffer": buffer, "literal_binds": True},
    )
    try:
        with Operations.context(context):
            getattr(module, function)()
    except Exception:  # any failure means "cannot render offline": the revision step runs it
        return None
    return buffer.getvalue().strip()


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
