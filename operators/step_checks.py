"""One set of checks every `pitboss.operators.step.Step` passes, in the manner of `river.checks`.

A step is hosted by the engine, which may snapshot it at any epoch end and resume it
after a restart, on another worker. So every step must give the same outputs for the
same input, keep all it remembers in its snapshot, and not be disturbed by being
snapshotted. `check_step` runs every check on one step; each check is a function of
its own, to run (and fail) one at a time. The test suite runs them over the player
shards, the models step and the policy shards (`tests/operators/test_step.py`); a new
step should pass them too.

Outputs are compared item by item with `same_value`: equal, or holding the same
state once reduced for pickling, up to object identity and the order of a set (an
output holding models, or a NaN feature, is then the same output).

Example:
    >>> from pitboss.operators.step import resumable
    >>> class Running:
    ...     def __init__(self, total: int | None) -> None:
    ...         self.total = total or 0
    ...     def process(self, items: list[object]) -> list[object]:
    ...         self.total += len(items)
    ...         return [self.total]
    ...     def finish(self) -> list[object]:
    ...         return [("total", self.total)]
    ...     def snapshot(self) -> bytes:
    ...         return str(self.total).encode()
    >>> check_step(resumable(Running, int), [["a"], ["b", "c"], []], resume_after=1)
"""

from __future__ import annotations

import pickle
from array import array
from collections.abc import Callable, Sequence
from types import BuiltinFunctionType, FunctionType
from typing import Any

from pitboss.operators.step import Step

Batches = Sequence[Sequence[object]]
Build = Callable[[bytes | None], Step]


class StepCheckFailed(AssertionError):
    """A step broke its contract; the message names the check and the first difference."""


def run_step(step: Step, batches: Batches, finish: bool = True) -> list[object]:
    """Feed `batches` to `step` one by one (copies, as the engine hands them); return its outputs.

    Args:
        step: the step to run.
        batches: the input, batch by batch.
        finish: end with what `finish()` returns (a complete input).
    """
    out: list[object] = []
    for batch in _copied(batches):
        out += step.process(batch)
    if finish:
        out += step.finish()
    return out


def check_process_is_deterministic(build: Build, batches: Batches) -> None:
    """Check that two fresh steps given the same batches emit the same outputs."""
    _same("process is deterministic", run_step(build(None), batches),
          run_step(build(None), batches))


def check_state_round_trips(build: Build, batches: Batches) -> None:
    """Check the snapshot is bytes, and a step resumed from a resumed step's runs the same.

    Snapshots halfway through `batches`, resumes from it, snapshots the resumed step and
    resumes again: both resumed steps emit the same outputs on the rest of the input.
    """
    half = len(batches) // 2
    step = build(None)
    run_step(step, batches[:half], finish=False)
    data = step.snapshot()
    if not isinstance(data, bytes):
        raise StepCheckFailed(f"snapshot() returned {type(data).__name__}, not bytes")
    once = build(data)
    twice = build(once.snapshot())
    rest = batches[half:]
    _same("state round trips", run_step(once, rest), run_step(twice, rest))


def check_resume_equals_uninterrupted(build: Build, batches: Batches, resume_after: int) -> None:
    """Check that a snapshot after `resume_after` batches, resumed or not, changes no output.

    The step that was snapshotted goes on too, as the engine's does at every epoch
    end: a snapshot must leave it undisturbed.
    """
    uninterrupted = run_step(build(None), batches)
    step = build(None)
    before = run_step(step, batches[:resume_after], finish=False)
    data = step.snapshot()
    rest = batches[resume_after:]
    _same(f"snapshot after {resume_after} batches leaves the step undisturbed",
          uninterrupted, before + run_step(step, rest))
    _same(f"resume after {resume_after} batches equals uninterrupted",
          uninterrupted, before + run_step(build(data), rest))


def check_every_epoch_resumes(build: Build, batches: Batches) -> None:
    """Check that snapshots taken after every batch each resume to the uninterrupted outputs.

    The engine snapshots a running step at every epoch end; a step that writes only
    what changed since its last snapshot (`pitboss.operators.pickle_cache`) must miss
    no change made in between, by events or by timers.
    """
    uninterrupted = run_step(build(None), batches)
    step = build(None)
    before: list[object] = []
    for done, batch in enumerate(_copied(batches), start=1):
        before += step.process(batch)
        rest = batches[done:]
        _same(f"resume from the snapshot after batch {done} of {len(batches)} equals "
              "uninterrupted", uninterrupted, before + run_step(build(step.snapshot()), rest))


def check_step(build: Build, batches: Batches, resume_after: int) -> None:
    """Run every check on the step `build` makes, over `batches`.

    Args:
        build: a fresh step for None, else one resumed from its snapshot bytes
            (`pitboss.operators.step.resumable`).
        batches: an input that exercises the step, batch by batch.
        resume_after: how many batches to run before snapshotting and resuming.

    Raises:
        StepCheckFailed: the first check the step fails.
    """
    check_process_is_deterministic(build, batches)
    check_state_round_trips(build, batches)
    check_resume_equals_uninterrupted(build, batches, resume_after)
    check_every_epoch_resumes(build, batches)


def _copied(batches: Batches) -> list[list[object]]:
    """Return copies of the batches: a step may change what it is given, as a run may not see."""
    copied: list[list[object]] = pickle.loads(pickle.dumps([list(b) for b in batches]))
    return copied


def _same(check: str, expected: list[object], got: list[object]) -> None:
    for index, (want, have) in enumerate(zip(expected, got, strict=False)):
        if not _equal(want, have):
            raise StepCheckFailed(f"{check}: output {index} differs: {have!r} != {want!r}")
    if len(expected) != len(got):
        raise StepCheckFailed(f"{check}: {len(got)} outputs, not {len(expected)}")


def _equal(a: object, b: object) -> bool:
    """Tell `same_value`, trying first what is quick and usually settles it."""
    return a == b or pickle.dumps(a) == pickle.dumps(b) or same_value(a, b)


_PLAIN = (str, bytes, bytearray, int, bool, complex, type(None), type, array, range, set,
          frozenset, FunctionType, BuiltinFunctionType)


def same_value(a: Any, b: Any, seen: set[tuple[int, int]] | None = None) -> bool:
    """Tell whether `a` and `b` are equal, or hold the same state as pickling reduces it.

    Floats are the same when equal or both NaN; sets when equal (their order is the
    hash table's, which a round trip through pickle may change); any other object when
    equal or when its `__reduce_ex__` parts are the same, recursively. Pairs already
    being compared count as the same, so cycles end.

    Example:
        >>> same_value([1.0, float("nan"), {"a", "b"}], [1.0, float("nan"), {"b", "a"}])
        True
        >>> same_value((1, 2), (1, 3))
        False
    """
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or (a != a and b != b)
    if isinstance(a, _PLAIN):
        return bool(a == b)
    seen = set() if seen is None else seen
    if (id(a), id(b)) in seen:
        return True
    seen.add((id(a), id(b)))
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same_value(x, y, seen) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_value(v, b[k], seen) for k, v in a.items())
    try:
        if a == b:
            return True
    except (TypeError, ValueError):  # an `==` that is not a truth (arrays)
        pass
    return same_value(_reduced(a), _reduced(b), seen)


def _reduced(obj: object) -> tuple[object, ...]:
    """Return what pickling keeps of `obj`: its constructor's arguments, state and items."""
    parts = obj.__reduce_ex__(pickle.HIGHEST_PROTOCOL)
    if isinstance(parts, str):  # a global, pickled by name
        return (parts,)
    return tuple(list(part) if hasattr(part, "__next__") else part for part in parts)
