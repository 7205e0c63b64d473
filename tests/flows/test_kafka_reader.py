"""The aligned Kafka reader on a real broker: topic checks, merge order, pausing, resuming.

Each test starts the development broker with the configured topics; messages are
produced keyed by player, each event type to its contract topic. The reader is
driven directly (no dataflow) until it has released everything.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import confluent_kafka
import orjson
import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from pitboss.config.kafka import KafkaSettings, KafkaTopics
from pitboss.flows.kafka_reader import AlignedKafkaReader, LiveInputError
from pitboss.operators.alignment import RawMessage
from pitboss.operators.events import TOPICS
from pitboss.replay.live.dev_broker import DevKafka

START_MS = 1_795_000_000_000


@pytest.fixture
def kafka() -> Iterator[DevKafka]:
    """Run a broker whose configured topics have two partitions each."""
    with DevKafka(partitions=2) as broker:
        yield broker


def event(n: int, ts_s: int, player: str, event_type: str = "bet") -> bytes:
    """Return a keyable raw event; `n` makes it unique."""
    return orjson.dumps({"event_id": f"e{n}", "event_type": event_type, "player_id": player,
                         "ts": START_MS + ts_s * 1000})


def produce(bootstrap: str, messages: list[bytes]) -> None:
    """Produce each message to its event type's topic, keyed by player; check deliveries."""
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap})
    for message in messages:
        value = orjson.loads(message)
        producer.produce(TOPICS[value["event_type"]], message, value["player_id"].encode())
    assert producer.flush(30) == 0


def settings(bootstrap: str, **changes: object) -> KafkaSettings:
    """Return reader settings for the broker, with `changes` applied."""
    return KafkaSettings.model_validate(
        {"bootstrap_servers": bootstrap, "partition_idle_ms": 50, **changes})


def read_all(reader: AlignedKafkaReader, count: int, timeout_s: float = 30) -> list[RawMessage]:
    """Read until `count` messages were released."""
    out: list[RawMessage] = []
    deadline = time.monotonic() + timeout_s
    while len(out) < count:
        assert time.monotonic() < deadline, f"released {len(out)} of {count}"
        out += reader.read()
        time.sleep(0.005)
    return out


def values(released: list[RawMessage]) -> list[bytes]:
    return [raw for _, _, raw in released]


def test_input_topics_of_different_partition_counts_are_refused(kafka: DevKafka) -> None:
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap})
    admin.create_topics([NewTopic("deposits3", num_partitions=3)])["deposits3"].result(10)
    kafka_settings = settings(kafka.bootstrap, topics=KafkaTopics(deposits="deposits3"))
    with pytest.raises(LiveInputError, match=r"co-partitioned.*bets has 2.*deposits3 has 3"):
        AlignedKafkaReader(kafka_settings)


def test_a_missing_input_topic_is_named(kafka: DevKafka) -> None:
    kafka_settings = settings(kafka.bootstrap, topics=KafkaTopics(outcomes="nowhere"))
    with pytest.raises(LiveInputError, match="'nowhere' does not exist"):
        AlignedKafkaReader(kafka_settings)


def test_a_backlog_of_several_topics_comes_out_in_event_time(kafka: DevKafka) -> None:
    # The small topics would be drained first by a reader that takes partitions in turn.
    messages = [event(n, n, f"p{n % 5}", ("bet", "deposit", "session_end")[n % 3])
                for n in range(600)]
    produce(kafka.bootstrap, messages)
    reader = AlignedKafkaReader(settings(kafka.bootstrap), batch_size=50)
    try:
        assert values(read_all(reader, len(messages))) == messages
        assert reader.read() == []
    finally:
        reader.close()


def test_a_partition_far_ahead_is_paused_and_nothing_is_lost(kafka: DevKafka) -> None:
    # Sessions run 1,000 s ahead of bets: their partitions fill the buffer and are paused.
    bets = [event(n, n, "p1") for n in range(1_500)]
    sessions = [event(10_000 + n, 1_000 + n, "p2", "session_end") for n in range(1_500)]
    produce(kafka.bootstrap, sessions + bets)
    reader = AlignedKafkaReader(settings(kafka.bootstrap, max_buffered_per_partition=100),
                                batch_size=100)
    paused = set()
    out: list[RawMessage] = []
    try:
        deadline = time.monotonic() + 30
        while len(out) < 3_000:
            assert time.monotonic() < deadline, len(out)
            out += reader.read()
            paused |= {s for s, p in reader.partitions.items() if p.paused}
            time.sleep(0.002)
    finally:
        reader.close()
    assert any(stream.startswith("sessions/") for stream in paused)
    assert values(out) == sorted(bets + sessions, key=lambda m: orjson.loads(m)["ts"])


def test_a_resumed_reader_continues_after_what_was_released(kafka: DevKafka) -> None:
    messages = [event(n, n, f"p{n % 7}", ("bet", "deposit")[n % 2]) for n in range(400)]
    produce(kafka.bootstrap, messages)
    first = AlignedKafkaReader(settings(kafka.bootstrap), batch_size=40)
    try:
        before = read_all(first, 150)
        resume = first.snapshot()
    finally:
        first.close()
    second = AlignedKafkaReader(settings(kafka.bootstrap), resume=resume, batch_size=40)
    try:
        after = read_all(second, len(messages) - len(before))
    finally:
        second.close()
    assert values(before + after) == messages


def test_caught_up_and_quiet_partitions_let_the_rest_through(kafka: DevKafka) -> None:
    # Only bets of one player: every other partition is empty and must go idle.
    messages = [event(n, n, "p1") for n in range(20)]
    produce(kafka.bootstrap, messages)
    reader = AlignedKafkaReader(settings(kafka.bootstrap))
    try:
        assert values(read_all(reader, len(messages))) == messages
        assert reader.caught_up
    finally:
        reader.close()


class RecordingConsumer:
    """A real consumer that records how each `poll` was called and what it returned."""

    def __init__(self, config: dict[str, object]) -> None:
        self.consumer = confluent_kafka.Consumer(config)
        self.polls: list[tuple[float, bool]] = []

    def poll(self, timeout: float) -> confluent_kafka.Message | None:
        message = self.consumer.poll(timeout)
        self.polls.append((timeout, message is not None))
        return message

    def __getattr__(self, name: str) -> object:
        return getattr(self.consumer, name)


def test_a_drained_reader_waits_for_the_next_message_and_keeps_it(kafka: DevKafka) -> None:
    consumers: list[RecordingConsumer] = []

    def make_consumer(config: dict[str, object]) -> confluent_kafka.Consumer:
        consumers.append(RecordingConsumer(config))
        return consumers[-1]  # type: ignore[return-value]

    reader = AlignedKafkaReader(settings(kafka.bootstrap), make_consumer=make_consumer,
                                wait_s=2.0)
    messages = [event(n, n, "p1") for n in range(5)]
    later = threading.Timer(0.5, produce, (kafka.bootstrap, messages))
    later.start()
    try:
        reader.read()  # nothing is there yet: it waits, and wakes with the first message
        assert consumers[0].polls[0] == (2.0, True), "a drained queue is waited on, not spun"
        assert values(read_all(reader, len(messages))) == messages, "the awaited one is kept"
    finally:
        later.join()
        reader.close()
