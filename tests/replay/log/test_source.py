"""The recorded-log source: every file in one partition, merged by event time, resumed exactly."""

from __future__ import annotations

import pickle
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import bytewax.operators as op
import pytest
from bytewax.dataflow import Dataflow
from bytewax.inputs import StatefulSourcePartition
from bytewax.testing import TestingSink, cluster_main, run_main

from pitboss.operators.alignment import RawMessage
from pitboss.operators.event_order import UNKEYED, OrderKeyReader
from pitboss.replay.log.source import PARTITION, RecordedLogSource
from pitboss.replay.simulator.simulate import simulate
from tests.replay.log.factories import bet, drain, log_file

READ = OrderKeyReader()




Partition = StatefulSourcePartition[RawMessage, Any]


def _batches(partition: Partition) -> list[list[RawMessage]]:
    out: list[list[RawMessage]] = []
    while True:
        try:
            out.append(list(partition.next_batch()))
        except StopIteration:
            return out


def _values(messages: list[RawMessage]) -> list[bytes]:
    return [value for _, _, value in messages]


def _simulated(players: int, days: int, seed: int) -> list[bytes]:
    return list(simulate(players, days, seed))


def _split_by_player(folder: Path, values: list[bytes], files: int) -> list[Path]:
    """Write `values` to `files` logs, each player's messages to one log, keeping their order."""
    parts: list[list[bytes]] = [[] for _ in range(files)]
    for value in values:
        key = READ(value)
        parts[0 if key == UNKEYED else zlib.crc32(key[1].encode()) % files].append(value)
    suffixes = [".jsonl", ".parquet"]
    return [log_file(folder / f"part{i}{suffixes[i % 2]}", part) for i, part in enumerate(parts)]


# --- One partition, merged by event time --------------------------------------------------------


def test_one_partition_reads_every_file(tmp_path: Path) -> None:
    logs = [log_file(tmp_path / name, [bet(1)]) for name in ("a.jsonl", "b.parquet", "c.jsonl")]
    source = RecordedLogSource(logs)
    assert source.list_parts() == [PARTITION] == ["recorded_logs"]
    assert {name for name, _, _ in drain(source.build_part("inp", PARTITION, None))} == {
        "0:a.jsonl", "1:b.parquet", "2:c.jsonl"}


@pytest.mark.parametrize("batch_size", [1, 2, 3, 1000])
def test_files_with_interleaved_times_come_out_in_time_order(
    tmp_path: Path, batch_size: int
) -> None:
    a = log_file(tmp_path / "a.jsonl", [bet(s, "pa", s) for s in (1, 3, 5, 7, 9)])
    b = log_file(tmp_path / "b.parquet", [bet(s, "pb", s) for s in (2, 4, 6)])
    source = RecordedLogSource([a, b], batch_size=batch_size)
    merged = drain(source.build_part("inp", PARTITION, None))
    assert [(name, position) for name, position, _ in merged] == [
        ("0:a.jsonl", 0), ("1:b.parquet", 0), ("0:a.jsonl", 1), ("1:b.parquet", 1),
        ("0:a.jsonl", 2), ("1:b.parquet", 2), ("0:a.jsonl", 3), ("0:a.jsonl", 4)]
    assert _values(merged) == sorted(_values(merged), key=READ)


def test_events_spread_over_files_come_out_as_from_one_sorted_log(tmp_path: Path) -> None:
    """The simulated events in event time: one log, or three logs split by player, alike."""
    events = sorted((v for v in _simulated(30, 2, 3) if READ(v) != UNKEYED), key=READ)
    one = RecordedLogSource([log_file(tmp_path / "all.jsonl", events)], batch_size=64)
    three = RecordedLogSource(_split_by_player(tmp_path, events, 3), batch_size=50)
    from_one = _values(drain(one.build_part("inp", PARTITION, None)))
    assert from_one == events
    assert _values(drain(three.build_part("inp", PARTITION, None))) == from_one


# --- Resuming from a snapshot ---------------------------------------------------------------------


def _resumed_runs(source: RecordedLogSource, cuts: list[int]) -> tuple[list[RawMessage], bool]:
    """Drain `source`, snapshotting (through pickle) and rebuilding after each of `cuts` batches.

    Returns what came out, and whether any snapshot had a position to skip.
    """
    partition = source.build_part("inp", PARTITION, None)
    out: list[RawMessage] = []
    skipped = False
    for cut in cuts:
        for _ in range(cut):
            try:
                out += partition.next_batch()
            except StopIteration:
                break
        state = pickle.loads(pickle.dumps(partition.snapshot()))
        skipped |= any(skip for _, skip in state.values())
        partition = source.build_part("inp", PARTITION, state)
    return out + drain(partition), skipped


def test_a_snapshot_resumes_in_order_files_where_the_uninterrupted_run_goes_on(
    tmp_path: Path,
) -> None:
    events = sorted((v for v in _simulated(20, 2, 5) if READ(v) != UNKEYED), key=READ)
    source = RecordedLogSource(_split_by_player(tmp_path, events, 3), batch_size=40)
    uninterrupted = drain(source.build_part("inp", PARTITION, None))
    batches = len(_batches(source.build_part("inp", PARTITION, None)))
    assert _values(uninterrupted) == events and batches > 10
    for cut in range(batches + 1):
        resumed, _ = _resumed_runs(source, [cut])
        assert resumed == uninterrupted, cut
    resumed, _ = _resumed_runs(source, [1, 2, 0, 3, 5])
    assert resumed == uninterrupted


