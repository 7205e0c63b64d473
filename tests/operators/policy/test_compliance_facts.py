"""Durable compliance facts: emitted by the policy shards, honoured by the gate after state loss."""

from __future__ import annotations

import pickle

from hypothesis import given, settings
from hypothesis import strategies as st

from pitboss.operators.outputs import Ordered, ScoredPoint
from pitboss.operators.policy.compliance_facts import (
    COOL_OFF,
    EXTERNAL_REGISTER,
    INDEFINITE,
    ComplianceChange,
    ComplianceFacts,
    hashed_id,
)
from pitboss.operators.policy.engine import PolicyEngine
from pitboss.operators.policy.gate import Decision
from pitboss.operators.policy_shard import PolicyShard
from tests.operators.policy.factories import (
    DAY,
    HOUR,
    T0,
    consent,
    limit_set,
    policy,
    scored,
    self_exclusion,
    verdict,
)


def run_shard(
    shard: PolicyShard, *points: ScoredPoint
) -> tuple[list[Decision], list[ComplianceChange]]:
    """Feed points one by one; return the decisions and the fact changes, in order."""
    decisions: list[Decision] = []
    changes: list[ComplianceChange] = []
    for order, point in enumerate(points):
        point.order = order
        for item in shard.process([point]):
            if isinstance(item, Ordered) and isinstance(item.item, Decision):
                decisions.append(item.item)
            elif isinstance(item, ComplianceChange):
                changes.append(item)
    return decisions, changes


def fresh_shard(facts: ComplianceFacts | None = None) -> PolicyShard:
    """Return a policy shard with no state, as after an empty recovery directory."""
    return PolicyShard(PolicyEngine(policy(), facts or ComplianceFacts()))


def offers(decisions: list[Decision]) -> list[tuple[str, str | None]]:
    return [(d.status, d.suppressed_by) for d in decisions if d.action.kind == "offer"]


def test_a_shard_emits_each_fact_a_compliance_event_states() -> None:
    _, changes = run_shard(
        fresh_shard(),
        scored(event=self_exclusion(until=T0 + 30 * DAY)),
        scored(ts=T0 + 1, event=consent(marketing=False)),
        scored(ts=T0 + 2, event=limit_set(amount=50.0)),
        scored(ts=T0 + 3, churn=0.7),
    )
    assert [(c.fact, c.value, c.until_ms, c.at_ms, c.source) for c in changes] == [
        ("self_exclusion", 1.0, T0 + 30 * DAY, T0, "event"),
        ("consent", 0.0, 0, T0 + 1, "event"),
        ("limit:deposit:day", 50.0, 0, T0 + 2, "event"),
    ]
    assert all(c.reference.startswith(("self_exclusion-", "consent-", "limit_set-"))
               for c in changes)


def test_an_exclusion_outlives_the_state_through_the_durable_facts() -> None:
    _, changes = run_shard(fresh_shard(), scored(event=self_exclusion()))
    later = scored(ts=T0 + 400 * DAY, churn=0.7)

    forgetful, _ = run_shard(fresh_shard(), later)
    durable, _ = run_shard(fresh_shard(ComplianceFacts.from_changes(changes)),
                           scored(ts=T0 + 400 * DAY, churn=0.7))

    assert offers(forgetful) == [("emitted", None)]  # what an empty recovery directory did
    assert offers(durable) == [("suppressed", "durable_self_exclusion")]


def test_the_state_names_the_exclusion_when_it_knows_it() -> None:
    facts = ComplianceFacts.from_changes(
        run_shard(fresh_shard(), scored(event=self_exclusion()))[1])
    decisions, _ = run_shard(fresh_shard(facts), scored(event=self_exclusion()),
                             scored(ts=T0 + HOUR, churn=0.7))
    assert offers(decisions) == [("suppressed", "self_excluded")]


def test_a_fact_counts_from_its_event_time_only() -> None:
    facts = ComplianceFacts.from_changes(
        run_shard(fresh_shard(), scored(ts=T0 + DAY, event=self_exclusion()))[1])
    before, _ = run_shard(fresh_shard(facts), scored(ts=T0, churn=0.7))
    assert offers(before) == [("emitted", None)]


def test_an_exclusion_that_ended_no_longer_holds() -> None:
    facts = ComplianceFacts.from_changes(
        run_shard(fresh_shard(), scored(event=self_exclusion(until=T0 + DAY)))[1])
    after, _ = run_shard(fresh_shard(facts), scored(ts=T0 + 2 * DAY, churn=0.7))
    assert offers(after) == [("emitted", None)]


