"""1 process against 2 processes on the same log, in alternating rounds, outputs compared.

Each configuration is a Bytewax cluster of `bench.cluster_replay` processes on this
machine: one process reading the whole log, and two processes reading the log's two
partition files (`pitboss.replay.log.partitioned`, written once beside the log), one
input partition each. Configurations run in turns, round after round, because single
runs on shared cores move by 10-20% with other tenants' load; the report gives every
round and the median. After each run the summary (without timings), `actions.jsonl`
and `rejected.jsonl` are compared byte for byte with the first configuration's.

`python -m bench.scale_out --rounds 2` (default: the bench's 1,000,000-event log).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from pitboss.config.settings import load_settings
from pitboss.replay.log.partitioned import partition_log, partition_path
from pitboss.sinks.run_outputs import TIMING_FIELDS

ROOT = Path(__file__).resolve().parent.parent
COMPARED = ("actions.jsonl", "rejected.jsonl")


@dataclass(frozen=True)
class Setup:
    """One way to run the replay: how many processes, which inputs, how many partitions."""

    name: str
    processes: int
    inputs: list[Path]
    partitions: int


@dataclass
class Measured:
    """Every round's wall and CPU seconds of one setup, and whether its outputs matched."""

    wall_s: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)
    identical: list[bool] = field(default_factory=list)
    load: list[float] = field(default_factory=list)
    cpu_by_process: list[list[float]] = field(default_factory=list)


def partition_files(log: Path, partitions: int, work: Path) -> list[Path]:
    """Return `log`'s partition files under `work`, writing them once (named after `log`)."""
    named = work / log.name
    paths = [partition_path(named, p, partitions) for p in range(partitions)]
    if not all(p.exists() for p in paths):
        paths = partition_log(log, partitions, load_settings().features.shards, named)
    return paths


def _free_ports(n: int) -> list[int]:
    """Return `n` distinct loopback ports free right now (all bound at once, then released)."""
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def run(setup: Setup, out: Path) -> tuple[float, list[float], list[int]]:
    """Run `setup` into `out`; return wall seconds, and each process's CPU seconds and peak MiB."""
    shutil.rmtree(out, ignore_errors=True)
    addresses = ",".join(f"127.0.0.1:{port}" for port in _free_ports(setup.processes))
    inputs = [arg for path in setup.inputs for arg in ("--input", str(path))]
    started = time.perf_counter()
    pids = [subprocess.Popen([sys.executable, "-m", "bench.cluster_replay", "--proc-id", str(i),
                              "--addresses", addresses, *inputs, "--out", str(out),
                              "--partitions", str(setup.partitions)], cwd=ROOT).pid
            for i in range(setup.processes)]
    cpu: list[float] = []
    peaks: list[int] = []
    for pid in pids:
        _, status, usage = os.wait4(pid, 0)
        if status:
            raise RuntimeError(f"{setup.name}: a process exited with status {status}")
        cpu.append(round(usage.ru_utime + usage.ru_stime, 1))
        peaks.append(usage.ru_maxrss // 1024)  # Linux: KiB
    return time.perf_counter() - started, cpu, peaks


def outputs(out: Path) -> dict[str, bytes]:
    """Return what must not differ between setups: summary without timings, and the files."""
    summary = orjson.loads((out / "summary.json").read_bytes())
    for timing in TIMING_FIELDS:
        summary.pop(timing, None)
    return {"summary": orjson.dumps(summary, option=orjson.OPT_SORT_KEYS),
            **{name: (out / name).read_bytes() for name in COMPARED}}


def measure(setups: list[Setup], rounds: int, work: Path) -> dict[str, Measured]:
    """Run every setup once per round, in turns; compare each run with the first setup's."""
    results = {s.name: Measured() for s in setups}
    reference: dict[str, bytes] | None = None
    for round_ in range(rounds):
        for setup in setups:
            out = work / f"scale-{setup.name.replace(' ', '-')}"
            wall, cpu, peaks = run(setup, out)
            got = outputs(out)
            reference = reference or got
            measured = results[setup.name]
            measured.wall_s.append(round(wall, 1))
            measured.cpu_s.append(round(sum(cpu), 1))
            measured.cpu_by_process.append(cpu)
            measured.identical.append(got == reference)
            load = os.getloadavg()[0]
            measured.load.append(round(load, 2))
            print(f"round {round_ + 1} {setup.name}: {wall:.1f} s wall, {sum(cpu):.1f} s CPU "
                  f"{cpu}, "
                  f"identical: {got == reference}, peak MiB {peaks}, "
                  f"load average (1 min) after: {load:.2f}",
                  flush=True)
    return results


def report(results: dict[str, Measured], events: int) -> dict[str, Any]:
    """Return the median of each setup, its speed-up over the first setup, and every round."""
    first = statistics.median(next(iter(results.values())).wall_s)
    rows: dict[str, Any] = {}
    for name, m in results.items():
        median = statistics.median(m.wall_s)
        rows[name] = {"median_s": median, "events_per_s": round(events / median),
                      "speed_up": round(first / median, 2), "rounds_s": m.wall_s,
                      "cpu_s": m.cpu_s, "cpu_s_by_process": m.cpu_by_process,
                      "load_after": m.load, "identical": all(m.identical)}
    return rows


def standard_setups(log: Path, work: Path) -> list[Setup]:
    """1 process on the whole log; 2 processes on its 2 partition files."""
    return [Setup("1 process, whole log", 1, [log], 1),
            Setup("2 processes, 2 partition files", 2, partition_files(log, 2, work), 2)]


def main() -> None:
    """Measure and print the scale-out figures."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--log", type=Path, default=ROOT / "runs/bench/pipeline-1000000.jsonl")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--work", type=Path, default=ROOT / "runs/bench/scale-out")
    parser.add_argument("--also", action="append", default=[],
                        choices=["files-1-process", "whole-log-2-processes"],
                        help="also run: the 2 files read by 1 process; the whole log read by "
                        "2 processes as 2 partitions (each reading every line)")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    setups = standard_setups(args.log, args.work)
    if "files-1-process" in args.also:
        setups.append(Setup("1 process, 2 partition files", 1, setups[1].inputs, 1))
    if "whole-log-2-processes" in args.also:
        setups.append(Setup("2 processes, whole log, 2 partitions", 2, [args.log], 2))
    events = sum(1 for _ in args.log.open("rb"))
    print(orjson.dumps(report(measure(setups, args.rounds, args.work), events),
                       option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
