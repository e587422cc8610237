"""``@record`` behaves as ``@dataclass(frozen=True, slots=True)`` (issue 14: cold start)."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from dataclasses import dataclass, field

import pytest

from timescape.model._record import _COMPILE_AFTER, maker, record
from timescape.model.plan import Plan, PlannedStep
from timescape.model.schema import SchemaVersion, Step


class Base:
    """Fields of every feature the shortcut covers."""

    a: int
    b: str = "x"
    c: tuple[int, ...] = field(default=(), repr=False)
    d: float = field(default=1.0, compare=False)
    e: int = field(default=3, hash=False)
    f: dict[str, int] = field(default_factory=dict, hash=False)
    g: list[int] = field(default_factory=list, init=False, repr=False, compare=False)
    h: int | None = field(default=None, init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "h", self.a * 2)


def _copy(name: str) -> type:
    """A fresh class with Base's body, named ``name`` and importable from this module."""
    body = {k: v for k, v in vars(Base).items() if k not in ("__dict__", "__weakref__")}
    body["__qualname__"] = name
    return type(name, (), body)


Mine = record(_copy("Mine"))
Stock = dataclass(frozen=True, slots=True)(_copy("Stock"))


def _make(kind: type, *args: object, **kwargs: object) -> object:
    return kind(*args, **kwargs)


