"""Headroom of a player-partitioned design: the log's two player halves replayed at once.

Today one worker reads and parses the whole input (one partition, so that the clock
ticks are the same whatever the worker count), and one models step learns from every
player. A second process therefore adds exchange work without taking parsing off the
first one. This measures the most a design that partitions the input by player could
give on this machine: the log is split by player shard into two halves, and the halves
are replayed by two independent processes at the same time. It is an upper bound, not a
design: each half has models of its own, where the real pipeline would merge both halves
into one models step, and the halves' ticks differ from the whole log's.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

from pitboss.operators.sharding import shard_index
from pitboss.replay.live.worker_process import free_port


def _player_of(line: bytes) -> str:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return ""
    player = obj.get("player_id") if isinstance(obj, dict) else None
    return player if isinstance(player, str) else ""


def split_by_player(log: Path, work: Path, shards: int) -> tuple[Path, Path]:
    """Write the lines of shards 0..shards/2-1 and of the others to two files, in log order.

    A line without a readable player goes to the first half, as the pipeline sends it
    to the first shard.
    """
    halves = (work / "half-0.jsonl", work / "half-1.jsonl")
    with log.open("rb") as lines, halves[0].open("wb") as low, halves[1].open("wb") as high:
        for line in lines:
            player = _player_of(line)
            high_half = bool(player) and shard_index(player, shards) >= shards // 2
            (high if high_half else low).write(line)
    return halves


def measure(log: Path, events: int, work: Path, shards: int, root: Path) -> dict[str, Any]:
    """Replay the two player halves of `log` in two processes at once; return events per second."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    halves = split_by_player(log, work, shards)
    started = time.perf_counter()
    workers = [
        subprocess.Popen([sys.executable, "-m", "bench.cluster_replay", "--proc-id", "0",
                          "--addresses", f"127.0.0.1:{free_port()}", "--input", str(half),
                          "--out", str(work / f"run-{i}")], cwd=root)
        for i, half in enumerate(halves)
    ]
    codes = [w.wait() for w in workers]
    elapsed = time.perf_counter() - started
    return {"exit_codes": codes, "elapsed_s": round(elapsed, 1),
            "events_per_s": round(events / elapsed)}
