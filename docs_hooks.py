"""MkDocs hooks: what the site needs that the Markdown files, read on their own, do not.

- The benchmark plots of ``bench/results/`` are published under ``assets/bench/``.
- A link from a page to a file of the repository outside ``docs/`` (``../docs_src/x.py``) works
  when the Markdown is read in the repository, but has no page in the site: it is shown as its
  text instead of a broken link.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "bench" / "results"
_OUTSIDE_LINK = re.compile(r"\[([^\]]+)\]\((\.\./[^)#\s]+)\)")


def on_files(files: Files, config: Any) -> Files:
    """Add every ``bench/results/*.png`` to the site as ``assets/bench/<name>``."""
    for plot in sorted(RESULTS.glob("*.png")):
        files.append(File.generated(config, f"assets/bench/{plot.name}", abs_src_path=str(plot)))
    return files


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    """Replace links that leave ``docs/`` for a repository file by their text."""
    page_dir = (ROOT / "docs" / page.file.src_uri).parent
    docs = (ROOT / "docs").resolve()

    def unlink(match: re.Match[str]) -> str:
        target = (page_dir / match.group(2)).resolve()
        if target.is_relative_to(docs) or not target.exists():
            return match.group(0)  # a page of the site, or a broken link strict mode reports
        return match.group(1)

    return _OUTSIDE_LINK.sub(unlink, markdown)
