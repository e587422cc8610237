"""Timescape: version a database schema together with the API versions of a web service.

The public API is re-exported here, one name per line; everything else is internal.

Every name loads on first access (PEP 562), and this module imports nothing at all, not even
``typing``: ``timescape --help`` and a web app's ``import timescape`` pay only for what they use,
and the console script's fast help path (:mod:`timescape.cli._entry`) stays within a few
milliseconds of a bare interpreter. Type checkers read the imports below instead.
"""

from __future__ import annotations

# ``typing.TYPE_CHECKING`` would import ``typing`` (and ``re``, ``enum``: about 9 ms) at runtime;
# mypy and pyright treat any name ``TYPE_CHECKING`` as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from timescape.config import Project as Project
    from timescape.config import load_project as load_project
    from timescape.engine.callbacks import CALLBACKS as CALLBACKS
    from timescape.errors import CompatibilityError as CompatibilityError
    from timescape.errors import ConnectionFailedError as ConnectionFailedError
    from timescape.errors import DefinitionError as DefinitionError
    from timescape.errors import DrainTimeoutError as DrainTimeoutError
    from timescape.errors import DriftError as DriftError
    from timescape.errors import DriverMissingError as DriverMissingError
    from timescape.errors import InputError as InputError
    from timescape.errors import InterruptedMigrationError as InterruptedMigrationError
    from timescape.errors import LockTimeoutError as LockTimeoutError
    from timescape.errors import MigrationError as MigrationError
    from timescape.errors import MigrationInterruptedError as MigrationInterruptedError
    from timescape.errors import MigrationTimeoutError as MigrationTimeoutError
    from timescape.errors import ProtectedVersionError as ProtectedVersionError
    from timescape.errors import RetirementCancelledError as RetirementCancelledError
    from timescape.errors import RollbackRefusedError as RollbackRefusedError
    from timescape.errors import SQLSplitError as SQLSplitError
    from timescape.errors import StateError as StateError
    from timescape.errors import StateFormatError as StateFormatError
    from timescape.errors import TimescapeError as TimescapeError
    from timescape.errors import UnknownRefError as UnknownRefError
    from timescape.lifecycle import Lifecycle as Lifecycle
    from timescape.lifecycle import RetirementCandidate as RetirementCandidate
    from timescape.manager import Timescape as Timescape
    from timescape.model.catalog import VersionSpec as VersionSpec
    from timescape.model.instance import InstanceInfo as InstanceInfo
    from timescape.model.plan import Plan as Plan
    from timescape.model.schema import SchemaVersion as SchemaVersion
    from timescape.model.schema import Step as Step
    from timescape.model.state import SchemaStatus as SchemaStatus
    from timescape.model.tsv import Version as Version
    from timescape.reports import OperationResult as OperationResult
    from timescape.reports import Problem as Problem
    from timescape.reports import SchemaInfo as SchemaInfo
    from timescape.reports import Stats as Stats
    from timescape.reports import UsageStatus as UsageStatus
    from timescape.reports import VerifyReport as VerifyReport
    from timescape.reports import VersionInfo as VersionInfo
    from timescape.store.state import Event as Event
    from timescape.web.asgi import TimescapeMiddleware as TimescapeMiddleware
    from timescape.web.asgi import current_version as current_version
    from timescape.web.request import ResolvedVersion as ResolvedVersion
    from timescape.web.routing import Decision as Decision
    from timescape.web.serving import ServingInstance as ServingInstance
    from timescape.web.wsgi import TimescapeWSGIMiddleware as TimescapeWSGIMiddleware

_LAZY = {
    "CALLBACKS": "timescape.engine.callbacks",
    "Project": "timescape.config",
    "load_project": "timescape.config",
    "CompatibilityError": "timescape.errors",
    "ConnectionFailedError": "timescape.errors",
    "DefinitionError": "timescape.errors",
    "DrainTimeoutError": "timescape.errors",
    "DriftError": "timescape.errors",
    "DriverMissingError": "timescape.errors",
    "InputError": "timescape.errors",
    "InterruptedMigrationError": "timescape.errors",
    "LockTimeoutError": "timescape.errors",
    "MigrationError": "timescape.errors",
    "MigrationInterruptedError": "timescape.errors",
    "MigrationTimeoutError": "timescape.errors",
    "ProtectedVersionError": "timescape.errors",
    "RetirementCancelledError": "timescape.errors",
    "RollbackRefusedError": "timescape.errors",
    "SQLSplitError": "timescape.errors",
    "StateError": "timescape.errors",
    "StateFormatError": "timescape.errors",
    "TimescapeError": "timescape.errors",
    "UnknownRefError": "timescape.errors",
    "Lifecycle": "timescape.lifecycle",
    "RetirementCandidate": "timescape.lifecycle",
    "Timescape": "timescape.manager",
    "VersionSpec": "timescape.model.catalog",
    "InstanceInfo": "timescape.model.instance",
    "Plan": "timescape.model.plan",
    "SchemaVersion": "timescape.model.schema",
    "Step": "timescape.model.schema",
    "SchemaStatus": "timescape.model.state",
    "Version": "timescape.model.tsv",
    "OperationResult": "timescape.reports",
    "Problem": "timescape.reports",
    "SchemaInfo": "timescape.reports",
    "Stats": "timescape.reports",
    "UsageStatus": "timescape.reports",
    "VerifyReport": "timescape.reports",
    "VersionInfo": "timescape.reports",
    "Event": "timescape.store.state",
    "TimescapeMiddleware": "timescape.web.asgi",
    "current_version": "timescape.web.asgi",
    "ResolvedVersion": "timescape.web.request",
    "Decision": "timescape.web.routing",
    "ServingInstance": "timescape.web.serving",
    "TimescapeWSGIMiddleware": "timescape.web.wsgi",
}


def __getattr__(name: str) -> object:
    """Import a public name on first access (PEP 562) and keep it as a module global.

    Raises:
        AttributeError: ``name`` is not public API.
    """
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'timescape' has no attribute {name!r}")
    from importlib import import_module  # noqa: PLC0415 - importlib costs 0.5 ms at startup

    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """List the public names too, loaded or not, for ``dir()`` and completion."""
    return sorted({*globals(), *__all__})


__version__ = "0.1.0"

__all__ = [
    "CALLBACKS",
    "CompatibilityError",
    "ConnectionFailedError",
    "Decision",
    "DefinitionError",
    "DrainTimeoutError",
    "DriftError",
    "DriverMissingError",
    "Event",
    "InputError",
    "InstanceInfo",
    "InterruptedMigrationError",
    "Lifecycle",
    "LockTimeoutError",
    "MigrationError",
    "MigrationInterruptedError",
    "MigrationTimeoutError",
    "OperationResult",
    "Plan",
    "Problem",
    "Project",
    "ProtectedVersionError",
    "ResolvedVersion",
    "RetirementCancelledError",
    "RetirementCandidate",
    "RollbackRefusedError",
    "SQLSplitError",
    "SchemaInfo",
    "SchemaStatus",
    "SchemaVersion",
    "ServingInstance",
    "StateError",
    "StateFormatError",
    "Stats",
    "Step",
    "Timescape",
    "TimescapeError",
    "TimescapeMiddleware",
    "TimescapeWSGIMiddleware",
    "UnknownRefError",
    "UsageStatus",
    "VerifyReport",
    "Version",
    "VersionInfo",
    "VersionSpec",
    "__version__",
    "current_version",
    "load_project",
]
