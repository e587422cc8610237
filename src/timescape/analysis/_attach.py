"""``timescape:ignore`` comments written next to a statement rather than inside it.

The statement splitter keeps only the comments between a statement's first and last token, because
its output is what executes. People write a note about a statement where they write any other
note: on the line above it, or after its ``;``. This module finds those comments in the step's text
and tells lint which rules they silence, without touching what the splitter returns.
"""

from __future__ import annotations

from collections.abc import Sequence

from timescape.analysis._text import ignored_rules

__all__ = ["attached_ignores"]

_Comment = tuple[int, int, bool]
"""A comment in the text between statements: ``(start, end, trails the code before it)``."""


def attached_ignores(script: str, statements: Sequence[str], dialect: str) -> list[frozenset[str]]:
    """Find the rules silenced by ``timescape:ignore`` comments beside each statement.

    A comment is attached to a statement, outside its text, when it is

    * on the line(s) directly above it: every line from the comment down to the statement holds
      only comments and whitespace, with no blank line in between (a comment before the
      statement on its own first line counts too); or
    * after it on the line where it ends, past its delimiter: ``...; -- timescape:ignore GEN002``.

    A comment after one statement's delimiter, on that statement's last line, belongs to that
    statement only, never to the next one. Pure: reads nothing but its arguments.

    Args:
        script: The step's text, exactly as it was split.
        statements: The texts the splitter returned for it, in order; each is a verbatim slice of
            ``script``.
        dialect: ``"sqlite"``, ``"postgresql"`` or ``"mysql"``: decides what starts a comment.

    Returns:
        One set of upper-cased rule ids per statement, for ``lint(..., ignored=...)``; empty when
        nothing is attached. When a statement cannot be found in ``script`` (texts that did not
        come from it), that statement and the ones after it get empty sets.

    Added in 0.2.
    """
    found: list[set[str]] = [set() for _ in statements]
    end = 0
    previous: int | None = None
    for index, text in enumerate(statements):
        start, comments = _gap(script, end, text, dialect, after_statement=previous is not None)
        if start < 0:
            break
        if previous is not None:
            found[previous].update(_ids(script, [c for c in comments if c[2]], dialect))
        found[index].update(_ids(script, _directly_above(script, comments, start), dialect))
        previous, end = index, start + len(text)
    else:
        if previous is not None:
            _, comments = _gap(script, end, None, dialect, after_statement=True)
            found[previous].update(_ids(script, [c for c in comments if c[2]], dialect))
    return [frozenset(ids) for ids in found]


def _gap(
    script: str, begin: int, text: str | None, dialect: str, *, after_statement: bool
) -> tuple[int, list[_Comment]]:
    """Walk from ``begin`` to where ``text`` starts, outside comments; collect the comments.

    Between two statements there are only delimiters, whitespace, comments and (MySQL)
    ``DELIMITER`` lines, so the first place outside a comment where ``text`` starts is the
    statement. With ``text`` None, walk to the end of the script.

    Args:
        script: The step's text.
        begin: Where the previous statement's text ends (0 for the first).
        text: The next statement's text, or None.
        dialect: Decides what starts a comment.
        after_statement: True when a statement ends at ``begin``.

    Returns:
        Where ``text`` starts (-1 if it does not), and each comment as ``(start, end, trails)``:
        ``trails`` is True for a comment on the same line as the code before it (the previous
        statement or its delimiter).
    """
    comments: list[_Comment] = []
    code = begin - 1 if after_statement else None
    i, size = begin, len(script)
    while i < size:
        if text is not None and script.startswith(text, i):
            return i, comments
        stop = _comment_end(script, i, dialect)
        if stop > i:
            trails = code is not None and "\n" not in script[code:i]
            comments.append((i, stop, trails))
            i = stop
            continue
        if not script[i].isspace():
            code = i
        i += 1
    return -1, comments


def _comment_end(script: str, i: int, dialect: str) -> int:
    """Return the end of the comment starting at ``i``, or -1 (the splitter's rules)."""
    pair = script[i : i + 2]
    if pair == "/*":
        if dialect == "mysql" and script.startswith("/*!", i):
            return -1  # MySQL runs the text of /*! */: it is statement text, not a comment
        return _block_end(script, i, nested=dialect == "postgresql")
    line = pair == "--" and not (dialect == "mysql" and script[i + 2 : i + 3] > " ")
    if line or (pair[:1] == "#" and dialect == "mysql"):
        stop = script.find("\n", i)
        return len(script) if stop < 0 else stop
    return -1


def _block_end(script: str, i: int, *, nested: bool) -> int:
    depth, pos = 0, i
    while pos < len(script):
        if script.startswith("/*", pos):
            depth += 1
            pos += 2
        elif script.startswith("*/", pos):
            depth -= 1
            pos += 2
            if depth == 0 or not nested:
                return pos
        else:
            pos += 1
    return len(script)


def _directly_above(script: str, comments: Sequence[_Comment], start: int) -> list[_Comment]:
    """The comments on the comment-only lines that reach down to ``start`` without a blank line."""
    attached: list[_Comment] = []
    cursor = start
    for comment in reversed(comments):
        begin, stop, trails = comment
        between = script[stop:cursor]
        if trails or between.strip() or between.count("\n") > 1:
            break
        attached.append(comment)
        cursor = begin
    return attached


def _ids(script: str, comments: Sequence[_Comment], dialect: str) -> set[str]:
    ids: set[str] = set()
    for begin, stop, _ in comments:
        ids |= ignored_rules(script[begin:stop], dialect)
    return ids
