"""Stable assignment of players to a fixed set of state shards.

Per-player state lives in a fixed number of shards (`features.shards`), each one
keyed unit of state for the dataflow engine. The shard of a player depends only on
the player id and the shard count, never on worker count or Python's salted
`hash`, so results do not change when the flow runs on more workers.

Example:
    >>> shard_key("player-1", 16) == shard_key("player-1", 16)
    True
    >>> shard_key("player-1", 16)
    's03'
"""

from __future__ import annotations

from functools import lru_cache
from zlib import crc32


def shard_index(player_id: str, shards: int) -> int:
    """Return the shard number (0..shards-1) of a player."""
    return crc32(player_id.encode("utf-8", "surrogatepass")) % shards


@lru_cache(maxsize=4096)
def _shard_names(shards: int) -> tuple[str, ...]:
    width = max(2, len(str(shards - 1)))
    return tuple(f"s{i:0{width}d}" for i in range(shards))


def shard_names(shards: int) -> tuple[str, ...]:
    """Return the keys of all shards, in order."""
    return _shard_names(shards)


def shard_key(player_id: str, shards: int) -> str:
    """Return the state key of the shard that owns `player_id`."""
    return _shard_names(shards)[shard_index(player_id, shards)]
