"""Each compliance-gate rule, through the real engine: what it holds back, and what it lets by."""

from __future__ import annotations

import pytest

from pitboss.operators.policy.engine import PolicyEngine
from pitboss.operators.policy.gate import ComplianceGate, Decision
from pitboss.operators.policy.player_policy_state import PlayerPolicyState
from tests.operators.policy.factories import (
    DAY,
    HOUR,
    T0,
    assessment,
    consent,
    engine,
    scored,
    self_exclusion,
    verdict,
)


def offers(decisions: list[Decision]) -> list[Decision]:
    return [d for d in decisions if d.action.kind == "offer"]


def only_offer(decisions: list[Decision]) -> Decision:
    (offer,) = offers(decisions)
    return offer


def run(eng: PolicyEngine, *points: object, state: PlayerPolicyState | None = None
        ) -> list[list[Decision]]:
    state = state or eng.new_state("p1")
    return [eng.decide(state, p) for p in points]  # type: ignore[arg-type]


def test_an_eligible_player_gets_the_offer() -> None:
    (decisions,) = run(engine(), scored(churn=0.7))
    offer = only_offer(decisions)
    assert (offer.status, offer.suppressed_by, offer.emitted) == ("emitted", None, True)
    assert offer.action.offer is not None and offer.action.offer.value > 0


@pytest.mark.parametrize("exclusion_until", [None, T0 + 10 * DAY])
def test_self_excluded_players_get_no_offer_until_the_exclusion_ends(
        exclusion_until: int | None) -> None:
    eng = engine()
    later = T0 + 11 * DAY
    _, during, after = run(
        eng,
        scored(event=self_exclusion(until=exclusion_until)),
        scored(ts=T0 + HOUR, churn=0.7),
        scored(ts=later, churn=0.8),
    )
    assert only_offer(during).suppressed_by == "self_excluded"
    expected = "self_excluded" if exclusion_until is None else None
    assert only_offer(after).suppressed_by == expected


def test_the_self_excluded_feature_alone_blocks_offers() -> None:
    (decisions,) = run(engine(), scored(churn=0.7, self_excluded=1.0))
    assert only_offer(decisions).suppressed_by == "self_excluded"


def test_a_withdrawn_consent_blocks_offers_even_if_features_lag() -> None:
    _, decisions = run(engine(), scored(event=consent(marketing=False)),
                       scored(ts=T0 + HOUR, churn=0.7, marketing_consent=1.0))
    assert only_offer(decisions).suppressed_by == "no_marketing_consent"


@pytest.mark.parametrize(("default", "expected"), [(False, "no_marketing_consent"), (True, None)])
def test_players_never_seen_consenting_follow_the_configured_default(
        default: bool, expected: str | None) -> None:
    eng = engine(offers={"default_consent": default})
    (decisions,) = run(eng, scored(churn=0.7, marketing_consent=-1.0))
    assert only_offer(decisions).suppressed_by == expected


def test_a_risk_score_above_the_block_threshold_blocks_offers_for_the_block_window() -> None:
    eng = engine(thresholds={"offer_block_risk": 0.4}, gaps={"rg_offer_block_days": 30.0})
    now, within, after = run(
        eng,
        scored(churn=0.61, risk=0.42),
        scored(ts=T0 + 29 * DAY, churn=0.7, risk=0.0),
        scored(ts=T0 + 31 * DAY, churn=0.8, risk=0.0),
    )
    assert only_offer(now).suppressed_by == "rg_offer_block"
    assert only_offer(within).suppressed_by == "rg_offer_block"
    assert only_offer(after).emitted


def test_a_medium_intervention_blocks_offers_whatever_the_risk_threshold() -> None:
    eng = engine(
        thresholds={"offer_block_risk": 1.0},
        escalation=[{"action": "deposit_limit_suggestion", "severity": "medium", "min_risk": 0.5}],
    )
    first, later = run(eng, scored(risk=0.6), scored(ts=T0 + 20 * DAY, churn=0.7))
    assert [d.action.action for d in first if d.emitted] == ["deposit_limit_suggestion"]
    assert only_offer(later).suppressed_by == "rg_offer_block"


