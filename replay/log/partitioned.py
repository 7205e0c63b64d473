"""Partitioned logs: one recorded log written as N Parquet files, one per player partition.

A replay with N input partitions (`pitboss.operators.partitioning`) reading one
log reads every line N times: each partition must see the other partitions'
lines go by, because they move the log's event-time progress, and with it the
place of a displaced event (`pitboss.operators.alignment`). A partition file
carries that progress with it, so a partition reads only its own lines.

File `log.part-P-of-N.parquet` holds, in log order, the lines of the players of
partition P (`pitboss.operators.partitioning.partition_of` for the shard count the
files are written for; lines naming no readable player go to partition 0), one row
each:

- `value`: the raw message, byte for byte;
- `position`: its line (or row) in the whole log;
- `progress`: the log's progress just before it: the greatest event time of the
  lines before it, its partition's or not (`NOT_STARTED` before any).

The file's metadata (`pitboss.partition`) names the log, the partition, the partition
and shard counts, and the whole log's message count and final progress, so that files
of different logs or sets are not mixed, nor read for another shard count. A reader
that moves the aligner to each line's `progress` before handing the line on releases
the very sequence the whole log read with that partition's filter releases: every
message a partition of the whole log hands on, at the same place
(`EventAligner.push`, `before`).
Read together (merged by `position`), the files are the whole log again. Any
Parquet reader sees a plain recorded log of the partition's players in the
`value` column.

Example:
    >>> import tempfile
    >>> log = Path(tempfile.mkdtemp()) / "log.parquet"
    >>> with PartitionedLogWriter(log, partitions=2, shards=16) as writer:
    ...     writer.write_many([b'{"ts": 5, "player_id": "a"}', b'{"ts": 3, "player_id": "b"}',
    ...                        b"not json"])
    >>> [p.name for p in writer.paths]
    ['log.part-0-of-2.parquet', 'log.part-1-of-2.parquet']
    >>> part = PartitionFile.read(writer.paths[0])
    >>> (part.log, part.partition, part.partitions, part.messages, part.final_progress)
    ('log.parquet', 0, 2, 3, 5)
    >>> [([position for _, position, _ in messages], before)
    ...  for messages, before in read_partition_files(writer.paths, "log")]
    [([0, 1, 2], [-4611686018427387904, 5, 5])]
    >>> partition_of("a", 16, 2), partition_of("b", 16, 2)  # the unkeyed line: partition 0
    (1, 0)
    >>> [([position for _, position, _ in messages], before)  # line 1: after a's 5
    ...  for messages, before in read_partition_files(writer.paths[:1], "log")]
    [([1, 2], [5, 5])]
"""

from __future__ import annotations

import heapq
import itertools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import pyarrow as pa
import pyarrow.parquet as pq

from pitboss.operators.alignment import NOT_STARTED, RawMessage
from pitboss.operators.event_order import UNKEYED, OrderKeyReader
from pitboss.operators.partitioning import (
    check_partitions,
    partition_of,
    shard_partitions,
    shards_of_partition,
)
from pitboss.replay.log.recorded_log import (
    DEFAULT_BATCH_SIZE,
    PARQUET_ROW_GROUP_ROWS,
    VALUE_COLUMN,
    RecordedLogError,
    read_log_batches,
)

METADATA_KEY = b"pitboss.partition"
POSITION_COLUMN = "position"
PROGRESS_COLUMN = "progress"
FORMAT_VERSION = 1
_SCHEMA = pa.schema([(VALUE_COLUMN, pa.binary()), (POSITION_COLUMN, pa.int64()),
                     (PROGRESS_COLUMN, pa.int64())])

Batch = tuple[list[RawMessage], list[int]]
"""Messages `(source, position, value)` and, for each, the log's progress just before it."""


def partition_path(log: Path, partition: int, partitions: int) -> Path:
    """Return the file of `partition` of `log` split `partitions` ways.

    Example:
        >>> partition_path(Path("runs/log.jsonl"), 1, 2).as_posix()
        'runs/log.part-1-of-2.parquet'

    """
    return log.with_name(f"{log.stem}.part-{partition}-of-{partitions}.parquet")


@dataclass(frozen=True)
class PartitionFile:
    """One file of a partitioned log, as its metadata describes it."""

    path: Path
    log: str
    partition: int
    partitions: int
    shards: int
    messages: int
    final_progress: int

    @classmethod
    def read(cls, path: Path) -> PartitionFile | None:
        """Return the description of `path`, or None if it is a plain recorded log."""
        if path.suffix.lower() not in (".parquet", ".pq"):
            return None
        try:
            metadata = pq.read_metadata(path).metadata or {}
        except (OSError, pa.ArrowException):
            return None  # check_log names what is wrong with it
        raw = metadata.get(METADATA_KEY)
        if raw is None:
            return None
        fields = json.loads(raw)
        return cls(path, fields["log"], fields["partition"], fields["partitions"],
                   fields["shards"], fields["messages"], fields["final_progress"])

    def same_set(self, other: PartitionFile) -> bool:
        """Tell whether `other` is a file of the same log split the same way."""
        return (self.log, self.partitions, self.shards, self.messages,
                self.final_progress) == (other.log, other.partitions, other.shards,
                                         other.messages, other.final_progress)


