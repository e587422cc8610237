"""Static analysis of migration SQL: what each statement does to older code, and lint rules.

Pure: nothing here touches a database. Parsing uses sqlglot (the ``timescape[analysis]`` extra),
imported on first use, not when this package is imported; nothing else in Timescape imports this
package at import time.

Added in 0.2.
"""

from __future__ import annotations

from timescape.analysis._attach import attached_ignores as attached_ignores
from timescape.analysis.classifier import classify as classify
from timescape.analysis.classifier import classify_statement as classify_statement
from timescape.analysis.effect import Effect as Effect
from timescape.analysis.effect import Finding as Finding
from timescape.analysis.effect import worst_effect as worst_effect
from timescape.analysis.knowledge import Knowledge as Knowledge
from timescape.analysis.rules import RULES as RULES
from timescape.analysis.rules import Level as Level
from timescape.analysis.rules import LintIssue as LintIssue
from timescape.analysis.rules import Rule as Rule
from timescape.analysis.rules import lint as lint

__all__ = [
    "RULES",
    "Effect",
    "Finding",
    "Knowledge",
    "Level",
    "LintIssue",
    "Rule",
    "attached_ignores",
    "classify",
    "classify_statement",
    "lint",
    "worst_effect",
]
