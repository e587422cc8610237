"""Subcommands that import their module only when they are looked up (issue 14: cold start).

``timescape schema list`` has no use for the dashboard, the demo, the importers or ``version``'s
commands, yet registering them the usual way imports each module (and what it imports) on every
start. :func:`add_lazy` registers a command under its name with a placeholder, and
:class:`LazyCommands` (the group's ``commands`` mapping) swaps the real command in the first time
it is read: through :meth:`click.Group.get_command` (running it, its help, completion) or through
the mapping itself (``group.commands[name]``, ``.items()``, ``.values()``). Names, order and help
are unchanged: listing a group's help reads every command, so ``timescape --help`` imports them
all, as before.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, ItemsView, ValuesView
from typing import Any, cast

import click

__all__ = ["LazyCommands", "add_lazy", "imported"]


class _Pending(click.Command):
    """A command not imported yet: :class:`LazyCommands` replaces it before anyone sees it."""

    def __init__(self, name: str, load: Callable[[], click.Command]) -> None:
        super().__init__(name)
        self.load = load


class LazyCommands(dict[str, click.Command]):
    """A group's ``commands``: pending entries load on first read, every read path included."""

    def __getitem__(self, name: str) -> click.Command:
        """The command called ``name``, imported now if still pending."""
        command = super().__getitem__(name)
        if isinstance(command, _Pending):
            command = command.load()
            super().__setitem__(name, command)
        return command

    def get(self, name: str, default: Any = None) -> Any:
        """The command called ``name`` (imported now if pending), else ``default``."""
        return self[name] if name in self else default  # noqa: SIM401 - self.get is this

    def items(self) -> ItemsView[str, click.Command]:  # type: ignore[override]
        """Every command, all imported."""
        self._load_all()
        return super().items()

    def values(self) -> ValuesView[click.Command]:  # type: ignore[override]
        """Every command, all imported."""
        self._load_all()
        return super().values()

    def _load_all(self) -> None:
        for name in list(self):
            self[name]


def add_lazy(group: click.Group, name: str, load: Callable[[], click.Command]) -> None:
    """Register the command ``load()`` returns under ``name``, calling ``load`` on first use.

    Args:
        group: The group to add it to (its ``commands`` becomes a :class:`LazyCommands`).
        name: The command's name, as ``load()``'s command calls itself.
        load: Imports the command's module and returns the command.
    """
    if not isinstance(group.commands, LazyCommands):
        group.commands = LazyCommands(group.commands)
    dict.__setitem__(group.commands, name, _Pending(name, load))


def imported(module: str, name: str) -> Callable[[], click.Command]:
    """A loader for :func:`add_lazy`: imports ``module`` and returns its command ``name``.

    Args:
        module: The dotted module name.
        name: The command's attribute in that module.
    """
    return lambda: cast("click.Command", getattr(importlib.import_module(module), name))
