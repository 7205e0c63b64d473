"""The contract of a stateful step: what the engine adapter needs of `PlayerShard` and its kin.

A step is plain Python that the dataflow hosts once per key (`PlayerShard` per player
shard, `ModelStep` on the single models key, `PolicyShard` per player shard). The
engine hands it batches of items in arrival order and gets back what to emit; at the
end of a complete input it asks for what is left; at the end of every epoch it takes
a snapshot of the step's state as bytes, and on a restart it builds the step again
from those bytes. One Bytewax adapter serves every step (`pitboss.flows.step_logic`),
and one set of checks holds every step to this contract
(`pitboss.operators.step_checks`).

Restoring goes through one function per step, the module's `load_state(data)`
(`pitboss.operators.player_shard.load_state`, `pitboss.models.model_step.load_state`,
`pitboss.operators.policy_shard.load_state`): the one place that reads the step's
pickled state, so a compatibility loader has one door per step to stand at.

Example:
    >>> class Running:
    ...     def __init__(self, total: int = 0) -> None:
    ...         self.total = total
    ...     def process(self, items: list[object]) -> list[object]:
    ...         self.total += len(items)
    ...         return [self.total]
    ...     def finish(self) -> list[object]:
    ...         return []
    ...     def snapshot(self) -> bytes:
    ...         return str(self.total).encode()
    >>> build = resumable(lambda total: Running(total or 0), lambda data: int(data))
    >>> step = build(None)
    >>> step.process(["a", "b"])
    [2]
    >>> build(step.snapshot()).process(["c"])
    [3]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar, runtime_checkable

State = TypeVar("State")
S = TypeVar("S", bound="Step")


@runtime_checkable
class Step(Protocol):
    """An engine-agnostic stateful step, hosted once per key.

    Same items in, same items out: `process` and `finish` depend only on the state and
    the items (never the wall clock or the batching of the engine), and the state that
    `snapshot` returns is all the step remembers.
    """

    def process(self, items: list[object]) -> list[object]:
        """Handle a batch of items in arrival order; return what to emit, in order."""
        ...

    def finish(self) -> list[object]:
        """Return what is left to emit once the input is complete (a replay's end)."""
        ...

    def snapshot(self) -> bytes:
        """Return the step's state as bytes, for recovery; the step goes on unchanged."""
        ...


StepBuilder = Callable[[bytes | None], S]
"""Builds a step: a fresh one (None), or one resumed from a `snapshot()`."""


def resumable(
    start: Callable[[State | None], S], load_state: Callable[[bytes], State]
) -> Callable[[bytes | None], S]:
    """Return a `StepBuilder`: `start(None)` when fresh, else `start(load_state(data))`.

    Args:
        start: builds the step around a state, or a fresh state when given None.
        load_state: the step's one reader of its snapshot bytes.
    """

    def build(resume: bytes | None) -> S:
        return start(load_state(resume) if resume is not None else None)

    return build
