"""The live input: every partition of the input topics read by one consumer, aligned in event time.

`AlignedKafkaReader` assigns itself every partition of the input topics (no
consumer group: positions live in the dataflow's recovery state), reads them
without blocking, and hands what it reads to an `EventAligner`
(`pitboss.operators.alignment`), which releases messages in the event-order key's order
once the low watermark over all partitions has passed them. So a backlog of four
topics is processed in event time, not topic by topic, and in the same order as
`pitboss replay` of the same events.

What the wall clock decides here, and only here (the aligner and everything after
it run on event time):

- **Idleness.** A partition that is caught up (its position has reached the high
  watermark of the broker's last fetch answer) and has sent nothing for
  `partition_idle_ms`, while the consumer's queue stayed drained, stops holding the
  watermark back. A partition with unread
  data on the broker always holds it, so a backlog is merged exactly; at the tail
  of live traffic the idle time is the price of waiting for a sparse partition.
- **Alignment.** A partition with more than `max_buffered_per_partition` messages
  waiting (it runs ahead of the watermark) is paused at the broker and resumed
  once half of them are released, so buffering stays bounded however long the
  backlog.

Input topics must be co-partitioned (same partition count, keyed by `player_id`);
the reader checks this at start and refuses to run otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import confluent_kafka
import structlog

from pitboss.config.kafka import KafkaSettings
from pitboss.operators.alignment import EventAligner, RawMessage, StreamResume
from pitboss.operators.event_order import OrderKeyReader
from pitboss.sinks.kafka_logging import kafka_client_logger

log = structlog.get_logger(__name__)

ReaderResume = dict[str, StreamResume]

MAX_TAKES = 8
"""Most consumer batches one `read` takes while nothing is released."""
CHECK_INTERVAL_S = 0.01
"""How often idleness, high watermarks and metrics are looked at."""
WAIT_S = 0.05
"""Longest a `read` waits for the consumer's next message when its queue is drained.

It returns as soon as one arrives, so the wait adds no latency. Without it a worker
whose queue is drained (a backlog read faster than the broker fetches, or the tail
of live traffic) spins through empty reads, taking the CPU the broker's and the
consumer's own threads need (measured: 99.5% of reads empty, a quarter more CPU).
"""

# Consumer-group keys: the reader assigns partitions itself and keeps offsets in recovery state.
_GROUP_KEYS = frozenset(
    {"group.id", "enable.auto.commit", "auto.offset.reset", "session.timeout.ms",
     "max.poll.interval.ms"}
)  # fmt: skip
# Errors librdkafka recovers from by itself (reconnecting, retrying).
_TRANSIENT = frozenset(
    {
        confluent_kafka.KafkaError._TRANSPORT,
        confluent_kafka.KafkaError._ALL_BROKERS_DOWN,
        confluent_kafka.KafkaError._TIMED_OUT,
        confluent_kafka.KafkaError._RESOLVE,
    }
)


class LiveInputError(RuntimeError):
    """The Kafka input cannot be read: a fatal consumer error or topics that do not fit."""


@dataclass
class _Partition:
    """What the reader knows of one assigned partition.

    `high` is the best known end of the partition, for the lag metric; `fetched_high`
    only what a fetch answer said (-1 before the first). Caught up is judged on the
    latter alone: a broker's offset listing can be stale or, on some brokers, short of
    the last batch, and a partition wrongly taken as caught up could go idle with
    data still to read.
    """

    topic: str
    partition: int
    position: int
    high: int
    last_message_s: float
    fetched_high: int = -1
    paused: bool = False

    @property
    def caught_up(self) -> bool:
        return self.fetched_high >= 0 and self.position >= self.fetched_high


class InputObserver:
    """What the reader reports as it reads (metrics); the default ignores everything."""

    def read(self, stream: str, topic: str, messages: int, newest_stamp_ms: int | None) -> None:
        """Count `messages` read from one partition; the newest one's Kafka timestamp."""

    def progress(self, positions: dict[str, tuple[int, int]], watermark_ms: int,
                 buffered: int, caught_up: bool) -> None:
        """Report `(position, high watermark)` per partition, the watermark and buffering."""

    def consumer_error(self, code: str) -> None:
        """Count a consumer error by its librdkafka name."""


