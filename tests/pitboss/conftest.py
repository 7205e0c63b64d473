"""Fixtures for command tests: a development Kafka cluster, and a port that refuses connections."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from pitboss.replay.live.dev_broker import DevKafka


@pytest.fixture(scope="module")
def kafka() -> Iterator[DevKafka]:
    """Run a development cluster with Pitboss's configured topics, one partition each."""
    with DevKafka(partitions=1) as cluster:
        yield cluster


@pytest.fixture
def closed_port() -> int:
    """Return a local TCP port that refuses connections: bound once, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
