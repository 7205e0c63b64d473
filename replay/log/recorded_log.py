r"""Recorded logs: what the Kafka topics carried, one raw message value per record.

A recorded log is either JSONL (`.jsonl`, `.ndjson`: one message value per line)
or Parquet (`.parquet`, `.pq`: one `value` column, binary or string, one message
per row). Readers hand on raw bytes and never parse JSON, so a recorded log goes
through exactly the same validation as live traffic: a line that is not JSON, or
an empty line, is yielded like any other message and dead-letters downstream.

Positions are 0-based line (JSONL) or row (Parquet) indices. `read_log_messages`
hands out `(source, position, value)` messages, the form the dataflow's sources
emit, built once per message. Reading streams:
JSONL in large binary chunks split on newlines, Parquet batch by batch, so a log
of any size is read in bounded memory. Resuming at `start` skips whole Parquet row
groups through the file's metadata, but has to scan a JSONL file from its
beginning counting newlines (at memory speed, without splitting lines).

Framing rules for JSONL: `\n` ends a message and `\r\n` is accepted as well;
the newline after the last message is not a message of its own, but any other
empty line is one (`b""`). A Parquet null is handed on as `b""`.

Example:
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "log.jsonl"
    >>> with LogWriter(path) as log:
    ...     log.write(b'{"event_id": "e1"}')
    ...     log.write_many([b"not json", b""])
    >>> list(read_log(path))
    [(0, b'{"event_id": "e1"}'), (1, b'not json'), (2, b'')]
    >>> list(read_log(path, start=1))
    [(1, b'not json'), (2, b'')]

"""

from __future__ import annotations

import array
import itertools
from collections.abc import Callable, Generator, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Literal, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

LogFormat = Literal["jsonl", "parquet"]
Record = tuple[int, bytes]
"""`(position, raw message value)`."""
Message = tuple[str, int, bytes]
"""`(source, position, raw message value)`: a raw message as the dataflow's sources emit it."""
Item = TypeVar("Item", Record, Message)
Labeller = Callable[[int, list[bytes]], list[Item]]
"""Turns consecutive values, the first at a given position, into the items yielded."""

CHUNK_BYTES = 4 * 1024 * 1024
"""Bytes read from a JSONL file at a time: big enough that splitting runs at memory speed."""
DEFAULT_BATCH_SIZE = 1000
PARQUET_ROW_GROUP_ROWS = 65_536
VALUE_COLUMN = "value"

_SUFFIXES: dict[str, LogFormat] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def log_format(path: Path) -> LogFormat:
    """Tell the format of a recorded log from its file name.

    Args:
        path: the log file; `.jsonl`/`.ndjson` is JSONL, `.parquet`/`.pq` is Parquet.

    Returns:
        `"jsonl"` or `"parquet"`.

    Raises:
        ValueError: for any other extension.

    Example:
        >>> log_format(Path("day1.parquet")), log_format(Path("day1.jsonl"))
        ('parquet', 'jsonl')

    """
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(_SUFFIXES))
        raise ValueError(f"{path}: unknown recorded-log extension (expected one of {known})")
    return fmt


class RecordedLogError(ValueError):
    """A file that cannot be read as a recorded log at all; the message names the file.

    Bad *messages* inside a readable log are not this error: they are handed on and
    dead-lettered downstream, like bad live traffic.
    """


def check_log(path: Path) -> LogFormat:
    """Check, before reading it, that `path` is a recorded log the readers can stream.

    The file must exist and be readable, and a Parquet log must be a Parquet file
    with a `value` column of binary or string values. Nothing but the first bytes
    (JSONL) or the footer (Parquet) is read.

    Args:
        path: the log to check.

    Returns:
        Its format.

    Raises:
        RecordedLogError: naming the file and what is wrong with it.

    Example:
        >>> check_log(Path("no/such/log.jsonl"))
        Traceback (most recent call last):
        ...
        pitboss.replay.log.recorded_log.RecordedLogError: no/such/log.jsonl: no such file

    """
    try:
        fmt = log_format(path)
    except ValueError as exc:
        raise RecordedLogError(str(exc)) from exc
    if not path.exists():
        raise RecordedLogError(f"{path}: no such file")
    if not path.is_file():
        raise RecordedLogError(f"{path}: not a file")
    try:
        if fmt == "parquet":
            _check_parquet(path)
        else:
            with path.open("rb") as stream:
                stream.read(1)
    except OSError as exc:
        raise RecordedLogError(f"{path}: cannot read: {exc.strerror}") from exc
    return fmt