@pytest.mark.parametrize("kind", [Mine, Stock])
def test_record__every_behaviour__same_as_the_stock_frozen_slots_dataclass(kind: type) -> None:
    one = _make(kind, 1, "y", (2,), 3.0)
    same = _make(kind, 1, "y", (2,), 9.0)  # d is not compared
    other = _make(kind, 2)
    assert repr(one) == f"{kind.__qualname__}(a=1, b='y', d=3.0, e=3, f={{}}, h=2)"
    assert one == same
    assert one != other
    assert one.__eq__(1) is NotImplemented
    assert hash(one) == hash(same)
    assert hash(one) == hash((1, "y", (2,)))  # e: hash=False, d and h: compare=False
    assert str(inspect.signature(kind)) == (
        "(a: 'int', b: 'str' = 'x', c: 'tuple[int, ...]' = (), d: 'float' = 1.0, e: 'int' = 3,"
        " f: 'dict[str, int]' = <factory>) -> None"
    )
    assert kind.__match_args__ == ("a", "b", "c", "d", "e", "f")
    assert kind.__slots__ == ("a", "b", "c", "d", "e", "f", "g", "h")
    assert not hasattr(one, "__dict__")
    assert [f.name for f in dataclasses.fields(kind)] == list("abcdefgh")
    assert dataclasses.replace(one, a=5) == _make(kind, 5, "y", (2,))
    assert dataclasses.asdict(one)["g"] == []
    assert one.f is not other.f  # a fresh factory value each time
    assert pickle.loads(pickle.dumps(one)) == one  # noqa: S301 - our own object
    assert copy.deepcopy(one) == one
    params = kind.__dataclass_params__
    assert (params.init, params.repr, params.eq, params.frozen) == (True, True, True, True)
    for attempt in (lambda: setattr(one, "a", 2), lambda: delattr(one, "a")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            attempt()
    assert kind.__init__.__qualname__ == f"{kind.__qualname__}.__init__"
    assert kind.__repr__.__qualname__ == f"{kind.__qualname__}.__repr__"


def test_record__keyword_only_field__falls_back_to_the_stock_decorator() -> None:
    @record
    class KeywordOnly:
        a: int = field(kw_only=True)

    assert str(inspect.signature(KeywordOnly)) == "(*, a: 'int') -> None"
    with pytest.raises(dataclasses.FrozenInstanceError):
        KeywordOnly(a=1).a = 2  # type: ignore[misc]


def test_record__recursive_value__repr_shows_dots() -> None:
    @record
    class Box:
        items: list[object]

    box = Box([])
    box.items.append(box)
    assert repr(box) == "test_record__recursive_value__repr_shows_dots.<locals>.Box(items=[...])"


def test_record__no_docstring__written_from_the_signature_as_the_stock_one() -> None:
    class Bare:
        a: int
        b: str = "x"

    class Plain:
        a: int
        b: str = "x"

    mine, stock = record(Bare), dataclass(frozen=True, slots=True)(Plain)
    assert mine.__doc__ == "Bare(a: 'int', b: 'str' = 'x')"
    assert stock.__doc__ == "Plain(a: 'int', b: 'str' = 'x')"


@pytest.mark.parametrize("kind", [Mine, Stock])
def test_maker__many_values__equal_to_the_constructors_and_frozen(kind: type) -> None:
    assert maker(kind, 1) is kind  # a few values: the class itself, nothing compiled
    make = maker(kind, 1000)
    assert make is not kind
    assert maker(kind) is make  # compiled once per class
    made = make(1, "y", (2,), 3.0, 4, {"k": 1})
    built = kind(1, "y", (2,), 3.0, 4, {"k": 1})
    assert type(made) is kind
    assert made == built
    assert repr(made) == repr(built)
    assert made.g == []  # type: ignore[attr-defined] # init=False default factory
    assert made.h == 2  # type: ignore[attr-defined] # set by __post_init__
    assert make(1, "y", (), 1.0, 3, {}).g is not made.g  # type: ignore[attr-defined]
    assert pickle.loads(pickle.dumps(made)) == made  # noqa: S301 - our own object
    assert dataclasses.replace(made, a=5) == kind(5, "y", (2,), 3.0, 4, {"k": 1})
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.a = 2  # type: ignore[attr-defined]
    assert not hasattr(made, "__dict__")


def test_record__first_values__made_without_compiling_then_compiled() -> None:
    first, second = record(_copy("First")), record(_copy("Second"))
    placeholder = first.__init__
    assert placeholder.__code__.co_filename != "<string>"  # not compiled at definition
    values = [first(n, f=dict.fromkeys("k", n)) for n in range(_COMPILE_AFTER)]
    assert first.__init__ is placeholder
    stock = [Stock(n, f=dict.fromkeys("k", n)) for n in range(_COMPILE_AFTER)]
    assert list(map(dataclasses.astuple, values)) == list(map(dataclasses.astuple, stock))
    assert [v.h for v in values] == [n * 2 for n in range(_COMPILE_AFTER)]  # __post_init__ ran
    later = first(7)
    compiled = first.__init__
    assert compiled.__code__.co_filename == "<string>"  # the stock decorator's kind of code
    assert "__signature__" not in first.__dict__
    placeholder(later, 4)  # a reference kept from before still works, and compiles nothing more
    assert later.a == 4
    assert first.__init__ is compiled
    # Asking for the signature compiles it too, and gives the stock decorator's.
    assert str(inspect.signature(second)) == str(inspect.signature(Stock))
    assert second.__init__.__code__.co_filename == "<string>"
    assert not hasattr(second(1), "__signature__")


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((), {}),
        ((1, "y", (), 1.0, 3, {}, 9), {}),
        ((1,), {"a": 2}),
        ((1,), {"z": 2}),
        ((), {"g": 1}),
    ],
)
def test_record__arguments_that_do_not_bind__same_type_error_as_the_stock_one(
    args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    mine = record(_copy("Stock"))
    with pytest.raises(TypeError) as stock_error:
        Stock(*args, **kwargs)
    with pytest.raises(TypeError) as mine_error:
        mine(*args, **kwargs)
    assert str(mine_error.value) == str(stock_error.value)


def test_record__subclass__frozen_fields_but_its_own_attributes_settable() -> None:
    # The shared frozen methods find the record class in the MRO, as the per-class ones named it.
    class Child(Mine):  # type: ignore[misc, valid-type]
        __slots__ = ("extra",)

    child = Child(1)
    child.extra = 5
    del child.extra
    for attempt in (lambda: setattr(child, "a", 2), lambda: delattr(child, "a")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            attempt()
    with pytest.raises(dataclasses.FrozenInstanceError):
        Mine(1).extra = 5  # type: ignore[attr-defined]
    assert child.__getstate__() == Mine(1).__getstate__()


def test_record__frozen_and_pickling_methods__one_set_shared_by_every_record() -> None:
    # Four closures a class were a fifth of what defining a record left in memory (issue 14).
    for name in ("__setattr__", "__delattr__", "__getstate__", "__setstate__"):
        assert len({getattr(kind, name) for kind in (Mine, Plan, PlannedStep, SchemaVersion, Step)}) == 1
