"""Hot, warm and cold: how a live version is judged from its traffic, and the retirement verdict.

Pure: the thresholds come from the project file's ``[lifecycle]`` table (or the Python API), the
facts from a version's state row, and nothing here reads a clock or a database, so every rule is
tested in microseconds.

A version's *idle time* is measured from its last request **or its last activation, whichever is
later**: a version activated an hour ago that has not served a request yet is not cold, and neither
is one re-activated yesterday after a month out of service. Only a version idle for ``cold_after``
or more is cold, and only a cold, unprotected version that is not its handler's newest live one is
ever retired, so a quiet service never loses its only version.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from enum import StrEnum

from timescape.model._pattern import lazy_pattern
from timescape.model._record import record

__all__ = [
    "DEFAULT_COLD_AFTER",
    "DEFAULT_HOT_WITHIN",
    "LifecycleSettings",
    "LiveVersion",
    "RetirementVerdict",
    "UsagePolicy",
    "UsageStatus",
    "classify",
    "format_duration",
    "idle_since",
    "judge_retirement",
    "parse_duration",
]

DEFAULT_HOT_WITHIN = timedelta(hours=1)
DEFAULT_COLD_AFTER = timedelta(days=30)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# Compiled on first use: a project without a ``[lifecycle]`` table parses no duration.
_duration = lazy_pattern(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


class UsageStatus(StrEnum):
    """How much a version is used."""

    HOT = "hot"
    """Live and requested within ``hot_within`` (default one hour)."""
    WARM = "warm"
    """Live, not hot, and idle for less than ``cold_after`` (or activated less than that ago)."""
    COLD = "cold"
    """Live and idle (no request, no activation) for ``cold_after`` or more (default 30 days)."""
    RETIRING = "retiring"
    """Being deactivated: no longer routed, its schemas kept until every instance drained it."""
    INACTIVE = "inactive"
    """Not live."""


def parse_duration(value: str | float) -> timedelta:
    """Read a duration: ``90s``, ``15m``, ``12h``, ``30d``, ``2w``, or a number of seconds.

    Args:
        value: The text or a number of seconds.

    Returns:
        The duration.

    Raises:
        ValueError: When it is not a positive duration in one of those forms (the caller names the
            key or option it came from).
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _duration().match(value) if isinstance(value, str) else None
        if match is None:
            raise ValueError(
                f"must be a duration such as '30d', '12h', '15m' or '90s', not {value!r}"
            )
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if not 0 < seconds < 1e10:
        raise ValueError(f"must be a positive duration, not {value!r}")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """Write a duration the way :func:`parse_duration` reads it, in its largest whole unit."""
    seconds = delta.total_seconds()
    for unit, size in sorted(_UNITS.items(), key=lambda item: -item[1]):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


@record
class UsagePolicy:
    """The hot and cold thresholds (``[lifecycle]`` in the project file).

    Attributes:
        hot_within: A request at most this long ago makes a version hot.
        cold_after: Idle this long or more (no request, no activation) makes it cold.
    """

    hot_within: timedelta = DEFAULT_HOT_WITHIN
    cold_after: timedelta = DEFAULT_COLD_AFTER

    def __post_init__(self) -> None:
        """Refuse thresholds that go backwards (the project file asks for more: see ``config``).

        ``cold_after == 0`` is allowed from Python (everything live and not requested this very
        moment is cold: what a test or a one-off clean-up wants).

        Raises:
            ValueError: When ``hot_within`` is negative or longer than ``cold_after``.
        """
        if self.hot_within < timedelta(0):
            raise ValueError("hot_within must not be negative")
        if self.cold_after < self.hot_within:
            raise ValueError(
                f"cold_after ({format_duration(self.cold_after)}) must be longer than hot_within "
                f"({format_duration(self.hot_within)})"
            )


@record
class LifecycleSettings:
    """The ``[lifecycle]`` table of the project file.

    Attributes:
        hot_within: A request at most this long ago makes a version hot (default ``1h``).
        cold_after: Idle this long or more makes a live version cold (default ``30d``).
        auto_retire: Serving instances retire cold versions on their own (default off).
        auto_retire_interval: How often at most one instance runs a retirement round
            (default ``1h``).
    """

    hot_within: timedelta = DEFAULT_HOT_WITHIN
    cold_after: timedelta = DEFAULT_COLD_AFTER
    auto_retire: bool = False
    auto_retire_interval: timedelta = timedelta(hours=1)

    @property
    def policy(self) -> UsagePolicy:
        """The thresholds as a :class:`UsagePolicy`."""
        return UsagePolicy(self.hot_within, self.cold_after)


def idle_since(last_accessed: datetime | None, activated_at: datetime | None) -> datetime | None:
    """The later of the last request and the last activation (None when neither is known)."""
    if last_accessed is None:
        return activated_at
    if activated_at is None:
        return last_accessed
    return max(last_accessed, activated_at)


