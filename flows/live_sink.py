"""Bytewax sink that hands a live worker's outputs to one `LiveOutputs` and checkpoints it.

One partition, so one process owns the Kafka producer and the ClickHouse client
(chDB allows one process per data directory). Bytewax calls the partition's
`snapshot()` at the end of every epoch, before that epoch's recovery state is
committed; flushing there means input offsets are only committed once the
outputs they produced were delivered: at-least-once delivery.
"""

from __future__ import annotations

from collections.abc import Callable

from bytewax.outputs import FixedPartitionedSink, StatefulSinkPartition

from sinks.live_outputs import LiveOutputs


class _LivePartition(StatefulSinkPartition[object, None]):
    def __init__(self, outputs: LiveOutputs) -> None:
        self._outputs = outputs

    def write_batch(self, items: list[object]) -> None:
        self._outputs.write(items)

    def snapshot(self) -> None:
        self._outputs.checkpoint()

    def close(self) -> None:
        self._outputs.close()


class LiveOutputsSink(FixedPartitionedSink[object, None]):
    """A single partition whose epoch snapshot waits for Kafka and ClickHouse.

    Args:
        make_outputs: builds the `LiveOutputs` on the worker that owns the partition
            (the producer and ClickHouse client are opened there, never elsewhere).

    """

    def __init__(self, make_outputs: Callable[[], LiveOutputs]) -> None:
        self._make_outputs = make_outputs

    def list_parts(self) -> list[str]:
        """Return the one partition."""
        return ["outputs"]

    def part_fn(self, item_key: str) -> int:
        """Route every item to the one partition."""
        return 0

    def build_part(
        self, step_id: str, for_part: str, resume_state: None
    ) -> StatefulSinkPartition[object, None]:
        """Open the outputs (producer, ClickHouse client) on this worker."""
        return _LivePartition(self._make_outputs())