def test_a_snapshot_of_disordered_files_resumes_without_skipping_or_repeating(
    tmp_path: Path,
) -> None:
    """Simulated delivery (late and displaced events, truncated messages) over three files."""
    values = _simulated(30, 2, 3)
    source = RecordedLogSource(_split_by_player(tmp_path, values, 3), batch_size=37)
    everything = Counter(drain(source.build_part("inp", PARTITION, None)))
    assert sum(everything.values()) == len(values) and max(everything.values()) == 1
    batches = len(_batches(source.build_part("inp", PARTITION, None)))
    skipping = []
    for cut in range(batches + 1):
        resumed, skipped = _resumed_runs(source, [cut])
        assert Counter(resumed) == everything, cut
        skipping += [cut] if skipped else []
    # The hard case is met: positions released past the first unreleased one, to be skipped;
    # then resumed again and again, before and after they are read again.
    assert skipping
    for cut in skipping:
        for then in ([0], [1], [1, 1], [0, 2, 1], [3, 3, 3]):
            resumed, _ = _resumed_runs(source, [cut, *then])
            assert Counter(resumed) == everything, [cut, *then]


def test_a_snapshot_after_skipped_positions_were_read_again_still_skips_them(
    tmp_path: Path,
) -> None:
    """Late a1 and a2 go before a0; resumed, they are skipped, and so again after a resume.

    Resumed after a1, a1 is read again and skipped while a0 waits, a2 goes at once, and
    the next snapshot must still skip both.
    """
    a = [bet(s, "pa", n) for n, s in enumerate((50, 10, 15, 60))]
    b = [bet(s, "pb", n) for n, s in enumerate((50, 70))]
    files = [log_file(tmp_path / "a.jsonl", a), log_file(tmp_path / "b.jsonl", b)]
    source = RecordedLogSource(files, batch_size=1)
    uninterrupted = _values(drain(source.build_part("inp", PARTITION, None)))
    assert uninterrupted == [a[1], a[2], a[0], b[0], a[3], b[1]]

    first = source.build_part("inp", PARTITION, None)
    assert _values(first.next_batch()) == [a[1]]
    assert first.snapshot() == {"0:a.jsonl": (0, (1,)), "1:b.jsonl": (0, ())}
    second = source.build_part("inp", PARTITION, first.snapshot())
    assert _values(second.next_batch()) == [a[2]]
    assert second.snapshot() == {"0:a.jsonl": (0, (1, 2)), "1:b.jsonl": (0, ())}
    third = source.build_part("inp", PARTITION, second.snapshot())
    assert [a[1], a[2], *_values(drain(third))] == uninterrupted


# --- Progress, odd files, the dataflow ----------------------------------------------------------


def test_progress_hook_sees_every_message_and_byte(tmp_path: Path) -> None:
    logs = [log_file(tmp_path / "a.jsonl", [bet(s, "pa", s) for s in range(7)]),
            log_file(tmp_path / "b.jsonl", [bet(s, "pb", s) for s in range(0, 9, 2)] + [b"junk"])]
    seen: list[tuple[int, int]] = []
    source = RecordedLogSource(logs, batch_size=2, progress=lambda m, b: seen.append((m, b)))
    assert len(drain(source.build_part("inp", PARTITION, None))) == 13
    assert sum(m for m, _ in seen) == 13
    assert sum(b for _, b in seen) == sum(log.stat().st_size for log in logs)


def test_empty_and_malformed_files_are_read_like_any_other(tmp_path: Path) -> None:
    empty = log_file(tmp_path / "empty.jsonl", [])
    garbage = [b"not json", b"", b'{"event_type": "bet", "ts": 5', b"[1, 2]"]
    malformed = log_file(tmp_path / "malformed.jsonl", garbage)
    good = log_file(tmp_path / "good.parquet", [bet(s, "p", s) for s in (4, 2, 9)])
    source = RecordedLogSource([empty, malformed, good], batch_size=2)
    out = drain(source.build_part("inp", PARTITION, None))
    assert sorted(out) == sorted([("1:malformed.jsonl", i, v) for i, v in enumerate(garbage)]
                                 + [("2:good.parquet", i, bet(s, "p", s))
                                    for i, s in enumerate((4, 2, 9))])
    assert [v for v in _values(out) if v in garbage] == garbage  # in their file's order

    for only in ([empty], [malformed], [empty, empty]):
        part = RecordedLogSource(only).build_part("inp", PARTITION, None)
        assert _values(drain(part)) == (garbage if only == [malformed] else [])
    assert drain(RecordedLogSource([]).build_part("inp", PARTITION, None)) == []


@pytest.mark.parametrize("workers", [1, 2])
def test_a_dataflow_reads_the_merged_order(tmp_path: Path, workers: int) -> None:
    a = log_file(tmp_path / "a.jsonl", [bet(s, "pa", s) for s in (1, 3, 5)] + [b"oops"])
    b = log_file(tmp_path / "b.jsonl", [bet(s, "pb", s) for s in (2, 4)])
    source = RecordedLogSource([a, b], batch_size=2)
    expected = drain(source.build_part("inp", PARTITION, None))
    flow = Dataflow("log_source_test")
    out: list[RawMessage] = []
    op.output("out", op.input("recorded_logs", flow, source), TestingSink(out))
    if workers == 1:
        run_main(flow)
    else:
        cluster_main(flow, [], 0, worker_count_per_proc=workers)
    assert out == expected
    assert len(out) == 6