def classify(
    *,
    active: bool,
    last_accessed: datetime | None,
    activated_at: datetime | None,
    moment: datetime,
    policy: UsagePolicy,
    retiring: bool = False,
) -> UsageStatus:
    """Classify a version as hot, warm, cold, retiring or inactive.

    Args:
        active: Whether it is live.
        retiring: Whether its deactivation has begun (it is draining).
        last_accessed: Its last flushed request.
        activated_at: Its last activation.
        moment: Now.
        policy: The thresholds.

    Returns:
        The classification. A live version with neither time recorded (state written by hand or
        by a very old Timescape) is cold: nothing says it is in use.
    """
    if not active:
        return UsageStatus.INACTIVE
    if retiring:
        return UsageStatus.RETIRING
    if last_accessed is not None and moment - last_accessed <= policy.hot_within:
        return UsageStatus.HOT
    since = idle_since(last_accessed, activated_at)
    if since is not None and moment - since < policy.cold_after:
        return UsageStatus.WARM
    return UsageStatus.COLD


@record
class RetirementVerdict:
    """Whether one live version may be retired, and why.

    Attributes:
        tsv: The version.
        handler: Its handler.
        status: hot, warm or cold.
        retire: True when it is cold, unprotected and not its handler's newest live version.
        is_protected: It carries a protected tag.
        is_newest: It is its handler's newest live version.
        reason: One line for humans.
    """

    tsv: str
    handler: str
    status: UsageStatus
    retire: bool
    is_protected: bool
    is_newest: bool
    reason: str


@record
class LiveVersion:
    """The facts :func:`judge_retirement` needs about one live version.

    Attributes:
        tsv: The version.
        handler: Its handler.
        timestamp: Its timestamp (the newest per handler is never retired).
        tags: Its tags.
        last_accessed: Its last flushed request.
        activated_at: Its last activation.
    """

    tsv: str
    handler: str
    timestamp: datetime
    tags: tuple[str, ...]
    last_accessed: datetime | None
    activated_at: datetime | None


def judge_retirement(
    live: Iterable[LiveVersion],
    *,
    protected_tags: Collection[str],
    policy: UsagePolicy,
    moment: datetime,
) -> list[RetirementVerdict]:
    """Judge every live version, in the order given.

    Args:
        live: The live versions.
        protected_tags: Tags that keep a version (``stable``, ``production``, ``latest``).
        policy: The thresholds.
        moment: Now.

    Returns:
        One verdict per version; ``retire`` is True only for cold, unprotected, non-newest ones.
    """
    versions = list(live)
    newest: dict[str, LiveVersion] = {}
    for version in versions:
        best = newest.get(version.handler)
        if best is None or version.timestamp > best.timestamp:
            newest[version.handler] = version
    protected = set(protected_tags)
    verdicts = []
    for version in versions:
        status = classify(
            active=True,
            last_accessed=version.last_accessed,
            activated_at=version.activated_at,
            moment=moment,
            policy=policy,
        )
        guarded = sorted(protected.intersection(version.tags))
        is_newest = newest[version.handler].tsv == version.tsv
        since = idle_since(version.last_accessed, version.activated_at)
        idle = format_duration(_whole(moment - since)) if since is not None else None
        if status is not UsageStatus.COLD:
            reason = (
                f"requested within {format_duration(policy.hot_within)}"
                if status is UsageStatus.HOT
                else _warm_reason(version, idle, policy)
            )
        elif is_newest:
            reason = "cold, but the newest live version of its handler"
        elif guarded:
            reason = f"cold, but protected by tag {', '.join(guarded)}"
        elif idle is None:
            reason = "cold: no request or activation recorded"
        else:
            reason = f"cold: idle for {idle} (cold after {format_duration(policy.cold_after)})"
        verdicts.append(
            RetirementVerdict(
                tsv=version.tsv,
                handler=version.handler,
                status=status,
                retire=status is UsageStatus.COLD and not is_newest and not guarded,
                is_protected=bool(guarded),
                is_newest=is_newest,
                reason=reason,
            )
        )
    return verdicts


def _warm_reason(version: LiveVersion, idle: str | None, policy: UsagePolicy) -> str:
    cold = format_duration(policy.cold_after)
    if version.last_accessed is None or (
        version.activated_at is not None and version.activated_at > version.last_accessed
    ):
        return f"activated {idle} ago, less than the cold threshold of {cold}"
    return f"last request {idle} ago, less than the cold threshold of {cold}"


def _whole(delta: timedelta) -> timedelta:
    """Round an idle time down to a unit a person reads (days, hours, minutes or seconds)."""
    seconds = max(int(delta.total_seconds()), 0)
    for size in (86400, 3600, 60):
        if seconds >= size:
            return timedelta(seconds=seconds - seconds % size)
    return timedelta(seconds=max(seconds, 1))
