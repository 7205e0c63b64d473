"""The policy step for one shard of players: decisions from scored points, in model order.

Scored points reach each policy shard from the single models step, in that step's
deterministic order; `PolicyShard` keeps every player's policy state (interventions,
offers, reviews, consent) and returns each decision tagged with its place in the
run's order, so a run's action log is the same however many workers ran it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from operators.outputs import Ordered, ScoredPoint
from operators.policy.engine import PolicyEngine
from operators.policy.player_policy_state import PlayerPolicyState


@dataclass
class PolicyShardState:
    """Policy state of the players of one shard; picklable for recovery."""

    players: dict[str, PlayerPolicyState] = field(default_factory=dict)


class PolicyShard:
    """Decide for the players of one shard.

    Args:
        engine: the policy engine (rules, gate, configuration).
        state: state to resume from, or None.
    """

    def __init__(self, engine: PolicyEngine, state: PolicyShardState | None = None) -> None:
        self.engine = engine
        self.state = state if state is not None else PolicyShardState()

    def process(self, points: list[object]) -> list[object]:
        """Return every decision (emitted or held back) for a batch of scored points."""
        out: list[object] = []
        players = self.state.players
        for scored in points:
            if not isinstance(scored, ScoredPoint):
                continue
            player_id = scored.point.player_id
            state = players.get(player_id)
            if state is None:
                state = players[player_id] = self.engine.new_state(player_id)
            for sub, decision in enumerate(self.engine.decide(state, scored)):
                out.append(Ordered(scored.order, sub, decision))
        return out
