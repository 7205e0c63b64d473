"""Produce simulated players to the input topics at a steady rate, stamped as live events.

The simulator (`pitboss.replay.simulator.simulate`) writes a week of play in event-time order with
fixed, past timestamps. A live worker needs events that happen now, so
`LiveStamper` re-stamps each message as it is sent: `ts` becomes the wall-clock
time of sending in integer epoch milliseconds (the order is kept and no
timestamp is ever in the future, which the contract parser would reject), and
`produced_at_ms` carries the same instant so latency can be measured end to end
(the parser ignores unknown fields). Each message goes to the topic of its event
type, keyed by `player_id`. The simulation's rare malformed messages follow
their original event, so one that has no readable `event_type` or `player_id`
(truncated JSON, a copy lacking a field) goes to the original's topic and key.

Compressing time this way plays a simulated day out in seconds or minutes,
depending on the rate and the population: the worker's hourly windows see far
more activity than the simulation's own clock would give them, which is what a
demo or a load test wants.

`LiveProducer.run` paces messages with a `TokenBucket` and sends them through a
`MessageSink` (an `ActionProducer` in production: idempotent, `acks=all`, every
delivery checked), and keeps `ProduceStats` that another thread may read.

Example:
    >>> stamper = LiveStamper({"bet": "bets"})
    >>> message = stamper.stamp(b'{"event_type":"bet","player_id":"p1","ts":5}', 1_000)
    >>> message.topic, message.key, message.value
    ('bets', b'p1', b'{"event_type":"bet","player_id":"p1","ts":1000,"produced_at_ms":1000}')
    >>> stamper.stamp(b'{"event_type":"be', 1_001).topic  # truncated: follows its original
    'bets'

"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import orjson

from pitboss.config.kafka import KafkaTopics
from pitboss.operators.contract import wall_clock_ms
from pitboss.operators.events import TOPICS
from pitboss.replay.live.token_bucket import TokenBucket
from pitboss.replay.simulator.simulate import simulate

PRODUCED_AT_FIELD = "produced_at_ms"
BATCHES_PER_SECOND = 100
"""The producer takes tokens in batches of `rate / BATCHES_PER_SECOND` messages."""
BURST_S = 0.1
"""Seconds of messages the producer may send at once to catch up (and does at the start)."""


class MessageSink(Protocol):
    """Where produced messages go: `pitboss.sinks.kafka_actions.ActionProducer` satisfies it."""

    def send(
        self, topic: str, key: bytes, value: bytes, headers: Sequence[tuple[str, bytes]] = ()
    ) -> None:
        """Hand one message over; raise if an earlier one failed."""

    def poll(self, timeout_s: float = 0.0) -> int:
        """Serve delivery reports."""

    def flush(self, timeout_s: float) -> None:
        """Wait until everything sent is delivered; raise if anything was not."""


def topics_by_event_type(topics: KafkaTopics) -> dict[str, str]:
    """Map every event type to its configured input topic.

    Args:
        topics: the `[kafka.topics]` settings, which may rename the input topics.

    Returns:
        e.g. `{"bet": "bets", "deposit": "deposits", ...}`.

    Example:
        >>> topics_by_event_type(KafkaTopics(bets="in.bets"))["bet"]
        'in.bets'

    """
    return {event_type: getattr(topics, default) for event_type, default in TOPICS.items()}


@dataclass(frozen=True, slots=True)
class LiveMessage:
    """One message ready to send: where, under which key, and when it was stamped."""

    topic: str
    key: bytes
    value: bytes
    event_id: str | None
    """The event's id, or None for a message that is not a JSON object with one."""
    produced_at_ms: int


class LiveStamper:
    """Route simulated messages to their topics and re-stamp them to the sending time.

    Args:
        topics: event type -> topic, e.g. from `topics_by_event_type`.

    """

    def __init__(self, topics: Mapping[str, str]) -> None:
        if not topics:
            raise ValueError("LiveStamper needs at least one event type -> topic")
        self.topics = dict(topics)
        self._topic = next(iter(self.topics.values()))
        self._key = b""
        self.unrouted = 0
        """Messages sent to the previous message's topic and key, for want of their own."""

    def stamp(self, raw: bytes, now_ms: int) -> LiveMessage:
        """Return `raw` re-stamped to `now_ms`, with its topic and key.

        Args:
            raw: one simulated message value (normally a JSON object).
            now_ms: the wall-clock time of sending, epoch milliseconds.

        Returns:
            The message; values that are not JSON objects go out unchanged.

        """
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            body = None
        if type(body) is not dict:
            return self._follow(raw, None, now_ms)
        body["ts"] = now_ms
        body[PRODUCED_AT_FIELD] = now_ms
        value = orjson.dumps(body)
        event_id = body.get("event_id")
        event_id = event_id if type(event_id) is str else None
        event_type = body.get("event_type")
        topic = self.topics.get(event_type) if type(event_type) is str else None
        player_id = body.get("player_id")
        if topic is None or type(player_id) is not str:
            return self._follow(value, event_id, now_ms)
        self._topic, self._key = topic, player_id.encode()
        return LiveMessage(topic, self._key, value, event_id, now_ms)

    def _follow(self, value: bytes, event_id: str | None, now_ms: int) -> LiveMessage:
        """Send a message without its own route where the message before it went."""
        self.unrouted += 1
        return LiveMessage(self._topic, self._key, value, event_id, now_ms)


