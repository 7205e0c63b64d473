"""From raw messages to keyed work for the player shards: validate, route, tick the clock.

`IngestRouter.route` takes a batch of raw messages `(source, position, value)`,
validates each one, and returns `(key, item)` pairs: the event for the shard that
owns its player, `ClockTick`s so that shards whose players are quiet still learn how
far event time has moved, and, under the key `RECORDS`, what goes straight to the
outputs: each source's `IngestCount` and every dead letter of the parser. Those
records branch off here (`is_shard_work`) and never reach a shard. Ticks are emitted
from the data alone (never batch boundaries or the wall clock), so the same input
produces the same ticks at the same places.

Example:
    >>> from pitboss.config.settings import load_settings
    >>> from pitboss.operators.contract import EventParser
    >>> settings = load_settings()
    >>> router = IngestRouter(EventParser(settings.contract, lambda: 2**62), shards=2,
    ...                       tick_ms=60_000)
    >>> out = router.route([("log", 0, b'{"not": "an event"}')])
    >>> [(key, type(item).__name__) for key, item in out]
    [('ingest_records', 'IngestCount'), ('ingest_records', 'DeadLetter')]
    >>> [(key, type(item).__name__) for key, item in router.route_by_shard([("log", 1, b"[]")])]
    [('ingest_records', 'IngestCount'), ('ingest_records', 'DeadLetter')]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from pitboss.operators.events import DeadLetter, Event
from pitboss.operators.input_clock import INPUT_CLOCK, InputProgress
from pitboss.operators.outputs import ClockTick, IngestCount
from pitboss.operators.partitioning import (
    check_partitions,
    shard_partitions,
    shards_of_partition,
)
from pitboss.operators.player_state import NO_TIME
from pitboss.operators.sharding import shard_index, shard_names

RawMessage = tuple[str, int, bytes]

RECORDS = "ingest_records"
"""The key of the records validation hands straight to the outputs (counts, dead letters)."""


def is_shard_work(item: tuple[str, object]) -> bool:
    """Tell work for the player shards from records and progress reports (`route_by_shard`)."""
    return item[0] != RECORDS and item[0] != INPUT_CLOCK


def is_progress(item: tuple[str, object]) -> bool:
    """Tell the routers' progress reports (for `InputClock`) from records for the outputs."""
    return item[0] == INPUT_CLOCK


class Parser(Protocol):
    """What the router needs of the contract parser."""

    def parse(self, raw: bytes, source: str, position: int) -> Event | DeadLetter:
        """Return a validated event or a dead letter."""
        ...


class _InputClock:
    """Event-time progress of one input partition, and what each of its shards was told.

    After ticks are sent, `next_check` is above `max_ts` (every shard of the partition
    has then been told something newer than `max_ts - tick_ms`), so ticks can only be
    due when `max_ts` moves forward.
    """

    __slots__ = ("last_sent", "max_ts", "next_check", "shards")

    def __init__(self, shards: int, own: list[int]) -> None:
        self.max_ts = NO_TIME
        self.last_sent = [NO_TIME] * shards
        self.next_check = NO_TIME
        self.shards = own  # the shards whose players are in this partition


