"""A statement's text held as a span of its script: the value both the splitter and the plan use.

A 50 MB dump split into statements, and then planned, must not hold the dump two or three times
over: a statement keeps a reference to its script and the span it covers, and slices the text
only when it is read. :class:`timescape.store.split.Statement` (what the splitter returns) and
:class:`timescape.model.plan.PlannedStatement` (what a plan sends) are both this value.
"""

from __future__ import annotations

from typing import Self

__all__ = ["StatementText"]


class StatementText:
    """One SQL statement: its text (a span of its script), its line, and any COPY data.

    A value object: two statements of the same class are equal when text, line and data are.

    Attributes:
        line: 1-based line of the statement's first token in its script or file.
        data: The data lines of a PostgreSQL ``COPY ... FROM stdin`` (sent through the copy
            protocol after the statement); None for every other statement.
    """

    __slots__ = ("_end", "_source", "_start", "data", "line")

    def __init__(
        self,
        text: str,
        line: int,
        data: str | None = None,
        *,
        span: tuple[int, int] | None = None,
    ) -> None:
        """Make a statement: ``text`` itself, or ``text[start:end]`` for ``span=(start, end)``."""
        self._source = text
        self._start, self._end = span if span is not None else (0, len(text))
        self.line = line
        self.data = data

    @classmethod
    def same_span(cls, statement: StatementText) -> Self:
        """A statement of this class over the same span, line and data as ``statement``.

        Copies the five slots directly: a plan turns every split statement into a planned one
        (issue 14).
        """
        new = object.__new__(cls)
        new._source, new._start, new._end = statement._source, statement._start, statement._end
        new.line, new.data = statement.line, statement.data
        return new

    @property
    def text(self) -> str:
        """The SQL (a fresh slice of the script unless the statement is the whole script)."""
        source = self._source
        if self._start == 0 and self._end == len(source):
            return source
        return source[self._start : self._end]

    @property
    def span(self) -> tuple[str, int, int]:
        """``(source, start, end)``: the text the statement is a part of, and where."""
        return self._source, self._start, self._end

    def __eq__(self, other: object) -> bool:
        """Equal when of the same class and text, line and data are equal."""
        if not isinstance(other, type(self)):
            return NotImplemented
        return (self.line, self.data, self.text) == (other.line, other.data, other.text)

    def __hash__(self) -> int:
        """Hash of text, line and data."""
        return hash((self.text, self.line, self.data))

    def __repr__(self) -> str:
        """``ClassName(text='...', line=N, data=None)``."""
        return f"{type(self).__name__}(text={self.text!r}, line={self.line!r}, data={self.data!r})"
