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

A partitioned log (`pitboss.replay.log.partitioned`: one Parquet file per player
partition, each line with its place in the whole log and the log's progress before
it) is read without that repetition: a partition reads only the files holding its
players, and moves the aligner to each line's recorded progress before handing it
on, which releases the same lines in the same order as reading the whole log with
the partition's filter. Its messages are named after the whole log, so dead letters
name the same source and line as a replay of the whole log does.
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
from pitboss.replay.log.partitioned import partition_set, read_partition_files
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


Reader = Callable[[int], Iterator[tuple[list[RawMessage], list[int] | None]]]
"""Opens a stream at a position: batches of messages, each with the progress before its
messages when the stream records it (a partitioned log), else None."""


def _plain_reader(path: Path, name: str, batch_size: int) -> Reader:
    def read(start: int) -> Iterator[tuple[list[RawMessage], list[int] | None]]:
        for batch in read_log_messages(path, name, start, batch_size):
            yield batch, None

    return read


def _partitioned_reader(files: list[Path], name: str, batch_size: int) -> Reader:
    return lambda start: read_partition_files(files, name, start, batch_size)


class _AlignedLogPartition(StatefulSourcePartition[RawMessage, LogResume]):
    def __init__(
        self, readers: dict[str, Reader], resume: LogResume | None,
        progress: ProgressHook | None, reorder_window_ms: int,
        keep: _PlayersOf | None = None,
    ) -> None:
        self._aligner = EventAligner(readers, OrderKeyReader(), resume, reorder_window_ms, keep)
        self._progress = progress
        self._batches = {name: read(self._aligner.start_position(name) or 0)
                         for name, read in readers.items()}

    def next_batch(self) -> list[RawMessage]:
        """Return the next messages in aligned order; StopIteration once every file is done."""
        aligner = self._aligner
        while True:
            stream = aligner.lagging()
            if stream is None:
                raise StopIteration
            read = next(self._batches[stream], None)
            if read is None:
                released = aligner.end(stream)
            else:
                batch, before = read
                self._report(batch)
                released = aligner.push(stream, batch, before)
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
        paths: the log files, in the order given on the command line; or every file of
            one partitioned log (`pitboss.replay.log.partitioned`), in any order.
        batch_size: messages read from a file at a time.
        progress: optional hook told how much was read after each batch (by partition 0
            alone when every partition reads every line).
        reorder_window_ms: the aligner's bounded out-of-orderness (`features.reorder_window_s`).
        partitions: input partitions by player (`pitboss.operators.partitioning`).
        shards: the player shard count (`features.shards`); `partitions` must divide it.

    Raises:
        ValueError: `partitions` does not divide `shards`.
        RecordedLogError: files of a partitioned log mixed with other logs, or a set
            with a file missing (`pitboss.replay.log.partitioned.partition_set`).

    """

    def __init__(
        self, paths: list[Path], batch_size: int = 1000, progress: ProgressHook | None = None,
        reorder_window_ms: int = 0, partitions: int = 1, shards: int = 1,
    ) -> None:
        check_partitions(shards, partitions)
        self._set = partition_set(paths)
        if self._set is not None:
            self._set.check_shards(shards)
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
        """Open every file the partition reads at its resume position."""
        partition = 0 if self._partitions == 1 else int(for_part.rpartition("/")[2])
        keep = None
        if self._partitions > 1:
            keep = _PlayersOf(partition, self._shards, self._partitions)
        if self._set is not None:
            files, all_its_own = self._set.files_of(partition, self._partitions)
            name = f"0:{self._set.log}"
            readers = {name: _partitioned_reader(files, name, self._batch_size)}
            return _AlignedLogPartition(readers, resume_state, self._progress, self._window_ms,
                                        None if all_its_own else keep)
        readers = {name: _plain_reader(path, name, self._batch_size)
                   for name, path in self._paths.items()}
        return _AlignedLogPartition(readers, resume_state,
                                    self._progress if partition == 0 else None,
                                    self._window_ms, keep)
