"""Bytewax source over recorded logs: every file merged into the event-order key's order.

All files are read by ONE source partition through an `EventAligner`
(`pitboss.operators.alignment`), so the dataflow sees the same sequence that a live worker
reading the same events from Kafka sees: events sorted by `(ts, player_id, event
type)` whenever each file is in event-time order, whatever the number of files.
The file holding the watermark back is read next, so the buffer stays small.

Each message keeps its file's name and line as `(source, position, value)`, exactly
as the live source names topic, partition and offset, so dead letters say where
they came from. The resume state is the aligner's: per file, the position of the
first message not yet handed on and the later ones that were, so a restart
neither skips nor repeats input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from operator import itemgetter
from pathlib import Path

from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition

from pitboss.operators.alignment import EventAligner, StreamResume
from pitboss.operators.event_order import OrderKeyReader
from pitboss.operators.ingest import RawMessage
from pitboss.replay.log.recorded_log import read_log_messages

ProgressHook = Callable[[int, int], None]
"""Called after each batch with (messages, bytes) read: drives progress bars."""

LogResume = dict[str, StreamResume]
PARTITION = "recorded_logs"


class _AlignedLogPartition(StatefulSourcePartition[RawMessage, LogResume]):
    def __init__(
        self, paths: dict[str, Path], resume: LogResume | None, batch_size: int,
        progress: ProgressHook | None, reorder_window_ms: int,
    ) -> None:
        self._aligner = EventAligner(paths, OrderKeyReader(), resume, reorder_window_ms)
        self._progress = progress
        self._batches: dict[str, Iterator[list[RawMessage]]] = {
            name: read_log_messages(path, name, self._aligner.start_position(name) or 0,
                                    batch_size)
            for name, path in paths.items()
        }

    def next_batch(self) -> list[RawMessage]:
        """Return the next messages in aligned order; StopIteration once every file is done."""
        aligner = self._aligner
        while True:
            stream = aligner.lagging()
            if stream is None:
                raise StopIteration
            batch = next(self._batches[stream], None)
            if batch is None:
                released = aligner.end(stream)
            else:
                self._report(batch)
                released = aligner.push(stream, batch)
            if released:
                return released

    def _report(self, batch: list[RawMessage]) -> None:
        if self._progress is not None:
            values = map(itemgetter(2), batch)
            self._progress(len(batch), sum(map(len, values)) + len(batch))  # with newlines

    def snapshot(self) -> LogResume:
        """Return, per file, where to resume: nothing handed on is read twice."""
        return self._aligner.snapshot()


class RecordedLogSource(FixedPartitionedSource[RawMessage, LogResume]):
    """Read recorded logs (JSONL or Parquet), all files merged by event time in one partition.

    Args:
        paths: the log files, in the order given on the command line.
        batch_size: messages read from a file at a time.
        progress: optional hook told how much was read after each batch.
        reorder_window_ms: the aligner's bounded out-of-orderness (`features.reorder_window_s`).
    """

    def __init__(
        self, paths: list[Path], batch_size: int = 1000, progress: ProgressHook | None = None,
        reorder_window_ms: int = 0,
    ) -> None:
        self._paths = {f"{i}:{path.name}": path for i, path in enumerate(paths)}
        self._batch_size = batch_size
        self._progress = progress
        self._window_ms = reorder_window_ms

    def list_parts(self) -> list[str]:
        """Return the one partition that reads every file."""
        return [PARTITION]

    def build_part(
        self, step_id: str, for_part: str, resume_state: LogResume | None
    ) -> _AlignedLogPartition:
        """Open every file at its resume position."""
        return _AlignedLogPartition(self._paths, resume_state, self._batch_size, self._progress,
                                    self._window_ms)
