"""MkDocs hooks: publish the benchmark plots of bench/results/ under assets/bench/ in the site.

The plots stay where the benchmarks write them; the docs refer to ``assets/bench/NAME.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

RESULTS = Path(__file__).resolve().parent / "bench" / "results"


def on_files(files: Files, config: Any) -> Files:
    """Add every ``bench/results/*.png`` to the site as ``assets/bench/<name>``."""
    for plot in sorted(RESULTS.glob("*.png")):
        files.append(
            File.generated(config, f"assets/bench/{plot.name}", abs_src_path=str(plot))
        )
    return files
