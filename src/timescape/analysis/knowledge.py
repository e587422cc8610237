"""What the analyser knows about a schema before some statements run: a reusable snapshot.

Reading a schema's ancestors teaches the analyser the existing tables, column types and indexes.
A :class:`Knowledge` holds that lesson so it is learned once and handed on: the knowledge after a
schema is the knowledge before it plus its own statements, so checking a chain of N schemas reads
each statement once instead of once per descendant.

Added in 0.3.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from timescape.analysis._known import Known
from timescape.analysis._names import dialect_name

__all__ = ["Knowledge"]


class Knowledge:
    """An immutable snapshot of what earlier, already-applied statements taught the analyser.

    Pass it as ``prior=`` to :func:`~timescape.analysis.classify` and
    :func:`~timescape.analysis.lint` instead of the ancestors' statements.
    """

    __slots__ = ("_known",)

    def __init__(self, dialect: str) -> None:
        """Start knowing nothing.

        Args:
            dialect: ``"sqlite"``, ``"postgresql"`` or ``"mysql"`` (aliases accepted).

        Raises:
            InputError: ``dialect`` is not supported.
        """
        self._known = Known(dialect_name(dialect))

    @property
    def dialect(self) -> str:
        """The canonical dialect name."""
        return self._known.dialect

    def then(self, statements: Iterable[str]) -> Knowledge:
        """Return the knowledge once ``statements`` have been applied too; ``self`` is unchanged.

        Args:
            statements: Statements applied after the ones already known, in order.

        Returns:
            A new snapshot.
        """
        from timescape.analysis.classifier import learn  # noqa: PLC0415 - avoids an import cycle

        known = self._known.copy()
        for sql in statements:
            learn(sql, known.dialect, known)
        known.settle()
        result = Knowledge.__new__(Knowledge)
        result._known = known  # noqa: SLF001 - same class
        return result

    def working_copy(self, *, new_tables: Collection[str] = ()) -> Known:
        """Return a mutable copy for one run of the analyser (internal)."""
        return self._known.copy(new_tables=new_tables)