def check_consumer_error(error: confluent_kafka.KafkaError, where: str,
                         observer: InputObserver) -> None:
    """Count a consumer error; let the consumer retry a transient one, stop on any other.

    Args:
        error: what the consumer reported.
        where: the partition it concerns, `topic/partition`.
        observer: counts it.

    Raises:
        LiveInputError: the error is fatal or not one librdkafka recovers from.

    Example:
        >>> denied = confluent_kafka.KafkaError(
        ...     confluent_kafka.KafkaError.TOPIC_AUTHORIZATION_FAILED)
        >>> check_consumer_error(denied, "bets/0", InputObserver())
        Traceback (most recent call last):
        pitboss.flows.kafka_reader.LiveInputError: Kafka consumer error on bets/0: TOPIC_AU...

    """
    observer.consumer_error(error.name())
    if error.code() == confluent_kafka.KafkaError._PARTITION_EOF:
        return
    if not error.fatal() and (error.code() in _TRANSIENT or error.retriable()):
        log.warning("kafka consumer error, retrying", source=where, error=error.str())
        return
    raise LiveInputError(f"Kafka consumer error on {where}: {error.name()}: {error.str()}")


def input_topics(kafka: KafkaSettings) -> list[str]:
    """Return the distinct input topics in contract order (several event kinds may share one).

    Example:
        >>> from pitboss.config.kafka import KafkaTopics
        >>> topics = KafkaTopics(bets="events", deposits="events", sessions="events",
        ...                      outcomes="events")
        >>> input_topics(KafkaSettings(topics=topics))
        ['events']

    """
    return list(dict.fromkeys(kafka.topics.inputs))


def reader_config(kafka: KafkaSettings) -> dict[str, str]:
    """Return the librdkafka keys of the reader: connection and fetch tuning, no group.

    Example:
        >>> config = reader_config(KafkaSettings(bootstrap_servers="b:9092"))
        >>> config["group.id"], config["enable.auto.commit"], "session.timeout.ms" in config
        ('pitboss-unused', 'false', False)

    """
    config = {k: v for k, v in kafka.consumer_config().items() if k not in _GROUP_KEYS}
    # librdkafka wants a group id even for assigned partitions; nothing is ever committed.
    config.update({"group.id": "pitboss-unused", "enable.auto.commit": "false",
                   "enable.auto.offset.store": "false"})
    return config


