"""Bytewax sink that hands every output item of a run to one `RunOutputs`."""

from __future__ import annotations

from collections.abc import Callable

from bytewax.outputs import FixedPartitionedSink, StatefulSinkPartition

from sinks.run_outputs import RunOutputs


class _OutputsPartition(StatefulSinkPartition[object, None]):
    def __init__(self, outputs: RunOutputs) -> None:
        self._outputs = outputs

    def write_batch(self, items: list[object]) -> None:
        """Hand a batch of output items to the run outputs."""
        # Bytewax routes `(key, value)` pairs by key and hands the partition the values.
        self._outputs.write(items)

    def snapshot(self) -> None:
        """Return no state: a replay re-runs from its input."""
        return None

    def close(self) -> None:
        """Flush ClickHouse and write the run's files."""
        self._outputs.close()


class RunOutputsSink(FixedPartitionedSink[object, None]):
    """A single partition, so one `RunOutputs` sees the whole run (and writes its files).

    Args:
        make_outputs: builds the `RunOutputs` on the worker that owns the partition
            (ClickHouse clients are opened there, never in the driver).
    """

    def __init__(self, make_outputs: Callable[[], RunOutputs]) -> None:
        self._make_outputs = make_outputs

    def list_parts(self) -> list[str]:
        """Return the single outputs partition."""
        return ["outputs"]

    def part_fn(self, item_key: str) -> int:
        """Route every item to the single partition."""
        return 0

    def build_part(
        self, step_id: str, for_part: str, resume_state: None
    ) -> _OutputsPartition:
        """Build the run outputs on the worker that owns the partition."""
        return _OutputsPartition(self._make_outputs())
