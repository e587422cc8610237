"""What the facade's mixins use of the facade, declared once for the type checker.

:class:`~timescape.Timescape` is assembled from mixins (the hot path, the reports, the state-only
changes) that call back into the connection, the definitions and the locked runner it owns.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from timescape.model.catalog import Catalog
from timescape.model.plan import Judge
from timescape.model.state import StateSnapshot
from timescape.model.tsv import VersionIndex
from timescape.model.usage import UsagePolicy
from timescape.recovery import Recovery
from timescape.reports import OperationResult
from timescape.store.base import Backend
from timescape.store.state import StateStore

__all__ = ["Host"]


class Host:
    """Base of the facade's mixins: the members below are the facade's; at run time it is empty."""

    _mutex: threading.RLock
    _actor: str
    protected_tags: tuple[str, ...]
    usage_policy: UsagePolicy

    if TYPE_CHECKING:

        @property
        def catalog(self) -> Catalog: ...
        @property
        def backend(self) -> Backend: ...
        @property
        def store(self) -> StateStore: ...
        def _store_boundary(self) -> contextlib.AbstractContextManager[None]: ...
        def _locked(
            self, work: Callable[[StateSnapshot], OperationResult], *, dry_run: bool
        ) -> OperationResult: ...
        def _judge(self) -> Judge: ...
        def _recovery(self) -> Recovery: ...
        def _index_for(self, snapshot: StateSnapshot) -> VersionIndex: ...