class AlignedKafkaReader:
    """Read every input partition with one consumer and release messages in event-time order.

    Args:
        kafka: brokers, topics, and the alignment settings (`partition_idle_ms`,
            `max_buffered_per_partition`).
        resume: what `snapshot` returned before, or None for a fresh start.
        observer: told what was read and how far the input has come (metrics).
        make_consumer: builds the consumer from its configuration (tests pass a factory).
        clock_s: a monotonic clock in seconds, for idleness only.
        batch_size: most messages taken from the consumer per `read`.
        reorder_window_ms: the aligner's bounded out-of-orderness (`features.reorder_window_s`).
        metadata_timeout_s: how long to wait for topic metadata and offsets at start.
        wait_s: longest one `read` waits for a drained consumer (`WAIT_S`).

    Raises:
        LiveInputError: an input topic is missing or the topics are not co-partitioned.

    """

    def __init__(
        self,
        kafka: KafkaSettings,
        resume: ReaderResume | None = None,
        observer: InputObserver | None = None,
        make_consumer: Callable[[dict[str, object]], confluent_kafka.Consumer] = (
            confluent_kafka.Consumer),
        clock_s: Callable[[], float] = time.monotonic,
        batch_size: int = 1000,
        metadata_timeout_s: float = 30.0,
        reorder_window_ms: int = 0,
        wait_s: float = WAIT_S,
    ) -> None:
        self.observer = observer or InputObserver()
        self.wait_s = wait_s
        self._stream_names: dict[tuple[str | None, int | None], str] = {}
        self.clock_s = clock_s
        self.batch_size = batch_size
        self.idle_s = kafka.partition_idle_ms / 1000
        self.max_buffered = kafka.max_buffered_per_partition
        # librdkafka's own lines go through the structured log, once each, then counted.
        self.consumer = make_consumer({**reader_config(kafka),
                                       "logger": kafka_client_logger("consumer")})
        counts = self._partition_counts(input_topics(kafka), metadata_timeout_s)
        streams = [f"{t}/{p}" for t, n in counts.items() for p in range(n)]
        self.aligner = EventAligner(streams, OrderKeyReader(), resume, reorder_window_ms)
        self.partitions = self._assign(counts, kafka.auto_offset_reset, metadata_timeout_s)
        self._caught_up = False
        self._drained_since: float | None = None
        self._next_check_s = 0.0

    def _partition_counts(self, topics: list[str], timeout_s: float) -> dict[str, int]:
        """Return each input topic's partition count; refuse missing or unequal topics."""
        metadata = self.consumer.list_topics(timeout=timeout_s)
        counts = {}
        for topic in topics:
            found = metadata.topics.get(topic)
            if found is None or found.error is not None or not found.partitions:
                raise LiveInputError(
                    f"input topic {topic!r} does not exist on the brokers "
                    "(create it, or set [kafka.topics] / PITBOSS_KAFKA__TOPICS__...)")
            counts[topic] = len(found.partitions)
        if len(set(counts.values())) > 1:
            layout = ", ".join(f"{t} has {n}" for t, n in counts.items())
            raise LiveInputError(
                f"input topics must be co-partitioned by player_id, but {layout} partitions: "
                "give every input topic the same partition count (docs/operations.md)")
        return counts

    def _assign(
        self, counts: dict[str, int], reset: str, timeout_s: float
    ) -> dict[str, _Partition]:
        """Assign every partition at its resume position (or the configured end)."""
        now = self.clock_s()
        partitions: dict[str, _Partition] = {}
        assignment = []
        for topic, count in counts.items():
            for number in range(count):
                stream = f"{topic}/{number}"
                tp = confluent_kafka.TopicPartition(topic, number)
                low, high = self.consumer.get_watermark_offsets(tp, timeout=timeout_s)
                start = self.aligner.start_position(stream)
                if start is None:
                    start = low if reset == "earliest" else high
                elif start < low:
                    log.error("input deleted by retention before it was read", partition=stream,
                              resume_offset=start, earliest_retained=low, lost=low - start)
                    start = low
                partitions[stream] = _Partition(topic, number, start, high, now)
                assignment.append(confluent_kafka.TopicPartition(topic, number, start))
        self.consumer.assign(assignment)
        return partitions

    def read(self) -> list[RawMessage]:
        """Take what the consumer holds and return what the aligner releases.

        A drained consumer is waited on for up to `wait_s`, until its first message.

        While the consumer hands over full batches and nothing comes out (the watermark
        waits for a partition whose data is still behind the others' in the consumer's
        queue), up to `MAX_TAKES` batches are taken in one call. Idleness, high
        watermarks and metrics are looked at every `CHECK_INTERVAL_S`, not every call.
        """
        out: list[RawMessage] = []
        for take in range(MAX_TAKES):
            taken = self._take(out, wait_s=self.wait_s if take == 0 else 0.0)
            if out or taken < self.batch_size:
                break
        now = self.clock_s()
        if now >= self._next_check_s:
            self._next_check_s = now + CHECK_INTERVAL_S
            out += self._idleness(now)
            self._report()
        self._align()
        return out

    def _take(self, out: list[RawMessage], wait_s: float = 0.0) -> int:
        """Take one batch from the consumer into the aligner; return how many messages came.

        With `wait_s`, a drained queue is waited on for up to that long: the batch is
        then the first message to arrive and whatever came with it.
        """
        by_stream: dict[str, list[RawMessage]] = {}
        newest: dict[str, confluent_kafka.Message] = {}
        names = self._stream_names
        messages = self.consumer.consume(self.batch_size, timeout=0)
        if not messages and wait_s > 0:
            first = self.consumer.poll(wait_s)
            if first is not None:
                messages = [first, *self.consumer.consume(self.batch_size - 1, timeout=0)]
        for message in messages:
            error = message.error()
            if error is not None:
                check_consumer_error(error, f"{message.topic()}/{message.partition()}",
                                     self.observer)
                continue
            where = (message.topic(), message.partition())
            stream = names.get(where)
            if stream is None:
                stream = names[where] = f"{where[0]}/{where[1]}"
            batch = by_stream.get(stream)
            if batch is None:
                batch = by_stream[stream] = []
            batch.append((stream, message.offset() or 0, message.value() or b""))
            newest[stream] = message
        now = self.clock_s()
        if len(messages) == self.batch_size:  # the consumer may hold more: nobody is idle
            self._drained_since = None
        elif self._drained_since is None:
            self._drained_since = now
        for stream, batch in by_stream.items():
            part = self.partitions[stream]
            part.position = batch[-1][1] + 1
            part.last_message_s = now
            kind, stamp_ms = newest[stream].timestamp()
            stamp = None if kind == confluent_kafka.TIMESTAMP_NOT_AVAILABLE else stamp_ms
            self.observer.read(stream, part.topic, len(batch), stamp)
            out += self.aligner.push(stream, batch)
        return len(messages)

    def _idleness(self, now: float) -> list[RawMessage]:
        """Tell the aligner which partitions are caught up and quiet.

        Quiet means no message for `partition_idle_ms` while every read found the
        consumer's queue drained: a worker busy elsewhere, or a queue still full of
        other partitions' messages, makes no partition idle.
        """
        out: list[RawMessage] = []
        drained = self._drained_since
        for stream, part in self.partitions.items():
            if not part.paused:
                _, high = self.consumer.get_watermark_offsets(
                    confluent_kafka.TopicPartition(part.topic, part.partition), cached=True)
                if high >= 0:
                    part.fetched_high = max(part.fetched_high, high)
                    part.high = max(part.high, high)
            idle = (part.caught_up and not part.paused and drained is not None
                    and now - max(part.last_message_s, drained) >= self.idle_s)
            out += self.aligner.set_idle(stream, idle)
        return out

    def _align(self) -> None:
        """Pause partitions far ahead of the watermark; resume them once they have drained."""
        buffered, limit = self.aligner.buffered, self.max_buffered
        for stream, part in self.partitions.items():
            waiting = buffered(stream)
            if part.paused and waiting <= limit // 2:
                tp = confluent_kafka.TopicPartition(part.topic, part.partition, part.position)
                self.consumer.resume([tp])
                self.consumer.seek(tp)  # from the next unread message, whatever was prefetched
                part.paused = False
            elif not part.paused and waiting > limit:
                self.consumer.pause([confluent_kafka.TopicPartition(part.topic, part.partition)])
                part.paused = True

    def _report(self) -> None:
        caught_up = all(p.caught_up for p in self.partitions.values())
        if caught_up != self._caught_up:
            self._caught_up = caught_up
            if caught_up:
                log.info("input caught up", watermark_ms=self.aligner.watermark,
                         buffered=self.aligner.pending())
            else:
                log.info("input behind", partitions_behind=sum(
                    not p.caught_up for p in self.partitions.values()))
        positions = {s: (p.position, p.high) for s, p in self.partitions.items()}
        self.observer.progress(positions, self.aligner.watermark, self.aligner.pending(),
                               caught_up)

    @property
    def caught_up(self) -> bool:
        """Return whether every partition was read up to its last fetched high watermark."""
        return self._caught_up

    def snapshot(self) -> ReaderResume:
        """Return where every partition resumes: nothing released is read twice."""
        return self.aligner.snapshot()

    def close(self) -> None:
        """Close the consumer (no offsets are committed: they live in recovery state)."""
        self.consumer.close()
