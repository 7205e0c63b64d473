"""Fixtures for sink tests: a development Kafka broker (Tansu) in a child process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sinks.kafka_dev_cluster import DevKafka


@pytest.fixture(scope="session")
def dev_kafka() -> Iterator[DevKafka]:
    """One development broker for the session."""
    # 3 partitions, not Tansu's auto-create default of 4, so tests can tell
    # Pitboss's pre-created topics from auto-created ones.
    with DevKafka(partitions=3) as kafka:
        yield kafka
