"""Pickling by constructor arguments for slotted dataclasses that are pickled often.

Bytewax pickles every item that goes from one worker process to another, and every
key's state at each epoch end (the policy shards' `PlayerPolicyState`: ~3.4 -> ~1.9 us
to pickle, ~2.3 -> ~1.3 us to load, 158 -> 122 bytes per player). By default a
slotted object pickles as a dict of its slots by name, collected and then set back one
attribute at a time: about 5 us to pickle an event and 8 us to load it, more than a
player shard spends on it. `PickledByFields` pickles an object as its class and its
constructor's arguments instead, so loading is one constructor call: about 2.5 and
4 us for an event in a list of the shard's events. The fields and their values are the
same either way, and pickles written the default way (recovery state from before)
still load.

Example:
    >>> import pickle
    >>> from pitboss.operators.outputs import ClockTick
    >>> pickle.loads(pickle.dumps(ClockTick(5, "s01")))
    ClockTick(ts_ms=5, shard='s01')
    >>> ClockTick(5, "s01").__reduce__()
    (<class 'pitboss.operators.outputs.ClockTick'>, (5, 's01'))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import cache
from operator import attrgetter
from typing import Any

_Read = Callable[[Any], tuple[Any, ...]]


def _reader(names: tuple[str, ...]) -> _Read:
    """Return a function reading the attributes `names` of an object, as a tuple."""
    if len(names) > 1:
        return attrgetter(*names)  # a tuple, read in C
    return lambda obj: tuple(getattr(obj, name) for name in names)


@cache
def _layout(cls: type) -> tuple[_Read, _Read | None, tuple[str, ...]]:
    """Return readers of `cls`'s positional arguments and keyword-only fields, and the latter."""
    fields = [f for f in dataclasses.fields(cls) if f.init]
    positional = tuple(f.name for f in fields if not f.kw_only)
    keyword = tuple(f.name for f in fields if f.kw_only)
    return _reader(positional), _reader(keyword) if keyword else None, keyword


def _with_keywords(
    cls: type, args: tuple[Any, ...], names: tuple[str, ...], values: tuple[Any, ...]
) -> Any:
    """Rebuild an object whose class has keyword-only fields `names` (set once it is built)."""
    obj = cls(*args)
    for name, value in zip(names, values, strict=True):
        setattr(obj, name, value)
    return obj


class PickledByFields:
    """Mixin for slotted dataclasses: pickle as the class and its constructor's arguments."""

    __slots__ = ()

    def __reduce__(self) -> tuple[Any, ...]:
        """Return how to rebuild this object: its class called with its field values."""
        cls: type = type(self)
        arguments, keywords, names = _layout(cls)
        if keywords is None:
            return cls, arguments(self)
        return _with_keywords, (cls, arguments(self), names, keywords(self))
