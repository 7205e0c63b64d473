"""The live producer: routing, keys and live timestamps over the Kafka protocol; pacing."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import confluent_kafka
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pitboss.config.kafka import KafkaSettings
from pitboss.operators.contract import wall_clock_ms
from pitboss.operators.events import TOPICS
from pitboss.replay.live.dev_broker import DevKafka
from pitboss.replay.live.producer import (
    PRODUCED_AT_FIELD,
    LiveMessage,
    LiveProducer,
    LiveStamper,
    deadline,
    live_messages,
    topics_by_event_type,
)
from pitboss.replay.live.token_bucket import TokenBucket
from pitboss.replay.simulator.simulate import simulate
from pitboss.sinks.kafka_actions import ActionProducer

pytestmark = pytest.mark.timeout(60)


class FakeClock:
    """Monotonic seconds that only `sleep` moves forward."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept = 0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.slept += 1
        self.now += seconds


class ListSink:
    """A `MessageSink` that keeps what it is given, for pacing tests without a broker."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []
        self.flushed = 0

    def send(self, topic: str, key: bytes, value: bytes, headers: object = ()) -> None:
        self.sent.append((topic, key, value))

    def poll(self, timeout_s: float = 0.0) -> int:
        return 0

    def flush(self, timeout_s: float) -> None:
        self.flushed += 1


@pytest.fixture(scope="module")
def kafka() -> Iterator[DevKafka]:
    with DevKafka(partitions=2) as cluster:
        yield cluster


def _consume_all(bootstrap: str, topics: list[str], expected: int) -> list[confluent_kafka.Message]:
    consumer = confluent_kafka.Consumer({
        "bootstrap.servers": bootstrap, "group.id": "test-producer", "enable.auto.commit": "false",
    })  # fmt: skip
    # By assignment, from the beginning: no consumer group to wait for.
    consumer.assign([
        confluent_kafka.TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING)
        for topic in topics
        for p in consumer.list_topics(topic, timeout=10).topics[topic].partitions
    ])
    received: list[confluent_kafka.Message] = []
    try:
        for _ in range(200):
            if len(received) >= expected:
                break
            for message in consumer.consume(500, timeout=0.5):
                assert message.error() is None, message.error()
                received.append(message)
    finally:
        consumer.close()
    return received


def test_events_land_on_their_topics_keyed_by_player_with_live_times(kafka: DevKafka) -> None:
    settings = KafkaSettings(bootstrap_servers=kafka.bootstrap)
    raw = list(itertools.islice(simulate(players=30, days=1, seed=3), 400))
    clock = FakeClock()
    sink = ActionProducer.from_settings(settings)
    producer = LiveProducer(sink, rate=1_000.0, stamper=LiveStamper(TOPICS),
                            clock=clock, sleep=clock.sleep)  # fmt: skip
    started_ms = wall_clock_ms()
    stats = producer.run(raw, should_stop=lambda: False)
    received = _consume_all(kafka.bootstrap, list(settings.topics.inputs), stats.messages)
    checked_ms = wall_clock_ms()

    assert stats.messages == len(raw) == len(received)
    by_partition: dict[tuple[str, int], list[int]] = {}
    routed = 0
    for message in received:
        topic, partition = message.topic() or "", message.partition() or 0
        try:
            body = orjson.loads(message.value() or b"")
        except orjson.JSONDecodeError:
            continue  # truncated JSON from the simulator's malformed share, sent as it is
        assert started_ms <= body["ts"] == body[PRODUCED_AT_FIELD] <= checked_ms
        by_partition.setdefault((topic, partition), []).append(body["ts"])
        if "player_id" in body and body.get("event_type") in TOPICS:
            routed += 1
            assert topic == TOPICS[body["event_type"]]
            assert message.key() == body["player_id"].encode()
    assert routed >= len(raw) - stats.unrouted
    assert {topic for topic, _ in by_partition} >= {"bets", "sessions", "deposits"}
    for stamps in by_partition.values():
        assert stamps == sorted(stamps)


def test_a_message_without_its_own_route_follows_the_one_before() -> None:
    stamper = LiveStamper({"deposit": "deposits", "bet": "bets"})
    first = stamper.stamp(b'{"event_type":"deposit","player_id":"p7","event_id":"e1"}', 10)
    no_player = stamper.stamp(b'{"event_type":"bet","event_id":"e1-bad"}', 11)
    truncated = stamper.stamp(b'{"event_type":"bet","player_id":"p8"', 12)
    listed = stamper.stamp(b'{"event_type":["bet"],"player_id":"p9"}', 13)  # not a type at all

    assert (first.topic, first.key, first.event_id) == ("deposits", b"p7", "e1")
    assert (no_player.topic, no_player.key, no_player.event_id) == ("deposits", b"p7", "e1-bad")
    assert orjson.loads(no_player.value)["ts"] == 11
    assert truncated == LiveMessage("deposits", b"p7", b'{"event_type":"bet","player_id":"p8"',
                                    None, 12)  # fmt: skip
    assert (listed.topic, listed.key) == ("deposits", b"p7")
    assert stamper.unrouted == 3


def test_renamed_input_topics_are_used() -> None:
    topics = topics_by_event_type(KafkaSettings().topics.model_copy(update={"bets": "in.bets"}))
    assert topics["bet"] == topics["bet_settled"] == "in.bets"
    assert topics["deposit"] == "deposits"
    assert set(topics) == set(TOPICS)


@given(rate=st.floats(min_value=1.0, max_value=50_000.0), messages=st.integers(1, 3_000))
def test_pacing_never_exceeds_rate_plus_one_batch(rate: float, messages: int) -> None:
    clock = FakeClock()
    sink = ListSink()
    producer = LiveProducer(sink, rate, LiveStamper(TOPICS), now_ms=lambda: 0,
                            clock=clock, sleep=clock.sleep)  # fmt: skip
    stats = producer.run(itertools.repeat(b'{"event_type":"bet","player_id":"p1"}', messages),
                         should_stop=lambda: False)

    assert len(sink.sent) == stats.messages == messages
    assert sink.flushed == 1
    # Tokens accrue at `rate` from a bucket that starts full; the producer only waits
    # when they are spent, so after any wait it has sent exactly what accrued.
    assert messages <= producer.burst + rate * clock.now + 1e-6
    if clock.now > 0:
        assert messages == pytest.approx(producer.burst + rate * clock.now, abs=1e-6)


def test_pacing_sends_at_the_rate_once_the_first_batch_is_spent() -> None:
    clock = FakeClock()
    sink = ListSink()
    producer = LiveProducer(sink, 200.0, LiveStamper(TOPICS), now_ms=lambda: 0,
                            clock=clock, sleep=clock.sleep)  # fmt: skip
    stop = deadline(clock, 10.0)
    stats = producer.run(live_messages(players=5, days=1, seed=1), should_stop=stop)

    assert (producer.batch, producer.burst) == (2, 20.0)
    # The initial burst at once, then 200/s until the first check at or past 10 s.
    assert 10.0 <= clock.now < 10.0 + producer.batch / 200.0
    assert stats.messages == len(sink.sent) == pytest.approx(20 + 200 * clock.now, abs=1e-6)
    assert stats.rate == pytest.approx(stats.messages / clock.now)


def test_live_messages_carry_on_with_the_next_seed() -> None:
    one_cycle = sum(1 for _ in simulate(players=2, days=1, seed=4))
    ids = [orjson.loads(m).get("event_id") for m in
           itertools.islice(live_messages(players=2, days=1, seed=4), one_cycle + 5)]  # fmt: skip
    assert all(str(i).startswith("4-") for i in ids[:one_cycle] if i)
    assert str(ids[one_cycle]).startswith("5-")
    assert not set(ids[:one_cycle]) & set(ids[one_cycle:])


def test_token_bucket_refuses_a_take_it_could_never_serve() -> None:
    with pytest.raises(ValueError, match="cannot take 3"):
        TokenBucket(10.0, burst=2.0).take(3)
    with pytest.raises(ValueError, match="rate must be > 0"):
        TokenBucket(0.0, burst=2.0)
