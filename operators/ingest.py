"""From raw messages to keyed work for the player shards: validate, route, tick the clock.

`IngestRouter.route` takes a batch of raw messages `(source, position, value)`,
validates each one, and returns `(shard_key, item)` pairs: the event for the
shard that owns its player, a dead letter (sent along on the shard of its player,
or the first shard when there is none), and `ClockTick`s so that shards whose
players are quiet still learn how far event time has moved. Ticks are emitted
from the data alone (never batch boundaries or the wall clock), so the same input
produces the same ticks at the same places.

Example:
    >>> from config.settings import load_settings
    >>> from operators.contract import EventParser
    >>> settings = load_settings()
    >>> router = IngestRouter(EventParser(settings.contract, lambda: 2**62), shards=2,
    ...                       tick_ms=60_000)
    >>> out = router.route([("log", 0, b'{"not": "an event"}')])
    >>> [(key, type(item).__name__) for key, item in out]
    [('s00', 'IngestCount'), ('s00', 'DeadLetter')]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from operators.events import DeadLetter, Event
from operators.outputs import ClockTick, IngestCount
from operators.player_state import NO_TIME
from operators.sharding import shard_index, shard_names

RawMessage = tuple[str, int, bytes]


class Parser(Protocol):
    """What the router needs of the contract parser."""

    def parse(self, raw: bytes, source: str, position: int) -> Event | DeadLetter:
        """Return a validated event or a dead letter."""
        ...


class _SourceClock:
    """Event-time progress of one input source, and what each shard has been told."""

    __slots__ = ("last_sent", "max_ts", "next_check")

    def __init__(self, shards: int) -> None:
        self.max_ts = NO_TIME
        self.last_sent = [NO_TIME] * shards
        self.next_check = NO_TIME


class IngestRouter:
    """Validate raw messages and key them by player shard, adding clock ticks.

    Args:
        parser: the event contract parser.
        shards: the fixed number of player shards.
        tick_ms: a shard that has heard nothing for this much event time gets a tick.
    """

    def __init__(self, parser: Parser, shards: int, tick_ms: int) -> None:
        self.parser = parser
        self.shards = shards
        self.tick_ms = tick_ms
        self.names = shard_names(shards)
        self._clocks: dict[str, _SourceClock] = {}

    def route(self, batch: Iterable[RawMessage]) -> list[tuple[str, object]]:
        """Return the keyed items for a batch of raw messages, in input order."""
        out: list[tuple[str, object]] = []
        counts: dict[str, IngestCount] = {}
        parse, names, shards, tick = self.parser.parse, self.names, self.shards, self._tick
        for source, position, raw in batch:
            count = counts.get(source)
            if count is None:
                count = counts[source] = IngestCount(source, 0)
                out.append((names[0], count))
            count.messages += 1
            item = parse(raw, source, position)
            if isinstance(item, DeadLetter):
                pid = item.player_id
                out.append((names[shard_index(pid, shards)] if pid else names[0], item))
                continue
            item.source = source
            item.position = position
            item.raw = raw
            index = shard_index(item.player_id, shards)
            out.append((names[index], item))
            tick(source, index, item.ts_ms, out)
        return out

    def _tick(self, source: str, index: int, ts: int, out: list[tuple[str, object]]) -> None:
        clock = self._clocks.get(source)
        if clock is None:
            clock = self._clocks[source] = _SourceClock(self.shards)
        last = clock.last_sent
        if ts > last[index]:
            last[index] = ts
        if ts > clock.max_ts:
            clock.max_ts = ts
        if clock.max_ts < clock.next_check:
            return
        horizon = clock.max_ts - self.tick_ms
        for shard, sent in enumerate(last):
            if sent <= horizon:
                name = self.names[shard]
                out.append((name, ClockTick(clock.max_ts, name)))
                last[shard] = clock.max_ts
        clock.next_check = min(last) + self.tick_ms
