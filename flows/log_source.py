"""Bytewax source over recorded logs: one partition per file, resumable by position.

Each partition yields raw messages `(source, position, value)` exactly as the
live Kafka source does, so replay and live share every later step. The resume
state is the position of the next message to read (the position after the last
one emitted), so a restart neither skips nor repeats input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from operator import itemgetter
from pathlib import Path

from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition

from operators.ingest import RawMessage
from replay.recorded_log import read_log_messages

ProgressHook = Callable[[int, int], None]
"""Called after each batch with (messages, bytes) read: drives progress bars."""


class _LogPartition(StatefulSourcePartition[RawMessage, int]):
    def __init__(
        self, path: Path, name: str, start: int, batch_size: int, progress: ProgressHook | None
    ) -> None:
        self._progress = progress
        self._next = start
        self._batches: Iterator[list[RawMessage]] = read_log_messages(
            path, name, start, batch_size
        )

    def next_batch(self) -> list[RawMessage]:
        """Return the next batch of raw messages; StopIteration at the end of the file."""
        batch = next(self._batches)  # StopIteration ends the partition
        if not batch:
            return []
        self._next = batch[-1][1] + 1
        if self._progress is not None:
            values = map(itemgetter(2), batch)
            self._progress(len(batch), sum(map(len, values)) + len(batch))  # with newlines
        return batch

    def snapshot(self) -> int:
        """Return the position of the next message to read."""
        return self._next


class RecordedLogSource(FixedPartitionedSource[RawMessage, int]):
    """Read recorded logs (JSONL or Parquet), one partition per file.

    Args:
        paths: the log files, in the order given on the command line.
        batch_size: messages per batch handed to the dataflow.
        progress: optional hook told how much was read after each batch.
    """

    def __init__(
        self, paths: list[Path], batch_size: int = 1000, progress: ProgressHook | None = None
    ) -> None:
        self._paths = {f"{i}:{path.name}": path for i, path in enumerate(paths)}
        self._batch_size = batch_size
        self._progress = progress

    def list_parts(self) -> list[str]:
        """Return one partition per input file."""
        return list(self._paths)

    def build_part(
        self, step_id: str, for_part: str, resume_state: int | None
    ) -> _LogPartition:
        """Open the partition's file at its resume position."""
        return _LogPartition(self._paths[for_part], for_part, resume_state or 0,
                             self._batch_size, self._progress)
