"""The live input's pieces without Kafka: the stoppable source and the Kafka-to-raw step."""

from __future__ import annotations

import threading

import confluent_kafka
import pytest
from bytewax.connectors.kafka import KafkaError, KafkaSourceMessage
from bytewax.testing import TestingSource

from flows.live import KafkaToRaw, LiveInputError
from flows.stoppable_source import StoppableSource
from sinks.metrics import LiveMetrics

Message = KafkaSourceMessage[bytes | None, bytes | None]


def message(offset: int, value: bytes, partition: int = 2) -> Message:
    """Build a message of topic `bets` as Bytewax's Kafka source emits it."""
    return Message(key=b"p1", value=value, topic="bets", partition=partition, offset=offset)


def consumer_error(code: int) -> KafkaError[bytes | None, bytes | None]:
    """Build a consumer error as Bytewax's Kafka source emits it."""
    return KafkaError(confluent_kafka.KafkaError(code), message(-1, b""))


def test_a_stopped_source_ends_its_partitions_and_keeps_their_position() -> None:
    stop = threading.Event()
    source = StoppableSource(TestingSource(range(10), batch_size=3), stop)
    [name] = source.list_parts()
    part = source.build_part("inp", name, None)
    assert part.next_batch() == [0, 1, 2]
    resume = part.snapshot()

    stop.set()

    with pytest.raises(StopIteration):
        part.next_batch()
    assert part.snapshot() == resume


def test_a_resumed_partition_continues_after_the_last_item() -> None:
    source = StoppableSource(TestingSource(range(10), batch_size=3), threading.Event())
    [name] = source.list_parts()
    first = source.build_part("inp", name, None)
    first.next_batch()
    assert source.build_part("inp", name, first.snapshot()).next_batch() == [3, 4, 5]


def test_messages_become_raw_messages_named_by_topic_and_partition() -> None:
    metrics = LiveMetrics()
    raw = KafkaToRaw(metrics)([message(40, b"{}"), message(41, b"x")])
    assert raw == [("bets/2", 40, b"{}"), ("bets/2", 41, b"x")]
    sample = metrics.registry.get_sample_value
    assert sample("pitboss_events_in_total", {"topic": "bets"}) == 2
    assert sample("pitboss_consumer_position", {"topic": "bets", "partition": "2"}) == 42


def test_a_transient_consumer_error_is_counted_not_fatal() -> None:
    metrics = LiveMetrics()
    error = consumer_error(confluent_kafka.KafkaError._TRANSPORT)
    assert KafkaToRaw(metrics)([error, message(5, b"{}")]) == [("bets/2", 5, b"{}")]
    assert metrics.registry.get_sample_value(
        "pitboss_kafka_consumer_errors_total", {"code": "_TRANSPORT"}) == 1


def test_any_other_consumer_error_stops_the_worker_with_its_name() -> None:
    error = consumer_error(confluent_kafka.KafkaError.TOPIC_AUTHORIZATION_FAILED)
    with pytest.raises(LiveInputError, match=r"bets/2.*TOPIC_AUTHORIZATION_FAILED"):
        KafkaToRaw()([error])
