"""The documentation site builds with ``mkdocs build --strict``, offline, and holds what it promises.

Strict mode turns every warning into a failure: a broken link between pages, a missing snippet
file, a docstring the API reference cannot parse. Network access is blocked through the proxy
variables, so the build needs nothing from outside the machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_docs_site__strict_offline_build__pages_reference_and_plots(tmp_path: Path) -> None:
    site = tmp_path / "site"
    blocked = "http://127.0.0.1:9"  # the discard port: any request through it fails at once
    env = {
        **os.environ,
        "NO_MKDOCS_2_WARNING": "1",
        "HTTP_PROXY": blocked,
        "HTTPS_PROXY": blocked,
        "http_proxy": blocked,
        "https_proxy": blocked,
        "NO_PROXY": "",
    }
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for page in ("index", "cli", "concepts", "project-file", "compatibility", "reliability", "instances",
                 "python-api", "web/index", "web/fastapi", "web/django", "web/wsgi", "examples",
                 "benchmarks", "reference/facade", "reference/types", "reference/web",
                 "reference/errors"):
        assert (site / f"{page}.html").is_file(), page
    reference = (site / "reference" / "types.html").read_text()
    assert "load_project" in reference
    assert "OperationResult" in reference
    assert "Versioning.install" in (site / "reference" / "web.html").read_text()
    guide = (site / "python-api.html").read_text()
    assert "active_schemas" in guide  # the snippet from docs_src/python_api.py was included
    plots = {p.name for p in (site / "assets" / "bench").glob("*.png")}
    assert {p.name for p in (ROOT / "bench" / "results").glob("*.png")} <= plots
    assert '"format": 1' in (site / "cli.html").read_text().replace("&quot;", '"')
