"""Fixtures for sink tests: a development Kafka cluster in a helper process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sinks.kafka_dev_cluster import DevKafka


@pytest.fixture(scope="session")
def dev_kafka() -> Iterator[DevKafka]:
    """One mock Kafka cluster (3 brokers) for the session, served by `pitboss dev-kafka`."""
    # 3 partitions, not librdkafka's auto-create default of 4, so tests can tell
    # Pitboss's pre-created topics from auto-created ones.
    with DevKafka(brokers=3, partitions=3) as kafka:
        yield kafka
