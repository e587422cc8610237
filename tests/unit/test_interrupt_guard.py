"""The Ctrl-C guard installs itself only where it may, and always puts things back (issue 11).

Pure process-level checks (no database): the real Ctrl-C behaviour is tested with SIGINT to a
real ``timescape`` process in ``tests/reliability/test_t43_t44_status_and_ctrl_c.py``.
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

from timescape.engine.interrupt import InterruptGuard


class _Backend:
    def __init__(self) -> None:
        self.cancels = threading.Event()

    def interrupt_statement(self) -> None:
        self.cancels.set()


def test_guard__sigint_in_main_thread__requested_and_backend_cancelled_then_restored() -> None:
    backend: Any = _Backend()
    before = signal.getsignal(signal.SIGINT)
    with InterruptGuard(backend) as guard:
        os.kill(os.getpid(), signal.SIGINT)
        assert backend.cancels.wait(5)
        assert guard.requested
    assert signal.getsignal(signal.SIGINT) is before
    assert signal.set_wakeup_fd(-1) == -1  # the wake-up fd was put back


def test_guard__other_thread__installs_nothing() -> None:
    seen: list[object] = []

    def work() -> None:
        with InterruptGuard(_Backend()) as guard:  # type: ignore[arg-type]
            seen.append(guard.requested)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen == [False]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_guard__application_handler__left_alone() -> None:
    def mine(signum: int, frame: object) -> None:
        del signum, frame

    previous = signal.signal(signal.SIGINT, mine)
    try:
        with InterruptGuard(_Backend()):  # type: ignore[arg-type]
            assert signal.getsignal(signal.SIGINT) is mine
    finally:
        signal.signal(signal.SIGINT, previous)
