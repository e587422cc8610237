"""``timescape._log``: loggers that import :mod:`logging` only once a record could go somewhere."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time

import pytest

from timescape._log import DEBUG, INFO, LazyLogger, configure_before_first_record

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


_DEFERRED = """
import sys
from timescape._log import DEBUG, LazyLogger, configure_before_first_record

def configure():
    import logging
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("configured: %(levelname)s: %(message)s"))
    logging.getLogger("timescape").addHandler(handler)
    print("configure ran")

configure_before_first_record(configure)
log = LazyLogger("timescape.executor")
log.debug("dropped %s", 1)
log.info("dropped %s", 2)
assert not log.isEnabledFor(DEBUG)
print("logging" in sys.modules)
log.warning("kept %s", 3)
log.warning("kept %s", 4)
"""


def test_configure_before_first_record__debug_and_info__neither_run_it_nor_import_logging() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _DEFERRED], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "False",
        "configure ran",  # once, before the first record that could be emitted
        "configured: WARNING: kept 3",
        "configured: WARNING: kept 4",
    ]
    assert proc.stderr == ""  # the handler it installed took the records, not the last resort


def test_configure_before_first_record__logger_already_looked_up__runs_before_its_next_check(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A logger that reached :mod:`logging` before (an earlier command in-process) still waits."""
    log = LazyLogger("timescape.test.deferred")
    with caplog.at_level(logging.INFO, logger="timescape.test.deferred"):
        log.info("first %s", 1)  # the real logger is looked up and kept
        calls: list[str] = []
        configure_before_first_record(lambda: calls.append("configured"))
        try:
            assert log.isEnabledFor(INFO)
            assert calls == ["configured"]
            log.info("second %s", 2)
            assert calls == ["configured"]  # once only
        finally:
            configure_before_first_record(None)
    assert [r.getMessage() for r in caplog.records] == ["first 1", "second 2"]


def test_configure_before_first_record__withdrawn__never_runs() -> None:
    calls: list[str] = []
    configure_before_first_record(lambda: calls.append("configured"))
    configure_before_first_record(None)
    LazyLogger("timescape.test.withdrawn").warning("shown by the last resort or caplog")
    assert calls == []


def test_configure_before_first_record__two_threads_log_at_once__runs_once_before_both() -> None:
    """A served dashboard logs from its threads: the handler is installed once, before either."""
    logger = logging.getLogger("timescape.test.threads")
    shown: list[str] = []
    calls: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            shown.append(record.getMessage())

    handler = Collect()

    def configure() -> None:
        calls.append(threading.current_thread().name)
        time.sleep(0.1)  # the other thread logs meanwhile: it must wait for the handler
        logger.addHandler(handler)

    log = LazyLogger("timescape.test.threads")
    both = threading.Barrier(2)

    def work() -> None:
        both.wait()
        log.warning("from %s", threading.current_thread().name)

    threads = [threading.Thread(target=work, name=f"worker-{i}") for i in range(2)]
    configure_before_first_record(configure)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=5)
    finally:
        configure_before_first_record(None)
        logger.removeHandler(handler)
    assert len(calls) == 1
    assert sorted(shown) == ["from worker-0", "from worker-1"]