def test_a_low_intervention_below_the_block_threshold_does_not_block_offers() -> None:
    eng = engine(thresholds={"offer_block_risk": 1.0})
    first, later = run(eng, scored(risk=0.55), scored(ts=T0 + DAY, churn=0.7))
    assert [d.action.action for d in first if d.emitted] == ["rg_message"]
    assert only_offer(later).emitted


def test_a_confirmed_harm_assessment_blocks_offers() -> None:
    _, decisions = run(engine(), scored(event=assessment()), scored(ts=T0 + DAY, churn=0.7))
    assert only_offer(decisions).suppressed_by == "rg_offer_block"


@pytest.mark.parametrize(("at_limit", "headroom"), [(1.0, 0.5), (0.0, 0.0), (0.0, -0.2)])
def test_players_at_or_over_a_limit_get_no_offer(at_limit: float, headroom: float) -> None:
    (decisions,) = run(engine(), scored(churn=0.7, at_limit=at_limit, limit_headroom=headroom))
    assert only_offer(decisions).suppressed_by == "at_limit"


def test_an_open_fraud_review_blocks_offers() -> None:
    first, second = run(engine(), scored(fraud=0.8), scored(ts=T0 + HOUR, churn=0.7))
    assert [d.action.action for d in first if d.emitted] == ["fraud_review"]
    assert only_offer(second).suppressed_by == "fraud_hold"


def test_a_jurisdiction_can_disable_an_offer_type() -> None:
    (nl,) = run(engine(), scored(churn=0.7, adt=20.0, jurisdiction="NL"))
    (mt,) = run(engine(), scored(churn=0.7, adt=20.0, jurisdiction="MT"))
    assert only_offer(nl).action.offer.type == "deposit_match"  # type: ignore[union-attr]
    assert only_offer(nl).suppressed_by == "jurisdiction_offer_disabled"
    assert only_offer(mt).emitted


def test_one_pending_offer_of_an_action_at_a_time() -> None:
    eng = engine(gaps={"offer_validity_days": 7.0})
    first, second, third = run(eng, scored(churn=0.65), scored(ts=T0 + DAY, churn=0.7),
                               scored(ts=T0 + 8 * DAY, churn=0.75))
    assert only_offer(first).emitted
    assert only_offer(second).suppressed_by == "pending_decision"
    assert only_offer(third).emitted


def test_at_most_n_offers_per_seven_days() -> None:
    eng = engine(gaps={"offer_validity_days": 0.0}, caps={"max_offers_per_7d": 2})
    days_and_churn = [(0, 0.61), (1, 0.62), (2, 0.63), (6, 0.64), (7, 0.65)]
    results = run(eng, *(scored(ts=T0 + day * DAY + 1, churn=c) for day, c in days_and_churn))
    assert [only_offer(d).suppressed_by for d in results] == [
        None, None, "offer_fatigue", "offer_fatigue", None]


def test_rg_interventions_are_never_held_back_by_marketing_rules() -> None:
    eng = engine()
    state = eng.new_state("p1")
    eng.decide(state, scored(ts=T0 + 1, event=consent(marketing=False)))
    (decision,) = eng.decide(state, scored(ts=T0 + 2, risk=0.55, at_limit=1.0,
                                           jurisdiction="NL"))
    assert (decision.action.action, decision.status) == ("rg_message", "emitted")


def test_no_intervention_or_review_reaches_a_self_excluded_player_or_the_specialists() -> None:
    eng = engine()
    state = eng.new_state("p1")
    eng.decide(state, scored(event=self_exclusion(until=T0 + 10 * DAY)))
    during = eng.decide(state, scored(ts=T0 + DAY, risk=0.95, fraud=0.95))
    after = eng.decide(state, scored(ts=T0 + 11 * DAY, risk=0.95, fraud=0.95))

    assert {d.action.kind for d in during} >= {"intervention", "review"}
    assert {(d.status, d.suppressed_by) for d in during} == {("suppressed", "self_excluded")}
    assert {d.action.kind for d in after if d.emitted} >= {"intervention", "review"}


