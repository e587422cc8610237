"""Python steps named in the project file: ``{ python = "module:function" }`` and Alembic revisions.

A step in ``migrations`` / ``rollback`` may be a table instead of SQL text:

- ``{ python = "backfill:to_cents" }`` calls ``to_cents(connection)`` from ``backfill.py`` in the
  project folder (or any importable module), inside the schema's transaction, on Timescape's
  connection (a :class:`~timescape.executor.MigrationConnection`: its ``execute``/``query`` pass
  through the backend's choke point, so timeouts, tracing and redaction apply);
- ``{ alembic = "alembic/versions/ae10_add_price.py" }`` runs that revision's ``upgrade()`` (in
  ``migrations``) or ``downgrade()`` (in ``rollback``) through Alembic's operations (see
  :mod:`timescape.engine.alembic`; needs the ``alembic`` extra only when it runs).

Loading the project imports nothing and runs nothing: the module's file is looked up by path (in
the project folder; on ``sys.path`` only with ``allow_outside_project = true``, as for ``dir``), the
function's source is found with :mod:`ast`, and the checksum covers that source (plus the
``module:function`` name), so editing the function is drift while editing the rest of the module is
not. A reference to a module outside the project (``os:system``, ``shutil:rmtree``) is refused,
naming the key (RELIABILITY T39). The module is imported only when the step runs, with the project
folder first on ``sys.path`` for the duration of the import.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from timescape.errors import DefinitionError
from timescape.model._sha import sha256
from timescape.project.sqlfile import read_text

__all__ = [
    "AlembicRevisionStep",
    "PythonFileStep",
    "PythonStep",
    "python_file_steps",
    "step_script",
]

_STEP_KEYS = ("python", "alembic")


class PythonStep:
    """A step that calls ``module:function`` with the migration connection.

    Attributes:
        target: ``module:function`` as written.
        source: The function's source text (what the checksum covers).
        file: The module's file relative to the project folder (or absolute), for messages.
    """

    def __init__(
        self, target: str, root: Path, *, key: str, label: str, allow_outside: bool = False
    ) -> None:
        """Find the function's source without importing the module.

        Args:
            target: ``module:function`` (the function may be ``Class.method``).
            root: The project folder; searched first for the module.
            key: The project-file key, for errors.
            label: How to name the project file in errors.
            allow_outside: ``allow_outside_project``: also look on ``sys.path``.

        Raises:
            DefinitionError: For a malformed target, a module outside the project (unless
                allowed), a module that cannot be found or a function it does not define.
        """
        module, colon, function = target.partition(":")
        if not colon or not module or not function or not _is_dotted(module):
            raise DefinitionError(
                f"python step {target!r} must look like 'module:function' "
                "(e.g. 'migrations.backfill:to_cents')",
                file=label,
                key=key,
            )
        self.target = target
        self.root = root
        self._module = module
        self._function = function
        path = _module_file(module, root, allow_outside=allow_outside)
        if path is None:
            where = "in the project folder or on sys.path" if allow_outside else "in the project"
            hint = (
                ""
                if allow_outside
                else ("; a module outside it needs allow_outside_project = true in [database]")
            )
            raise DefinitionError(
                f"python step {target!r}: module {module!r} not found {where} {root}{hint}",
                file=label,
                key=key,
            )
        shown = _shown(path, root)
        self.file = shown
        self._path = path.resolve()
        text = read_text(path, label=shown, key=key)
        source = _function_source(text, function)
        if source is None:
            raise DefinitionError(
                f"python step {target!r}: {shown} defines no function {function!r}",
                file=label,
                key=key,
            )
        self.source = source
        # What plans, dry runs and JSON show (``python:module.function``).
        self.__module__ = module
        self.__qualname__ = function

    @property
    def step_label(self) -> str:
        """How plans, dry runs and JSON name the step: ``python:module.function``."""
        return f"python:{self._module}.{self._function}"

    @property
    def checksum_source(self) -> str:
        """The text the step's checksum is computed from: the name and the function's source."""
        return f"python:{self.target}\n{self.source}"

    def __call__(self, connection: Any) -> None:
        """Import the module (project folder first on ``sys.path``) and call the function.

        Args:
            connection: The migration connection.
        """
        loaded = sys.modules.get(self._module)
        origin = getattr(loaded, "__file__", None)
        if loaded is not None and (origin is None or Path(origin).resolve() != self._path):
            # A module of that name from another folder (another project, a test) was imported
            # first: this step must run the file it was checksummed from.
            del sys.modules[self._module]
        with _on_path(self.root):
            module = importlib.import_module(self._module)
        found: Any = module
        for part in self._function.split("."):
            found = getattr(found, part)
        found(connection)

    def __repr__(self) -> str:
        """``PythonStep('module:function')``."""
        return f"PythonStep({self.target!r})"

    def __eq__(self, other: object) -> bool:
        """Equal when the target and its source are."""
        return (
            isinstance(other, PythonStep)
            and other.target == self.target
            and other.source == self.source
        )

    def __hash__(self) -> int:
        """Hash of the target and source."""
        return hash((self.target, self.source))


class AlembicRevisionStep:
    """A step that runs an Alembic revision's ``upgrade()`` or ``downgrade()``.

    Attributes:
        path: The revision file.
        file: The file relative to the project folder, for messages.
        direction: ``upgrade`` or ``downgrade``.
        text: The file's text; the checksum covers the whole file.
    """

    def __init__(
        self,
        file: str,
        root: Path,
        *,
        direction: str,
        key: str,
        label: str,
        allow_outside: bool = False,
    ) -> None:
        """Read the revision file (nothing is imported until the step runs).

        Args:
            file: The revision file, relative to the project folder.
            root: The project folder.
            direction: ``upgrade`` (a migration) or ``downgrade`` (a rollback).
            key: The project-file key, for errors.
            label: How to name the project file in errors.
            allow_outside: ``allow_outside_project``: the file may resolve outside the project.

        Raises:
            DefinitionError: When the file is outside the project (unless allowed), missing or
                unreadable.
        """
        self.path = (root / file).resolve()
        if not allow_outside and not self.path.is_relative_to(root.resolve()):
            raise DefinitionError(
                f"alembic revision file {file!r} resolves to {self.path}, outside the project "
                f"folder {root}; set allow_outside_project = true in [database] to allow it",
                file=label,
                key=key,
            )
        self.root = root
        self.file = _shown(self.path, root)
        self.direction = direction
        if not self.path.is_file():
            raise DefinitionError(
                f"alembic revision file {file!r} does not exist", file=label, key=key
            )
        self.text = read_text(self.path, label=self.file, key=key)
        self.__module__ = "alembic"
        self.__qualname__ = direction

    @property
    def step_label(self) -> str:
        """How plans, dry runs and JSON name the step: ``alembic:<file>:upgrade``."""
        return f"alembic:{self.file}:{self.direction}"

    @property
    def checksum_source(self) -> str:
        """The text the step's checksum is computed from: the direction and the revision file."""
        return f"alembic:{self.direction}\n{self.text}"

    def __call__(self, connection: Any) -> None:
        """Run the revision function through Alembic's operations on ``connection``.

        Args:
            connection: The migration connection.
        """
        from timescape.engine.alembic import run_revision  # noqa: PLC0415 - optional extra

        with _on_path(self.root):
            run_revision(self.path, self.direction, connection)

    def __repr__(self) -> str:
        """``AlembicRevisionStep('file', 'upgrade')``."""
        return f"AlembicRevisionStep({self.file!r}, {self.direction!r})"

    def __eq__(self, other: object) -> bool:
        """Equal when the file, direction and text are."""
        return isinstance(other, AlembicRevisionStep) and (
            other.file,
            other.direction,
            other.text,
        ) == (self.file, self.direction, self.text)

    def __hash__(self) -> int:
        """Hash of file, direction and text."""
        return hash((self.file, self.direction, self.text))


