"""``timescape._log``: loggers that import :mod:`logging` only once a record could go somewhere."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from timescape._log import DEBUG, INFO, LazyLogger

_UNCONFIGURED = """
import sys
from timescape._log import DEBUG, LazyLogger
log = LazyLogger("timescape")
assert not log.isEnabledFor(DEBUG)
log.debug("dropped %s", 1)
log.info("dropped %s", 2)
print("logging" in sys.modules)
log.warning("kept %s", 3)
print("logging" in sys.modules)
"""


def test_lazy_logger__logging_never_set_up__drops_info_without_import_and_prints_warnings() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _UNCONFIGURED], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "True"]
    # logging's last-resort handler, as a real logger without configuration.
    assert proc.stderr == "kept 3\n"


def _emit(log: LazyLogger) -> None:
    log.info("info %s", "a")
    try:
        _ = 1 / 0
    except ZeroDivisionError:
        log.exception("failed %s", "b")


def test_lazy_logger__logging_set_up__records_name_the_caller(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = LazyLogger("timescape.test")
    with caplog.at_level(logging.INFO, logger="timescape.test"):
        _emit(log)
    assert [(r.levelno, r.getMessage(), r.funcName) for r in caplog.records] == [
        (INFO, "info a", "_emit"),
        (logging.ERROR, "failed b", "_emit"),
    ]
    assert caplog.records[1].exc_info is not None
    assert caplog.records[0].filename == "test_log.py"


def test_lazy_logger__level_set_on_the_real_logger__is_what_it_answers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = LazyLogger("timescape.test.level")
    with caplog.at_level(logging.DEBUG, logger="timescape.test.level"):
        assert log.isEnabledFor(DEBUG)
    with caplog.at_level(logging.WARNING, logger="timescape.test.level"):
        assert not log.isEnabledFor(INFO)
