"""Rollout controls: shadow mode and the deterministic offer holdout."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pitboss.operators.policy.holdout import holdout_position, in_holdout
from tests.operators.policy.factories import DAY, T0, engine, scored, verdict


def test_shadow_mode_decides_and_audits_everything_and_emits_nothing() -> None:
    live, shadow = engine(), engine(rollout={"mode": "shadow"})
    points = [scored(risk=0.95, churn=0.3, fraud=0.8), scored(ts=T0 + DAY, risk=0.2, churn=0.7),
              scored(ts=T0 + 2 * DAY, churn=0.8, risk=0.6)]
    live_state, shadow_state = live.new_state("p1"), shadow.new_state("p1")
    live_out = [d for p in points for d in live.decide(live_state, p)]
    shadow_out = [d for p in points for d in shadow.decide(shadow_state, p)]
    assert not any(d.emitted for d in shadow_out)
    # what live emits, shadow records as `shadow`; what live holds back, shadow holds back too
    live_kinds = [(d.action.action, d.status) for d in live_out if d.status != "pending_review"]
    expected = [(a, "shadow" if s == "emitted" else s) for a, s in live_kinds]
    assert [(d.action.action, d.status) for d in shadow_out] == expected
    assert {s for _, s in expected} >= {"shadow", "suppressed"}


def test_shadow_mode_can_be_set_for_one_jurisdiction() -> None:
    eng = engine(jurisdictions={"SE": {"rollout": {"mode": "shadow"}}})
    se = eng.decide(eng.new_state("p1"), scored(risk=0.55, jurisdiction="SE"))
    mt = eng.decide(eng.new_state("p2"), scored(player="p2", risk=0.55, jurisdiction="MT"))
    assert [d.status for d in se] == ["shadow"] and [d.status for d in mt] == ["emitted"]


def test_in_shadow_mode_even_an_approved_action_is_not_emitted() -> None:
    eng = engine(rollout={"mode": "shadow"})
    state = eng.new_state("p1")
    review = eng.decide(state, scored(fraud=0.8))[0]
    final, row = eng.decide(state, scored(ts=T0 + 1, event=verdict(review.action.decision_id)))
    assert (final.status, row.status) == ("shadow", "approved")


def test_holdout_share_over_ten_thousand_players() -> None:
    ids = [f"player-{i}" for i in range(10_000)]
    share = sum(in_holdout(p, 0.05, "salt-a") for p in ids) / len(ids)
    assert 0.04 <= share <= 0.06
    assert sum(in_holdout(p, 0.5, "salt-a") for p in ids) / len(ids) == pytest.approx(0.5,
                                                                                    abs=0.02)


def test_holdout_is_stable_across_processes_and_changes_with_the_salt() -> None:
    ids = [f"player-{i}" for i in range(200)]
    here = [round(holdout_position(p, "salt-a"), 12) for p in ids]
    code = ("from pitboss.operators.policy.holdout import holdout_position;"
            f"print([round(holdout_position(p, 'salt-a'), 12) for p in {ids!r}])")
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env={**os.environ, "PYTHONHASHSEED": "123"},
                           cwd=Path(__file__).parents[3])
    assert ast.literal_eval(there.stdout) == here
    other = [round(holdout_position(p, "salt-b"), 12) for p in ids]
    assert other != here


def test_holdout_players_get_no_offers_but_do_get_interventions() -> None:
    eng = engine(rollout={"holdout_share": 1.0}, thresholds={"offer_block_risk": 1.0})
    state = eng.new_state("p1")
    offer = eng.decide(state, scored(churn=0.7))
    rg = eng.decide(state, scored(ts=T0 + DAY, risk=0.55))
    assert [(d.action.kind, d.status) for d in offer] == [("offer", "holdout")]
    assert [(d.action.kind, d.status) for d in rg] == [("intervention", "emitted")]


def test_a_held_back_offer_still_counts_against_the_caps_so_groups_stay_comparable() -> None:
    eng = engine(rollout={"holdout_share": 1.0})
    state = eng.new_state("p1")
    eng.decide(state, scored(churn=0.65))
    (second,) = eng.decide(state, scored(ts=T0 + DAY, churn=0.7))
    assert second.suppressed_by == "pending_decision"