def _check_parquet(path: Path) -> None:
    """Check that `path` is Parquet with a `value` column the reader can hand on as bytes."""
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowInvalid, pa.ArrowException) as exc:
        raise RecordedLogError(f"{path}: not a Parquet file ({_first_line(exc)})") from exc
    if VALUE_COLUMN not in schema.names:
        columns = ", ".join(schema.names) or "none"
        raise RecordedLogError(
            f"{path}: no {VALUE_COLUMN!r} column (a recorded log has one {VALUE_COLUMN!r} "
            f"column of binary or string messages; this file has: {columns})"
        )
    kind = schema.field(VALUE_COLUMN).type
    if not _is_message_type(kind):
        raise RecordedLogError(
            f"{path}: column {VALUE_COLUMN!r} is {kind}, not binary or string messages"
        )


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _is_message_type(kind: pa.DataType) -> bool:
    return bool(pa.types.is_binary(kind) or pa.types.is_large_binary(kind)
                or pa.types.is_string(kind) or pa.types.is_large_string(kind))


def read_log(path: Path, start: int = 0) -> Iterator[Record]:
    """Stream the messages of a recorded log one by one.

    Args:
        path: a JSONL or Parquet recorded log.
        start: the position of the first message to yield (0-based).

    Returns:
        An iterator of `(position, raw value)`, the value without its newline.

    """
    for batch in read_log_batches(path, start):
        yield from batch


def read_log_batches(
    path: Path, start: int = 0, batch_size: int = DEFAULT_BATCH_SIZE
) -> Iterator[list[Record]]:
    """Stream the messages of a recorded log in batches: the fast path for sources.

    Args:
        path: a JSONL or Parquet recorded log.
        start: the position of the first message to yield (0-based); a JSONL log is
            scanned from its beginning to find it.
        batch_size: messages per batch; every batch but the last is full, none is empty.

    Returns:
        An iterator of lists of `(position, raw value)` in log order.

    Raises:
        ValueError: for an unknown extension, a negative `start` or a `batch_size` < 1.

    """
    yield from _read_batches(path, start, batch_size, _records)


def read_log_messages(
    path: Path, source: str, start: int = 0, batch_size: int = DEFAULT_BATCH_SIZE
) -> Iterator[list[Message]]:
    """Stream a recorded log as batches of raw messages `(source, position, value)`.

    The same batches as `read_log_batches`, with `source` in front of every record;
    each message tuple is built once, as the dataflow's source hands it on.

    Args:
        path: a JSONL or Parquet recorded log.
        source: the name to give every message (the source partition's name).
        start: the position of the first message to yield (0-based).
        batch_size: messages per batch; every batch but the last is full, none is empty.

    Returns:
        An iterator of lists of `(source, position, raw value)` in log order.

    Raises:
        ValueError: for an unknown extension, a negative `start` or a `batch_size` < 1.

    """
    yield from _read_batches(path, start, batch_size, _messages_of(source))


def _read_batches(
    path: Path, start: int, batch_size: int, label: Labeller[Item]
) -> Iterator[list[Item]]:
    """Stream `path` in batches of `label`'s items."""
    _check_window(start, batch_size)
    if log_format(path) == "parquet":
        yield from _read_parquet_batches(path, start, batch_size, label)
        return
    with path.open("rb", buffering=0) as stream:
        yield from _stream_batches(stream, start, batch_size, CHUNK_BYTES, label)


def _records(first: int, values: list[bytes]) -> list[Record]:
    """Pair values with their positions, `first` onwards."""
    return list(zip(range(first, first + len(values)), values, strict=True))


def _messages_of(source: str) -> Labeller[Message]:
    """Return a labeller of values as messages of `source`."""

    def messages(first: int, values: list[bytes]) -> list[Message]:
        count = len(values)
        positions = range(first, first + count)
        return list(zip(itertools.repeat(source, count), positions, values, strict=True))

    return messages


def _check_window(start: int, batch_size: int) -> None:
    if start < 0:
        raise ValueError(f"start must be >= 0, not {start}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, not {batch_size}")


