"""The scoring and policy step for one shard of players: score with released models, then decide.

Each key is a shard of players. Its player shard sends it every scoring point,
stamped, and its progress; the models step sends every key each model release
(`pitboss.models.release`). `ScoringShard` scores each point with the release of its
boundary (`ModelReplica`, waiting for it when the models step is behind) and hands
the scored points, in the shard's order, to the shard's policy
(`pitboss.operators.policy_shard.PolicyShard`). It returns the scored points (for
`player_scores`) and the policy's decisions and compliance changes.

A `pitboss.operators.step.Step`: its state is the replica's releases and waiting
points and the policy's players, read back by `load_state`.
"""

from __future__ import annotations

import pickle

from pitboss.models.release import ModelReplica
from pitboss.operators import policy_shard
from pitboss.operators.outputs import ScoredPoint
from pitboss.operators.policy_shard import PolicyShard, PolicyShardState
from pitboss.operators.state_pickle import load_pickled


class PointsLeftUnscoredError(RuntimeError):
    """The input ended with points still waiting for a model release (a wiring mistake)."""


class ScoringShard:
    """Score one shard's points with the released models, then decide for them.

    Args:
        replica: the releases and waiting points of this shard.
        policy: the policy of this shard's players.
    """

    def __init__(self, replica: ModelReplica, policy: PolicyShard) -> None:
        self.replica = replica
        self.policy = policy

    def process(self, items: list[object]) -> list[object]:
        """Take points, progress and releases; return the points scored, then the decisions.

        A point the models step scored itself (held from before releases, see
        `pitboss.models.model_step.UnscoredPoint`) comes scored and goes straight on.
        """
        scored: list[ScoredPoint] = []
        replica = self.replica
        for item in items:
            if isinstance(item, ScoredPoint):
                scored.append(item)
            else:
                scored += replica.take(item)
        if not scored:
            return []
        return [*scored, *self.policy.process(list(scored))]

    def finish(self) -> list[object]:
        """Return nothing: the models step's last release has scored every point.

        Raises:
            PointsLeftUnscoredError: points still wait (no last release came).
        """
        if self.replica.waiting:
            raise PointsLeftUnscoredError(
                f"{len(self.replica.waiting)} points still wait for a model release at the "
                f"end of the input (released through {self.replica.through_ms})")
        return self.policy.finish()

    def snapshot(self) -> bytes:
        """Return the replica and the policy's own snapshot, pickled together."""
        return pickle.dumps((self.replica, self.policy.snapshot()),
                            protocol=pickle.HIGHEST_PROTOCOL)


def load_state(data: bytes) -> tuple[ModelReplica | None, PolicyShardState]:
    """Return what `ScoringShard.snapshot` wrote: the one reader of this step's bytes.

    A policy shard's state written before scoring moved here loads with no replica
    (None): the shard starts with none and takes the next release.
    """
    loaded = load_pickled(data)
    if isinstance(loaded, tuple):
        replica, policy = loaded
        return replica, policy_shard.load_state(policy)
    return None, policy_shard.load_state(data)
