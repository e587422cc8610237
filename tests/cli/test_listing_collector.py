"""Listings pause the cyclic garbage collector while they run, and restore it afterwards."""

from __future__ import annotations

import gc

import pytest

from timescape.cli._gc import without_collector


def test_without_collector__while_running__collector_paused_then_enabled_again() -> None:
    seen: list[bool] = []

    @without_collector
    def command() -> str:
        seen.append(gc.isenabled())
        return "done"

    assert gc.isenabled()
    assert command() == "done"
    assert seen == [False]
    assert gc.isenabled()


def test_without_collector__command_raises__collector_enabled_again() -> None:
    @without_collector
    def command() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        command()
    assert gc.isenabled()


def test_without_collector__collector_was_off__stays_off() -> None:
    @without_collector
    def command() -> bool:
        return gc.isenabled()

    gc.disable()
    try:
        assert command() is False
        assert not gc.isenabled()
    finally:
        gc.enable()
