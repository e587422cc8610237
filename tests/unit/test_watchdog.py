"""The timeout watchdog: fires at the deadline, never cancels after it was disarmed (threads only)."""

from __future__ import annotations

import threading
import time

from timescape.store.base import Watchdog


def test_watchdog__deadline_passes__cancel_called_and_disarm_reports_fired():
    calls: list[float] = []
    dog = Watchdog(lambda: calls.append(time.monotonic()))
    deadline = time.monotonic() + 0.05
    dog.arm(deadline)
    while not calls and time.monotonic() < deadline + 2:
        time.sleep(0.005)
    assert calls
    assert calls[0] >= deadline
    assert dog.fired
    assert dog.disarm()
    dog.close()


def test_watchdog__disarmed_in_time__never_cancels_and_reports_not_fired():
    calls: list[float] = []
    dog = Watchdog(lambda: calls.append(time.monotonic()))
    dog.arm(time.monotonic() + 0.2)
    assert not dog.disarm()
    time.sleep(0.3)
    assert calls == []
    dog.close()


def test_watchdog__disarmed_while_a_cancel_is_in_flight__cancel_done_before_disarm_returns():
    # A cancel takes time (MySQL opens a second connection for KILL QUERY). If disarm returned
    # while it was still on its way, the KILL would land on whatever statement the executor runs
    # next: the state write recording the failure, or the next schema's first step.
    in_cancel = threading.Event()
    finished: list[float] = []

    def slow_cancel() -> None:
        in_cancel.set()
        time.sleep(0.2)
        finished.append(time.monotonic())

    dog = Watchdog(slow_cancel)
    dog.arm(time.monotonic() + 0.02)
    assert in_cancel.wait(2)
    assert dog.disarm()
    returned = time.monotonic()
    assert finished, "disarm returned while a cancel was still in flight"
    assert finished[0] <= returned
    time.sleep(0.15)
    assert len(finished) == 1  # and no re-cancel after disarm
    dog.close()


def test_watchdog__rearmed__fires_again_for_the_new_deadline():
    calls: list[float] = []
    dog = Watchdog(lambda: calls.append(time.monotonic()))
    for _ in range(2):
        dog.arm(time.monotonic() + 0.02)
        deadline = time.monotonic() + 2
        count = len(calls)
        while len(calls) == count and time.monotonic() < deadline:
            time.sleep(0.005)
        assert dog.disarm()
    assert len(calls) >= 2
    dog.close()
