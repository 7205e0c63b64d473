"""Win-back offers on inactivity checkpoints reach players out of their rhythm, not steady ones."""

from __future__ import annotations

from typing import Any

from pitboss.operators.policy.gate import EMITTED
from tests.operators.policy.factories import DAY, T0, consent, engine, scored


def offers(quiet_spreads: float, churn: float, quiet_gaps: float = 4.0,
           **sections: Any) -> list[tuple[str, str]]:
    eng = engine(**sections)
    state = eng.new_state("p1")
    eng.decide(state, scored(event=consent(), ts=T0 - DAY))
    point = scored(trigger="inactivity", ts=T0, churn=churn, quiet_gaps=quiet_gaps,
                   quiet_spreads=quiet_spreads, minutes_since_last_activity=7 * 1440.0)
    return [(d.action.action, d.status) for d in eng.decide(state, point)
            if d.action.kind == "offer"]


def test_a_player_out_of_their_rhythm_gets_a_reactivation_offer() -> None:
    assert offers(quiet_spreads=3.0, churn=0.85) == [("reactivation_offer", EMITTED)]


def test_a_player_who_comes_and_goes_quiet_for_a_spell_within_their_spread_gets_none() -> None:
    # Four of their usual gaps, but their gaps vary: two spreads past the usual is not rare.
    assert offers(quiet_spreads=2.0, churn=0.95) == []


def test_drifting_away_is_not_enough_without_the_churn_score() -> None:
    assert offers(quiet_spreads=5.0, churn=0.1) == []


def test_the_quiet_gaps_check_applies_when_set_and_zero_switches_a_check_off() -> None:
    guarded = {"thresholds": {"reactivation_quiet_gaps": 3.0}}
    assert offers(quiet_spreads=5.0, churn=0.85, quiet_gaps=2.0, **guarded) == []
    assert offers(quiet_spreads=5.0, churn=0.85, quiet_gaps=2.0) != []
    spreads_off = {"thresholds": {"reactivation_quiet_spreads": 0.0}}
    assert offers(quiet_spreads=-1.0, churn=0.85, **spreads_off) != []
