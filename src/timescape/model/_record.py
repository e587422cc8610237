"""``@record``: a frozen slots dataclass that costs one ``compile`` to define instead of six.

Python 3.11's :func:`dataclasses.dataclass` compiles each method it writes (``__init__``,
``__repr__``, ``__eq__``, ``__hash__``, ``__setattr__``, ``__delattr__``) from source text
separately: about 0.6 ms a class, and ``timescape schema list`` defined 38 of them, a quarter of
its start-up (issue 14). ``@record`` is ``@dataclass(frozen=True, slots=True)`` with the same
fields, ``dataclasses.fields``/``replace``/``asdict``, ``__match_args__`` and pickling. Only
``__init__`` is compiled (it runs once per value, so it keeps the stock code and speed); the other
methods are closures over the field names, with the behaviour of the generated ones:

- ``__repr__``: ``Name(a=1, b='x')`` over the ``repr=True`` fields, ``...`` on recursion;
- ``__eq__``: same class and equal ``compare=True`` fields, else ``NotImplemented``;
- ``__hash__``: the hash of the tuple of the hashed fields (``hash=None`` means ``compare``);
- assigning or deleting a field raises :class:`dataclasses.FrozenInstanceError`.

A class using what this shortcut does not cover (keyword-only fields, ``InitVar``, a dataclass
base) gets the stock decorator. ``tests/unit/test_record.py`` holds both to the same behaviour.
"""

from __future__ import annotations

import dataclasses
import inspect
import operator
import reprlib
from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform

__all__ = ["maker", "record"]

_T = TypeVar("_T")
_SIMPLE_TYPES = frozenset({"ClassVar", "InitVar", "KW_ONLY"})


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, dataclasses.Field))
def record(cls: type[_T]) -> type[_T]:
    """Make ``cls`` a frozen dataclass with slots, as ``@dataclass(frozen=True, slots=True)``.

    Args:
        cls: The class body, annotated as for :func:`dataclasses.dataclass`.

    Returns:
        The dataclass (a new class: ``slots=True`` rebuilds it, as the stock decorator does).
    """
    if not _is_simple(cls):
        return dataclasses.dataclass(frozen=True, slots=True)(cls)
    # The stock decorator writes a missing docstring from the signature; without its __init__
    # that would be object's, parsed by inspect with tokenize (milliseconds): write it after.
    undocumented = not cls.__doc__
    if undocumented:
        cls.__doc__ = cls.__name__
    # Not frozen and no methods asked for: the stock decorator compiles nothing.
    made: Any = dataclasses.dataclass(init=False, repr=False, eq=False, slots=True)(cls)
    fields = dataclasses.fields(made)
    methods = (
        _first_init(made, fields),
        _repr(tuple(f.name for f in fields if f.repr)),
        *_comparisons(fields),
    )
    for method in methods:
        method.__qualname__ = f"{made.__qualname__}.{method.__name__}"
        setattr(made, method.__name__, method)
    for method in _FROZEN:
        setattr(made, method.__name__, method)
    # What the class is, for dataclasses' own checks (a frozen base, a frozen subclass).
    params = made.__dataclass_params__
    params.init = params.repr = params.eq = params.frozen = True
    if undocumented:
        made.__doc__ = made.__name__ + str(inspect.signature(made)).replace(" -> None", "")
    return made  # type: ignore[no-any-return]


def _comparisons(fields: tuple[dataclasses.Field[Any], ...]) -> list[Callable[..., Any]]:
    """``__eq__`` and ``__hash__`` over the compared and hashed fields, as closures.

    Not compiled: nothing on Timescape's paths compares or hashes these values in bulk (profiled
    over a 1,000-schema activation), and compiling them cost as much as ``__init__``.
    """
    compared = _values(tuple(f.name for f in fields if f.compare))
    hashed = _values(tuple(f.name for f in fields if (f.compare if f.hash is None else f.hash)))

    def __eq__(self: Any, other: object) -> bool:  # noqa: N807 - the method it becomes
        if other.__class__ is self.__class__:
            return bool(compared(self) == compared(other))
        return NotImplemented

    def __hash__(self: Any) -> int:  # noqa: N807
        return hash(hashed(self))

    return [__eq__, __hash__]


