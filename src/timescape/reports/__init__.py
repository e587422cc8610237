"""What the facade returns: results of operations, listings, statistics and the verify report.

Split by what each answers, and re-exported here so ``from timescape.reports import X`` keeps
working: :mod:`~timescape.reports.operation` (what a change returns),
:mod:`~timescape.reports.listing` (``schema list``, ``version list``, ``stats``) and
:mod:`~timescape.reports.problem` (``verify``'s findings). The builders are pure (catalog +
snapshot in, frozen values out), so the CLI's ``--json`` and the Python API describe the same
facts, and the tests can check them without a database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from timescape._moved import lazy_getattr
from timescape.reports.operation import OperationResult

if TYPE_CHECKING:
    from timescape.model.usage import UsageStatus
    from timescape.reports.listing import (
        SchemaInfo,
        Stats,
        StatusRow,
        StoredSchema,
        VersionInfo,
        build_schema_infos,
        build_stats,
        build_version_infos,
        schema_rows,
        schema_rows_from,
        stats_from_rows,
        stored_schema,
        usage_status,
        version_rows,
    )
    from timescape.reports.problem import (
        Problem,
        VerifyReport,
        drift_problems,
        inconsistency_problems,
    )

# What a change returns is loaded with the package; the listings and the verify report, which
# applying schemas never builds, on first use (issue 14: every module loaded stays resident).
_LAZY = {
    "UsageStatus": "timescape.model.usage",
    "SchemaInfo": "timescape.reports.listing",
    "Stats": "timescape.reports.listing",
    "StatusRow": "timescape.reports.listing",
    "StoredSchema": "timescape.reports.listing",
    "VersionInfo": "timescape.reports.listing",
    "build_schema_infos": "timescape.reports.listing",
    "build_stats": "timescape.reports.listing",
    "build_version_infos": "timescape.reports.listing",
    "schema_rows": "timescape.reports.listing",
    "schema_rows_from": "timescape.reports.listing",
    "stats_from_rows": "timescape.reports.listing",
    "stored_schema": "timescape.reports.listing",
    "usage_status": "timescape.reports.listing",
    "version_rows": "timescape.reports.listing",
    "Problem": "timescape.reports.problem",
    "VerifyReport": "timescape.reports.problem",
    "drift_problems": "timescape.reports.problem",
    "inconsistency_problems": "timescape.reports.problem",
}

if not TYPE_CHECKING:  # type checkers read the imports above
    __getattr__ = lazy_getattr(__name__, _LAZY)

__all__ = [
    "OperationResult",
    "Problem",
    "SchemaInfo",
    "Stats",
    "StatusRow",
    "StoredSchema",
    "UsageStatus",
    "VerifyReport",
    "VersionInfo",
    "build_schema_infos",
    "build_stats",
    "build_version_infos",
    "drift_problems",
    "inconsistency_problems",
    "schema_rows",
    "schema_rows_from",
    "stats_from_rows",
    "stored_schema",
    "usage_status",
    "version_rows",
]
