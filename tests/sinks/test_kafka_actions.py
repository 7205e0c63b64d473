"""ActionProducer and DeadLetterProducer against the development broker: delivered, or an error."""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from collections.abc import Iterator

import confluent_kafka
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pitboss.config.kafka import KafkaSettings
from pitboss.operators.events import DeadLetter
from pitboss.replay.live.dev_broker import DevKafka
from pitboss.sinks.kafka_actions import (
    ActionDeliveryError,
    ActionProducer,
    DeadLetterProducer,
)

pytestmark = pytest.mark.timeout(60)

Record = tuple[str, bytes, bytes, list[tuple[str, bytes]]]
_topic_numbers = itertools.count()


def fresh_topic(kind: str) -> str:
    """Return a topic no other test uses, auto-created by the broker on first produce."""
    return f"test.{kind}.{next(_topic_numbers)}.{time.monotonic_ns()}"


def consume(bootstrap: str, topics: list[str], count: int, timeout_s: float = 20.0) -> list[Record]:
    """Read `count` messages from the start of every partition of `topics`, or fail."""
    consumer = confluent_kafka.Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "test-reader", "enable.auto.commit": False}
    )
    try:
        metadata = consumer.list_topics(timeout=10)
        consumer.assign(
            [
                confluent_kafka.TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING)
                for topic in topics
                for p in metadata.topics[topic].partitions
            ]
        )
        return _read(consumer, count, time.monotonic() + timeout_s)
    finally:
        consumer.close()


def _read(consumer: confluent_kafka.Consumer, count: int, deadline: float) -> list[Record]:
    records: list[Record] = []
    while len(records) < count and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        assert msg.error() is None, msg.error()
        topic, key, value, headers = msg.topic(), msg.key(), msg.value(), msg.headers() or []
        assert topic is not None and key is not None and value is not None
        assert isinstance(headers, list)
        assert all(isinstance(v, bytes) for _, v in headers)
        records.append((topic, key, value, headers))  # type: ignore[arg-type]
    assert len(records) == count, f"read {len(records)} of {count} messages before the deadline"
    return records


def producer_for(bootstrap: str, **overrides: str) -> ActionProducer:
    settings = KafkaSettings(bootstrap_servers=bootstrap, linger_ms=1)
    return ActionProducer({**settings.producer_config(), **overrides}, queue_full_timeout_s=5.0)


