"""Every example in docs_src/ runs to completion: the docs show code that works."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

DOCS_SRC = Path(__file__).resolve().parent.parent / "docs_src"
EXAMPLES = sorted(DOCS_SRC.glob("*.py"))


def test_docs_src__examples__exist() -> None:
    assert EXAMPLES, f"no examples found in {DOCS_SRC}"


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_docs_src__example_run__exits_zero(example: Path, tmp_path: Path) -> None:
    # Run from an empty folder, with warnings as errors like the rest of the suite, so an example
    # that writes beside itself or warns fails here rather than in a reader's hands.
    result = subprocess.run(
        [sys.executable, "-W", "error", str(example)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"{example.name} failed:\n{result.stdout}\n{result.stderr}"
    assert result.stdout.strip(), f"{example.name} printed nothing"
    assert list(tmp_path.iterdir()) == [], f"{example.name} left files in the working folder"
