"""What the facade returns: results of operations, listings, statistics and the verify report.

Split by what each answers, and re-exported here so ``from timescape.reports import X`` keeps
working: :mod:`~timescape.reports.operation` (what a change returns),
:mod:`~timescape.reports.listing` (``schema list``, ``version list``, ``stats``) and
:mod:`~timescape.reports.problem` (``verify``'s findings). The builders are pure (catalog +
snapshot in, frozen values out), so the CLI's ``--json`` and the Python API describe the same
facts, and the tests can check them without a database.
"""

from __future__ import annotations

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
from timescape.reports.operation import OperationResult
from timescape.reports.problem import (
    Problem,
    VerifyReport,
    drift_problems,
    inconsistency_problems,
)

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