class PythonFileStep:
    """A ``NNN_name.py`` step file of a ``dir``: its ``apply`` or ``rollback`` function.

    Attributes:
        path: The file.
        file: The file relative to the project folder.
        function: ``apply`` or ``rollback``.
        source: The function's source text (what the checksum covers).
    """

    def __init__(self, path: Path, file: str, function: str, source: str, root: Path) -> None:
        """Remember the file and the function's source; nothing is imported until it runs."""
        self.path = path
        self.file = file
        self.function = function
        self.source = source
        self.root = root
        self.__module__ = file
        self.__qualname__ = function

    @property
    def step_label(self) -> str:
        """How plans, dry runs and JSON name the step: ``python:<file>:apply``."""
        return f"python:{self.file}:{self.function}"

    @property
    def checksum_source(self) -> str:
        """The text the checksum is computed from: the file, the function and its source."""
        return f"{self.step_label}\n{self.source}"

    def __call__(self, connection: Any) -> None:
        """Load the file afresh (project folder first on ``sys.path``) and call the function.

        Args:
            connection: The migration connection.
        """
        import importlib.util  # noqa: PLC0415 - only when a step file runs, not at every start

        name = "_timescape_step_" + sha256(str(self.path).encode()).hexdigest()[:16]
        spec = importlib.util.spec_from_file_location(name, self.path)
        if spec is None or spec.loader is None:  # pragma: no cover - a .py path has a spec
            msg = f"cannot load {self.file}"
            raise ImportError(msg)
        module = importlib.util.module_from_spec(spec)
        with _on_path(self.root):
            spec.loader.exec_module(module)
        getattr(module, self.function)(connection)

    def __repr__(self) -> str:
        """``PythonFileStep('file', 'apply')``."""
        return f"PythonFileStep({self.file!r}, {self.function!r})"

    def __eq__(self, other: object) -> bool:
        """Equal when file, function and source are."""
        return isinstance(other, PythonFileStep) and (other.file, other.function, other.source) == (
            self.file,
            self.function,
            self.source,
        )

    def __hash__(self) -> int:
        """Hash of file, function and source."""
        return hash((self.file, self.function, self.source))


