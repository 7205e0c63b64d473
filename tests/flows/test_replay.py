"""The replay dataflow end to end: real Bytewax, real chDB, a simulated log.

Runs the same log with 1 and 2 workers and twice in a row, and checks that every
output (files and ClickHouse rows) is identical, and that nothing disappears.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pitboss.config.settings import load_settings
from pitboss.operators.contract import EventParser, wall_clock_ms
from pitboss.operators.events import Event
from pitboss.replay.log.partitioned import partition_log
from pitboss.replay.runner import ClickHouseTarget, run_replay
from pitboss.replay.simulator.simulate import simulate_to
from pitboss.sinks.clickhouse_client import open_client
from pitboss.sinks.run_outputs import TIMING_FIELDS

TABLES = {
    "player_features": "player_id, as_of, trigger",
    "rejected_events": "source, position, reason",
    "player_scores": "player_id, scored_at, trigger, trigger_event_id",
    "decisions": "player_id, decided_at, decision_id, status",
    "model_metrics": "model_kind, role, hour, metric",
}


@pytest.fixture(scope="module")
def sim_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sim") / "log.jsonl"
    simulate_to(path, players=120, days=6, seed=11)
    return path


def replay(log: Path, out: Path, chdb_path: Path, database: str, workers: int = 1) -> dict:
    target = ClickHouseTarget(None, chdb_path, database)
    return run_replay([log], out, load_settings(), target, workers=workers)


def table_rows(chdb_path: Path, database: str, table: str) -> list[tuple[Any, ...]]:
    client = open_client(None, chdb_path, database)
    result = client.query(f"SELECT * FROM {database}.{table} FINAL ORDER BY {TABLES[table]}")
    return [tuple(row) for row in result.result_rows]


def outputs(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in ("actions.jsonl", "rejected.jsonl")}


Run = tuple[dict, dict[str, bytes], dict[str, list[tuple[Any, ...]]]]


def run_of(log: Path | list[Path], out: Path, chdb_path: Path, database: str,
           workers: int = 1, partitions: int = 1) -> Run:
    """Replay `log` (or a partitioned log's files); return summary, output files and tables.

    The summary without its timings.
    """
    target = ClickHouseTarget(None, chdb_path, database)
    inputs = log if isinstance(log, list) else [log]
    summary = run_replay(inputs, out, load_settings(), target, workers=workers,
                         partitions=partitions)
    for timing in TIMING_FIELDS:
        summary.pop(timing)
    return summary, outputs(out), {t: table_rows(chdb_path, database, t) for t in TABLES}


def assert_all_equal(runs: list[Run]) -> None:
    """Check every run gave the first run's summary, files and rows."""
    first = runs[0]
    for other in runs[1:]:
        assert other[0] == first[0]
        assert other[1] == first[1]
        for table in TABLES:
            assert other[2][table] == first[2][table], table


def test_nothing_disappears_unaccounted(sim_log: Path, tmp_path: Path, chdb_path: Path,
                                       clickhouse_database: str) -> None:
    summary = replay(sim_log, tmp_path / "run", chdb_path, clickhouse_database)
    lines = sum(1 for _ in sim_log.open("rb"))
    assert summary["events_in"] == lines
    assert summary["unaccounted"] == 0
    assert summary["events_in"] == (summary["events_accepted"] + summary["events_rejected"]
                                    + summary["duplicates_dropped"] + summary["late_events"])
    assert summary["duplicates_dropped"] > 0 and summary["late_events"] > 0
    parser = EventParser(load_settings().contract, wall_clock_ms)
    lines = enumerate(sim_log.open("rb"))
    parsed = (parser.parse(line.rstrip(b"\n"), "log", i) for i, line in lines)
    assert summary["players"] == len({e.player_id for e in parsed if isinstance(e, Event)})
    assert summary["feature_rows"] > 0
    rejected = (tmp_path / "run" / "rejected.jsonl").read_text().splitlines()
    assert len(rejected) == (summary["events_rejected"] + summary["duplicates_dropped"]
                             + summary["late_events"])
    counts = {t: len(table_rows(chdb_path, clickhouse_database, t)) for t in TABLES}
    assert counts["player_features"] == summary["feature_rows"]
    assert counts["rejected_events"] == len(rejected)
    assert counts["player_scores"] == summary["scored_points"]
    assert counts["decisions"] == sum(summary["decisions_by_status"].values())


def test_two_workers_and_a_second_run_give_identical_outputs(
    sim_log: Path, tmp_path: Path, chdb_path: Path
) -> None:
    import os

    runs = [run_of(sim_log, tmp_path / name, chdb_path, f"det_{os.getpid()}_{name}", workers)
            for name, workers in (("a", 1), ("b", 2), ("c", 1))]
    assert_all_equal(runs)


def test_partitions_by_player_give_the_outputs_of_one_partition(
    sim_log: Path, tmp_path: Path, chdb_path: Path
) -> None:
    """Each partition ticks only its own shards; nothing a player sees depends on the others.

    The log has displaced events (late ones included) and no reorder window: a partition's
    aligner still counts the other partitions' lines as progress, so a displaced event
    takes the place among its player's events that one partition gives it.
    """
    import os

    runs = [run_of(sim_log, tmp_path / name, chdb_path, f"part_{os.getpid()}_{name}", workers,
                   partitions)
            for name, partitions, workers in (("one", 1, 1), ("two", 2, 1), ("four", 4, 2))]
    assert_all_equal(runs)


@pytest.fixture(scope="module")
def partitioned_logs(sim_log: Path) -> dict[int, list[Path]]:
    """Return the simulated log written as 2 and as 4 partition files (named after it)."""
    return {n: partition_log(sim_log, n, load_settings().features.shards) for n in (2, 4)}


def test_partition_files_give_the_outputs_of_the_whole_log(
    sim_log: Path, partitioned_logs: dict[int, list[Path]], tmp_path: Path, chdb_path: Path
) -> None:
    """Each partition reads only its own files, moved by the whole log's recorded progress.

    Same displaced and late events as above, no reorder window: every line comes out in
    the place the whole log gives it, whichever files a partition reads (its own; several
    merged; or one with a filter, when the files are fewer than the partitions).
    """
    import os

    runs = [run_of(log, tmp_path / name, chdb_path,
                   f"files_{os.getpid()}_{name.replace('-', '_')}", workers,
                   partitions)
            for name, log, partitions, workers in (
                ("whole", sim_log, 1, 1),
                ("two-files-one-partition", partitioned_logs[2], 1, 1),
                ("two-files-two-partitions", partitioned_logs[2], 2, 2),
                ("four-files-two-partitions", partitioned_logs[4], 2, 1),
                ("four-files-four-partitions", partitioned_logs[4], 4, 2),
                ("two-files-four-partitions", partitioned_logs[2], 4, 1))]
    assert_all_equal(runs)