def test_a_durable_refusal_holds_until_the_player_consents_again() -> None:
    facts = ComplianceFacts.from_changes(
        run_shard(fresh_shard(), scored(event=consent(marketing=False)))[1])
    shard = fresh_shard(facts)
    refused, _ = run_shard(shard, scored(ts=T0 + DAY, churn=0.7, marketing_consent=-1.0))
    _, _ = run_shard(shard, scored(ts=T0 + 2 * DAY, event=consent(marketing=True)))
    consented, _ = run_shard(shard, scored(ts=T0 + 3 * DAY, churn=0.8, marketing_consent=1.0))
    assert offers(refused) == [("suppressed", "no_marketing_consent")]
    assert offers(consented) == [("emitted", None)]


def test_an_approved_cool_off_is_a_durable_fact() -> None:
    shard = fresh_shard()
    decisions, _ = run_shard(shard, scored(risk=0.95))
    review = next(d for d in decisions if d.action.kind == "review")
    decisions, changes = run_shard(
        shard, scored(ts=T0 + HOUR, event=verdict(review.action.decision_id)))
    final = next(d for d in decisions if d.action.action == "mandatory_cool_off")
    (cool_off,) = [c for c in changes if c.fact == COOL_OFF]
    assert (cool_off.until_ms, cool_off.at_ms, cool_off.source, cool_off.reference) == (
        T0 + HOUR + 7 * DAY, T0 + HOUR, "intervention", final.action.decision_id)

    later, _ = run_shard(fresh_shard(ComplianceFacts.from_changes(changes)),
                         scored(ts=T0 + 2 * DAY, churn=0.7))
    assert offers(later) == [("suppressed", "cool_off")]


def _register(key: str) -> ComplianceFacts:
    return ComplianceFacts.from_changes(
        [ComplianceChange(key, EXTERNAL_REGISTER, 1.0, 0, 0, "register", "register.csv")])


def test_an_external_register_holds_offers_and_interventions_by_id_or_hashed_id() -> None:
    for key in ("p1", hashed_id("p1")):
        decisions, _ = run_shard(fresh_shard(_register(key)), scored(churn=0.7),
                                 scored(ts=T0 + DAY, risk=0.55))
        held = [(d.action.kind, d.status, d.suppressed_by) for d in decisions]
        assert held == [("offer", "suppressed", "external_register"),
                        ("intervention", "suppressed", "external_register")], key


def test_an_external_register_leaves_reviews_to_humans_and_other_players_alone() -> None:
    facts = _register(hashed_id("p1"))
    decisions, _ = run_shard(fresh_shard(facts), scored(risk=0.95),
                             scored(player="p2", ts=T0 + DAY, churn=0.7))
    review = next(d for d in decisions if d.action.kind == "review")
    assert review.status == "emitted"
    assert [(d.action.player_id, d.status) for d in decisions if d.action.kind == "offer"] == [
        ("p2", "emitted")]


def test_the_latest_fact_by_event_time_wins_whatever_the_order_read() -> None:
    old = ComplianceChange("p1", "consent", 1.0, 0, T0, "event", "a")
    new = ComplianceChange("p1", "consent", 0.0, 0, T0 + 1, "event", "b")
    for changes in ([old, new], [new, old]):
        assert ComplianceFacts.from_changes(changes).for_player("p1").consent == (T0 + 1, 0)


def test_a_snapshot_pickles() -> None:
    facts = ComplianceFacts.from_changes([
        ComplianceChange("p1", "self_exclusion", 1.0, INDEFINITE, T0, "event", "e"),
        ComplianceChange(hashed_id("p2"), EXTERNAL_REGISTER, 1.0, 0, 0, "register", "f")])
    again = pickle.loads(pickle.dumps(facts))
    assert again.players == facts.players
    assert again.for_player("p2").registered(T0)


@settings(max_examples=60, deadline=None)
@given(
    excluded_at=st.integers(0, 30),
    points=st.lists(st.tuples(st.integers(0, 60), st.floats(0, 1), st.floats(0, 1)),
                    min_size=1, max_size=12),
)
def test_no_offer_reaches_a_player_durably_excluded_whatever_the_points(
        excluded_at: int, points: list[tuple[int, float, float]]) -> None:
    facts = ComplianceFacts.from_changes([ComplianceChange(
        "p1", "self_exclusion", 1.0, INDEFINITE, T0 + excluded_at * DAY, "event", "e")])
    stream = [scored(ts=T0 + day * DAY, churn=churn, risk=risk)
              for day, churn, risk in sorted(points)]
    decisions, _ = run_shard(fresh_shard(facts), *stream)
    for d in decisions:
        if d.action.kind == "offer" and d.action.decided_at_ms >= T0 + excluded_at * DAY:
            assert not d.emitted and d.suppressed_by == "durable_self_exclusion"
