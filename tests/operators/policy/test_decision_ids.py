"""Decision ids: the same for a re-run, different per trigger, action and policy."""

from __future__ import annotations

from pitboss.operators.policy.decision_ids import decision_id
from tests.operators.policy.factories import DAY, T0, engine, scored


def ids_for(point_kwargs: dict, **policy: object) -> list[tuple[str, str]]:
    eng = engine(**policy)
    return [(d.action.decision_id, d.action.action)
            for d in eng.decide(eng.new_state("p1"), scored(**point_kwargs))]


def test_a_rerun_decides_the_same_ids() -> None:
    point = {"event_id": "e-1", "risk": 0.95, "churn": 0.7, "fraud": 0.8}
    assert ids_for(point) == ids_for(point)


def test_ids_differ_per_action_within_one_trigger() -> None:
    ids = ids_for({"event_id": "e-1", "risk": 0.95, "churn": 0.7, "fraud": 0.8})
    by_action = dict((action, did) for did, action in ids)
    assert len(by_action) == 4
    assert len(set(by_action.values())) == 4


def test_ids_differ_per_trigger_player_and_policy() -> None:
    base = ids_for({"event_id": "e-1", "risk": 0.55})
    assert ids_for({"event_id": "e-2", "risk": 0.55}) != base
    assert ids_for({"event_id": "e-1", "risk": 0.55, "player": "p2"}) != base
    assert ids_for({"event_id": "e-1", "risk": 0.55}, caps={"max_offers_per_7d": 3}) != base


def test_timers_are_named_by_kind_and_due_time() -> None:
    first = decision_id("p1", "", "inactivity", T0, "reactivation_offer", "v")
    assert first == decision_id("p1", "", "inactivity", T0, "reactivation_offer", "v")
    assert first != decision_id("p1", "", "inactivity", T0 + DAY, "reactivation_offer", "v")
    assert first != decision_id("p1", "", "hourly", T0, "reactivation_offer", "v")


def test_status_rows_share_their_decision_id() -> None:
    eng = engine()
    decisions = eng.decide(eng.new_state("p1"), scored(risk=0.95))
    review = [d for d in decisions if d.action.kind == "review"]
    assert [d.status for d in review] == ["emitted", "pending_review"]
    assert len({d.action.decision_id for d in review}) == 1
