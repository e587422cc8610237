"""The fault points: inert without TIMESCAPE_TEST_FAULTS, exact with it (pure, no database)."""

from __future__ import annotations

import os
import signal

import pytest

from timescape import _faults
from timescape._faults import FaultInjectedError, fault_point


@pytest.fixture(autouse=True)
def killed(monkeypatch):
    """Make any kill visible instead of fatal, whatever a test configures."""
    killed: list[tuple[int, int]] = []
    monkeypatch.setattr(os, "kill", lambda pid, sig: killed.append((pid, sig)))
    return killed


def test_fault_point__variable_unset__does_nothing(monkeypatch, tmp_path, killed):
    monkeypatch.delenv("TIMESCAPE_TEST_FAULTS", raising=False)
    monkeypatch.setenv("TIMESCAPE_TEST_FAULT_DIR", str(tmp_path))
    for point in ("after_lock", "before_step:1", "after_step:1", "before_commit", "kill", "fail"):
        fault_point(point)
    assert killed == []
    assert list(tmp_path.iterdir()) == []


def test_fault_point__variable_empty__does_nothing(monkeypatch, killed):
    monkeypatch.setenv("TIMESCAPE_TEST_FAULTS", "")
    fault_point("after_step:1")
    assert killed == []


def test_fault_point__fail_entry__raises_only_at_that_point(monkeypatch):
    monkeypatch.setenv("TIMESCAPE_TEST_FAULTS", "fail:after_step:2")
    fault_point("after_step:1")
    fault_point("before_step:2")
    with pytest.raises(FaultInjectedError, match="after_step:2"):
        fault_point("after_step:2")


def test_fault_point__kill_entry__sigkills_own_process(monkeypatch, killed):
    monkeypatch.setenv("TIMESCAPE_TEST_FAULTS", "pause:x, kill:before_commit")
    fault_point("before_step:1")
    assert killed == []
    fault_point("before_commit")
    assert killed == [(os.getpid(), signal.SIGKILL)]


def test_fault_point__pause_entry__writes_ready_file_and_continues_on_go(monkeypatch, tmp_path):
    monkeypatch.setenv("TIMESCAPE_TEST_FAULTS", "pause:after_step:1")
    monkeypatch.setenv("TIMESCAPE_TEST_FAULT_DIR", str(tmp_path))
    (tmp_path / "after_step_1.go").write_text("")
    fault_point("after_step:1")
    assert (tmp_path / "after_step_1.ready").read_text() == str(os.getpid())


def test_fault_point__variable_changes__reparsed(monkeypatch):
    monkeypatch.setenv("TIMESCAPE_TEST_FAULTS", "fail:a")
    with pytest.raises(FaultInjectedError):
        fault_point("a")
    monkeypatch.setenv("TIMESCAPE_TEST_FAULTS", "fail:b")
    fault_point("a")
    assert _faults._faults() == {"b": "fail"}
