"""The live input's pieces without Kafka: the stoppable source, errors and metrics."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import cast

import confluent_kafka
import pytest
from bytewax.testing import TestingSource

from pitboss.flows.kafka_reader import (
    AlignedKafkaReader,
    InputObserver,
    LiveInputError,
    check_consumer_error,
)
from pitboss.flows.live import MetricsObserver, _ReaderPartition
from pitboss.flows.stoppable_source import StoppableSource
from pitboss.sinks.metrics import LiveMetrics


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


def test_reader_reports_become_metrics() -> None:
    metrics = LiveMetrics()
    observer = MetricsObserver(metrics, wall_clock_s=lambda: 100.0)
    observer.read("bets/2", "bets", 2, newest_stamp_ms=99_500)
    observer.progress({"bets/2": (42, 50), "bets/3": (7, 7)}, 1_795_176_000_123, 12, False)
    sample = metrics.registry.get_sample_value
    assert sample("pitboss_events_in_total", {"topic": "bets"}) == 2
    assert sample("pitboss_input_delay_seconds_sum") == 0.5
    assert sample("pitboss_consumer_position", {"topic": "bets", "partition": "2"}) == 42
    assert sample("pitboss_consumer_lag", {"topic": "bets", "partition": "2"}) == 8
    assert sample("pitboss_consumer_lag", {"topic": "bets", "partition": "3"}) == 0
    assert sample("pitboss_input_watermark_seconds") == 1_795_176_000.123
    assert sample("pitboss_alignment_buffered_messages") == 12
    assert sample("pitboss_input_caught_up") == 0


def test_a_transient_consumer_error_is_counted_not_fatal() -> None:
    metrics = LiveMetrics()
    error = confluent_kafka.KafkaError(confluent_kafka.KafkaError._TRANSPORT)
    check_consumer_error(error, "bets/2", MetricsObserver(metrics))
    assert metrics.registry.get_sample_value(
        "pitboss_kafka_consumer_errors_total", {"code": "_TRANSPORT"}) == 1


def test_any_other_consumer_error_stops_the_worker_with_its_name() -> None:
    error = confluent_kafka.KafkaError(confluent_kafka.KafkaError.TOPIC_AUTHORIZATION_FAILED)
    with pytest.raises(LiveInputError, match=r"bets/2.*TOPIC_AUTHORIZATION_FAILED"):
        check_consumer_error(error, "bets/2", InputObserver())


class _BehindReader:
    """A reader still behind its partitions' ends, whose reads take a moment."""

    caught_up = False

    def read(self) -> list:
        time.sleep(0.01)
        return [("bets/0", 0, b"{}")]


def test_a_reader_behind_is_read_again_without_a_pause() -> None:
    """Bytewax waits until `next_awake` from the time it read before `next_batch`.

    A wake-up time taken after the batch lies that batch's read time in the future,
    and the worker would park that long whenever the rest of the flow was done sooner.
    """
    part = _ReaderPartition(cast(AlignedKafkaReader, _BehindReader()))
    before_the_batch = datetime.now(UTC)
    part.next_batch()
    awake = part.next_awake()
    assert awake is not None and awake <= before_the_batch
