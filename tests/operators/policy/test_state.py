"""Policy state and decisions cross worker boundaries and recovery: they pickle, and stay small."""

from __future__ import annotations

import pickle

from tests.operators.policy.factories import DAY, T0, engine, scored, verdict


def test_state_and_decisions_survive_pickling_and_the_state_stays_compact() -> None:
    eng = engine()
    state = eng.new_state("p1")
    out = eng.decide(state, scored(risk=0.95, fraud=0.8, churn=0.7))
    out += eng.decide(state, scored(ts=T0 + DAY, churn=0.9))
    out += eng.decide(state, scored(ts=T0 + 2 * DAY, event=verdict(out[1].action.decision_id)))
    restored = pickle.loads(pickle.dumps(state))
    assert restored == state
    assert len(pickle.dumps(state)) < 1024
    again = pickle.loads(pickle.dumps(out))
    assert [(d.action, d.status, d.suppressed_by, d.features) for d in again] == [
        (d.action, d.status, d.suppressed_by, d.features) for d in out]


def test_a_resumed_state_decides_exactly_like_the_uninterrupted_one() -> None:
    eng = engine()
    points = [scored(ts=T0 + i * DAY, event_id=f"e{i}", risk=r, churn=c)
              for i, (r, c) in enumerate([(0.55, 0.7), (0.65, 0.2), (0.2, 0.8), (0.75, 0.9)])]
    straight = eng.new_state("p1")
    expected = [d.action.to_json_bytes() for p in points for d in eng.decide(straight, p)]
    resumed = eng.new_state("p1")
    got = [d.action.to_json_bytes() for p in points[:2] for d in eng.decide(resumed, p)]
    resumed = pickle.loads(pickle.dumps(resumed))
    got += [d.action.to_json_bytes() for p in points[2:] for d in eng.decide(resumed, p)]
    assert got == expected
