"""The end of a complete input: every shard's clock moved to the input's last event time.

Each input partition ticks only its own shards (`pitboss.operators.ingest`), so at the
end of a replay a shard's clock would stand at the last event of its own partition,
and a timer due between that and the input's last event (a session timeout in the
last half hour) would fire with one partition and not with four. `InputClock` is the
step, on one key, that keeps the latest accepted event time of the whole input (the
routers report it, `InputProgress`) and, once the input is complete, ticks every
shard to it: when the input ends, time stops at its last event, for every shard,
whatever the partition count. A live worker's input never completes: it ticks nothing.

Example:
    >>> clock = InputClock(shards=2)
    >>> clock.process([InputProgress(1_000), InputProgress(900)])
    []
    >>> [(tick.shard, tick.ts_ms) for tick in clock.finish()]
    [('s00', 1000), ('s01', 1000)]
    >>> load_state(clock.snapshot()).latest_ms
    1000
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass

from pitboss.operators.outputs import ClockTick
from pitboss.operators.pickling import PickledByFields
from pitboss.operators.player_state import NO_TIME
from pitboss.operators.sharding import shard_names

INPUT_CLOCK = "input_clock"
"""The key of the routers' progress reports and of the one `InputClock`."""


@dataclass(slots=True)
class InputProgress(PickledByFields):
    """The latest accepted event time a router has seen so far."""

    ts_ms: int


class InputClock:
    """Keep the input's latest accepted event time; tick every shard to it at the end.

    A `pitboss.operators.step.Step`; its state is `latest_ms`.

    Args:
        shards: the player shard count (`features.shards`).
        latest_ms: the latest time reported before (resuming).
    """

    def __init__(self, shards: int, latest_ms: int = NO_TIME) -> None:
        self.shards = shards
        self.latest_ms = latest_ms

    def process(self, items: list[object]) -> list[object]:
        """Take progress reports; emit nothing."""
        for item in items:
            if isinstance(item, InputProgress) and item.ts_ms > self.latest_ms:
                self.latest_ms = item.ts_ms
        return []

    def finish(self) -> list[object]:
        """Return a tick at the input's latest event time for every shard (none if no event)."""
        if self.latest_ms == NO_TIME:
            return []
        return [ClockTick(self.latest_ms, name) for name in shard_names(self.shards)]

    def snapshot(self) -> bytes:
        """Return the state: the shard count and the latest time, pickled."""
        return pickle.dumps((self.shards, self.latest_ms), protocol=pickle.HIGHEST_PROTOCOL)


def load_state(data: bytes) -> InputClock:
    """Return the clock `InputClock.snapshot` wrote: the one reader of its bytes."""
    shards, latest_ms = pickle.loads(data)
    return InputClock(int(shards), int(latest_ms))
