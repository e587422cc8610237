"""Where a key of the project file is written: its line, for error messages.

Why a module of its own: :mod:`tomllib` keeps no positions, so a message's line is found again
in the text, best effort, and only when there is a message to write. An error-free load never
imports this module, and a 3 MB project file is never split into lines for nothing.
"""

from __future__ import annotations

import re

__all__ = ["_Lines"]


class _Lines:
    """Best-effort key → line lookup in the TOML text, for messages (tomllib keeps no positions)."""

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-]+)\s*\]\]?\s*(#.*)?$")

    def __init__(self, text: str, prefix: str) -> None:
        self.prefix = prefix
        self.text = text
        self._lines: list[str] | None = None
        self._headers: list[tuple[int, str]] = []

    @property
    def lines(self) -> list[str]:
        """The text's lines, split (and scanned for headers) on first use.

        Only an error needs them, and scanning a 3 MB file takes 0.1 s: more than a whole
        command once the project is cached.
        """
        if self._lines is None:
            self._lines = self.text.splitlines()
            self._scan()
        return self._lines

    @property
    def headers(self) -> list[tuple[int, str]]:
        """``(line, table name)`` of every table header outside multi-line strings."""
        _ = self.lines
        return self._headers

    def _scan(self) -> None:
        in_string: str | None = None
        for number, line in enumerate(self._lines or (), start=1):
            for quote in ('"""', "'''"):
                if in_string in (None, quote) and line.count(quote) % 2 == 1:
                    in_string = None if in_string == quote else quote
            if in_string is None:
                match = self._HEADER.match(line)
                if match:
                    self._headers.append((number, match.group(2)))

    def _section(self, table: str, index: int | None) -> tuple[int, int] | None:
        name = self.prefix + table
        seen = [i for i, (_, header) in enumerate(self.headers) if header == name]
        position = seen[index or 0] if len(seen) > (index or 0) else None
        if position is None:
            return None
        start = self.headers[position][0]
        end = (
            self.headers[position + 1][0]
            if position + 1 < len(self.headers)
            else len(self.lines) + 1
        )
        return start, end

    def find(self, key: str) -> int | None:
        match = re.match(r"^(\w+)(?:\[(\d+)\])?(?:\.(\w+))?", key.removeprefix(self.prefix))
        if match is None:
            return None
        table, index, sub = match.group(1), match.group(2), match.group(3)
        section = self._section(table, int(index) if index is not None else None)
        if section is None:
            return self._top_level(table)
        start, end = section
        if sub is None:
            return start
        pattern = re.compile(rf"^\s*{re.escape(sub)}\s*=")
        for number in range(start + 1, end):
            if pattern.match(self.lines[number - 1]):
                return number
        return start

    def _top_level(self, key: str) -> int | None:
        pattern = re.compile(rf"^\s*(\[\[?\s*)?{re.escape(self.prefix + key)}\b")
        for number, line in enumerate(self.lines, start=1):
            if pattern.match(line):
                return number
        return None
