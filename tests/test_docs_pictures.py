"""Every picture the docs link exists (benchmark plots: in bench/results/, published by docs_hooks.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
_IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")


def _pages() -> list[Path]:
    return [*sorted(DOCS.glob("*.md")), ROOT / "README.md"]


@pytest.mark.parametrize("page", _pages(), ids=lambda p: p.name)
def test_docs_pictures__every_linked_image__exists(page: Path) -> None:
    for target in _IMAGE.findall(page.read_text(encoding="utf-8")):
        if target.startswith(("http://", "https://")):
            continue
        if target.startswith("assets/bench/"):  # published from bench/results by docs_hooks.py
            path = ROOT / "bench" / "results" / target.removeprefix("assets/bench/")
        else:
            path = (page.parent / target).resolve()
        assert path.is_file(), f"{page.name} links {target}, which does not exist"
        assert path.stat().st_size > 0


def test_docs_pictures__dashboard_screenshot__is_a_png() -> None:
    shot = DOCS / "img" / "dashboard.png"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
