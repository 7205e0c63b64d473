"""Bytewax's placement of keys and partitions, as `key_placement` and partitioning say.

Each shard's key lives on the worker that reads the shard's input partition, and the
outputs partition on the worker of the partition with the fewest shards.

If a Bytewax upgrade placed them otherwise, no output would change (tests/flows/test_replay.py
still compares them), but events would cross between processes again: this test says so.
"""

from __future__ import annotations

import threading

import bytewax.operators as op
import pytest
from bytewax.dataflow import Dataflow
from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition
from bytewax.testing import cluster_main

from pitboss.flows.outputs_sink import OutputsSink
from pitboss.operators.key_placement import siphash13
from pitboss.operators.partitioning import quietest_partition, shard_partitions
from pitboss.operators.sharding import shard_names

SHARDS = 16


class _Once(StatefulSourcePartition[tuple[str, str], None]):
    def __init__(self, name: str, seen: dict[str, int]) -> None:
        self._name, self._seen, self._done = name, seen, False

    def next_batch(self) -> list[tuple[str, str]]:
        if self._done:
            raise StopIteration
        self._done = True
        self._seen[self._name] = threading.get_ident()
        return [(self._name, self._name)]

    def snapshot(self) -> None:
        return None


class _Partitions(FixedPartitionedSource[tuple[str, str], None]):
    """N input partitions named as the recorded-log source names them; each reads nothing."""

    def __init__(self, count: int, seen: dict[str, int]) -> None:
        self._count, self._seen = count, seen

    def list_parts(self) -> list[str]:
        return [f"recorded_logs/{p}" for p in range(self._count)]

    def build_part(self, step_id: str, for_part: str, resume_state: None) -> _Once:
        return _Once(for_part, self._seen)


def test_siphash13_matches_the_reference_vector() -> None:
    # SipHash-1-3 with zero keys of the empty input (Rust's DefaultHasher::new()).
    assert siphash13(b"") == 0xD1FBA762150C532C


@pytest.mark.parametrize("workers", [2, 4])
def test_each_shard_lives_on_the_worker_that_reads_its_partition(workers: int) -> None:
    readers: dict[str, int] = {}
    hosts: dict[str, int] = {}
    flow = Dataflow("placement")
    parts = op.input("parts", flow, _Partitions(workers, readers))
    keys = op.map("keyed", op.input("keys", flow, _Keys()), lambda key: (key, key))

    def host(state: None, key: str) -> tuple[None, str]:
        hosts[key] = threading.get_ident()
        return None, key

    op.stateful_map("shards", keys, host)
    quietest = quietest_partition(SHARDS, workers)
    writers: list[int] = []

    def outputs(_resume: object) -> _Outputs:
        writers.append(threading.get_ident())
        return _Outputs()

    op.output("outputs", parts, OutputsSink(outputs, quietest))
    cluster_main(flow, [], 0, worker_count_per_proc=workers)
    table = shard_partitions(SHARDS, workers)
    for shard, name in enumerate(shard_names(SHARDS)):
        assert hosts[name] == readers[f"recorded_logs/{table[shard]}"], name
    assert writers == [readers[f"recorded_logs/{quietest}"]]  # beside the fewest shards


class _Outputs:
    def write(self, items: list[object]) -> None:
        pass

    def checkpoint(self) -> None:
        return None

    def close(self) -> None:
        pass


class _Keys(FixedPartitionedSource[str, None]):
    def list_parts(self) -> list[str]:
        return ["keys"]

    def build_part(self, step_id: str, for_part: str, resume_state: None) -> _KeyList:
        return _KeyList()


class _KeyList(StatefulSourcePartition[str, None]):
    def __init__(self) -> None:
        self._done = False

    def next_batch(self) -> list[str]:
        if self._done:
            raise StopIteration
        self._done = True
        return list(shard_names(SHARDS))

    def snapshot(self) -> None:
        return None