class IngestRouter:
    """Validate raw messages and key them by player shard, adding clock ticks.

    Each input partition (`pitboss.operators.partitioning`) has its own clock: a shard
    is ticked only by the events of its own partition, so its clock follows its own
    players' input, whichever other partitions are read faster or slower.

    Args:
        parser: the event contract parser.
        shards: the fixed number of player shards.
        tick_ms: a shard that has heard nothing for this much event time (> 0) gets a tick.
        max_players: how many players' shard numbers to remember; the memory is
            emptied when full (a shard number costs a CRC-32 to work out again).
        partitions: input partitions by player (1: the whole input is one).
        report_progress: end each batch that moved event time with an `InputProgress`
            under `INPUT_CLOCK` (for a replay's end, `pitboss.operators.input_clock`).
    """

    def __init__(
        self, parser: Parser, shards: int, tick_ms: int, max_players: int = 1 << 17,
        partitions: int = 1, report_progress: bool = False,
    ) -> None:
        if tick_ms <= 0:
            raise ValueError(f"tick_ms must be > 0, not {tick_ms}")
        check_partitions(shards, partitions)
        self.parser = parser
        self.shards = shards
        self.tick_ms = tick_ms
        self.names = shard_names(shards)
        self.partitions = partitions
        self._clocks = [_InputClock(shards, shards_of_partition(p, shards, partitions))
                        for p in range(partitions)]
        self._partition_of = shard_partitions(shards, partitions)
        self._shard_of: dict[str, int] = {}
        self._max_players = max_players
        self._report_progress = report_progress
        self._reported = NO_TIME

    def route(self, batch: Iterable[RawMessage]) -> list[tuple[str, object]]:
        """Return the keyed items for a batch of raw messages, in input order.

        Shard work is keyed by shard name; counts and dead letters by `RECORDS`; with
        `report_progress`, the batch ends with the latest event time so far under
        `INPUT_CLOCK` when it moved.
        """
        out: list[tuple[str, object]] = []
        append = out.append
        counts: dict[str, IngestCount] = {}
        parse, names, shard_of = self.parser.parse, self.names, self._shard_of
        source_now: str | None = None  # the first message looks its source up
        count = IngestCount("", 0)
        clocks, partitions, partition_of_shard = self._clocks, self.partitions, self._partition_of
        clock = clocks[0]
        last = clock.last_sent
        for source, position, raw in batch:
            if source is not source_now:  # a batch usually comes from a single source
                source_now = source
                count = self._source(source, counts, out)
            count.messages += 1
            item = parse(raw, source, position)
            if isinstance(item, DeadLetter):
                append((RECORDS, item))
                continue
            item.source = source
            item.position = position
            item.raw = raw
            index = shard_of.get(item.player_id)
            if index is None:
                index = self._shard_index(item.player_id)
            append((names[index], item))
            if partitions > 1:
                clock = clocks[partition_of_shard[index]]
                last = clock.last_sent
            ts = item.ts_ms
            if ts > last[index]:
                last[index] = ts
            if ts > clock.max_ts:
                clock.max_ts = ts
                if ts >= clock.next_check:
                    self._tick(clock, out)
        if self._report_progress:
            latest = max(clock.max_ts for clock in clocks)
            if latest > self._reported:
                self._reported = latest
                append((INPUT_CLOCK, InputProgress(latest)))
        return out

    def route_by_shard(self, batch: Iterable[RawMessage]) -> list[tuple[str, object]]:
        """Return `route`'s items gathered by shard, then its records one by one.

        What the dataflow hands on: one keyed item per shard and batch, the shard's
        items in a list, instead of one per message, so the engine routes (and, between
        worker processes, pickles) a few lists rather than every event. Each shard sees
        exactly the items, in exactly the order, that `route` gives it. The records
        follow, each keyed `RECORDS` and in input order (`is_shard_work` tells them
        apart), for the outputs.
        """
        groups: dict[str, list[object]] = {}
        for key, item in self.route(batch):
            group = groups.get(key)
            if group is None:
                groups[key] = [item]
            else:
                group.append(item)
        records = groups.pop(RECORDS, None)
        progress = groups.pop(INPUT_CLOCK, None)
        routed: list[tuple[str, object]] = list(groups.items())
        if records is not None:
            routed += [(RECORDS, record) for record in records]
        if progress is not None:
            routed += [(INPUT_CLOCK, report) for report in progress]
        return routed

    def _source(
        self, source: str, counts: dict[str, IngestCount], out: list[tuple[str, object]]
    ) -> IngestCount:
        """Return the batch's message count of `source`."""
        count = counts.get(source)
        if count is None:
            count = counts[source] = IngestCount(source, 0)
            out.append((RECORDS, count))
        return count

    def _shard_index(self, player_id: str) -> int:
        """Work out (and remember) the shard number of a player."""
        if len(self._shard_of) >= self._max_players:
            self._shard_of.clear()
        index = self._shard_of[player_id] = shard_index(player_id, self.shards)
        return index

    def _tick(self, clock: _InputClock, out: list[tuple[str, object]]) -> None:
        """Tick every shard of the partition told nothing for `tick_ms` of its event time."""
        last = clock.last_sent
        horizon = clock.max_ts - self.tick_ms
        for shard in clock.shards:
            if last[shard] <= horizon:
                name = self.names[shard]
                out.append((name, ClockTick(clock.max_ts, name)))
                last[shard] = clock.max_ts
        own = last if self.partitions == 1 else [last[shard] for shard in clock.shards]
        clock.next_check = min(own) + self.tick_ms
