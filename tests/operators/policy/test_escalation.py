"""The intervention ladder: graduated, one rung at a time, only as indicators grow."""

from __future__ import annotations

from pitboss.operators.policy.gate import Decision
from tests.operators.policy.factories import DAY, HOUR, T0, engine, scored


def interventions(decisions: list[Decision]) -> list[tuple[str, str]]:
    return [(d.action.action, d.action.severity) for d in decisions
            if d.action.kind == "intervention" and d.emitted]


def test_first_intervention_is_the_lowest_rung_however_high_the_risk() -> None:
    eng = engine()
    decisions = eng.decide(eng.new_state("p1"), scored(risk=0.85))
    assert interventions(decisions) == [("rg_message", "low")]


def test_risk_below_the_first_rung_gives_no_intervention() -> None:
    eng = engine()
    first = eng.settings.escalation[0].min_risk
    assert eng.decide(eng.new_state("p1"), scored(risk=first - 0.01)) == []


def test_rising_risk_climbs_one_rung_per_intervention() -> None:
    eng = engine()
    state = eng.new_state("p1")
    risks = [0.55, 0.65, 0.75, 0.85, 0.89]
    got = [interventions(eng.decide(state, scored(ts=T0 + i * DAY, risk=r)))
           for i, r in enumerate(risks)]
    assert got == [
        [("rg_message", "low")],
        [("reality_check", "low")],
        [("deposit_limit_suggestion", "medium")],
        [("cool_off_suggestion", "high")],
        [("cool_off_suggestion", "high")],
    ]
    escalated = eng.decide(state, scored(ts=T0 + 10 * DAY, risk=0.86))
    assert "indicators_grew" not in escalated[0].action.reasons


def test_steady_indicators_repeat_the_rung_instead_of_escalating() -> None:
    eng = engine()
    state = eng.new_state("p1")
    got = [interventions(eng.decide(state, scored(ts=T0 + i * DAY, risk=0.85)))
           for i in range(3)]
    assert got == [[("rg_message", "low")]] * 3


def test_more_markers_met_is_growth_even_at_the_same_risk() -> None:
    eng = engine()
    state = eng.new_state("p1")
    eng.decide(state, scored(risk=0.7))
    decisions = eng.decide(state, scored(ts=T0 + DAY, risk=0.7, deposits_24h=4.0))
    (decision,) = [d for d in decisions if d.action.kind == "intervention"]
    assert decision.action.action == "reality_check"
    assert {"marker:deposit_frequency", "indicators_grew"} <= set(decision.action.reasons)
    assert decision.features["deposits_24h"] == 4.0


def test_falling_risk_steps_down_to_the_rung_it_reaches() -> None:
    eng = engine()
    state = eng.new_state("p1")
    for i, risk in enumerate([0.55, 0.65, 0.75]):
        eng.decide(state, scored(ts=T0 + i * DAY, risk=risk))
    lower = eng.decide(state, scored(ts=T0 + 3 * DAY, risk=0.6))
    assert interventions(lower) == [("reality_check", "low")]


def test_the_ladder_starts_over_after_a_quiet_spell() -> None:
    eng = engine(gaps={"ladder_reset_days": 30.0})
    state = eng.new_state("p1")
    eng.decide(state, scored(risk=0.55))
    eng.decide(state, scored(ts=T0 + DAY, risk=0.65))
    later = eng.decide(state, scored(ts=T0 + 40 * DAY, risk=0.75))
    assert interventions(later) == [("rg_message", "low")]


def test_a_suppressed_intervention_does_not_move_the_ladder() -> None:
    eng = engine(gaps={"min_intervention_gap_hours": 24.0})
    state = eng.new_state("p1")
    eng.decide(state, scored(risk=0.55))
    held = eng.decide(state, scored(ts=T0 + HOUR, risk=0.65))
    assert [(d.action.action, d.suppressed_by) for d in held] == [("reality_check", "min_gap")]
    assert state.rg_level == 0 and state.rg_last_ms == T0
    after = eng.decide(state, scored(ts=T0 + DAY, risk=0.65))
    assert interventions(after) == [("reality_check", "low")]


def test_inactivity_timers_decide_no_interventions_or_reviews() -> None:
    eng = engine()
    decisions = eng.decide(eng.new_state("p1"),
                           scored(trigger="inactivity", risk=0.95, fraud=0.95))
    assert [d.action.kind for d in decisions] == []


def test_markers_met_reach_the_first_rung_when_the_setting_asks() -> None:
    eng = engine(thresholds={"first_rung_markers": 1})
    low_risk = eng.settings.escalation[0].min_risk - 0.1
    state = eng.new_state("p1")
    assert eng.decide(state, scored(risk=low_risk)) == []
    decisions = eng.decide(state, scored(ts=T0 + HOUR, risk=low_risk, deposits_24h=4.0))
    assert interventions(decisions) == [("rg_message", "low")]
    assert "marker:deposit_frequency" in decisions[0].action.reasons


def test_markers_met_never_reach_above_the_first_rung() -> None:
    eng = engine(thresholds={"first_rung_markers": 1})
    state = eng.new_state("p1")
    got = [interventions(eng.decide(state, scored(ts=T0 + i * DAY, risk=0.1,
                                                  deposits_24h=4.0 + i, at_limit=1.0)))
           for i in range(3)]
    assert got == [[("rg_message", "low")]] * 3


def test_by_default_markers_met_below_the_first_rung_risk_give_nothing() -> None:
    eng = engine()
    assert eng.settings.thresholds.first_rung_markers == 0
    low_risk = eng.settings.escalation[0].min_risk - 0.1
    assert eng.decide(eng.new_state("p1"), scored(risk=low_risk, deposits_24h=4.0)) == []
