"""State per active player: what the player shards hold, measured with tracemalloc.

Simulated players are fed through the router and the shards (scoring on, as in the
pipeline); the memory the shards' state allocates is divided by the number of players
active in the last 7 days of event time. The policy state per player (a separate
step) is measured the same way from the policy engine's own per-player states.
"""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

from pitboss.config.settings import load_settings
from pitboss.operators.contract import EventParser, wall_clock_ms
from pitboss.operators.ingest import IngestRouter, is_shard_work
from pitboss.operators.player_shard import PlayerShard
from pitboss.replay.simulator.simulate import simulate

WEEK_MS = 7 * 86_400_000


def new_router() -> IngestRouter:
    """Return the pipeline's router on the default configuration."""
    settings = load_settings()
    return IngestRouter(EventParser(settings.contract, wall_clock_ms),
                        settings.features.shards, settings.features.clock_tick_s * 1000)


def simulated_shards(
    players: int, days: int, seed: int = 5, router: IngestRouter | None = None
) -> tuple[dict[str, PlayerShard], int]:
    """Feed `players` simulated for `days` through the router and scoring shards.

    Returns:
        The shards by key, and how many events went through them. Their outputs are
        dropped, as a sink would consume them.
    """
    settings = load_settings()
    router = router or new_router()
    shards: dict[str, PlayerShard] = {}
    batch: list[tuple[str, int, bytes]] = []
    events = 0

    def flush() -> None:
        for key, items in filter(is_shard_work, router.route_by_shard(batch)):
            shard = shards.get(key)
            if shard is None:
                shard = shards[key] = PlayerShard.from_settings(
                    settings.features, settings.labels, True)
            shard.process(items)  # type: ignore[arg-type]  # shard work is a list of items
        batch.clear()

    for raw in simulate(players, days, seed):
        batch.append(("sim", events, raw))
        events += 1
        if len(batch) == 1000:
            flush()
    flush()
    return shards, events


def measure(players: int, days: int, seed: int = 5) -> dict[str, Any]:
    """Simulate `players` for `days` through the shards; return bytes of state per player."""
    router = new_router()  # made before counting: its tables are not player state
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    shards, events = simulated_shards(players, days, seed, router)
    gc.collect()
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    clock = max(s.state.clock_ms for s in shards.values())
    states = [s.player(pid) for s in shards.values() for pid in list(s.state.players)]
    active = sum(1 for p in states if p is not None and p.max_ts > clock - WEEK_MS)
    return {
        "players_simulated": players,
        "days": days,
        "events": events,
        "players_with_state": len(states),
        "active_players_7d": active,
        "state_bytes": used,
        "bytes_per_active_player": round(used / max(active, 1)),
    }
