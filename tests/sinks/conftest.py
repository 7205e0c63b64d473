"""Fixtures for sink tests: a development Kafka cluster in a helper process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sinks.kafka_dev_cluster import DevKafka

# Not librdkafka's auto-create default of 4, so tests can tell created topics from auto-created.
DEV_KAFKA_PARTITIONS = 3


@pytest.fixture(scope="session")
def dev_kafka() -> Iterator[DevKafka]:
    """One mock Kafka cluster (3 brokers) for the session, served by `pitboss dev-kafka`."""
    with DevKafka(brokers=3, partitions=DEV_KAFKA_PARTITIONS) as kafka:
        yield kafka
