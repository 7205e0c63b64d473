"""Input partitions by player: which partition holds a player, which shards a partition feeds.

A log or a set of topics split into N partitions by player is read by N source
partitions, each on whichever worker or process Bytewax gives it (input partition p
on worker p when there are N workers). A partition holds whole shards
(`pitboss.operators.sharding`): every shard's players come from exactly one
partition, which alone moves that shard's clock
(`pitboss.operators.ingest.IngestRouter`). Shard s is in the partition numbered like
the worker that Bytewax gives the shard's key in a cluster of N workers
(`pitboss.operators.key_placement`), so on N workers every event reaches its shard on
the worker that read it, without crossing to another process. Any assignment of whole
shards gives the same outputs; this one saves the exchange. Like the shard, the
partition depends only on the player id and the counts, never on Python's salted
`hash`; the shard count must be a multiple of N.

Example:
    >>> shard_partitions(shards=16, partitions=2)
    (1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0)
    >>> shards_of_partition(1, shards=16, partitions=2)
    [0, 3, 4, 5, 10, 11, 14]
    >>> partition_of("player-1", shards=16, partitions=1)
    0
    >>> quietest_partition(shards=16, partitions=2), quietest_partition(shards=16, partitions=1)
    (1, 0)
    >>> check_partitions(16, 3)
    Traceback (most recent call last):
    ValueError: --partitions 3 must divide features.shards (16): every shard's players ...
"""

from __future__ import annotations

from functools import lru_cache

from pitboss.operators.key_placement import worker_of
from pitboss.operators.sharding import shard_index, shard_names


def check_partitions(shards: int, partitions: int) -> None:
    """Refuse a partition count that does not divide the shard count, naming both settings.

    Raises:
        ValueError: `partitions` is below 1 or does not divide `shards`.

    """
    if partitions < 1 or shards % partitions:
        raise ValueError(
            f"--partitions {partitions} must divide features.shards ({shards}): every "
            "shard's players must come from one partition")


@lru_cache(maxsize=256)
def shard_partitions(shards: int, partitions: int) -> tuple[int, ...]:
    """Return each shard's partition: the worker its key lands on among `partitions`."""
    if partitions == 1:
        return (0,) * shards
    return tuple(worker_of(name, partitions) for name in shard_names(shards))


def partition_of(player_id: str, shards: int, partitions: int) -> int:
    """Return the input partition (0..partitions-1) of a player."""
    return shard_partitions(shards, partitions)[shard_index(player_id, shards)]


def shards_of_partition(partition: int, shards: int, partitions: int) -> list[int]:
    """Return the shard numbers whose players are in `partition`, in order."""
    table = shard_partitions(shards, partitions)
    return [shard for shard in range(shards) if table[shard] == partition]


def quietest_partition(shards: int, partitions: int) -> int:
    """Return the partition holding the fewest shards (the last of those tied)."""
    table = shard_partitions(shards, partitions)
    return min(range(partitions), key=lambda p: (table.count(p), -p))
