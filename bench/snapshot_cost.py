"""What a recovery snapshot of the player shards costs: `python -m bench.snapshot_cost`.

At every epoch end a worker snapshots each shard that received input: every player in
state (docs/operations.md, "Sizing epochs"). This feeds simulated players through the
shards, then times the first snapshot (which pickles the players quiet for
`QUIET_MS` and keeps them so), the later ones (best of three) and loading them back,
as a restarted worker would. The figures in docs/operations.md come from here.

Options: `--players N` (default 100,000), `--days D` (default 1), `--seed S`.
"""

from __future__ import annotations

import argparse
import time

from bench.memory import simulated_shards
from pitboss.flows.gc_tuning import pipeline_gc
from pitboss.operators.player_shard import load_state


def measure(players: int, days: int, seed: int = 5) -> dict[str, float]:
    """Snapshot the shards of `players` simulated for `days`; return times and sizes.

    Runs with the workers' garbage-collector setting (`pitboss.flows.gc_tuning`).
    """
    with pipeline_gc():
        return _measure(players, days, seed)


def _measure(players: int, days: int, seed: int) -> dict[str, float]:
    shards, events = simulated_shards(players, days, seed)

    def snapshot() -> tuple[float, list[bytes]]:
        started = time.perf_counter()
        data = [shard.snapshot() for shard in shards.values()]
        return time.perf_counter() - started, data

    first, _ = snapshot()
    later, data = min(snapshot() for _ in range(3))
    started = time.perf_counter()
    for blob in data:
        load_state(blob)
    load = time.perf_counter() - started
    in_state = sum(len(shard.state.players) for shard in shards.values())
    kept = sum(isinstance(p, bytes) for s in shards.values() for p in s.state.players.values())
    return {"events": events, "players_in_state": in_state, "kept_pickled": kept,
            "first_snapshot_ms": round(first * 1000), "later_snapshot_ms": round(later * 1000),
            "load_ms": round(load * 1000), "snapshot_mb": round(sum(map(len, data)) / 1e6, 2)}


def main() -> None:
    """Print the cost of snapshotting and loading the shards of a simulated population."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--players", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    print(measure(args.players, args.days, args.seed))


if __name__ == "__main__":
    main()