@dataclass(frozen=True)
class PartitionSet:
    """Every file of one partitioned log, by partition."""

    log: str
    files: tuple[Path, ...]
    shards: int

    @property
    def partitions(self) -> int:
        """Return how many partitions the log was written as."""
        return len(self.files)

    def check_shards(self, shards: int) -> None:
        """Refuse a replay with another shard count than the files were written for.

        Raises:
            RecordedLogError: naming the files, both counts, and what to do.

        """
        if shards != self.shards:
            raise RecordedLogError(
                f"{self.files[0]}: the partitioned log {self.log} is written for "
                f"{self.shards} shards, and features.shards is {shards}: replay it with "
                f"features.shards = {self.shards}, or write it again for {shards}")

    def files_of(self, partition: int, partitions: int) -> tuple[list[Path], bool]:
        """Return the files input partition `partition` of `partitions` reads, and if all is its.

        Those holding any of its shards; every line in them is the partition's when
        they hold no other shard (always with as many partitions as files, or one).
        """
        written = shard_partitions(self.shards, self.partitions)
        own = set(shards_of_partition(partition, self.shards, partitions))
        files = sorted({written[shard] for shard in own})
        others = [s for s in range(self.shards) if written[s] in files and s not in own]
        return [self.files[q] for q in files], not others


def partition_set(paths: list[Path]) -> PartitionSet | None:
    """Return the partitioned log that `paths` are the files of, or None if none is one.

    Raises:
        RecordedLogError: files of a partitioned log mixed with other logs, files of
            different sets, or a set with a partition missing or given twice.

    """
    parts = [PartitionFile.read(path) for path in paths]
    found = [p for p in parts if p is not None]
    if not found:
        return None
    first = found[0]
    if len(found) < len(parts):
        other = next(path for path, p in zip(paths, parts, strict=True) if p is None)
        raise RecordedLogError(
            f"{other}: not a file of the partitioned log {first.log} ({first.path}); a "
            "partitioned log replays on its own: give only its files")
    for part in found[1:]:
        if not part.same_set(first):
            raise RecordedLogError(
                f"{part.path}: a file of another partitioned log than {first.path} "
                f"({part.log}, {part.partitions} partitions, {part.messages:,} messages "
                f"against {first.log}, {first.partitions}, {first.messages:,})")
    by_partition: dict[int, Path] = {}
    for part in found:
        if part.partition in by_partition:
            raise RecordedLogError(
                f"{part.path}: partition {part.partition} of {first.log} given twice "
                f"(also {by_partition[part.partition]})")
        by_partition[part.partition] = part.path
    missing = [p for p in range(first.partitions) if p not in by_partition]
    if missing:
        log = first.path.with_name(first.log)
        names = ", ".join(partition_path(log, p, first.partitions).name for p in missing)
        raise RecordedLogError(
            f"{first.path}: {len(found)} of the {first.partitions} files of the partitioned "
            f"log {first.log} given; missing: {names}")
    return PartitionSet(first.log, tuple(by_partition[p] for p in range(first.partitions)),
                        first.shards)


class _PartitionWriter:
    """Rows of one partition file, written a row group at a time."""

    def __init__(self, path: Path, row_group_rows: int) -> None:
        self.path = path
        self._rows = row_group_rows
        self._values: list[bytes] = []
        self._positions: list[int] = []
        self._progress: list[int] = []
        self._writer: pq.ParquetWriter | None = None
        self.count = 0

    def add(self, value: bytes, position: int, progress: int) -> None:
        self._values.append(value)
        self._positions.append(position)
        self._progress.append(progress)
        if len(self._values) >= self._rows:
            self.flush()

    def flush(self) -> None:
        if not self._values:
            return
        table = pa.Table.from_arrays(
            [pa.array(self._values, pa.binary()), pa.array(self._positions, pa.int64()),
             pa.array(self._progress, pa.int64())], schema=_SCHEMA)
        self._open().write_table(table)
        self.count += len(self._values)
        self._values, self._positions, self._progress = [], [], []

    def _open(self) -> pq.ParquetWriter:
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, _SCHEMA, compression="zstd",
                                            use_dictionary=False)
        return self._writer

    def abandon(self) -> None:
        """Close the file as it stands, without the metadata of a partition file."""
        if self._writer is not None:
            self._writer.close()

    def close(self, metadata: dict[str, object]) -> None:
        """Write what is left, then the metadata, known only now, into the footer."""
        self.flush()
        writer = self._open()
        writer.add_key_value_metadata({METADATA_KEY: json.dumps(metadata, sort_keys=True)})
        writer.close()


