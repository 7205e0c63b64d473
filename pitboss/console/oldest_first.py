"""A map that forgets its oldest entries first, by a time each entry carries.

The console's live feed keeps what it reads within limits (`pitboss.console.feed`):
each case and player carries the newest event time it was touched, and the oldest go
first, when there are too many or when they fall behind an age horizon.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

V = TypeVar("V")


class OldestFirst(Generic[V]):
    """A map whose entries carry a time; `forget` drops the oldest first.

    A heap of (time, key) finds the oldest; an entry touched again leaves a stale heap
    item behind, skipped when popped (and cleared when the heap grows too large).

    Example:
        >>> kept = OldestFirst[str]()
        >>> kept.put("a", "first", 10); kept.put("b", "second", 5); kept.touch("b", 20)
        >>> kept.forget(limit=1, horizon=0), list(kept)
        (1, ['b'])

    """

    def __init__(self) -> None:
        self._values: dict[str, V] = {}
        self._times: dict[str, int] = {}
        self._heap: list[tuple[int, str]] = []

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __getitem__(self, key: str) -> V:
        return self._values[key]

    def get(self, key: str) -> V | None:
        """Return the entry of `key`, or None."""
        return self._values.get(key)

    def values(self) -> Iterable[V]:
        """Return the entries."""
        return self._values.values()

    def time_of(self, key: str) -> int:
        """Return the newest time `key` was touched."""
        return self._times[key]

    def put(self, key: str, value: V, at_ms: int) -> None:
        """Add an entry touched at `at_ms`."""
        self._values[key] = value
        self._times[key] = at_ms
        heapq.heappush(self._heap, (at_ms, key))

    def touch(self, key: str, at_ms: int) -> None:
        """Mark `key` touched at `at_ms` (its time only ever moves forward)."""
        if at_ms > self._times[key]:
            self._times[key] = at_ms
            heapq.heappush(self._heap, (at_ms, key))
            if len(self._heap) > 2 * len(self._times) + 64:
                self._heap = [(t, k) for k, t in self._times.items()]
                heapq.heapify(self._heap)

    def forget(self, limit: int, horizon: int) -> int:
        """Drop the oldest entries while more than `limit` or older than `horizon`."""
        forgotten = 0
        heap = self._heap
        while heap and (len(self._values) > limit or heap[0][0] < horizon):
            at_ms, key = heapq.heappop(heap)
            if self._times.get(key) == at_ms:
                del self._values[key], self._times[key]
                forgotten += 1
        return forgotten
