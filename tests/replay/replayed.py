"""A small simulated run for tests of reports, evaluations and queries (not a test module).

`replayed_run` simulates a log with its truth file and replays it in-process into the
test process's one chDB path under a database of its own, so a module can build one
run and read it with `open_run_client`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clickhouse_connect.driver.client import Client

from pitboss.config.settings import load_settings
from pitboss.replay.runner import ClickHouseTarget, run_replay
from pitboss.replay.simulator.simulate import simulate_to
from pitboss.sinks.clickhouse_client import open_client

PLAYERS, DAYS, SEED = 150, 6, 5


@dataclass(frozen=True)
class ReplayedRun:
    """A replayed simulated log: its files and where its rows are."""

    log: Path
    truth: Path
    run_dir: Path
    chdb_path: Path
    database: str
    summary: dict[str, Any]

    def client(self) -> Client:
        """Open a client on the run's database (the caller closes it)."""
        return open_client(None, self.chdb_path, self.database)


def simulated_log(directory: Path, players: int = PLAYERS, days: int = DAYS,
                  seed: int = SEED) -> tuple[Path, Path]:
    """Write a simulated log and its truth file into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    log, truth = directory / "log.jsonl", directory / "truth.json"
    if not log.exists():
        simulate_to(log, players, days, seed, truth_path=truth)
    return log, truth


def replayed_run(directory: Path, chdb_path: Path, name: str) -> ReplayedRun:
    """Simulate and replay a small log into `chdb_path`, database `t<pid>_<name>`."""
    log, truth = simulated_log(directory / "sim")
    database = f"t{os.getpid()}_{name}"
    run_dir = directory / "run"
    summary = run_replay([log], run_dir, load_settings(),
                         ClickHouseTarget(None, chdb_path, database))
    return ReplayedRun(log, truth, run_dir, chdb_path, database, summary)
