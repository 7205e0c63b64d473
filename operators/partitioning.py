"""Input partitions by player: which partition holds a player, which shards a partition feeds.

A log or a set of topics split into N partitions by player is read by N source
partitions, each on whichever worker or process Bytewax gives it. A player's
partition is their shard number modulo N (`pitboss.operators.sharding`): so every
shard's players come from exactly one partition, which alone moves that shard's
clock (`pitboss.operators.ingest.IngestRouter`), and the shard count must be a
multiple of N. Like the shard, the partition depends only on the player id and the
counts, never on Python's salted `hash`.

Example:
    >>> shards_of_partition(1, shards=8, partitions=4)
    [1, 5]
    >>> partition_of("player-1", shards=16, partitions=4) == shard_index("player-1", 16) % 4
    True
    >>> check_partitions(16, 3)
    Traceback (most recent call last):
    ValueError: --partitions 3 must divide features.shards (16): every shard's players ...
"""

from __future__ import annotations

from pitboss.operators.sharding import shard_index


def check_partitions(shards: int, partitions: int) -> None:
    """Refuse a partition count that does not divide the shard count, naming both settings.

    Raises:
        ValueError: `partitions` is below 1 or does not divide `shards`.

    """
    if partitions < 1 or shards % partitions:
        raise ValueError(
            f"--partitions {partitions} must divide features.shards ({shards}): every "
            "shard's players must come from one partition")


def partition_of(player_id: str, shards: int, partitions: int) -> int:
    """Return the input partition (0..partitions-1) of a player."""
    return shard_index(player_id, shards) % partitions


def shards_of_partition(partition: int, shards: int, partitions: int) -> list[int]:
    """Return the shard numbers whose players are in `partition`, in order."""
    return list(range(partition, shards, partitions))
