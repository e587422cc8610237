"""Version lifecycle on top of the facade: hot, warm and cold versions, and safe retirement.

Request counts come from the app instances (``Timescape.record_request`` + ``flush_usage``, done
by the serving middleware). The thresholds are the project file's ``[lifecycle]`` table (see
:mod:`timescape.model.usage`). A version is retired only when it is cold, carries no protected
tag, and is not the newest live version of its handler, so a quiet service never loses its only
version; and retiring goes through :meth:`Timescape.deactivate <timescape.Timescape.deactivate>`,
so it drains serving instances and rolls back exactly what a deactivation would.

:func:`run_auto_retirement` is what a serving instance calls on a timer when ``auto_retire = true``:
it claims the round under the database lock, so one instance at a time retires, at most once per
``auto_retire_interval`` across all instances, and logs every verdict it acts on.

Added in 0.2. Changed in 0.2: thresholds from ``[lifecycle]``; verdicts carry status, protection
and newest; :func:`run_auto_retirement`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from timescape._log import LazyLogger
from timescape.errors import TimescapeError
from timescape.model.usage import (
    LifecycleSettings,
    LiveVersion,
    RetirementVerdict,
    UsagePolicy,
    UsageStatus,
    judge_retirement,
)
from timescape.reports import OperationResult, VersionInfo

if TYPE_CHECKING:  # the serving core imports this module: it need not load the whole facade
    from timescape.manager import Timescape

__all__ = [
    "AUTO_RETIRE_EVENT",
    "AutoRetirer",
    "Lifecycle",
    "RetirementCandidate",
    "RetirementOutcome",
    "run_auto_retirement",
]

logger = LazyLogger("timescape.lifecycle")

AUTO_RETIRE_EVENT = "lifecycle_round"
"""The event kind an instance records when it claims an automatic retirement round."""


@dataclass(frozen=True, slots=True)
class RetirementCandidate:
    """A live version considered for retirement.

    Attributes:
        version: Its listing.
        verdict: The judgement: status, protected, newest, retire, reason.
    """

    version: VersionInfo
    verdict: RetirementVerdict

    @property
    def retire(self) -> bool:
        """Whether it would be deactivated."""
        return self.verdict.retire

    @property
    def reason(self) -> str:
        """Why (or why not)."""
        return self.verdict.reason


@dataclass(frozen=True, slots=True)
class RetirementOutcome:
    """What retiring one candidate did.

    Attributes:
        candidate: The candidate.
        result: The deactivation's result (None when it failed).
        error: The error that stopped it (None when it succeeded).
    """

    candidate: RetirementCandidate
    result: OperationResult | None
    error: TimescapeError | None = None


class Lifecycle:
    """Usage classification and cold-version retirement for one :class:`Timescape`."""

    def __init__(
        self,
        timescape: Timescape,
        *,
        cold_after: timedelta | None = None,
        hot_within: timedelta | None = None,
    ) -> None:
        """Bind to a facade.

        Args:
            timescape: The facade.
            cold_after: Idle time after which a live version is cold (default: the facade's
                ``usage_policy``, i.e. ``[lifecycle] cold_after``, 30 days).
            hot_within: A request this recent makes a version hot (default: the facade's).

        Raises:
            ValueError: When ``cold_after`` is not longer than ``hot_within``.
        """
        self.timescape = timescape
        base = timescape.usage_policy
        cold = base.cold_after if cold_after is None else cold_after
        hot = base.hot_within if hot_within is None else hot_within
        if hot_within is None and cold <= hot:
            hot = cold / 2  # a short cold_after given alone narrows the hot band with it
        self.policy = UsagePolicy(hot, cold)

    @property
    def cold_after(self) -> timedelta:
        """Idle time after which a live version is cold."""
        return self.policy.cold_after

    def by_status(self, status: UsageStatus) -> list[VersionInfo]:
        """Versions currently in ``status``, judged with this lifecycle's thresholds (read-only)."""
        if status == UsageStatus.INACTIVE:
            return [v for v in self.timescape.versions() if not v.active]
        return [c.version for c in self.candidates() if c.verdict.status == status]

    def candidates(self, *, now: datetime | None = None) -> list[RetirementCandidate]:
        """Judge every live version for retirement (read-only, no lock).

        Args:
            now: The reference time (default: now, UTC).

        Returns:
            One entry per live version, in ``version list`` order, with the verdict and its reason.
        """
        moment = now or datetime.now(UTC)
        live = [v for v in self.timescape.versions() if v.active]
        # A retiring version is already on its way out: it is not judged, nor the newest live
        # version its handler keeps; its unfinished deactivation (a drain that timed out, a
        # process that died) is continued, as `version deactivate` would.
        routed = [v for v in live if v.status != UsageStatus.RETIRING]
        verdicts = judge_retirement(
            (
                LiveVersion(v.tsv, v.handler, v.timestamp, v.tags, v.last_accessed, v.activated_at)
                for v in routed
            ),
            protected_tags=self.timescape.protected_tags,
            policy=self.policy,
            moment=moment,
        )
        judged = {v.tsv: RetirementCandidate(v, d) for v, d in zip(routed, verdicts, strict=True)}
        protected = set(self.timescape.protected_tags)
        return [judged.get(v.tsv) or _retiring(v, protected) for v in live]

    def retire_cold(
        self, *, dry_run: bool = False, now: datetime | None = None
    ) -> list[RetirementOutcome]:
        """Deactivate every cold, unprotected, non-newest live version (smart rollback applies).

        Each retirement is one :meth:`Timescape.deactivate` (its own lock, drain and rollback);
        one that fails (an irreversible schema, a drain that timed out) is reported in its
        outcome and the others still run.

        Args:
            dry_run: Plan only; change nothing.
            now: The reference time (default: now, UTC).

        Returns:
            One outcome per version retired (or, for a dry run, that would be).
        """
        outcomes = []
        for candidate in self.candidates(now=now):
            if not candidate.retire:
                continue
            try:
                result = self.timescape.deactivate(candidate.version.tsv, dry_run=dry_run)
            except TimescapeError as exc:
                logger.warning("could not retire %s: %s", candidate.version.tsv, exc)
                outcomes.append(RetirementOutcome(candidate, None, exc))
                continue
            if not dry_run:
                logger.info("retired %s (%s)", candidate.version.tsv, candidate.reason)
            outcomes.append(RetirementOutcome(candidate, result))
        return outcomes


def _retiring(version: VersionInfo, protected: set[str]) -> RetirementCandidate:
    guarded = sorted(protected.intersection(version.tags))
    reason = (
        f"retiring, but protected by tag {', '.join(guarded)}: finish it with "
        "version deactivate --force"
        if guarded
        else "retiring: its deactivation did not finish; retiring it again continues it"
    )
    verdict = RetirementVerdict(
        tsv=version.tsv,
        handler=version.handler,
        status=UsageStatus.RETIRING,
        retire=not guarded,
        is_protected=bool(guarded),
        is_newest=False,
        reason=reason,
    )
    return RetirementCandidate(version, verdict)


def run_auto_retirement(
    timescape: Timescape, settings: LifecycleSettings, *, now: datetime | None = None
) -> list[RetirementOutcome] | None:
    """One automatic retirement round, for a serving instance to call on a timer.

    Does nothing when ``settings.auto_retire`` is off (the default). Otherwise claims the round
    under the database lock: when another instance (or this one) recorded a round less than
    ``auto_retire_interval`` ago it returns None; else it records a ``lifecycle_round`` event,
    releases the lock and retires the cold versions through :meth:`Lifecycle.retire_cold`. So
    however many instances call it, one round runs per interval, and the audit log names the
    instance that ran it. Every retirement and every failure is logged on ``timescape.lifecycle``.

    The serving core calls it from its background loop, off the request path (it takes the lock
    and may drain): e.g. every ``auto_retire_interval / 4``.

    Args:
        timescape: The instance's facade.
        settings: The project's ``[lifecycle]`` settings.
        now: The reference time (default: now, UTC).

    Returns:
        None when disabled or another round is recent; else the outcomes (empty when nothing is
        cold).

    Raises:
        LockTimeoutError: When the lock stays held by a long migration (try again next tick).
    """
    if not settings.auto_retire:
        return None
    moment = now or datetime.now(UTC)
    if not timescape.claim_round(
        AUTO_RETIRE_EVENT,
        interval=settings.auto_retire_interval,
        detail={"cold_after_s": int(settings.cold_after.total_seconds())},
        now=moment,
    ):
        logger.debug(
            "automatic retirement: a round ran less than %s ago", settings.auto_retire_interval
        )
        return None
    lifecycle = Lifecycle(timescape, cold_after=settings.cold_after, hot_within=settings.hot_within)
    outcomes = lifecycle.retire_cold(now=moment)
    logger.info(
        "automatic retirement round: %d retired, %d failed",
        sum(1 for o in outcomes if o.error is None),
        sum(1 for o in outcomes if o.error is not None),
    )
    return outcomes


class AutoRetirer:
    """Calls :func:`run_auto_retirement` on a timer, in a daemon thread of a serving instance.

    Does nothing unless ``settings.auto_retire`` is on. The timer ticks every quarter of
    ``auto_retire_interval`` (between 1 s and 60 s), so a round runs soon after another instance's
    interval has passed; the claim under the lock keeps it to one round per interval overall.
    Errors (a lock held by a long migration, a lost connection) are logged and retried at the next
    tick; they never stop the thread or reach the requests being served.
    """

    def __init__(
        self, timescape: Timescape, settings: LifecycleSettings, *, tick: float | None = None
    ) -> None:
        """Configure; nothing runs until :meth:`start`.

        Args:
            timescape: The instance's facade.
            settings: The ``[lifecycle]`` settings.
            tick: Seconds between attempts (default: a quarter of the interval, 1 s to 60 s).
        """
        self.timescape = timescape
        self.settings = settings
        quarter = settings.auto_retire_interval.total_seconds() / 4
        self.tick = tick if tick is not None else min(max(quarter, 1.0), 60.0)
        self.rounds = 0
        """Rounds this instance ran (claimed), for tests and diagnostics."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def is_running(self) -> bool:
        """True while the thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the thread (when automatic retirement is on; idempotent)."""
        if not self.settings.auto_retire or self.is_running:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._loop, name="timescape-auto-retire", daemon=True
        )
        self._thread.start()
        logger.info(
            "automatic retirement on: cold after %s, one round per %s",
            self.settings.cold_after,
            self.settings.auto_retire_interval,
        )

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread, waiting up to ``timeout`` seconds for a round in progress."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)

    def run_once(self) -> list[RetirementOutcome] | None:
        """One attempt now (what each tick does); errors are logged, never raised."""
        try:
            outcomes = run_auto_retirement(self.timescape, self.settings)
        except TimescapeError as exc:
            logger.warning("automatic retirement round failed, retrying later: %s", exc)
            return None
        if outcomes is not None:
            self.rounds += 1
        return outcomes

    def _loop(self) -> None:
        while not self._stop.wait(self.tick):
            self.run_once()