def python_file_steps(
    path: Path, file: str, root: Path, *, key: str
) -> tuple[PythonFileStep, PythonFileStep | None]:
    """The ``apply`` and (if defined) ``rollback`` steps of a ``NNN_name.py`` step file.

    Args:
        path: The file.
        file: The file relative to the project folder, for messages.
        root: The project folder.
        key: The project-file key of the ``dir``, for errors.

    Returns:
        ``(apply, rollback or None)``.

    Raises:
        DefinitionError: When the file defines no ``apply`` function.
    """
    text = read_text(path, label=file, key=key)
    apply = _function_source(text, "apply")
    if apply is None:
        raise DefinitionError(
            "a Python step file must define apply(connection) (and rollback(connection) to "
            "be reversible)",
            file=file,
            key=key,
        )
    undo = _function_source(text, "rollback")
    return (
        PythonFileStep(path, file, "apply", apply, root),
        PythonFileStep(path, file, "rollback", undo, root) if undo is not None else None,
    )


def step_script(
    item: object,
    root: Path,
    *,
    rollback: bool,
    key: str,
    label: str,
    allow_outside: bool = False,
) -> str | PythonStep | AlembicRevisionStep:
    """Turn one ``migrations``/``rollback`` item into a step script.

    Args:
        item: SQL text, or a table with ``python`` or ``alembic``.
        root: The project folder.
        rollback: Whether the item is in ``rollback`` (an Alembic revision then downgrades).
        key: The item's key, for errors.
        label: How to name the project file in errors.
        allow_outside: ``allow_outside_project``.

    Returns:
        The SQL text or the callable step.

    Raises:
        DefinitionError: For anything else.
    """
    if isinstance(item, str):
        return item
    if not isinstance(item, dict) or len(item) != 1 or next(iter(item)) not in _STEP_KEYS:
        raise DefinitionError(
            'must be SQL text, { python = "module:function" } or '
            '{ alembic = "path/to/revision.py" }',
            file=label,
            key=key,
        )
    kind, value = next(iter(item.items()))
    if not isinstance(value, str) or not value.strip():
        raise DefinitionError(f"{kind} must be a non-empty string", file=label, key=key)
    if kind == "python":
        return PythonStep(value, root, key=key, label=label, allow_outside=allow_outside)
    direction = "downgrade" if rollback else "upgrade"
    return AlembicRevisionStep(
        value, root, direction=direction, key=key, label=label, allow_outside=allow_outside
    )


def source_digest(script: object) -> str | None:
    """SHA-256 of a step's ``checksum_source``, or None for a script without one.

    Args:
        script: A step script.

    Returns:
        The hex digest.
    """
    text = getattr(script, "checksum_source", None)
    if not isinstance(text, str):
        return None
    return sha256(text.encode()).hexdigest()


def _is_dotted(name: str) -> bool:
    return all(part.isidentifier() for part in name.split("."))


def _module_file(module: str, root: Path, *, allow_outside: bool) -> Path | None:
    """The module's source file, found by path: nothing is imported.

    ``importlib.util.find_spec`` would import the parent packages, running their code at load.
    """
    folders = [root]
    if allow_outside:
        folders += [Path(entry or ".") for entry in sys.path]
    resolved_root = root.resolve()
    for folder in folders:
        base = folder.joinpath(*module.split("."))
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                if not allow_outside and not candidate.resolve().is_relative_to(resolved_root):
                    return None  # a symlink out of the project
                return candidate
    return None


def _function_source(text: str, function: str) -> str | None:
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    body: list[ast.stmt] = tree.body
    node: ast.AST | None = None
    for part in function.split("."):
        node = next(
            (
                n
                for n in body
                if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                and n.name == part
            ),
            None,
        )
        if node is None:
            return None
        body = node.body if isinstance(node, ast.ClassDef) else []
    if not isinstance(node, ast.FunctionDef):
        return None
    return ast.get_source_segment(text, node, padded=False)


def _shown(path: Path, root: Path) -> str:
    resolved = path.resolve()
    with contextlib.suppress(ValueError):
        return resolved.relative_to(root.resolve()).as_posix()
    return str(resolved)


@contextlib.contextmanager
def _on_path(root: Path) -> Iterator[None]:
    """Put ``root`` first on ``sys.path`` for the duration (no-op when it already is there)."""
    folder = str(root)
    if folder in sys.path:
        yield
        return
    sys.path.insert(0, folder)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(folder)
