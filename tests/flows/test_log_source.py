"""The recorded-log source: one partition per file, resuming after its snapshot."""

from __future__ import annotations

from pathlib import Path

from flows.log_source import RecordedLogSource
from replay.recorded_log import LogWriter


def _log(path: Path, n: int) -> Path:
    with LogWriter(path) as writer:
        writer.write_many(f'{{"n": {i}}}'.encode() for i in range(n))
    return path


def _drain(partition: object) -> list[tuple[str, int, bytes]]:
    out: list[tuple[str, int, bytes]] = []
    while True:
        try:
            out.extend(partition.next_batch())  # type: ignore[attr-defined]
        except StopIteration:
            return out


def test_one_partition_per_file_in_command_line_order(tmp_path: Path) -> None:
    a, b = _log(tmp_path / "a.jsonl", 3), _log(tmp_path / "b.parquet", 2)
    source = RecordedLogSource([a, b], batch_size=2)
    assert source.list_parts() == ["0:a.jsonl", "1:b.parquet"]
    part = source.build_part("inp", "1:b.parquet", None)
    assert _drain(part) == [("1:b.parquet", 0, b'{"n": 0}'), ("1:b.parquet", 1, b'{"n": 1}')]


def test_snapshot_is_the_position_after_the_last_message_and_resumes_there(
    tmp_path: Path,
) -> None:
    log = _log(tmp_path / "log.jsonl", 7)
    source = RecordedLogSource([log], batch_size=3)
    first = source.build_part("inp", "0:log.jsonl", None)
    emitted = first.next_batch()
    assert [p for _, p, _ in emitted] == [0, 1, 2]
    state = first.snapshot()
    assert state == 3
    resumed = source.build_part("inp", "0:log.jsonl", state)
    rest = _drain(resumed)
    assert [p for _, p, _ in rest] == [3, 4, 5, 6]
    assert [v for _, _, v in emitted + rest] == [f'{{"n": {i}}}'.encode() for i in range(7)]


def test_progress_hook_sees_every_message(tmp_path: Path) -> None:
    log = _log(tmp_path / "log.jsonl", 5)
    seen: list[tuple[int, int]] = []
    source = RecordedLogSource([log], batch_size=2, progress=lambda m, b: seen.append((m, b)))
    _drain(source.build_part("inp", "0:log.jsonl", None))
    assert sum(m for m, _ in seen) == 5
    assert sum(b for _, b in seen) == log.stat().st_size
