"""The dashboard in a real headless Chromium (Debian's chromium + chromium-driver, never a download).

A real ``timescape dashboard`` process serves a test database; Selenium drives the system
``/usr/bin/chromedriver``. The page must load, show the database's live data, pick up an activation
made by the CLI without being reloaded, filter the history, and log no console error.
"""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.cli.conftest import TSV1, TSV2, run_cli, write_project
from tests.dbutil import TestDB
from timescape import Timescape

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCREENSHOT_ENV = "TIMESCAPE_DASHBOARD_SCREENSHOT"


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[webdriver.Chrome]:
    for path in (CHROMIUM, CHROMEDRIVER):
        assert Path(path).exists(), f"{path} missing: apt-get install chromium chromium-driver"
    # Selenium Manager must never run (it would try to download a browser or driver): point it at
    # a path that does not exist, so any attempt fails this test instead of reaching the network.
    monkeypatch.setenv("SE_MANAGER_PATH", "/nonexistent/selenium-manager")
    monkeypatch.setenv("SE_OFFLINE", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1600",
        "--no-first-run",
        "--disable-extensions",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def dashboard(db: TestDB, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    project = write_project(tmp_path, db.url)
    assert run_cli("--project", str(project), "version", "activate", "v1").exit_code == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIMESCAPE_")}
    env["NO_COLOR"] = "1"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "timescape",
            "--project",
            str(project),
            "dashboard",
            "--port",
            "0",
            "--refresh",
            "0.3",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        url = _first_line(process, timeout=30).rsplit(" on ", 1)[1].split(" ", 1)[0]
        assert url.startswith("http://127.0.0.1:")
        yield url, project
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            assert process.wait(timeout=15) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(5)
            assert process.stdout is not None
            assert process.stderr is not None
            process.stdout.close()
            process.stderr.close()


def _first_line(process: subprocess.Popen[str], *, timeout: float) -> str:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            process.kill()
            raise AssertionError("the dashboard printed nothing within the timeout")
    line = process.stdout.readline()
    assert "dashboard on" in line, line + (process.stderr.read() if process.stderr else "")
    return line


def _wait(driver: webdriver.Chrome, css: str, timeout: float = 20) -> Any:
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, css) or False
    )


def _rows_if_only(driver: webdriver.Chrome, kind: str) -> Any:
    rows = driver.find_elements(By.CSS_SELECTOR, "#history-table tbody tr")
    return rows if rows and {r.get_attribute("data-kind") for r in rows} == {kind} else False


def test_dashboard_in_chromium__live_data_updates_after_cli_activation_without_reload(
    browser: webdriver.Chrome, dashboard: tuple[str, Path], db: TestDB, tmp_path: Path
) -> None:
    url, project = dashboard
    browser.get(url)
    assert browser.title == "Timescape dashboard"
    _wait(browser, f'tr[data-tsv="{TSV1}"][data-state="live"]')
    _wait(browser, f'tr[data-tsv="{TSV2}"][data-state="inactive"]')
    _wait(browser, '#graph g.schema[data-schema="s1"][data-status="applied"]')
    _wait(browser, '#graph g.schema[data-schema="s2"][data-status="pending"]')
    assert "No registered instances" in browser.find_element(By.ID, "instances").text
    assert "OK:" in browser.find_element(By.ID, "verify").text
    assert not browser.find_elements(By.CSS_SELECTOR, "form, button, [contenteditable]")
    loaded_at = browser.execute_script("return window.timescapeLoadedAt")

    activated = run_cli("--project", str(project), "version", "activate", "v2")
    assert activated.exit_code == 0, activated.output
    _wait(browser, f'tr[data-tsv="{TSV2}"][data-state="live"]')
    _wait(browser, '#graph g.schema[data-schema="s2"][data-status="applied"]')
    assert browser.execute_script("return window.timescapeLoadedAt") == loaded_at  # no reload

    # A serving instance registers and v2 gets traffic: both show up, still without a reload.
    serving = Timescape(db.url)
    instance = serving.register_instance(label="web-1")
    try:
        serving.heartbeat(instance, generation=serving.state_generation(), in_flight={TSV2: 3})
        for _ in range(5):
            serving.record_request(TSV2)
        serving.flush_usage()
        _wait(browser, f'#instances-table tr[data-instance="{instance}"][data-stale="false"]')
        hot = f'tr[data-tsv="{TSV2}"] .chip.hot'
        _wait(browser, hot)
        assert "web-1" in browser.find_element(By.ID, "instances-table").text
        assert browser.execute_script("return window.timescapeLoadedAt") == loaded_at
        _check_history_and_shoot(browser, tmp_path)
    finally:
        serving.unregister_instance(instance)
        serving.close()

    severe = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert severe == []


def _check_history_and_shoot(browser: webdriver.Chrome, tmp_path: Path) -> None:
    Select(browser.find_element(By.ID, "kind-filter")).select_by_value("schema_applied")
    rows = WebDriverWait(browser, 10, poll_frequency=0.1).until(
        lambda d: _rows_if_only(d, "schema_applied")
    )
    assert len(rows) == 2
    subjects = browser.find_element(By.ID, "history-table").text
    assert "s1" in subjects
    assert "s2" in subjects

    shot = tmp_path / "dashboard.png"
    Select(browser.find_element(By.ID, "kind-filter")).select_by_value("")
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get(SCREENSHOT_ENV):
        shutil.copyfile(shot, os.environ[SCREENSHOT_ENV])