def test_interventions_keep_the_minimum_gap() -> None:
    eng = engine(gaps={"min_intervention_gap_hours": 24.0})
    results = run(eng, scored(risk=0.55), scored(ts=T0 + 23 * HOUR, risk=0.55),
                  scored(ts=T0 + 24 * HOUR, risk=0.55))
    assert [(d.action.action, d.status, d.suppressed_by) for (d,) in results] == [
        ("rg_message", "emitted", None),
        ("rg_message", "suppressed", "min_gap"),
        ("rg_message", "emitted", None),
    ]


def test_a_verdict_on_an_unknown_review_is_audited_and_finalises_nothing() -> None:
    (decisions,) = run(engine(), scored(event=verdict("no-such-review")))
    (row,) = decisions
    assert (row.status, row.suppressed_by, row.action.action) == (
        "suppressed", "unknown_review", "review_verdict")
    assert row.action.review_decision_id == "no-such-review"


def test_one_open_review_of_a_kind_at_a_time_and_a_gap_after_a_verdict() -> None:
    eng = engine(gaps={"review_min_gap_days": 7.0})
    state = eng.new_state("p1")
    first = eng.decide(state, scored(fraud=0.8))
    second = eng.decide(state, scored(ts=T0 + HOUR, fraud=0.9))
    review_id = first[0].action.decision_id
    eng.decide(state, scored(ts=T0 + 2 * HOUR, event=verdict(review_id, approve=False)))
    third = eng.decide(state, scored(ts=T0 + 3 * DAY, fraud=0.9))
    fourth = eng.decide(state, scored(ts=T0 + 8 * DAY, fraud=0.9))
    assert [(d.status, d.suppressed_by) for d in first] == [("emitted", None),
                                                            ("pending_review", None)]
    assert [(d.status, d.suppressed_by) for d in second] == [("suppressed", "pending_decision")]
    assert [(d.status, d.suppressed_by) for d in third] == [("suppressed", "min_gap")]
    assert fourth[0].emitted


def test_no_new_review_while_its_action_is_in_force() -> None:
    eng = engine(gaps={"review_min_gap_days": 0.0})
    state = eng.new_state("p1")
    review = eng.decide(state, scored(fraud=0.8))[0]
    eng.decide(state, scored(ts=T0 + HOUR, event=verdict(review.action.decision_id)))
    again = eng.decide(state, scored(ts=T0 + 2 * HOUR, fraud=0.9))
    assert [(d.action.action, d.suppressed_by) for d in again] == [
        ("fraud_review", "already_in_force")]


def test_a_decision_cannot_be_made_around_the_gate() -> None:
    (decisions,) = run(engine(), scored(churn=0.7))
    record = decisions[0].action
    with pytest.raises(TypeError, match=r"ComplianceGate\.check"):
        Decision(record, "emitted", None)


def test_every_decision_the_engine_returns_came_out_of_the_gate(
        monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[Decision] = []
    original = ComplianceGate.check

    def spy(self: ComplianceGate, candidate: object, player: PlayerPolicyState) -> Decision:
        decision = original(self, candidate, player)  # type: ignore[arg-type]
        made.append(decision)
        return decision

    monkeypatch.setattr(ComplianceGate, "check", spy)
    eng = engine()
    state = eng.new_state("p1")
    out = eng.decide(state, scored(risk=0.95, churn=0.7, fraud=0.8))
    out += eng.decide(state, scored(ts=T0 + DAY, event=verdict(out[1].action.decision_id)))
    assert len(out) >= 6
    assert all(any(d is m for m in made) for d in out)
