"""Publish a recorded log to the input topics exactly as recorded, for a live worker to read.

`pitboss produce --input FILE` feeds a live worker the same log a replay reads
(`pitboss.replay.log.recorded_log`: JSONL or Parquet), so the two can be compared. Unlike the
simulated mode (`pitboss.replay.live.producer`), nothing is re-stamped: every value goes out
byte for byte, in file order. `RecordedRouter` picks each message's topic from
its `event_type` (`topics_by_event_type`: the configured input topics) and its
key from its `player_id`; the Kafka record's CreateTime is the event's own `ts`
when it parses (`pitboss.operators.contract.parse_timestamp`) to a time after 1970 and
not after the moment of publishing (brokers may refuse future timestamps, and
the worker dead-letters those events anyway); otherwise the client stamps it.

A message that is not JSON, not an object, or has no known `event_type` is not
lost: it goes unchanged to the `bets` topic (the configured one), keyed by its
`player_id` if it has a readable one, and the worker dead-letters it with its
reason. One with an event type but no readable `player_id` goes to its event
type's topic with an empty key. `LogPublisher` sends the messages, optionally
paced to `rate` per second by a `TokenBucket`, and checks every delivery
through the sink (an `ActionProducer`).

Example:
    >>> router = RecordedRouter({"bet": "bets", "deposit": "deposits"})
    >>> router.route(b'{"event_type":"deposit","player_id":"p1","ts":5}')
    RoutedMessage(topic='deposits', key=b'p1', value=b'{"event_type":"deposit","player_id":"p1","ts":5}', timestamp_ms=5)
    >>> router.route(b'{"event_type":"dep').topic, router.unroutable
    ('bets', 1)

"""  # noqa: E501

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import orjson

from pitboss.operators.contract import parse_timestamp, wall_clock_ms
from pitboss.replay.live.producer import BATCHES_PER_SECOND, BURST_S
from pitboss.replay.live.token_bucket import TokenBucket

UNROUTABLE_EVENT_TYPE = "bet"
"""Messages without a known event type go to this event type's topic (`bets`)."""


class TimestampedSink(Protocol):
    """Where published messages go: `pitboss.sinks.kafka_actions.ActionProducer` satisfies it."""

    def send(
        self,
        topic: str,
        key: bytes,
        value: bytes,
        headers: Sequence[tuple[str, bytes]] = (),
        *,
        timestamp_ms: int = 0,
    ) -> None:
        """Hand one message over (`timestamp_ms` 0: stamped on sending); raise on failure."""

    def flush(self, timeout_s: float) -> None:
        """Wait until everything sent is delivered; raise if anything was not."""


@dataclass(frozen=True, slots=True)
class RoutedMessage:
    """One recorded message with its destination, key and Kafka timestamp (0: none)."""

    topic: str
    key: bytes
    value: bytes
    timestamp_ms: int


class RecordedRouter:
    """Route recorded message values to their topics, keys and timestamps, unchanged.

    Args:
        topics: event type -> topic, e.g. from `pitboss.replay.live.producer.topics_by_event_type`;
            must map `bet`, whose topic takes the messages without a known event type.
        now_ms: the wall clock in epoch ms; event times after it get no CreateTime.

    """

    def __init__(
        self, topics: Mapping[str, str], now_ms: Callable[[], int] = wall_clock_ms
    ) -> None:
        if UNROUTABLE_EVENT_TYPE not in topics:
            raise ValueError(f"RecordedRouter needs a topic for {UNROUTABLE_EVENT_TYPE!r}")
        self.topics = dict(topics)
        self.unroutable_topic = self.topics[UNROUTABLE_EVENT_TYPE]
        self.not_after_ms = now_ms()
        self.unroutable = 0
        """Messages sent to `unroutable_topic` for want of a known event type."""

    def route(self, raw: bytes) -> RoutedMessage:
        """Return where `raw` goes, under which key and CreateTime; `raw` itself is unchanged."""
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            body = None
        if type(body) is not dict:
            self.unroutable += 1
            return RoutedMessage(self.unroutable_topic, b"", raw, 0)
        player_id = body.get("player_id")
        key = player_id.encode() if type(player_id) is str else b""
        event_type = body.get("event_type")
        topic = self.topics.get(event_type) if type(event_type) is str else None
        if topic is None:
            self.unroutable += 1
            topic = self.unroutable_topic
        return RoutedMessage(topic, key, raw, self._create_time(body.get("ts")))

    def _create_time(self, ts: object) -> int:
        ts_ms = parse_timestamp(ts)
        return ts_ms if ts_ms is not None and 0 < ts_ms <= self.not_after_ms else 0


@dataclass(slots=True)
class PublishStats:
    """What a publisher has sent so far."""

    messages: int = 0
    by_topic: Counter[str] = field(default_factory=Counter)
    unroutable: int = 0
    elapsed_s: float = 0.0

    @property
    def rate(self) -> float:
        """Achieved messages per second (0 before any time has passed)."""
        return self.messages / self.elapsed_s if self.elapsed_s > 0 else 0.0


class LogPublisher:
    """Send recorded messages in order, as fast as possible or at `rate` per second.

    Args:
        sink: where messages go (an `ActionProducer`: every delivery checked).
        router: picks each message's topic, key and timestamp.
        rate: messages per second, or None for as fast as the sink takes them.
        clock: monotonic seconds, for pacing and `PublishStats.elapsed_s`.
        sleep: how the pacing waits.

    """

    def __init__(
        self,
        sink: TimestampedSink,
        router: RecordedRouter,
        rate: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.sink = sink
        self.router = router
        self.clock = clock
        self.batch = 1000 if rate is None else max(1, int(rate / BATCHES_PER_SECOND))
        self.bucket = None if rate is None else TokenBucket(
            rate, burst=max(float(self.batch), rate * BURST_S), clock=clock, sleep=sleep)
        self.stats = PublishStats()

    def run(
        self,
        values: Iterable[bytes],
        should_stop: Callable[[], bool] = lambda: False,
        flush_timeout_s: float = 60.0,
    ) -> PublishStats:
        """Send `values` until they run out or `should_stop()` says so, then flush.

        Returns:
            The final counts (the same object as `self.stats`).

        Raises:
            ActionDeliveryError: a message was not delivered (from the sink).

        """
        source = iter(values)
        started = self.clock()
        while not should_stop() and (batch := list(itertools.islice(source, self.batch))):
            if self.bucket is not None:
                self.bucket.take(len(batch))
            for raw in batch:
                self._send(self.router.route(raw))
        self.sink.flush(flush_timeout_s)
        self.stats.unroutable = self.router.unroutable
        self.stats.elapsed_s = self.clock() - started
        return self.stats

    def _send(self, message: RoutedMessage) -> None:
        self.sink.send(message.topic, message.key, message.value,
                       timestamp_ms=message.timestamp_ms)  # fmt: skip
        self.stats.messages += 1
        self.stats.by_topic[message.topic] += 1