actions = st.lists(
    st.tuples(
        st.integers(0, 2),
        st.sampled_from([b"p1", b"p2", b"p3", b""]),
        st.binary(max_size=64),
        st.lists(st.tuples(st.sampled_from(["schema", "rule"]), st.binary(max_size=8)), max_size=2),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=10, deadline=None)
@given(actions)
def test_every_action_is_delivered_once_and_in_order_per_key(
    dev_kafka: DevKafka, sent: list[tuple[int, bytes, bytes, list[tuple[str, bytes]]]]
) -> None:
    topics = [fresh_topic(kind) for kind in ("interventions", "offers", "reviews")]
    producer = producer_for(dev_kafka.bootstrap)
    expected = [(topics[t], key, value, headers) for t, key, value, headers in sent]
    for topic, key, value, headers in expected:
        producer.send(topic, key, value, headers)
    producer.flush(20.0)

    counters = producer.counters
    assert (counters.sent, counters.delivered, counters.failed) == (len(sent), len(sent), 0)
    assert counters.outstanding == 0
    assert counters.last_latency_s is not None
    got = consume(dev_kafka.bootstrap, sorted({t for t, _, _, _ in expected}), len(expected))
    assert sorted(got) == sorted(expected)
    # An empty key goes to a random partition (librdkafka's consistent_random), so
    # order is promised per player key only.
    for topic, key in {(topic, key) for topic, key, _, _ in expected if key}:
        values_sent = [v for t, k, v, _ in expected if (t, k) == (topic, key)]
        assert [v for t, k, v, _ in got if (t, k) == (topic, key)] == values_sent


def test_consumer_group_reads_and_commits_actions(dev_kafka: DevKafka) -> None:
    topic = fresh_topic("group")
    with producer_for(dev_kafka.bootstrap) as producer:
        for n in range(10):
            producer.send(topic, f"p{n}".encode(), b"%d" % n, [("schema", b"1")])
    # Tansu holds a JoinGroup for half the session timeout (members may still come):
    # Kafka's smallest default session timeout keeps that to 3 s.
    settings = KafkaSettings(bootstrap_servers=dev_kafka.bootstrap, session_timeout_ms=6000)
    config = settings.consumer_config(topic)
    consumer = confluent_kafka.Consumer(config)
    consumer.subscribe([topic])
    try:
        records = _read(consumer, 10, time.monotonic() + 30.0)
        committed = consumer.commit(asynchronous=False)
    finally:
        consumer.close()
    assert sorted(value for _, _, value, _ in records) == sorted(b"%d" % n for n in range(10))
    assert committed is not None
    assert sum(tp.offset for tp in committed if tp.offset >= 0) == 10


@pytest.fixture
def doomed_kafka() -> Iterator[DevKafka]:
    """Start a cluster of the test's own, which it stops while messages are in flight."""
    with DevKafka() as kafka:
        yield kafka


def test_undeliverable_message_fails_flush_and_every_later_call(doomed_kafka: DevKafka) -> None:
    topic = fresh_topic("interventions")
    producer = producer_for(doomed_kafka.bootstrap, **{"message.timeout.ms": "3000"})
    producer.send(topic, b"p1", b"delivered", [])
    producer.flush(20.0)
    assert doomed_kafka.stop() == 0

    producer.send(topic, b"p-lost", b"never delivered", [])
    with pytest.raises(ActionDeliveryError, match=rf"{topic}.*p-lost") as raised:
        producer.flush(20.0)

    assert [f.key for f in raised.value.failures] == [b"p-lost"]
    assert producer.counters.delivered == 1
    assert producer.counters.failed == 1
    with pytest.raises(ActionDeliveryError, match="p-lost"):
        producer.send(topic, b"p2", b"after the failure", [])
    with pytest.raises(ActionDeliveryError, match="p-lost"):
        producer.poll()


def test_flush_deadline_with_messages_outstanding_is_an_error(doomed_kafka: DevKafka) -> None:
    topic = fresh_topic("offers")
    producer = producer_for(doomed_kafka.bootstrap)  # default message.timeout.ms: 5 minutes
    producer.send(topic, b"p1", b"delivered", [])
    producer.flush(20.0)
    doomed_kafka.stop()

    producer.send(topic, b"p1", b"stuck", [])
    with pytest.raises(ActionDeliveryError, match=rf"1 message\(s\) not delivered.*{topic}: 1"):
        producer.flush(0.5)
    assert producer.counters.outstanding == 1


def test_a_stop_request_cuts_a_flush_short(doomed_kafka: DevKafka) -> None:
    """A stopping worker waits `stop_timeout_s`, not the hour left of its flush deadline."""
    topic = fresh_topic("offers")
    producer = producer_for(doomed_kafka.bootstrap)  # default message.timeout.ms: 5 minutes
    doomed_kafka.stop()
    producer.send(topic, b"p1", b"stuck", [])
    stop = threading.Event()
    stop.set()
    expected = rf"1 message\(s\) not delivered .* after a stop request \({topic}: 1\)"
    with pytest.raises(ActionDeliveryError, match=expected):
        producer.flush(3600.0, stop, stop_timeout_s=0.5)  # the test's timeout bounds the wait


def test_full_local_queue_is_an_error_not_a_drop(doomed_kafka: DevKafka) -> None:
    topic = fresh_topic("reviews")
    producer = producer_for(doomed_kafka.bootstrap, **{"queue.buffering.max.messages": "1"})
    producer.queue_full_timeout_s = 0.2
    doomed_kafka.stop()
    producer.send(topic, b"p1", b"waits in the queue", [])
    with pytest.raises(ActionDeliveryError, match=rf"local queue full.*{topic}.*p2"):
        producer.send(topic, b"p2", b"no room", [])
    assert producer.counters.sent == 1


def test_oversized_message_is_refused_at_send(dev_kafka: DevKafka) -> None:
    producer = producer_for(dev_kafka.bootstrap, **{"message.max.bytes": "10000"})
    with pytest.raises(ActionDeliveryError, match=r"too large|size"):
        producer.send(fresh_topic("offers"), b"p1", b"x" * 20_000, [])


@pytest.mark.parametrize(
    "weakening",
    [{"acks": "1"}, {"enable.idempotence": "false"}, {"request.required.acks": "0"}],
)
def test_weaker_delivery_guarantees_are_refused(weakening: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="ActionProducer needs"):
        ActionProducer({"bootstrap.servers": "127.0.0.1:9", **weakening})


dead_letters = st.builds(
    DeadLetter,
    reason=st.sampled_from(["malformed_json", "missing_field", "duplicate", "late"]),
    field=st.none() | st.text(max_size=10),
    event_id=st.none() | st.text(max_size=10),
    player_id=st.none() | st.text(max_size=10),
    source=st.text(max_size=10),
    position=st.integers(-1, 2**40),
    excerpt=st.text(max_size=40),
    detail=st.text(max_size=20),
)


@given(dead_letters)
def test_dead_letter_encoding_keeps_every_field(dead: DeadLetter) -> None:
    key, value, headers = DeadLetterProducer.encode(dead)
    assert orjson.loads(value) == dataclasses.asdict(dead)
    assert key == (dead.player_id or "").encode()
    assert headers == [("reason", dead.reason.encode())]


def test_dead_letters_reach_their_topic(dev_kafka: DevKafka) -> None:
    topic = fresh_topic("rejected")
    letters = [
        DeadLetter("late", "ts_ms", "e1", "p1", "bets", 7, '{"event_id": "e1"}'),
        DeadLetter("malformed_json", None, None, None, "bets", 8, "{not json"),
    ]
    with producer_for(dev_kafka.bootstrap) as producer:
        dead_letter_producer = DeadLetterProducer(producer, topic)
        for dead in letters:
            dead_letter_producer.send(dead)
    got = consume(dev_kafka.bootstrap, [topic], len(letters))
    by_key = {key: orjson.loads(value) for _, key, value, _ in got}
    assert by_key == {DeadLetterProducer.encode(d)[0]: dataclasses.asdict(d) for d in letters}
