"""The curated public API: sorted, complete, and every name loaded on first access."""

from __future__ import annotations

import importlib

import pytest

import timescape
from timescape import errors


def test_all__sorted_and_every_name_resolves() -> None:
    assert timescape.__all__ == sorted(timescape.__all__)
    assert set(timescape.__all__) == {*timescape._LAZY, "__version__"}
    for name in timescape.__all__:
        value = getattr(timescape, name)
        if name != "__version__":
            source = importlib.import_module(timescape._LAZY[name])
            assert value is getattr(source, name), name


def test_getattr__unknown_name__attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = timescape.Nope


def test_dir__lists_names_not_yet_loaded() -> None:
    assert set(timescape.__all__) <= set(dir(timescape))


def test_errors__same_classes_as_errors_module() -> None:
    assert timescape.TimescapeError is errors.TimescapeError
    assert issubclass(timescape.DefinitionError, timescape.InputError)
