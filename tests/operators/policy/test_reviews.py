"""Human review: a review is raised, and only an approval finalises the proposed action."""

from __future__ import annotations

from pitboss.operators.policy.gate import Decision
from tests.operators.policy.factories import DAY, HOUR, T0, engine, scored, verdict


def emitted(decisions: list[Decision]) -> list[str]:
    return [d.action.action for d in decisions if d.emitted]


def test_high_risk_raises_an_rg_review_proposing_a_mandatory_cool_off() -> None:
    eng = engine()
    decisions = eng.decide(eng.new_state("p1"), scored(risk=0.95))
    review = next(d for d in decisions if d.action.kind == "review")
    assert review.action.requires_review is True
    assert review.action.proposed_action == "mandatory_cool_off"
    assert [d.status for d in decisions if d.action is review.action] == [
        "emitted", "pending_review"]
    assert "mandatory_cool_off" not in emitted(decisions)


def test_approval_finalises_the_mandatory_cool_off_with_a_reference_to_the_review() -> None:
    eng = engine(gaps={"min_intervention_gap_hours": 24.0})
    state = eng.new_state("p1")
    review = next(d for d in eng.decide(state, scored(risk=0.95)) if d.action.kind == "review")
    decisions = eng.decide(state, scored(ts=T0 + HOUR, event=verdict(review.action.decision_id)))
    final, row = decisions
    assert (final.action.action, final.status, final.action.kind) == (
        "mandatory_cool_off", "emitted", "intervention")
    assert final.action.review_decision_id == review.action.decision_id
    assert "review_approved" in final.action.reasons
    assert (row.action.decision_id, row.status, row.reviewer) == (
        review.action.decision_id, "approved", "alice")
    assert state.reviews == []
    assert state.cool_off_until_ms == T0 + HOUR + 7 * DAY


def test_denial_closes_the_review_and_finalises_nothing() -> None:
    eng = engine()
    state = eng.new_state("p1")
    review = next(d for d in eng.decide(state, scored(risk=0.95)) if d.action.kind == "review")
    decisions = eng.decide(state, scored(ts=T0 + HOUR,
                                         event=verdict(review.action.decision_id, approve=False)))
    assert [(d.action.action, d.status) for d in decisions] == [("rg_review", "denied")]
    assert state.reviews == [] and state.cool_off_until_ms < T0


def test_a_second_verdict_on_a_closed_review_is_unknown() -> None:
    eng = engine()
    state = eng.new_state("p1")
    review = next(d for d in eng.decide(state, scored(risk=0.95)) if d.action.kind == "review")
    eng.decide(state, scored(ts=T0 + HOUR, event=verdict(review.action.decision_id)))
    again = eng.decide(state, scored(ts=T0 + 2 * HOUR, event=verdict(review.action.decision_id)))
    assert [(d.status, d.suppressed_by) for d in again] == [("suppressed", "unknown_review")]


def test_mandatory_cool_off_never_comes_without_an_approved_review() -> None:
    eng = engine()
    state = eng.new_state("p1")
    out = []
    for i in range(30):
        out += eng.decide(state, scored(ts=T0 + i * DAY, risk=min(0.99, 0.5 + i * 0.02)))
    assert "mandatory_cool_off" not in [d.action.action for d in out]


def test_an_approved_fraud_review_holds_withdrawals_and_bonuses() -> None:
    eng = engine()
    state = eng.new_state("p1")
    review = eng.decide(state, scored(fraud=0.8))[0]
    assert review.action.proposed_action == "hold_withdrawals_and_bonuses"
    final, row = eng.decide(state, scored(ts=T0 + HOUR,
                                          event=verdict(review.action.decision_id)))
    assert (final.action.action, final.status, row.status) == (
        "hold_withdrawals_and_bonuses", "emitted", "approved")
    assert state.hold_until_ms == T0 + HOUR + 30 * DAY
    assert state.rg_last_ms < T0  # a fraud hold is not an RG intervention


def test_an_unanswered_review_expires_and_a_new_one_can_be_raised() -> None:
    eng = engine(gaps={"review_expiry_days": 14.0, "review_min_gap_days": 7.0})
    state = eng.new_state("p1")
    first = eng.decide(state, scored(fraud=0.8))[0]
    later = eng.decide(state, scored(ts=T0 + 15 * DAY, fraud=0.8))[0]
    assert later.emitted and later.action.decision_id != first.action.decision_id
    assert [r.decision_id for r in state.reviews] == [later.action.decision_id]
