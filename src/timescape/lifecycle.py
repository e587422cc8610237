"""Version lifecycle on top of the facade: hot, warm and cold versions, and safe retirement.

Request counts come from the app instances (``Timescape.record_request`` + ``flush_usage``, done
by the ASGI middleware). A version is retired only when it is cold, carries no protected tag, and
is not the newest live version of its handler — so a quiet service never loses its only version.

Added in 0.2.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from timescape.manager import Timescape
from timescape.reports import OperationResult, UsageStatus, VersionInfo

__all__ = ["Lifecycle", "RetirementCandidate"]


@dataclass(frozen=True, slots=True)
class RetirementCandidate:
    """A live version considered for retirement.

    Attributes:
        version: Its listing.
        retire: Whether it would be deactivated.
        reason: Why (or why not).
    """

    version: VersionInfo
    retire: bool
    reason: str


class Lifecycle:
    """Usage classification and cold-version retirement for one :class:`Timescape`."""

    def __init__(self, timescape: Timescape, *, cold_after: timedelta = timedelta(days=30)) -> None:
        """Bind to a facade.

        Args:
            timescape: The facade.
            cold_after: Idle time after which a live version may be retired.
        """
        self.timescape = timescape
        self.cold_after = cold_after

    def by_status(self, status: UsageStatus) -> list[VersionInfo]:
        """Versions currently in ``status`` (read-only)."""
        return [v for v in self.timescape.versions() if v.status == status]

    def candidates(self, *, now: datetime | None = None) -> list[RetirementCandidate]:
        """Judge every live version for retirement (read-only).

        Args:
            now: The reference time (default: now, UTC).

        Returns:
            One entry per live version, with the verdict and its reason.
        """
        moment = now or datetime.now(UTC)
        live = [v for v in self.timescape.versions() if v.active]
        newest: dict[str, VersionInfo] = {}
        for version in live:
            if (
                version.handler not in newest
                or version.timestamp > newest[version.handler].timestamp
            ):
                newest[version.handler] = version
        protected = set(self.timescape.protected_tags)
        result = []
        for version in live:
            idle_since = version.last_accessed or version.activated_at
            if newest[version.handler].tsv == version.tsv:
                verdict = (False, "newest live version of its handler")
            elif protected & set(version.tags):
                verdict = (
                    False,
                    f"protected tag {', '.join(sorted(protected & set(version.tags)))}",
                )
            elif idle_since is not None and moment - idle_since < self.cold_after:
                verdict = (False, f"used within the last {self.cold_after}")
            else:
                verdict = (True, f"no request for {self.cold_after} or more")
            result.append(RetirementCandidate(version, *verdict))
        return result

    def retire_cold(self, *, dry_run: bool = False) -> list[OperationResult]:
        """Deactivate every cold, unprotected, non-newest live version (smart rollback applies).

        Args:
            dry_run: Plan only.

        Returns:
            One result per retired version.
        """
        return [
            self.timescape.deactivate(candidate.version.tsv, dry_run=dry_run)
            for candidate in self.candidates()
            if candidate.retire
        ]
