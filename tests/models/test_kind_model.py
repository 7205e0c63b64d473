"""One kind's score: the rule until warm, the learned part trusted gradually, the rule as floor."""

from __future__ import annotations

import pytest

from pitboss.config.models import KINDS, LearnerSettings, ModelSettings
from pitboss.models.kind_model import KindModel
from pitboss.models.linear import Learner
from tests.models.factories import RECREATIONAL, features, separable

QUICK = {"min_labels": 20, "min_positives": 5, "min_negatives": 5}
DRIFTING = features(RECREATIONAL, quiet_gaps=6.0, minutes_since_last_activity=9000.0)


def churn_model(**churn: object) -> KindModel:
    base: dict[str, object] = {kind: dict(QUICK) for kind in KINDS}
    base["churn"] = {**QUICK, "challenger": None, **churn}
    return KindModel("churn", ModelSettings(**base))


def learn(model: KindModel, n: int, flip: bool = False) -> None:
    for i, ex in enumerate(separable("churn", n, flip=flip)):
        model.learn(ex, i, 0.0)


def test_a_model_that_has_only_just_warmed_up_is_not_trusted_yet() -> None:
    model = churn_model(trust_labels=100, rule_floor=False)
    rule = model.rule.score(DRIFTING, "inactivity")[0]
    learn(model, 20)
    assert model.champion.warm
    assert model.score(DRIFTING, "inactivity")[0].value == pytest.approx(rule)


def test_trust_grows_to_the_learned_weight_over_trust_labels() -> None:
    halfway, full = churn_model(trust_labels=100, rule_floor=False), churn_model(rule_floor=False,
                                                                                  trust_labels=0)
    learn(halfway, 70)
    learn(full, 70)
    rule = halfway.rule.score(DRIFTING, "inactivity")[0]
    learned = halfway.champion.learner.predict(halfway.inputs.extract(DRIFTING), 1)[0]
    w = 0.8 * (70 - 20) / 100
    assert halfway.score(DRIFTING, "inactivity")[0].value == pytest.approx(
        w * learned + (1 - w) * rule)
    assert full.score(DRIFTING, "inactivity")[0].value == pytest.approx(
        0.8 * learned + 0.2 * rule)


def test_the_churn_rule_is_a_floor_a_model_cannot_talk_down() -> None:
    floored, blended = churn_model(trust_labels=0), churn_model(trust_labels=0, rule_floor=False)
    learn(floored, 60, flip=True)  # learned: drifting players stay
    learn(blended, 60, flip=True)
    rule = floored.rule.score(DRIFTING, "inactivity")[0]
    assert blended.score(DRIFTING, "inactivity")[0].value < rule
    assert floored.score(DRIFTING, "inactivity")[0].value == pytest.approx(rule)


def test_a_decaying_learning_rate_is_swung_less_by_late_contrary_labels() -> None:
    names = ("a",)
    moved = {}
    for schedule in ("constant", "inverse_scaling"):
        learner = Learner(names, LearnerSettings(learning_rate=0.1, intercept_lr=0.1,
                                                 schedule=schedule), seed=1)
        for i in range(400):
            learner.learn([float(i % 2)], i % 2)
        before = learner.predict([1.0], 1)[0]
        for i in range(40):
            learner.learn([float(i % 2)], 1 - i % 2)
        moved[schedule] = before - learner.predict([1.0], 1)[0]
    assert 0.0 < moved["inverse_scaling"] < moved["constant"] / 2
