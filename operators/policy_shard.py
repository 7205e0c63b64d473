"""The policy step for one shard of players: decisions from scored points, in model order.

Scored points reach each policy shard from the single models step, in that step's
deterministic order; `PolicyShard` keeps every player's policy state (interventions,
offers, reviews, consent) and returns each decision tagged with its place in the
run's order, so a run's action log is the same however many workers ran it. It also
returns a `ComplianceChange` for every compliance fact a point states or a decision
sets (self-exclusion, consent, limit, cool-off), for the durable `compliance_state`.
A `pitboss.operators.step.Step`: its state is `PolicyShardState`, read back by `load_state`.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from typing import cast

from pitboss.operators.outputs import Ordered, ScoredPoint
from pitboss.operators.pickle_cache import PickleCache
from pitboss.operators.policy.actions import MANDATORY_COOL_OFF
from pitboss.operators.policy.compliance_facts import changes_of, cool_off_change
from pitboss.operators.policy.engine import PolicyEngine
from pitboss.operators.policy.gate import Decision
from pitboss.operators.policy.player_policy_state import PlayerPolicyState
from pitboss.operators.state_pickle import load_pickled


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
        self._pickles = PickleCache()

    def process(self, points: list[object]) -> list[object]:
        """Return every decision (emitted or held back) and fact change for a batch of points."""
        out: list[object] = []
        players = self.state.players
        for scored in points:
            if not isinstance(scored, ScoredPoint):
                continue
            point = scored.point
            player_id = point.player_id
            self._pickles.touch(player_id)
            state = players.get(player_id)
            if state is None:
                state = players[player_id] = self.engine.new_state(player_id)
            cool_off_before = state.cool_off_until_ms
            decisions = self.engine.decide(state, scored)
            for sub, decision in enumerate(decisions):
                out.append(Ordered(scored.order, sub, decision))
            if point.event is not None:
                out += changes_of(point.event, player_id, point.ts_ms, point.trigger_event_id)
            if state.cool_off_until_ms != cool_off_before:
                out += cool_off_change(state, cool_off_before, point.ts_ms,
                                       _cool_off_decision(decisions))
        return out

    def finish(self) -> list[object]:
        """Return nothing: a policy shard holds nothing back for the end of the input."""
        return []

    def snapshot(self) -> bytes:
        """Return the players' policy state, each player pickled on its own (`PickleCache`)."""
        frozen = self._pickles.frozen(self.state.players)
        return pickle.dumps(PolicyShardState(cast(dict[str, PlayerPolicyState], frozen)),
                            protocol=pickle.HIGHEST_PROTOCOL)


def load_state(data: bytes) -> PolicyShardState:
    """Return the state `PolicyShard.snapshot` wrote: the one reader of a policy shard's bytes.

    Players written as their own pickles (this version) are unpickled; state written
    as whole objects (before) or before the namespace loads too.
    """
    state: PolicyShardState = load_pickled(data)
    players = state.players
    for player_id, player in players.items():
        if isinstance(player, bytes):
            players[player_id] = load_pickled(player)
    return state


def _cool_off_decision(decisions: list[Decision]) -> str:
    """Return the id of the cool-off decision among `decisions` ('' if none)."""
    return next((d.action.decision_id for d in decisions
                 if d.action.action == MANDATORY_COOL_OFF), "")
