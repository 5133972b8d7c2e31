"""Settings sections are `@section` records: built without compiling methods (CLI start-up, issue 21), yet
they behave as `@dataclass(frozen=True)` makes a class behave. Each test holds a `@section` class and the
same class made by `@dataclass(frozen=True)` side by side."""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field

import pytest

from jobs import settings as settings_module
from jobs.settings import Settings, section


def _pair() -> tuple[type, type]:
    """The same three fields (required, default, default factory) as a section and as a frozen dataclass."""

    @section
    class Shared:
        """A section for the comparison."""

        name: str
        count: int = 3
        tags: tuple[str, ...] = field(default_factory=lambda: ("a",))

    @dataclass(frozen=True)
    class Generated:
        """The generated twin."""

        name: str
        count: int = 3
        tags: tuple[str, ...] = field(default_factory=lambda: ("a",))

    return Shared, Generated


def test_a_section_is_built_positionally_by_keyword_and_with_defaults_as_a_dataclass_is():
    shared, generated = _pair()
    for args, kwargs in [(("x",), {}), (("x", 5), {}), ((), {"name": "x", "tags": ("b",)}), (("x",), {"count": 1})]:
        made, twin = shared(*args, **kwargs), generated(*args, **kwargs)
        assert dataclasses.astuple(made) == dataclasses.astuple(twin)
        assert repr(made).replace("Shared", "X") == repr(twin).replace("Generated", "X")
        assert hash(made) == hash(twin)


@pytest.mark.parametrize("args, kwargs, message", [
    ((), {}, "missing 1 required positional argument: 'name'"),
    (("x", 1, ("a",), 4), {}, "positional arguments but . were given"),
    (("x",), {"name": "y"}, "got multiple values for argument 'name'"),
    (("x",), {"colour": "blue"}, "got an unexpected keyword argument 'colour'"),
])
def test_a_section_refuses_the_calls_a_dataclass_refuses(args, kwargs, message):
    shared, generated = _pair()
    for cls in (shared, generated):
        with pytest.raises(TypeError, match=message):
            cls(*args, **kwargs)


def test_a_section_is_frozen_equal_by_value_and_replaceable():
    shared, _ = _pair()
    made = shared("x")
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'name'"):
        made.name = "y"
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete field 'count'"):
        del made.count
    assert made == shared("x") and made != shared("y")
    assert made != _pair()[0]("x")   # another class with the same values is not equal, as for a dataclass
    assert dataclasses.replace(made, count=9) == shared("x", 9)
    assert dataclasses.asdict(made) == {"name": "x", "count": 3, "tags": ("a",)}


def test_every_settings_class_is_a_documented_section():
    """A section written with `@dataclass` would compile its methods again at every start; one without a
    docstring makes `dataclasses` read `object.__init__`'s signature with the tokenizer (~1 ms)."""
    seen: set[type] = set()

    def walk(cls: type) -> None:
        if cls in seen:
            return
        seen.add(cls)
        assert cls.__init__ is settings_module._init, f"{cls.__name__}: declare it with @section, not @dataclass"
        assert cls.__doc__ and not cls.__doc__.startswith(cls.__name__ + "("), f"{cls.__name__} needs a docstring"
        for hint in typing.get_type_hints(cls).values():
            for inner in (hint, *typing.get_args(hint)):
                if dataclasses.is_dataclass(inner):
                    walk(inner)

    walk(Settings)
    assert len(seen) >= 15


def test_a_section_that_needs_what_the_shared_init_does_not_do_is_refused_at_definition():
    with pytest.raises(TypeError, match="__post_init__"):
        @section
        class Checked:
            """A section that checks itself after construction."""

            limit: int = 1

            def __post_init__(self) -> None:
                raise ValueError("never reached by the shared __init__")

    with pytest.raises(TypeError, match="@dataclass"):
        @section
        class Derived:
            """A section with a derived field."""

            limit: int = 1
            double: int = dataclasses.field(init=False, default=2)
