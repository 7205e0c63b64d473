"""The out-of-rhythm point the player shards take from the policy, by jurisdiction."""

from __future__ import annotations

import pickle

from pitboss.operators.out_of_rhythm import OutOfRhythm
from pitboss.operators.policy.settings import load_policy
from tests.operators.policy.factories import policy


def test_a_jurisdiction_keeps_its_own_threshold_only_where_its_policy_changes_it() -> None:
    rules = policy(thresholds={"reactivation_quiet_spreads": 2.5}, jurisdictions={
        "SE": {"thresholds": {"reactivation_quiet_spreads": 4.0}},
        "DK": {"thresholds": {"reactivation_quiet_spreads": 2.5}},
        "ES": {"thresholds": {"churn_offer": 0.7}},
    })
    out_of_rhythm = OutOfRhythm.of_policy(rules)
    assert out_of_rhythm == OutOfRhythm(2.5, {"SE": 4.0})
    for code in ("SE", "DK", "ES", "UK", "MT"):
        assert out_of_rhythm.spreads(code) == \
            rules.rules_for(code).thresholds.reactivation_quiet_spreads


def test_the_default_is_the_packaged_policys_threshold_and_pickles() -> None:
    packaged = OutOfRhythm.of_policy(load_policy())
    assert OutOfRhythm() == packaged
    assert pickle.loads(pickle.dumps(packaged)) == packaged
