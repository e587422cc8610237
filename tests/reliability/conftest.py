"""Reliability suite fixtures: every driver process started by a test is killed when it ends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability.faults import reap_all


@pytest.fixture(autouse=True)
def _reap_driver_processes() -> Iterator[None]:
    yield
    reap_all()