def _values(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """A function returning the tuple of those attributes (what the generated code compares)."""
    if len(names) > 1:
        return operator.attrgetter(*names)
    if names:
        one = operator.attrgetter(names[0])
        return lambda obj: (one(obj),)
    return lambda _obj: ()


def _record_class(cls: type, method: Callable[..., Any]) -> Any:
    """The record class (in ``cls``'s MRO) that ``method``, one of :data:`_FROZEN`, belongs to."""
    name = method.__name__
    return next(klass for klass in cls.__mro__ if klass.__dict__.get(name) is method)


def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


# The frozen ``__setattr__``/``__delattr__``, and pickling that gets past them: one set of
# functions shared by every record rather than closures over each class's names (they run only
# on a refused assignment and on pickling; four closures a class were a fifth of what defining
# a record left in memory, issue 14). Each finds its record class in the instance's MRO, where
# a subclass that is not a record reaches them, as the stock methods name theirs.
def __setattr__(self: Any, name: str, value: object) -> None:  # noqa: N807 - the method it becomes
    made = _record_class(type(self), __setattr__)
    if type(self) is made or name in _field_names(made):
        msg = f"cannot assign to field {name!r}"
        raise dataclasses.FrozenInstanceError(msg)
    super(made, self).__setattr__(name, value)


def __delattr__(self: Any, name: str) -> None:  # noqa: N807
    made = _record_class(type(self), __delattr__)
    if type(self) is made or name in _field_names(made):
        msg = f"cannot delete field {name!r}"
        raise dataclasses.FrozenInstanceError(msg)
    super(made, self).__delattr__(name)


def __getstate__(self: Any) -> list[Any]:  # noqa: N807 - pickling a frozen slots class
    return [getattr(self, name) for name in _field_names(type(self))]


def __setstate__(self: Any, state: list[Any]) -> None:  # noqa: N807
    for name, value in zip(_field_names(type(self)), state, strict=True):
        object.__setattr__(self, name, value)


_FROZEN = (__setattr__, __delattr__, __getstate__, __setstate__)


def _is_simple(cls: type) -> bool:
    """Whether :func:`record`'s shortcut covers ``cls`` exactly (else the stock decorator)."""
    if any(dataclasses.is_dataclass(base) for base in cls.__mro__[1:]):
        return False
    # Not inspect.get_annotations: importing inspect costs more than this module saves.
    annotations = cls.__dict__.get("__annotations__", {})  # noqa: RUF063
    for name, annotation in annotations.items():
        text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
        if any(kind in text for kind in _SIMPLE_TYPES):
            return False
        default = cls.__dict__.get(name)
        if isinstance(default, dataclasses.Field) and default.kw_only is True:
            return False
    return True


def _repr(names: tuple[str, ...]) -> Callable[[Any], str]:
    @reprlib.recursive_repr()
    def __repr__(self: Any) -> str:  # noqa: N807 - the method it becomes
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{self.__class__.__qualname__}({shown})"

    return __repr__


def _first_init(cls: type, fields: tuple[dataclasses.Field[Any], ...]) -> Callable[..., None]:
    """An ``__init__`` that sets the fields in a loop until the class has made a few values.

    Compiling ``__init__`` is most of what defining a record costs (0.1-0.2 ms in Python's
    parser), and a command uses few of the classes it imports, most of them for one or two values:
    ``schema list`` defined 34 records, made values of 16, and compiled them all (issue 14). This
    ``__init__`` does what the compiled one does, field by field, for the first
    :data:`_COMPILE_AFTER` values; then (or at once for a call it cannot bind, which the compiled
    one refuses with its own ``TypeError``, or when the signature is looked at:
    ``inspect.signature`` reads ``__signature__`` first) it puts the compiled ``__init__`` on the
    class, which from then on is what an eager compile would have made.
    """
    made: list[Callable[..., None]] = []
    names = tuple(f.name for f in fields if f.init)
    index = {name: at for at, name in enumerate(names)}
    required = tuple(
        at
        for at, f in enumerate(f for f in fields if f.init)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    )
    plan: tuple[tuple[str, bool, Any, Any], ...] = tuple(
        (f.name, f.init, f.default, f.default_factory) for f in fields
    )
    post_init = hasattr(cls, "__post_init__")
    calls = [0]

    def install() -> Callable[..., None]:
        if not made:  # a reference to this __init__ kept from before compiles only once
            init = _init(cls, fields)
            init.__qualname__ = f"{cls.__qualname__}.__init__"
            made.append(init)
            type.__setattr__(cls, "__init__", init)
            if isinstance(cls.__dict__.get("__signature__"), _CompileOnLook):
                type.__delattr__(cls, "__signature__")
        return made[0]

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N807 - the method it becomes
        calls[0] += 1
        given = _bind(args, kwargs, names, index) if not made else None
        if (
            given is None
            or calls[0] > _COMPILE_AFTER
            or any(given[at] is _UNSET for at in required)
        ):
            install()(self, *args, **kwargs)
            return
        _fill(self, given, plan)
        if post_init:
            self.__post_init__()

    type.__setattr__(cls, "__signature__", _CompileOnLook(install))
    return __init__


_COMPILE_AFTER = 32
"""Values a record makes with its first ``__init__`` before compiling its own."""
_UNSET: Any = object()


def _fill(self: Any, given: list[Any], plan: tuple[tuple[str, bool, Any, Any], ...]) -> None:
    """Set the fields as the compiled ``__init__`` does: in order, defaults and factories."""
    at = 0
    for name, init, default, factory in plan:
        if init:
            value = given[at]
            at += 1
            if value is _UNSET:
                value = default if default is not dataclasses.MISSING else factory()
        elif factory is not dataclasses.MISSING:
            value = factory()
        elif default is not dataclasses.MISSING:
            value = default
        else:
            continue  # as the compiled one: no default, no assignment
        object.__setattr__(self, name, value)


def _bind(
    args: tuple[Any, ...], kwargs: dict[str, Any], names: tuple[str, ...], index: dict[str, int]
) -> list[Any] | None:
    """The arguments of an ``__init__`` call, one per ``init`` field, or None if they do not bind.

    A field not given is :data:`_UNSET`. None for too many positional arguments, an unknown
    keyword or one given twice: the compiled ``__init__`` raises its own ``TypeError`` then.
    """
    if len(args) > len(names):
        return None
    given = [*args, *(_UNSET,) * (len(names) - len(args))]
    for key, value in kwargs.items():
        at = index.get(key)
        if at is None or given[at] is not _UNSET:
            return None
        given[at] = value
    return given


class _CompileOnLook:
    """A class's ``__signature__`` until its ``__init__`` is compiled: compiles it, reads as absent.

    :func:`inspect.signature` asks for ``__signature__`` before it looks at ``__init__``; on
    ``AttributeError`` it goes on to the real ``__init__`` this has just installed.
    """

    __slots__ = ("install",)

    def __init__(self, install: Callable[[], object]) -> None:
        self.install = install

    def __get__(self, instance: object, owner: type | None = None) -> object:
        self.install()
        raise AttributeError("__signature__")


def _init(cls: type, fields: tuple[dataclasses.Field[Any], ...]) -> Callable[..., None]:
    """``__init__`` as the stock decorator writes it (it runs once per value: code, not a loop)."""
    params, lines = [], []
    scope: dict[str, Any] = {"__object": object, "__factory": _FACTORY}
    for field in fields:
        name = field.name
        if field.default_factory is not dataclasses.MISSING:
            scope[f"__make_{name}"] = field.default_factory
            value = f"__make_{name}()"
            if field.init:
                params.append(f"{name}=__factory")
                value = f"{value} if {name} is __factory else {name}"
        elif field.default is not dataclasses.MISSING:
            scope[f"__default_{name}"] = field.default
            value = name if field.init else f"__default_{name}"
            if field.init:
                params.append(f"{name}=__default_{name}")
        elif field.init:
            params.append(name)
            value = name
        else:
            continue  # as the stock decorator: no default, no assignment
        lines.append(f"  __object.__setattr__(self, {name!r}, {value})\n")
    if hasattr(cls, "__post_init__"):
        lines.append("  self.__post_init__()\n")
    # Helpers in closure cells and object.__setattr__ looked up as a method, as the stock
    # decorator writes it: the interpreter calls that directly.
    body = "".join(lines) or "  pass\n"
    source = (
        f"def __make(*, {', '.join(scope)}):\n"
        f" def __init__(self, {', '.join(params)}):\n{body}"
        " return __init__\n"
    )
    namespace: dict[str, Any] = {}
    exec(source, namespace)  # noqa: S102 - what dataclasses does; the text is built from field names
    init: Callable[..., None] = namespace["__make"](**scope)
    init.__annotations__ = {f.name: f.type for f in fields if f.init} | {"return": None}
    return init


def maker(cls: type[_T], count: int = 1) -> Callable[..., _T]:
    """A constructor of ``cls`` (a frozen slots dataclass) for building thousands at once.

    It takes every ``init`` field positionally, in order, and makes the same value as ``cls``
    does (defaults of the other fields, ``__post_init__``), about four times faster: the stock
    ``__init__`` sets each field through ``object.__setattr__`` (a frozen class refuses
    ``self.name = value``), a wrapper call copying its arguments into a new tuple, some 1,600
    instructions a field. The maker fills an instance of an unfrozen twin class with the same
    slots by plain assignments, then makes it an instance of ``cls`` (an allowed ``__class__``
    assignment: same layout). Building 10,000 schemas from the project cache and 10,000 state
    rows spent a fifth of ``schema list`` in ``__init__`` (issue 14).

    Until callers have asked for 64 values of a class, this returns ``cls`` itself: compiling a
    maker costs as much as making a hundred values, which a small project never reaches.

    Args:
        cls: A class made by :func:`record` (or the stock frozen slots dataclass).
        count: How many values the caller is about to make with what this returns.

    Returns:
        The maker, or ``cls`` itself (same signature for positional arguments).
    """
    made = _MAKERS.get(cls)
    if made is not None:
        return made
    waited = _WAITING.get(cls, 0) + count
    if waited < _MAKER_AFTER:
        _WAITING[cls] = waited
        return cls
    made = _MAKERS[cls] = _maker(cls)
    return made


_MAKERS: dict[type, Callable[..., Any]] = {}
_WAITING: dict[type, int] = {}
_MAKER_AFTER = 64


def _maker(cls: type) -> Callable[..., Any]:
    slots = cls.__dict__.get("__slots__")
    if not isinstance(slots, tuple):
        return cls
    twin = type(cls.__name__, cls.__bases__, {"__slots__": slots})
    probe: Any = object.__new__(twin)
    try:  # the layouts must match for the switch: check once
        probe.__class__ = cls
    except TypeError:  # pragma: no cover - a base with its own layout
        return cls
    params, lines = [], ["  __obj = __new(__twin)\n"]
    scope: dict[str, Any] = {"__new": object.__new__, "__twin": twin, "__cls": cls}
    for field in dataclasses.fields(cls):
        name = field.name
        if field.init:
            params.append(name)
            value = name
        elif field.default_factory is not dataclasses.MISSING:
            scope[f"__make_{name}"] = field.default_factory
            value = f"__make_{name}()"
        elif field.default is not dataclasses.MISSING:
            scope[f"__default_{name}"] = field.default
            value = f"__default_{name}"
        else:
            continue
        lines.append(f"  __obj.{name} = {value}\n")
    lines.append("  __obj.__class__ = __cls\n")
    if hasattr(cls, "__post_init__"):
        lines.append("  __obj.__post_init__()\n")
    lines.append("  return __obj\n")
    source = (
        f"def __scope(*, {', '.join(scope)}):\n"
        f" def make({', '.join(params)}):\n{''.join(lines)}"
        " return make\n"
    )
    namespace: dict[str, Any] = {}
    exec(source, namespace)  # noqa: S102 - as _init; the text is built from field names
    made: Callable[..., Any] = namespace["__scope"](**scope)
    made.__qualname__ = f"{cls.__qualname__}.<maker>"
    return made


class _Factory:
    """The default shown for a field with a ``default_factory`` (as the stock ``<factory>``)."""

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()