def live_messages(players: int, days: int, seed: int) -> Iterator[bytes]:
    """Yield simulated messages without end: `days` of play, then again with the next seed.

    The same players carry on from one cycle to the next; event ids embed the
    seed, so no cycle repeats another's ids.

    Args:
        players: size of the population.
        days: simulated days per cycle.
        seed: the first cycle's seed.

    Returns:
        An endless iterator of raw message values.

    """
    for cycle in itertools.count():
        yield from simulate(players, days, seed + cycle)


@dataclass(slots=True)
class ProduceStats:
    """What a producer has sent so far; safe to read from another thread."""

    messages: int = 0
    by_topic: Counter[str] = field(default_factory=Counter)
    unrouted: int = 0
    started_s: float | None = None
    """Monotonic clock reading at the first message."""
    last_s: float | None = None
    """Monotonic clock reading after the latest batch."""

    @property
    def elapsed_s(self) -> float:
        """Seconds between the first message and the latest batch."""
        if self.started_s is None or self.last_s is None:
            return 0.0
        return self.last_s - self.started_s

    @property
    def rate(self) -> float:
        """Achieved messages per second over the whole run (0 before a second batch)."""
        elapsed = self.elapsed_s
        return self.messages / elapsed if elapsed > 0 else 0.0


class LiveProducer:
    """Send re-stamped simulated messages at a steady rate, checking every delivery.

    Args:
        sink: where messages go (an `ActionProducer`).
        rate: messages per second.
        stamper: routes and re-stamps each message.
        now_ms: the wall clock in epoch ms, read once per message as it is sent.
        clock: monotonic seconds, for pacing and for `ProduceStats`.
        sleep: how the pacing waits.
        on_send: called with each message once the sink has accepted it (e.g. to
            remember `produced_at_ms` by event id).

    """

    def __init__(
        self,
        sink: MessageSink,
        rate: float,
        stamper: LiveStamper,
        now_ms: Callable[[], int] = wall_clock_ms,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        on_send: Callable[[LiveMessage], None] | None = None,
    ) -> None:
        self.sink = sink
        self.stamper = stamper
        self.now_ms = now_ms
        self.clock = clock
        self.on_send = on_send
        self.batch = max(1, int(rate / BATCHES_PER_SECOND))
        # A tenth of a second of headroom: a late wake-up (a busy machine) is made up
        # at the next batch instead of lowering the rate.
        self.burst = max(float(self.batch), rate * BURST_S)
        self.bucket = TokenBucket(rate, burst=self.burst, clock=clock, sleep=sleep)
        self.stats = ProduceStats()

    def run(
        self,
        messages: Iterable[bytes],
        should_stop: Callable[[], bool],
        flush_timeout_s: float = 30.0,
    ) -> ProduceStats:
        """Send `messages` until they run out or `should_stop()` says so, then flush.

        Args:
            messages: raw simulated message values (see `live_messages`).
            should_stop: checked before every batch (a deadline, a stop event).
            flush_timeout_s: how long the final flush may wait for deliveries.

        Returns:
            The final counts (the same object as `self.stats`).

        Raises:
            ActionDeliveryError: a message was not delivered (from the sink).

        """
        source = iter(messages)
        stats = self.stats
        while not should_stop():
            batch = list(itertools.islice(source, self.batch))
            if not batch:
                break
            self.bucket.take(len(batch))
            if stats.started_s is None:
                stats.started_s = self.clock()
            for raw in batch:
                self._send(raw)
            stats.last_s = self.clock()
        self.sink.flush(flush_timeout_s)
        stats.unrouted = self.stamper.unrouted
        return stats

    def _send(self, raw: bytes) -> None:
        message = self.stamper.stamp(raw, self.now_ms())
        self.sink.send(message.topic, message.key, message.value)
        self.stats.messages += 1
        self.stats.by_topic[message.topic] += 1
        if self.on_send is not None:
            self.on_send(message)


def deadline(clock: Callable[[], float], seconds: float | None) -> Callable[[], bool]:
    """Return a predicate that turns true `seconds` after now on `clock` (never, for None).

    Example:
        >>> now = [10.0]
        >>> past = deadline(lambda: now[0], 5.0)
        >>> past(), now.__setitem__(0, 15.0), past()
        (False, None, True)

    """
    if seconds is None:
        return lambda: False
    end = clock() + seconds
    return lambda: clock() >= end
