"""The Bytewax stateful step that hosts one `PlayerShard` per shard key."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bytewax.operators import StatefulBatchLogic

from pitboss.operators.player_shard import PlayerShard, ShardState, load_state


class PlayerShardLogic(StatefulBatchLogic[list[object], object, bytes]):
    """Adapt a `PlayerShard` to Bytewax's batch logic; state is snapshotted as bytes."""

    def __init__(self, shard: PlayerShard) -> None:
        self.shard = shard

    def on_batch(self, values: list[list[object]]) -> tuple[Iterable[object], bool]:
        """Process the shard's items: lists of them, as `IngestRouter.route_by_shard` gathers."""
        items = values[0] if len(values) == 1 else [i for group in values for i in group]
        return self.shard.process(items), StatefulBatchLogic.RETAIN

    def on_eof(self) -> tuple[Iterable[object], bool]:
        """Report the shard's totals at the end of the input."""
        return self.shard.finish(), StatefulBatchLogic.RETAIN

    def snapshot(self) -> bytes:
        """Return the shard's state, pickled."""
        return self.shard.snapshot_bytes()


def shard_builder(
    make_shard: Callable[[ShardState | None], PlayerShard],
) -> Callable[[bytes | None], PlayerShardLogic]:
    """Return the Bytewax builder: a fresh shard, or one resumed from its snapshot."""

    def build(resume: bytes | None) -> PlayerShardLogic:
        state = load_state(resume) if resume is not None else None
        return PlayerShardLogic(make_shard(state))

    return build
