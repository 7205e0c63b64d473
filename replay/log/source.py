"""Bytewax source over recorded logs: every file merged into the event-order key's order.

All files are read by one source partition through an `EventAligner`
(`pitboss.operators.alignment`), so the dataflow sees the same sequence that a live worker
reading the same events from Kafka sees: events sorted by `(ts, player_id, event
type)` whenever each file is in event-time order, whatever the number of files.
The file holding the watermark back is read next, so the buffer stays small.

Each message keeps its file's name and line as `(source, position, value)`, exactly
as the live source names topic, partition and offset, so dead letters say where
they came from. The resume state is the aligner's: per file, the position of the
first message not yet handed on and the later ones that were, so a restart
neither skips nor repeats input.

With `partitions` N > 1 the logs are read as N partitions by player
(`pitboss.operators.partitioning`), each a source partition of its own that Bytewax may
give to any worker or process: every partition reads every file and hands on its own
players' lines (and partition 0 the lines naming no readable player). The other lines
still move their file's progress in the aligner, so each partition's lines come out in
the very order one partition gives them. Reading is repeated N times; the work after
it is not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from operator import itemgetter
from pathlib import Path

from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition

from pitboss.operators.alignment import EventAligner, StreamResume
from pitboss.operators.event_order import UNKEYED, OrderKey, OrderKeyReader
from pitboss.operators.ingest import RawMessage
from pitboss.operators.partitioning import check_partitions, partition_of
from pitboss.replay.log.recorded_log import read_log_messages

ProgressHook = Callable[[int, int], None]
"""Called after each batch with (messages, bytes) read: drives progress bars."""

LogResume = dict[str, StreamResume]
PARTITION = "recorded_logs"


class _PlayersOf:
    """Keeps the keys of one input partition's players (partition 0: unkeyed lines too)."""

    def __init__(self, partition: int, shards: int, partitions: int) -> None:
        self.partition = partition
        self.shards = shards
        self.partitions = partitions
        self._of: dict[str, int] = {}

    def __call__(self, key: OrderKey) -> bool:
        """Return whether the message of `key` belongs to this partition."""
        if key is UNKEYED:
            return self.partition == 0
        player = key[1]
        of = self._of.get(player)
        if of is None:
            if len(self._of) > 1 << 17:
                self._of.clear()
            of = self._of[player] = partition_of(player, self.shards, self.partitions)
        return of == self.partition


class _AlignedLogPartition(StatefulSourcePartition[RawMessage, LogResume]):
    def __init__(
        self, paths: dict[str, Path], resume: LogResume | None, batch_size: int,
        progress: ProgressHook | None, reorder_window_ms: int,
        keep: _PlayersOf | None = None,
    ) -> None:
        self._aligner = EventAligner(paths, OrderKeyReader(), resume, reorder_window_ms, keep)
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
    """Read recorded logs (JSONL or Parquet), all files merged by event time, by partition.

    Args:
        paths: the log files, in the order given on the command line.
        batch_size: messages read from a file at a time.
        progress: optional hook told how much was read after each batch (by partition 0
            alone when there are several: each partition reads every line).
        reorder_window_ms: the aligner's bounded out-of-orderness (`features.reorder_window_s`).
        partitions: input partitions by player (`pitboss.operators.partitioning`).
        shards: the player shard count (`features.shards`); `partitions` must divide it.

    Raises:
        ValueError: `partitions` does not divide `shards`.

    """

    def __init__(
        self, paths: list[Path], batch_size: int = 1000, progress: ProgressHook | None = None,
        reorder_window_ms: int = 0, partitions: int = 1, shards: int = 1,
    ) -> None:
        check_partitions(shards, partitions)
        self._paths = {f"{i}:{path.name}": path for i, path in enumerate(paths)}
        self._batch_size = batch_size
        self._progress = progress
        self._window_ms = reorder_window_ms
        self._partitions = partitions
        self._shards = shards

    def list_parts(self) -> list[str]:
        """Return the partitions: one that reads every file, or one per player partition."""
        if self._partitions == 1:
            return [PARTITION]
        return [f"{PARTITION}/{p}" for p in range(self._partitions)]

    def build_part(
        self, step_id: str, for_part: str, resume_state: LogResume | None
    ) -> _AlignedLogPartition:
        """Open every file at its resume position."""
        if self._partitions == 1:
            return _AlignedLogPartition(self._paths, resume_state, self._batch_size,
                                        self._progress, self._window_ms)
        partition = int(for_part.rpartition("/")[2])
        return _AlignedLogPartition(
            self._paths, resume_state, self._batch_size,
            self._progress if partition == 0 else None, self._window_ms,
            _PlayersOf(partition, self._shards, self._partitions))
