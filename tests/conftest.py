"""Shared fixtures: one embedded ClickHouse (chDB) engine per test process, a dev broker.

chDB allows exactly one data path per process, for the life of the process, so
every test in a process shares `chdb_path` and isolates itself with its own
database name from `clickhouse_database`.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from pitboss.replay.live.dev_broker import DevKafka

_database_numbers = itertools.count()

# No test is timed (the machines are shared and noisy): Hypothesis's per-example deadline
# would turn a busy machine into a failure. Examples per test stay Hypothesis's defaults.
settings.register_profile("pitboss", deadline=None)
settings.load_profile("pitboss")


@pytest.fixture(scope="session")
def chdb_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the one chDB data directory this test process may use."""
    return tmp_path_factory.mktemp(f"chdb-{os.getpid()}")


@pytest.fixture
def clickhouse_database() -> Iterator[str]:
    """Yield a database name no other test in this process uses."""
    yield f"t{os.getpid()}_{next(_database_numbers)}"


@pytest.fixture(scope="session")
def dev_kafka() -> Iterator[DevKafka]:
    """One development broker (Tansu, in a child process) for the session."""
    # 3 partitions, not Tansu's auto-create default of 4, so tests can tell
    # Pitboss's pre-created topics from auto-created ones.
    with DevKafka(partitions=3) as kafka:
        yield kafka
