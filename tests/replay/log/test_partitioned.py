"""Partitioned logs: the files hold the whole log, each partition's source releases its share.

The writer puts each line in its player's partition file with its place in the whole log
and the log's progress before it; read together the files are the whole log again; a set
is only read whole and alone; and each input partition reading only its own files
releases exactly what it releases reading the whole log (displaced lines included).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pitboss.operators.alignment import NOT_STARTED, EventAligner, RawMessage
from pitboss.operators.event_order import UNKEYED, OrderKeyReader
from pitboss.operators.partitioning import partition_of, shard_partitions, shards_of_partition
from pitboss.replay.log.partitioned import (
    PartitionedLogWriter,
    PartitionFile,
    PartitionSet,
    partition_log,
    partition_path,
    partition_set,
    read_partition_files,
)
from pitboss.replay.log.recorded_log import RecordedLogError, read_log
from pitboss.replay.log.source import PARTITION, RecordedLogSource
from pitboss.replay.simulator.simulate import simulate, simulate_to
from tests.replay.log.factories import bet, drain, log_file

READ = OrderKeyReader()
SHARDS = 16




@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a simulated log with displaced, late, duplicate, malformed and unkeyed lines."""
    values = list(simulate(40, 2, 5))
    for at in (0, 7, len(values) // 2):
        values.insert(at, b"not json")
    return log_file(tmp_path_factory.mktemp("log") / "log.jsonl", values)


def _merged(paths: list[Path], source: str = "s", start: int = 0,
            batch_size: int = 97) -> list[tuple[RawMessage, int]]:
    return [(message, before)
            for messages, befores in read_partition_files(paths, source, start, batch_size)
            for message, before in zip(messages, befores, strict=True)]


@pytest.mark.parametrize("partitions", [1, 2, 4])
def test_the_files_together_are_the_whole_log_with_its_progress(
    simulated: Path, tmp_path: Path, partitions: int
) -> None:
    paths = partition_log(simulated, partitions, SHARDS, tmp_path / simulated.name)
    assert paths == [partition_path(tmp_path / "log.jsonl", p, partitions)
                     for p in range(partitions)]
    whole = list(read_log(simulated))
    progress, expected = NOT_STARTED, []
    for _, value in whole:
        expected.append(progress)
        progress = max(progress, READ(value)[0])
    assert _merged(paths) == [(("s", position, value), before)
                              for (position, value), before in zip(whole, expected, strict=True)]


def test_each_file_holds_its_players_and_partition_0_the_unkeyed_lines(
    simulated: Path, tmp_path: Path
) -> None:
    paths = partition_log(simulated, 4, SHARDS, tmp_path / simulated.name)
    for partition, path in enumerate(paths):
        keys = [READ(value) for (_, _, value), _ in _merged([path])]
        assert keys
        assert all(partition_of(k[1], SHARDS, 4) == partition for k in keys if k != UNKEYED)
        assert any(k == UNKEYED for k in keys) == (partition == 0)
        part = PartitionFile.read(path)
        assert part is not None
        assert (part.log, part.partition, part.partitions) == ("log.jsonl", partition, 4)
        assert part.messages == sum(1 for _ in read_log(simulated))


def test_a_plain_log_is_not_a_partition_file_and_any_parquet_reader_sees_the_lines(
    simulated: Path, tmp_path: Path
) -> None:
    paths = partition_log(simulated, 2, SHARDS, tmp_path / simulated.name)
    assert PartitionFile.read(simulated) is None
    assert partition_set([simulated]) is None
    plain = [value for path in paths for _, value in read_log(path)]
    assert sorted(plain) == sorted(value for _, value in read_log(simulated))


def test_simulate_writes_the_same_lines_as_one_file_or_as_partition_files(tmp_path: Path) -> None:
    one = tmp_path / "one" / "log.parquet"
    one.parent.mkdir()
    simulate_to(one, players=20, days=1, seed=3)
    simulate_to(tmp_path / "log.parquet", players=20, days=1, seed=3, partitions=2,
                shards=SHARDS)
    files = [partition_path(tmp_path / "log.parquet", p, 2) for p in range(2)]
    assert not (tmp_path / "log.parquet").exists()
    assert [m[2] for m, _ in _merged(files)] == [value for _, value in read_log(one)]


def test_reading_from_a_position_skips_the_lines_before_it(simulated: Path, tmp_path: Path) -> None:
    paths = partition_log(simulated, 2, SHARDS, tmp_path / simulated.name)
    everything = _merged(paths)
    for start in (0, 1, 500, len(everything) - 1, len(everything)):
        assert _merged(paths, start=start) == everything[start:]
        assert _merged(paths[1:], start=start) == [
            r for r in everything[start:] if r in _merged(paths[1:])]


def test_a_set_is_read_whole_and_in_partition_order(simulated: Path, tmp_path: Path) -> None:
    paths = partition_log(simulated, 4, SHARDS, tmp_path / simulated.name)
    assert partition_set(paths[::-1]) == PartitionSet("log.jsonl", tuple(paths), SHARDS)
    for given, named in ((paths[:3], "missing: log.part-3-of-4.parquet"),
                         ([*paths, paths[1]], "partition 1 of log.jsonl given twice"),
                         ([*paths, simulated], "give only its files")):
        with pytest.raises(RecordedLogError, match=named):
            partition_set(given)
    other = partition_log(simulated, 2, SHARDS, tmp_path / "other" / "log.jsonl")
    with pytest.raises(RecordedLogError, match="another partitioned log"):
        partition_set([*paths[:2], *other])


@pytest.mark.parametrize(("files", "partitions"), [(2, 2), (4, 4), (4, 2), (2, 4), (4, 1)])
def test_a_partition_reads_the_files_that_hold_its_players(files: int, partitions: int) -> None:
    log = PartitionSet("log", tuple(Path(f"f{q}") for q in range(files)), SHARDS)
    written = shard_partitions(SHARDS, files)
    for partition in range(partitions):
        own = shards_of_partition(partition, SHARDS, partitions)
        read, all_its_own = log.files_of(partition, partitions)
        assert read == [Path(f"f{q}") for q in sorted({written[s] for s in own})]
        in_read = {s for s in range(SHARDS) if Path(f"f{written[s]}") in read}
        assert all_its_own == (in_read == set(own))
        if partitions in (files, 1):
            assert all_its_own


def test_a_replay_with_another_shard_count_is_refused(simulated: Path, tmp_path: Path) -> None:
    paths = partition_log(simulated, 2, SHARDS, tmp_path / simulated.name)
    refused = r"written for 16 shards, and features\.shards is 32"
    with pytest.raises(RecordedLogError, match=refused):
        RecordedLogSource(paths, partitions=2, shards=32)


@pytest.mark.parametrize(("files", "partitions"), [(2, 1), (2, 2), (4, 2), (4, 4), (2, 4)])
def test_each_partition_releases_what_it_releases_from_the_whole_log(
    simulated: Path, tmp_path: Path, files: int, partitions: int
) -> None:
    """Displaced lines included: the sequence every partition hands on is the same."""
    paths = partition_log(simulated, files, SHARDS, tmp_path / simulated.name)
    whole = RecordedLogSource([simulated], 100, partitions=partitions, shards=SHARDS)
    split = RecordedLogSource(paths, 77, partitions=partitions, shards=SHARDS)
    assert whole.list_parts() == split.list_parts()
    for part in whole.list_parts():
        expected = drain(whole.build_part("inp", part, None))
        assert drain(split.build_part("inp", part, None)) == expected
        assert expected or part != PARTITION


def test_without_the_recorded_progress_a_displaced_line_would_move(tmp_path: Path) -> None:
    """Why the files carry progress: another partition's line releases what waits before it."""
    a = "pa"
    b = next(p for p in ("pb", "pc", "pd", "pe") if partition_of(p, SHARDS, 2) != partition_of(
        a, SHARDS, 2))
    early, mid, displaced = bet(5, a, 0), bet(7, a, 1), bet(6, a, 3)
    log = log_file(tmp_path / "log.jsonl", [early, mid, bet(8, b, 2), displaced])
    paths = partition_log(log, 2, SHARDS)
    part = f"{PARTITION}/{partition_of(a, SHARDS, 2)}"
    got = [m[2] for m in drain(
        RecordedLogSource(paths, partitions=2, shards=SHARDS).build_part("inp", part, None))]
    whole = [m[2] for m in drain(
        RecordedLogSource([log], partitions=2, shards=SHARDS).build_part("inp", part, None))]
    assert got == whole == [early, mid, displaced]  # b's 8 s released 7 s before 6 s came
    alone = EventAligner(["s"], READ)
    out = alone.push("s", [("s", i, v) for i, v in enumerate((early, mid, displaced))])
    assert [m[2] for m in out + alone.end("s")] == [early, displaced, mid]


def test_a_snapshot_resumes_a_partition_where_the_uninterrupted_run_goes_on(
    simulated: Path, tmp_path: Path
) -> None:
    paths = partition_log(simulated, 2, SHARDS, tmp_path / simulated.name)
    source = RecordedLogSource(paths, 50, partitions=2, shards=SHARDS)
    part = f"{PARTITION}/1"
    expected = drain(source.build_part("inp", part, None))
    first = source.build_part("inp", part, None)
    out = first.next_batch() + first.next_batch()
    resumed = source.build_part("inp", part, first.snapshot())
    assert out + drain(resumed) == expected


def test_an_unfinished_writer_leaves_no_partition_file(tmp_path: Path) -> None:
    log = tmp_path / "log.parquet"
    with pytest.raises(RuntimeError), PartitionedLogWriter(log, 2, SHARDS) as writer:
        writer.write_many([bet(1, "pa", 0)] * 3)
        writer.write_many([bet(1, "pb", 1)])  # flushed as a row group below
        raise RuntimeError("interrupted")
    assert all(PartitionFile.read(p) is None for p in writer.paths)
