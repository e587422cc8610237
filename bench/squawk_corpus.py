"""Lint hazards caught by Timescape and by squawk on the labelled PostgreSQL corpus (issue 16).

``python -m bench.squawk_corpus`` writes each PostgreSQL statement of
``tests/unit/analysis_corpus.py`` that carries lint labels (``rules=``) to its own file, preceded by
the statements it runs against, runs squawk on it, and counts per tool the hazards caught and
missed and the false alarms (``Case.is_hazard`` is the human verdict). Squawk's rules that fire on
almost every statement whatever it does (``require-lock-timeout``, ``require-statement-timeout``,
``prefer-robust-stmts``) and its ``syntax-error`` are left out, so a hit means a rule about that
statement. Squawk runs with its defaults (it does not assume a transaction). The labels were
written with Timescape's rules: read the comparison with that bias in mind.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.check import squawk_binary

ROOT = Path(__file__).resolve().parent.parent
GENERIC = frozenset(
    {"require-lock-timeout", "require-statement-timeout", "prefer-robust-stmts", "syntax-error"}
)


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from tests.unit.analysis_corpus import CORPUS

    from timescape.analysis import RULES, lint

    squawk = squawk_binary()
    if squawk is None:
        print("squawk is not installed (pip install squawk-cli)")
        return 1
    cases = [c for c in CORPUS if c.dialect == "postgresql" and c.rules is not None]
    counts = {tool: {"caught": 0, "missed": 0, "false": 0} for tool in ("timescape", "squawk")}
    with tempfile.TemporaryDirectory() as folder:
        for i, case in enumerate(cases):
            path = Path(folder) / f"{i:03d}.sql"
            path.write_text("".join(f"{s};\n" for s in (*case.applied, case.sql)))
            out = subprocess.run([squawk, "--reporter", "json", str(path)], capture_output=True,
                                 text=True, check=False).stdout
            squawk_rules = {v.get("rule_name") for v in json.loads(out or "[]")} - GENERIC
            ours = {i.rule for i in lint([case.sql], "postgresql", applied=case.applied)
                    if not RULES[i.rule].optional}
            for tool, fired in (("timescape", ours), ("squawk", squawk_rules)):
                if case.is_hazard:
                    counts[tool]["caught" if fired else "missed"] += 1
                elif fired:
                    counts[tool]["false"] += 1
    hazards = sum(1 for c in cases if c.is_hazard)
    print(f"{len(cases)} labelled PostgreSQL statements, {hazards} hazards")
    print("tool        caught  missed  false alarms")
    for tool, c in counts.items():
        print(f"{tool:<11} {c['caught']:>6} {c['missed']:>7} {c['false']:>13}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