class PartitionedLogWriter:
    """Write a recorded log as one Parquet file per player partition (`partition_path`).

    The same calls as `pitboss.replay.log.recorded_log.LogWriter`: values in log order.

    Args:
        log: the whole log's path; its name is the log's name (the source named by
            dead letters), the files are written beside it.
        partitions: how many partitions (files).
        shards: the player shard count of the replays to come (`features.shards`);
            a partition holds whole shards.
        row_group_rows: rows per Parquet row group.

    Raises:
        ValueError: `partitions` does not divide `shards`.

    """

    def __init__(
        self, log: Path, partitions: int, shards: int,
        row_group_rows: int = PARQUET_ROW_GROUP_ROWS,
    ) -> None:
        check_partitions(shards, partitions)
        self.shards = shards
        self.log = log
        self.format = "parquet"
        self.paths = [partition_path(log, p, partitions) for p in range(partitions)]
        log.parent.mkdir(parents=True, exist_ok=True)
        self._files = [_PartitionWriter(path, row_group_rows) for path in self.paths]
        self._key_of = OrderKeyReader()
        self._partition: dict[str, int] = {}
        self._progress = NOT_STARTED
        self.count = 0

    def __enter__(self) -> PartitionedLogWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
            return
        for file in self._files:  # unfinished: no metadata, so no reader takes it for a set
            file.abandon()
        self._files = []

    def write_many(self, values: Iterable[bytes]) -> None:
        """Append raw message values in log order, each to its player's partition file."""
        files, partitions, of = self._files, len(self._files), self._partition
        for value in values:
            key = self._key_of(value)
            if key is UNKEYED:
                partition = 0
            else:
                partition = of.get(key[1], -1)
                if partition < 0:
                    partition = of[key[1]] = partition_of(key[1], self.shards, partitions)
            files[partition].add(value, self.count, self._progress)
            self._progress = max(self._progress, key[0])
            self.count += 1

    def write(self, value: bytes) -> None:
        """Append one raw message value."""
        self.write_many((value,))

    def close(self) -> None:
        """Finish every file; closing twice is harmless."""
        files, self._files = self._files, []
        for partition, file in enumerate(files):
            file.close({"log": self.log.name, "partition": partition,
                        "partitions": len(files), "shards": self.shards, "messages": self.count,
                        "final_progress": self._progress, "format": FORMAT_VERSION})


def partition_log(
    source: Path, partitions: int, shards: int, log: Path | None = None
) -> list[Path]:
    """Write the recorded log `source` as a partitioned log; return its files.

    Args:
        source: a JSONL or Parquet recorded log.
        partitions: how many partition files.
        shards: the shard count of the replays to come (`features.shards`).
        log: where the files go and the log's name in them; default `source` itself,
            so that dead letters name the source as replaying it does.

    """
    with PartitionedLogWriter(log or source, partitions, shards) as writer:
        for batch in read_log_batches(source, batch_size=DEFAULT_BATCH_SIZE * 10):
            writer.write_many([value for _, value in batch])
    return writer.paths


def _file_rows(
    path: Path, start: int, batch_size: int
) -> Iterator[tuple[list[int], list[int], list[bytes]]]:
    """Yield a file's (positions, progress, values) in column batches, from `start` on."""
    file = pq.ParquetFile(path)
    try:
        columns = [POSITION_COLUMN, PROGRESS_COLUMN, VALUE_COLUMN]
        for batch in file.iter_batches(batch_size=batch_size, columns=columns):
            positions = batch.column(0).to_pylist()
            cut = 0
            if positions and positions[0] < start:
                cut = next((i for i, p in enumerate(positions) if p >= start), len(positions))
                if cut == len(positions):
                    continue
            yield (positions[cut:], batch.column(1).to_pylist()[cut:],
                   batch.column(2).to_pylist()[cut:])
    finally:
        file.close()


def read_partition_files(
    paths: list[Path], source: str, start: int = 0, batch_size: int = DEFAULT_BATCH_SIZE
) -> Iterator[Batch]:
    """Stream partition files merged in log order, as messages of `source` with their progress.

    Args:
        paths: files of one partitioned log (one, or several merged by position).
        source: the name to give every message (the whole log's stream name).
        start: the log position to start at; rows before it are skipped.
        batch_size: rows read at a time (batches merged from several files may be
            larger or smaller).

    Returns:
        An iterator of non-empty batches `(messages, progress before each)`.

    """
    if len(paths) == 1:
        for positions, progress, values in _file_rows(paths[0], start, batch_size):
            count = len(positions)
            yield list(zip(itertools.repeat(source, count), positions, values,
                           strict=True)), progress
        return
    rows = heapq.merge(*(_rows_of(path, start, batch_size) for path in paths))
    while chunk := list(itertools.islice(rows, batch_size)):
        yield [(source, position, value) for position, _, value in chunk], [
            progress for _, progress, _ in chunk]


def _rows_of(path: Path, start: int, batch_size: int) -> Iterator[tuple[int, int, bytes]]:
    for positions, progress, values in _file_rows(path, start, batch_size):
        yield from zip(positions, progress, values, strict=True)
