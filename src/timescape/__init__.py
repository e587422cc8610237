"""Timescape: version a database schema together with the API versions of a web service.

The public API is re-exported here, one name per line; everything else is internal.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from timescape.errors import CompatibilityError as CompatibilityError
from timescape.errors import ConnectionFailedError as ConnectionFailedError
from timescape.errors import DefinitionError as DefinitionError
from timescape.errors import DriftError as DriftError
from timescape.errors import InputError as InputError
from timescape.errors import InterruptedMigrationError as InterruptedMigrationError
from timescape.errors import LockTimeoutError as LockTimeoutError
from timescape.errors import MigrationError as MigrationError
from timescape.errors import MigrationTimeoutError as MigrationTimeoutError
from timescape.errors import ProtectedVersionError as ProtectedVersionError
from timescape.errors import RollbackRefusedError as RollbackRefusedError
from timescape.errors import SQLSplitError as SQLSplitError
from timescape.errors import StateError as StateError
from timescape.errors import StateFormatError as StateFormatError
from timescape.errors import TimescapeError as TimescapeError
from timescape.errors import UnknownRefError as UnknownRefError

if TYPE_CHECKING:
    from timescape.manager import Timescape as Timescape
    from timescape.model.catalog import VersionSpec as VersionSpec
    from timescape.model.plan import Plan as Plan
    from timescape.model.schema import SchemaVersion as SchemaVersion
    from timescape.model.schema import Step as Step
    from timescape.model.state import SchemaStatus as SchemaStatus
    from timescape.model.tsv import Version as Version
    from timescape.reports import OperationResult as OperationResult
    from timescape.reports import SchemaInfo as SchemaInfo
    from timescape.reports import Stats as Stats
    from timescape.reports import VerifyReport as VerifyReport
    from timescape.reports import VersionInfo as VersionInfo

# The facade, the model and the reports load on first use: ``timescape --help`` and a web app's
# ``import timescape`` do not pay for the executor, the backends and the planner until needed.
_LAZY = {
    "Timescape": "timescape.manager",
    "VersionSpec": "timescape.model.catalog",
    "Plan": "timescape.model.plan",
    "SchemaVersion": "timescape.model.schema",
    "Step": "timescape.model.schema",
    "SchemaStatus": "timescape.model.state",
    "Version": "timescape.model.tsv",
    "OperationResult": "timescape.reports",
    "SchemaInfo": "timescape.reports",
    "Stats": "timescape.reports",
    "VerifyReport": "timescape.reports",
    "VersionInfo": "timescape.reports",
}


def __getattr__(name: str) -> object:
    """Import a public name on first access (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'timescape' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


__version__ = "0.1.0"

__all__ = [
    "CompatibilityError",
    "ConnectionFailedError",
    "DefinitionError",
    "DriftError",
    "InputError",
    "InterruptedMigrationError",
    "LockTimeoutError",
    "MigrationError",
    "MigrationTimeoutError",
    "OperationResult",
    "Plan",
    "ProtectedVersionError",
    "RollbackRefusedError",
    "SQLSplitError",
    "SchemaInfo",
    "SchemaStatus",
    "SchemaVersion",
    "StateError",
    "StateFormatError",
    "Stats",
    "Step",
    "Timescape",
    "TimescapeError",
    "UnknownRefError",
    "VerifyReport",
    "Version",
    "VersionInfo",
    "VersionSpec",
    "__version__",
]
