"""Win-back offers on inactivity checkpoints reach players drifting away, not steady ones."""

from __future__ import annotations

from pitboss.operators.policy.gate import EMITTED
from tests.operators.policy.factories import DAY, T0, consent, engine, scored


def offers(player_quiet_gaps: float, churn: float) -> list[tuple[str, str]]:
    eng = engine()
    state = eng.new_state("p1")
    eng.decide(state, scored(event=consent(), ts=T0 - DAY))
    point = scored(trigger="inactivity", ts=T0, churn=churn, quiet_gaps=player_quiet_gaps,
                   minutes_since_last_activity=7 * 1440.0)
    return [(d.action.action, d.status) for d in eng.decide(state, point)
            if d.action.kind == "offer"]


def test_a_player_quiet_for_several_of_their_usual_gaps_gets_a_reactivation_offer() -> None:
    assert offers(player_quiet_gaps=4.0, churn=0.85) == [("reactivation_offer", EMITTED)]


def test_a_steady_player_quiet_for_about_their_usual_gap_gets_none_whatever_the_score() -> None:
    # Seven quiet days are one gap for a weekly player: not drifting away.
    assert offers(player_quiet_gaps=1.0, churn=0.95) == []


def test_drifting_away_is_not_enough_without_the_churn_score() -> None:
    assert offers(player_quiet_gaps=4.0, churn=0.1) == []