def read_stream_batches(
    stream: BinaryIO,
    start: int = 0,
    batch_size: int = DEFAULT_BATCH_SIZE,
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[list[Record]]:
    r"""Split a binary JSONL stream into batches of `(line index, line)`.

    Reads `chunk_bytes` at a time and never more than one chunk ahead of what it
    has yielded, so memory stays bounded whatever the stream's length.

    Args:
        stream: a binary stream positioned at the start of a JSONL log.
        start: the index of the first line to yield.
        batch_size: lines per batch.
        chunk_bytes: bytes per read.

    Returns:
        An iterator of non-empty lists of `(line index, line without newline)`.

    Example:
        >>> import io
        >>> list(read_stream_batches(io.BytesIO(b"a\r\n\nb"), batch_size=2))
        [[(0, b'a'), (1, b'')], [(2, b'b')]]

    """
    _check_window(start, batch_size)
    yield from _stream_batches(stream, start, batch_size, chunk_bytes, _records)


def _stream_batches(
    stream: BinaryIO, start: int, batch_size: int, chunk_bytes: int, label: Labeller[Item]
) -> Iterator[list[Item]]:
    """`read_stream_batches`, yielding `label`'s items."""
    position, head = _skip_lines(stream, start, chunk_bytes)
    carry = b""
    pending: list[Item] = []
    for chunk in _chunks(stream, head, chunk_bytes):
        data = carry + chunk if carry else chunk
        lines = data.split(b"\n")
        carry = lines.pop()
        if b"\r" in data:
            lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
        items = label(position, lines)
        position += len(lines)
        pending = yield from _full_batches(pending, items, batch_size)
    if carry:
        pending += label(position, [carry[:-1] if carry.endswith(b"\r") else carry])
    if pending:
        yield pending


def _chunks(stream: BinaryIO, head: bytes, chunk_bytes: int) -> Iterator[bytes]:
    """Yield `head` (bytes already read), then the rest of the stream chunk by chunk."""
    if head:
        yield head
    while chunk := stream.read(chunk_bytes):
        yield chunk


def _skip_lines(stream: BinaryIO, count: int, chunk_bytes: int) -> tuple[int, bytes]:
    """Consume `count` lines; return the next line's index and the bytes read past it."""
    skipped = 0
    while skipped < count:
        chunk = stream.read(chunk_bytes)
        if not chunk:
            return skipped, b""
        newlines = chunk.count(b"\n")
        if skipped + newlines < count:
            skipped += newlines
            continue
        cut = -1
        for _ in range(count - skipped):
            cut = chunk.index(b"\n", cut + 1)
        return count, chunk[cut + 1 :]
    return skipped, b""


def _full_batches(
    pending: list[Item], records: list[Item], batch_size: int
) -> Generator[list[Item], None, list[Item]]:
    """Yield every full batch from `pending + records`; return what is left over."""
    if pending:
        need = batch_size - len(pending)
        pending.extend(records[:need])
        records = records[need:]
        if len(pending) < batch_size:
            return pending
        yield pending
    full = len(records) - len(records) % batch_size
    for begin in range(0, full, batch_size):
        yield records[begin : begin + batch_size]
    return records[full:]


def _read_parquet_batches(
    path: Path, start: int, batch_size: int, label: Labeller[Item]
) -> Iterator[list[Item]]:
    log = pq.ParquetFile(path)
    try:
        groups, position = _row_groups_from(log.metadata, start)
        if not groups:
            return
        skip = start - position
        pending: list[Item] = []
        for arrow_batch in log.iter_batches(
            batch_size=batch_size, row_groups=groups, columns=[VALUE_COLUMN]
        ):
            values = arrow_batch.column(0).to_pylist()
            if skip:
                dropped = min(skip, len(values))
                values, skip, position = values[dropped:], skip - dropped, position + dropped
            records = label(position, _parquet_values(values))
            position += len(values)
            pending = yield from _full_batches(pending, records, batch_size)
        if pending:
            yield pending
    finally:
        log.close()


def _row_groups_from(metadata: pq.FileMetaData, start: int) -> tuple[list[int], int]:
    """Row groups that hold rows from `start` on, and the position of their first row."""
    first_row = 0
    for group in range(metadata.num_row_groups):
        rows = metadata.row_group(group).num_rows
        if first_row + rows > start:
            return list(range(group, metadata.num_row_groups)), first_row
        first_row += rows
    return [], first_row


def _parquet_values(values: list[bytes | str | None]) -> list[bytes]:
    """Return raw values: strings are encoded back to UTF-8 and nulls become `b""`."""
    return [
        value if isinstance(value, bytes) else b"" if value is None else value.encode()
        for value in values
    ]


class _RowBuffer:
    """Rows waiting for a Parquet row group, kept as one byte buffer plus offsets.

    Holding the bytes instead of one Python object per row keeps memory at the size
    of the data: thousands of small objects interleaved with the producer's garbage
    would fragment the heap.
    """

    __slots__ = ("data", "ends")

    def __init__(self) -> None:
        self.data = bytearray()
        self.ends = array.array("q")

    def __len__(self) -> int:
        return len(self.ends)

    def extend(self, values: list[bytes]) -> None:
        """Append rows."""
        ends = itertools.accumulate(map(len, values), initial=len(self.data))
        self.ends.extend(itertools.islice(ends, 1, None))
        self.data += b"".join(values)

    def take(self, rows: int) -> pa.Array:
        """Remove the first `rows` rows and return them as a binary Arrow array."""
        end = self.ends[rows - 1]
        offsets = array.array("q", (0,))
        offsets.extend(self.ends[:rows])
        data = bytes(self.data[:end])
        del self.data[:end]
        self.ends = array.array("q", (e - end for e in self.ends[rows:]))
        buffers = [None, pa.py_buffer(offsets), pa.py_buffer(data)]
        return pa.Array.from_buffers(pa.large_binary(), rows, buffers).cast(pa.binary())


class LogWriter:
    """Write raw message values to a recorded log, JSONL or Parquet by extension.

    Args:
        path: the file to create (truncated if it exists).
        row_group_rows: rows per Parquet row group (ignored for JSONL).

    Raises:
        ValueError: for an unknown extension, or on `write` of a value containing a
            newline into JSONL (it could not be read back as one message).

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "log.parquet"
        >>> with LogWriter(path) as log:
        ...     log.write_many([b'{"a": 1}', b"{trunc"])
        >>> [value for _, value in read_log(path)], log.count
        ([b'{"a": 1}', b'{trunc'], 2)

    """

    def __init__(self, path: Path, row_group_rows: int = PARQUET_ROW_GROUP_ROWS) -> None:
        self.path = path
        self.format = log_format(path)
        self.count = 0
        self._row_group_rows = row_group_rows
        self._rows = _RowBuffer()
        self._jsonl: BinaryIO | None = None
        self._parquet: pq.ParquetWriter | None = None

    def __enter__(self) -> LogWriter:
        if self.format == "jsonl":
            self._jsonl = self.path.open("wb", buffering=1024 * 1024)
        else:
            schema = pa.schema([(VALUE_COLUMN, pa.binary())])
            self._parquet = pq.ParquetWriter(
                self.path, schema, compression="zstd", use_dictionary=False
            )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def write(self, value: bytes) -> None:
        """Append one raw message value."""
        self.write_many((value,))

    def write_many(self, values: Iterable[bytes]) -> None:
        """Append raw message values in order."""
        values = values if isinstance(values, list) else list(values)
        if not values:
            return
        if self._jsonl is not None:
            framed = b"\n".join(values)
            if framed.count(b"\n") != len(values) - 1:
                raise ValueError(f"{self.path}: a JSONL message value cannot contain a newline")
            self._jsonl.write(framed + b"\n")
        elif self._parquet is not None:
            self._rows.extend(values)
            if len(self._rows) >= self._row_group_rows:
                self._write_row_groups(final=False)
        else:
            raise ValueError(f"{self.path}: LogWriter is closed; use it as a context manager")
        self.count += len(values)

    def _write_row_groups(self, final: bool) -> None:
        """Write every full row group buffered, and the partial last one when `final`."""
        size, writer = self._row_group_rows, self._parquet
        while writer is not None and (len(self._rows) >= size or (final and self._rows)):
            column = self._rows.take(min(size, len(self._rows)))
            writer.write_table(pa.Table.from_arrays([column], names=[VALUE_COLUMN]))

    def close(self) -> None:
        """Flush buffered rows and close the file; closing twice is harmless."""
        if self._jsonl is not None:
            self._jsonl.close()
            self._jsonl = None
        if self._parquet is not None:
            self._write_row_groups(final=True)
            self._parquet.close()
            self._parquet = None
