"""Deterministic event-time merge of the outputs of all player shards.

A global model must see scoring points and labels in the same order whether the
shards run on one worker or many. Each shard stamps what it sends with its
event-time clock and a sequence number, and reports progress after every batch;
`OrderedMerge` releases an item only once no shard can still send anything that
sorts before it, by the key (clock, shard, sequence). The result is a single
order that depends only on the input, never on thread or network timing.

Example:
    >>> merge = OrderedMerge(["s0", "s1"])
    >>> merge.push(Stamped("s1", 5, 1, "b"))
    >>> merge.ready()          # s0 has reported nothing: it may still send at clock < 5
    []
    >>> merge.push(Stamped("s0", 7, 1, "c"))
    >>> merge.ready()          # s0 is past 5; s1 may still send at clock 5..7, so "c" waits
    [(5, 'b')]
    >>> merge.slowest()        # every item stamped earlier has been released
    5
    >>> merge.done("s1")
    >>> merge.ready()
    [(7, 'c')]
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass

from pitboss.operators.pickling import PickledByFields
from pitboss.operators.player_state import NO_TIME

DONE = 2**63 - 1


@dataclass(slots=True)
class Stamped(PickledByFields):
    """An item a shard sends to the merge, with its place in the shard's order."""

    shard: str
    clock_ms: int
    seq: int
    item: object


@dataclass(slots=True)
class ShardProgress(PickledByFields):
    """A shard's clock after a batch: it will send nothing stamped earlier."""

    shard: str
    clock_ms: int


class OrderedMerge:
    """Merge per-shard streams into one order by (clock, shard, sequence).

    Args:
        shards: every shard that may send items (all must report before items pass).
    """

    def __init__(self, shards: Iterable[str]) -> None:
        self._clock: dict[str, int] = {name: NO_TIME for name in shards}
        self._heap: list[tuple[int, str, int, object]] = []

    def push(self, stamped: Stamped) -> None:
        """Accept an item; a shard's items must arrive in its own order."""
        heapq.heappush(
            self._heap, (stamped.clock_ms, stamped.shard, stamped.seq, stamped.item)
        )
        self.progress(stamped.shard, stamped.clock_ms)

    def progress(self, shard: str, clock_ms: int) -> None:
        """Record that `shard` has reached `clock_ms`."""
        if clock_ms > self._clock.get(shard, NO_TIME):
            self._clock[shard] = clock_ms

    def done(self, shard: str) -> None:
        """Record that `shard` will send nothing more."""
        self._clock[shard] = DONE

    def ready(self) -> list[tuple[int, object]]:
        """Return, in merge order, every item no shard can still precede, with its clock.

        An item of `shard` stamped `clock` is safe once no other shard's
        `(reached, name)` sorts before `(clock, shard)`. Its own shard's never
        does (pushing an item moves its shard's clock to the item's), so that is
        the case once the slowest shard's does not; and the clocks do not move
        while items are released, so the slowest shard is found once per call.
        """
        out: list[tuple[int, object]] = []
        heap = self._heap
        if not heap:
            return out
        slowest = min((reached, name) for name, reached in self._clock.items())
        while heap:
            clock, shard, _, item = heap[0]
            if slowest < (clock, shard):
                break
            heapq.heappop(heap)
            out.append((clock, item))
        return out

    def slowest(self) -> int:
        """Return the slowest shard's clock: every item stamped before it has been released."""
        return min(self._clock.values(), default=DONE)

    def drain(self) -> list[tuple[int, object]]:
        """Return everything left, in merge order, with its clock (the input has ended)."""
        heap = self._heap
        out = []
        for _ in range(len(heap)):
            clock, _shard, _seq, item = heapq.heappop(heap)
            out.append((clock, item))
        return out

    def pending(self) -> int:
        """Return how many items wait for slower shards."""
        return len(self._heap)
