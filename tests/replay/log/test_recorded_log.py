"""Recorded logs: raw values round-trip with positions, resume, and stream in bounded memory."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pitboss.replay.log.recorded_log import (
    LogWriter,
    read_log,
    read_log_batches,
    read_stream_batches,
)

MESSAGES = [
    b'{"event_id":"e0","event_type":"bet"}',
    b"",
    b'{"event_id":"e2", "trunc',
    b"not json at all",
    "{\"player_id\":\"\u00e9\u4e2d\"}".encode(),
    b'{"event_id":"e5"}',
]

# Message values as Kafka could carry them in JSONL: no newline, no trailing carriage return.
line_values = st.binary(max_size=40).filter(lambda v: b"\n" not in v and not v.endswith(b"\r"))


def write_log(path: Path, values: list[bytes], row_group_rows: int = 65_536) -> Path:
    with LogWriter(path, row_group_rows=row_group_rows) as log:
        log.write_many(values)
    return path


class CountingStream(io.BytesIO):
    """An in-memory file that remembers how many bytes were read from it."""

    bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        return data


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_round_trip_keeps_positions_malformed_and_empty_values(tmp_path: Path, suffix: str) -> None:
    path = write_log(tmp_path / f"log{suffix}", MESSAGES)

    assert list(read_log(path)) == list(enumerate(MESSAGES))


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
@pytest.mark.parametrize("start", [0, 1, 3, 5, 6, 50])
def test_resume_from_start_yields_the_rest_with_their_positions(
    tmp_path: Path, suffix: str, start: int
) -> None:
    path = write_log(tmp_path / f"log{suffix}", MESSAGES, row_group_rows=2)

    assert list(read_log(path, start=start)) == list(enumerate(MESSAGES))[start:]


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_batches_are_full_except_the_last_and_never_empty(tmp_path: Path, suffix: str) -> None:
    values = [b'{"n":%d}' % n for n in range(2_345)]
    path = write_log(tmp_path / f"log{suffix}", values, row_group_rows=1_000)

    batches = list(read_log_batches(path, start=17, batch_size=500))

    assert [len(batch) for batch in batches] == [500, 500, 500, 500, 328]
    assert [record for batch in batches for record in batch] == list(enumerate(values))[17:]


def test_jsonl_final_newline_is_not_a_message_but_other_empty_lines_are(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_bytes(b"a\n\nb\r\n\r\nc\n")

    assert list(read_log(path)) == [(0, b"a"), (1, b""), (2, b"b"), (3, b""), (4, b"c")]


def test_jsonl_last_line_without_newline_is_a_message(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_bytes(b"a\n{trunc")

    assert list(read_log(path)) == [(0, b"a"), (1, b"{trunc")]


def test_empty_logs_yield_nothing(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_bytes(b"")

    assert list(read_log(tmp_path / "empty.jsonl")) == []
    assert list(read_log(write_log(tmp_path / "empty.parquet", []))) == []


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(line_values, max_size=30),
    start=st.integers(0, 35),
    batch_size=st.integers(1, 7),
    chunk_bytes=st.integers(1, 64),
    crlf=st.booleans(),
)
def test_jsonl_split_does_not_depend_on_chunk_or_batch_boundaries(
    values: list[bytes], start: int, batch_size: int, chunk_bytes: int, crlf: bool
) -> None:
    newline = b"\r\n" if crlf else b"\n"
    stream = io.BytesIO(b"".join(value + newline for value in values))

    batches = list(read_stream_batches(stream, start, batch_size, chunk_bytes))

    assert [record for batch in batches for record in batch] == list(enumerate(values))[start:]
    assert all(0 < len(batch) <= batch_size for batch in batches)


def test_jsonl_reading_is_streamed_a_chunk_at_a_time() -> None:
    line = b'{"event_id":"e","event_type":"bet","stake":1.5}\n'
    stream = CountingStream(line * 100_000)  # ~5 MB

    batches = read_stream_batches(stream, batch_size=100, chunk_bytes=64 * 1024)
    first = next(batches)
    following = list(itertools.islice(batches, 10))

    assert first[0] == (0, line[:-1])
    assert following[-1][-1] == (1_099, line[:-1])
    assert stream.bytes_read <= 64 * 1024


def test_jsonl_resume_scans_without_yielding_skipped_lines() -> None:
    lines = [b"%d" % n for n in range(10_000)]
    stream = CountingStream(b"\n".join(lines))

    first = next(read_stream_batches(stream, start=9_998, batch_size=10, chunk_bytes=1024))

    assert first == [(9_998, b"9998"), (9_999, b"9999")]


def test_parquet_resume_reads_only_the_row_groups_it_needs(tmp_path: Path) -> None:
    values = [b'{"n":%d}' % n for n in range(1_000)]
    path = write_log(tmp_path / "log.parquet", values, row_group_rows=100)

    first = next(read_log_batches(path, start=950, batch_size=10))

    assert pq.ParquetFile(path).metadata.num_row_groups == 10
    assert first == [(n, values[n]) for n in range(950, 960)]


def test_parquet_string_column_and_nulls_are_handed_on_as_bytes(tmp_path: Path) -> None:
    path = tmp_path / "strings.parquet"
    table = pa.table({"value": pa.array(['{"a":1}', None, "\u00e9"], type=pa.string())})
    pq.write_table(table, path)

    assert list(read_log(path)) == [(0, b'{"a":1}'), (1, b""), (2, "\u00e9".encode())]


def test_writer_rejects_values_jsonl_cannot_frame(tmp_path: Path) -> None:
    with LogWriter(tmp_path / "log.jsonl") as log, pytest.raises(ValueError, match="newline"):
        log.write(b'{"a":\n1}')


def test_writer_counts_rows_and_refuses_writes_after_close(tmp_path: Path) -> None:
    log = LogWriter(tmp_path / "log.parquet")
    with log:
        log.write(b"x")
        log.write_many(iter([b"y", b"z"]))

    assert log.count == 3
    with pytest.raises(ValueError, match="closed"):
        log.write(b"late")


@pytest.mark.parametrize("name", ["log.csv", "log", "log.json"])
def test_unknown_extensions_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="extension"):
        LogWriter(tmp_path / name)
    with pytest.raises(ValueError, match="extension"):
        next(read_log_batches(tmp_path / name))


def test_negative_start_and_empty_batches_are_refused(tmp_path: Path) -> None:
    path = write_log(tmp_path / "log.jsonl", MESSAGES)

    with pytest.raises(ValueError, match="start"):
        next(read_log_batches(path, start=-1))
    with pytest.raises(ValueError, match="batch_size"):
        next(read_log_batches(path, batch_size=0))
