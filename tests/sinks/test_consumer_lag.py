"""The lag probe's broker contact, which /readyz judges: a real cluster, and a refusing port."""

from __future__ import annotations

import socket

import confluent_kafka
import pytest

from pitboss.config.kafka import KafkaSettings
from pitboss.replay.live.dev_broker import DevKafka
from pitboss.sinks.consumer_lag import ConsumerLagProbe
from pitboss.sinks.health import WorkerHealth
from pitboss.sinks.metrics import LiveMetrics

pytestmark = pytest.mark.timeout(60)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def probe_once(bootstrap: str, metrics: LiveMetrics) -> None:
    config = KafkaSettings(bootstrap_servers=bootstrap).connection_config()
    probe = ConsumerLagProbe(config, metrics, timeout_s=5.0)
    consumer = confluent_kafka.Consumer({**config, "group.id": "lag-probe-test"})
    try:
        probe.probe(consumer)
    finally:
        consumer.close()


def test_an_answering_cluster_is_broker_contact_and_lag_is_set(dev_kafka: DevKafka) -> None:
    clock = Clock()
    metrics = LiveMetrics(WorkerHealth(max_age_s=60.0, clock=clock))
    metrics.health.running()
    metrics.consumer_position.labels("bets", "0").set(0)  # a position, without a read
    clock.now = 500.0
    probe_once(dev_kafka.bootstrap, metrics)
    assert metrics.health.verdict().ready
    assert metrics.registry.get_sample_value(
        "pitboss_consumer_lag", {"topic": "bets", "partition": "0"}) is not None


def test_silent_brokers_are_counted_and_no_contact() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    metrics = LiveMetrics()
    metrics.health.running()
    metrics.consumer_position.labels("bets", "0").set(0)
    probe_once(f"127.0.0.1:{port}", metrics)
    assert metrics.health.verdict().reason == "no answer from the Kafka brokers yet"
    errors = metrics.registry.get_sample_value(
        "pitboss_kafka_consumer_errors_total", {"code": "lag_probe"})
    assert errors == 1.0  # one failed metadata request; the watermarks were not asked for
