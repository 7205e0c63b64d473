"""Bytewax sink that hands every output item to one outputs object (replay or live).

One partition, so one worker owns the outputs: the run's files, the ClickHouse client
(chDB allows one process per data directory) and, live, the Kafka producer. Bytewax
calls the partition's `snapshot()` at the end of every epoch, before that epoch's
recovery state is committed; the outputs' `checkpoint()` runs there and returns what
is not yet durable (live: ClickHouse batches still being inserted), which becomes the
partition's recovery state and is handed back to the outputs on resume. So a live
worker commits input offsets only once the outputs they produced were delivered or
are kept in the same snapshot (at-least-once delivery). A replay has nothing to
checkpoint: it re-runs from its input.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from bytewax.outputs import FixedPartitionedSink, StatefulSinkPartition


class Outputs(Protocol):
    """What the sink needs of `RunOutputs` (replay) and `LiveOutputs` (live workers)."""

    def write(self, items: list[object]) -> object:
        """Route one batch of output items."""
        ...

    def checkpoint(self) -> object:
        """Make everything written so far durable, or return what is not yet (or None)."""
        ...

    def close(self) -> object:
        """Flush and release everything at the end of the dataflow."""
        ...


class _OutputsPartition(StatefulSinkPartition[object, object]):
    def __init__(self, outputs: Outputs) -> None:
        self._outputs = outputs

    def write_batch(self, items: list[object]) -> None:
        """Hand a batch of output items to the outputs."""
        # Bytewax routes `(key, value)` pairs by key and hands the partition the values.
        self._outputs.write(items)

    def snapshot(self) -> object:
        """Checkpoint the outputs at the end of an epoch; keep what is not yet durable."""
        return self._outputs.checkpoint()

    def close(self) -> None:
        """Flush the outputs at the end of the dataflow."""
        self._outputs.close()


class _SparePartition(StatefulSinkPartition[object, object]):
    """A partition that is never written: it only moves the outputs to another worker."""

    def write_batch(self, items: list[object]) -> None:
        """Take nothing: no item is routed here."""

    def snapshot(self) -> object:
        """Keep nothing."""
        return None


class OutputsSink(FixedPartitionedSink[object, object]):
    """A single outputs partition, so one outputs object sees the whole run.

    Bytewax gives a sink's partitions to workers in name order, each to the worker with
    the fewest so far (`calc_primaries`), so `worker` empty partitions named before
    "outputs" put the outputs on worker `worker` when every worker lists them all: a
    replay puts them beside the fewest player shards (`pitboss.operators.partitioning`).
    Which worker writes changes no output.

    Args:
        make_outputs: builds the outputs on the worker that owns the partition
            (clients are opened there, never in the driver), given the partition's
            recovery state: what the last `checkpoint()` returned, or None.
        worker: the worker the outputs should go to (0: the first).
    """

    def __init__(self, make_outputs: Callable[[object], Outputs], worker: int = 0) -> None:
        self._make_outputs = make_outputs
        self._spares = [f"idle-{i:03d}" for i in range(worker)]  # sort before "outputs"

    def list_parts(self) -> list[str]:
        """Return the outputs partition, after the spare ones."""
        return [*self._spares, "outputs"]

    def part_fn(self, item_key: str) -> int:
        """Route every item to the outputs partition (last in name order)."""
        return len(self._spares)

    def build_part(
        self, step_id: str, for_part: str, resume_state: object
    ) -> StatefulSinkPartition[object, object]:
        """Build the outputs on the worker that owns the partition."""
        if for_part != "outputs":
            return _SparePartition()
        return _OutputsPartition(self._make_outputs(resume_state))
