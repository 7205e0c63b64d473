"""Benchmark the simulator and the recorded-log reader; prints figures, asserts nothing.

Run: `.venv/bin/python bench/bench_simulate.py [--players N] [--days D]`. Reports
events per second for generation alone, for generation written to JSONL and to
Parquet, the JSONL and Parquet read rates of `read_log_batches`, and the process's
peak resident memory (which must stay flat as `--days` grows).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pitboss.replay.log.recorded_log import read_log_batches
from pitboss.replay.simulator.simulate import simulate, simulate_to


def timed(label: str, count_of: Callable[[], int]) -> int:
    began = time.perf_counter()
    count = count_of()
    seconds = time.perf_counter() - began
    print(f"{label:<34} {count:>11,} in {seconds:6.2f}s = {count / seconds:>11,.0f}/s")
    return count


def _write_log(path: Path, players: int, days: int, seed: int) -> int:
    return simulate_to(path, players, days, seed).messages


def _read_log(path: Path) -> int:
    return sum(len(batch) for batch in read_log_batches(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--players", type=int, default=2_000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"players={args.players} days={args.days} seed={args.seed}")
    timed("simulate() events", lambda: sum(1 for _ in simulate(args.players, args.days, args.seed)))
    with tempfile.TemporaryDirectory() as folder:
        for suffix in ("jsonl", "parquet"):
            path = Path(folder) / f"log.{suffix}"
            timed(f"simulate_to(.{suffix}) events",
                  partial(_write_log, path, args.players, args.days, args.seed))
            print(f"{'':<34} file size {path.stat().st_size / 1e6:,.1f} MB")
        for suffix in ("jsonl", "parquet"):
            path = Path(folder) / f"log.{suffix}"
            timed(f"read_log_batches(.{suffix}) lines", partial(_read_log, path))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
