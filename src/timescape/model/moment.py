"""Moments as the text reports print: ISO-8601 in UTC with a ``Z``, milliseconds when not whole.

One form for every JSON document and report (DESIGN §4), whether the moment is a ``datetime`` or
the ISO text a state table holds. Why the text form: at 10,000 schemas, reading each stored time
into a ``datetime`` only to format it back cost ``schema list --json`` a twentieth of its work
(issue 14); the text is turned into the printed form a column at a time instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

__all__ = ["iso", "iso_texts"]


def iso(moment: datetime | None) -> str | None:
    """ISO-8601 in UTC with a ``Z`` (None stays None); a naive moment is taken as UTC.

    Args:
        moment: The moment.

    Returns:
        ``2026-12-06T12:00:00Z``, or ``2026-12-06T12:00:00.123Z`` when it has a fraction of a
        second (cut to milliseconds).
    """
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    spec = "milliseconds" if moment.microsecond else "seconds"
    return moment.astimezone(UTC).isoformat(timespec=spec).replace("+00:00", "Z")


# The state tables' form (``isoformat(timespec="milliseconds")`` of a UTC moment) with every
# digit read as 0: a column of such texts, one per line, is this line repeated.
_STORED_LINE = "0000-00-00T00:00:00.000+00:00\n"
_AS_ZERO = str.maketrans("123456789", "000000000")


def iso_texts(
    texts: Sequence[str | None], moments: Sequence[datetime | None] | None = None
) -> Sequence[str | None]:
    """:func:`iso` of each ISO text as ``datetime.fromisoformat`` reads it; empty or None: None.

    Every text is read with ``fromisoformat`` (so one it refuses raises ``ValueError`` here, as
    reading it into a ``datetime`` would), unless the caller read them already. When every text
    has the state tables' form, the printed form is that text with ``+00:00`` (and a ``.000``
    before it) replaced by ``Z``: a few passes over the joined column, not a ``datetime``
    formatted per value. Any other form (another offset, microseconds, no zone) goes through
    :func:`iso`.

    Args:
        texts: ISO-8601 texts (None or empty for no moment).
        moments: What ``fromisoformat`` made of each text (None for none), when the caller has
            it: not read again.

    Returns:
        One printed moment (or None) per text, in order.

    Raises:
        ValueError: When a text is not ISO-8601 as ``fromisoformat`` reads it.
    """
    present = [t for t in texts if t]
    # Read (so a text fromisoformat refuses raises) unless the caller read them already.
    read = [] if moments is not None else list(map(datetime.fromisoformat, present))
    column = "\n".join(present) + "\n"
    # The shape with every digit read as 0, then the zone itself: +02:00 has that shape too.
    count = len(present)
    stored = column.translate(_AS_ZERO) == _STORED_LINE * count
    if not stored or column.count("+00:00") != count:
        if moments is None:
            each = iter(read)
            return [iso(next(each)) if t else None for t in texts]
        return [iso(m) for m in moments]
    printed = column.replace(".000+00:00", "Z").replace("+00:00", "Z").split("\n")
    if len(present) == len(texts):
        return printed[:-1]
    found = iter(printed)
    return [next(found) if t else None for t in texts]
