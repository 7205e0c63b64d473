"""Learned models: the fast paths equal River, and predicting never changes a model."""

import pickle
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from river import compose

from pitboss.models.linear import Learner, learn_pair
from pitboss.models.settings import LearnerSettings


def _trained(settings: LearnerSettings, n: int = 300, seed: int = 3) -> tuple[Learner, list]:
    rng = random.Random(seed)
    learner = Learner(("a", "b", "c", "d"), settings, seed=1)
    rows = []
    for _ in range(n):
        row = [rng.gauss(0, 1), rng.uniform(0, 5), rng.choice((0.0, 1.0)), 2.0]
        learner.learn(row, int(row[0] + 0.5 * row[2] + rng.gauss(0, 0.5) > 0.3))
        rows.append(row)
    return learner, rows


def test_river_default_does_not_learn_during_predict() -> None:
    assert compose.Pipeline._LEARN_UNSUPERVISED_DURING_PREDICT is False


@pytest.mark.parametrize("optimizer", ["sgd", "adagrad", "adam"])
def test_fast_path_equals_river_predict_proba_one(optimizer: str) -> None:
    learner, rows = _trained(LearnerSettings(optimizer=optimizer))
    rng = random.Random(9)
    for row in rows[:50] + [[rng.uniform(-50, 50) for _ in range(4)] for _ in range(50)]:
        fast, _ = learner.predict(row, 3)
        assert abs(fast - learner.river_proba(row)) <= 1e-12


@pytest.mark.parametrize("model", ["logistic", "tree"])
def test_predicting_changes_nothing(model: str) -> None:
    learner, rows = _trained(LearnerSettings(model=model))
    before = pickle.dumps(learner)
    if model == "logistic":
        scaler = learner.model.steps["StandardScaler"]
        means, counts = dict(scaler.means), dict(scaler.counts)
    for row in [*rows[:20], [100.0, -3.0, 0.5, 7.0]]:
        learner.predict(row, 3)
        learner.predict(row, 3)
        learner.river_proba(row)
    assert pickle.dumps(learner) == before
    if model == "logistic":
        assert dict(scaler.means) == means and dict(scaler.counts) == counts


def test_untrained_learner_predicts_half_without_touching_river() -> None:
    learner = Learner(("a", "b"), LearnerSettings(), seed=1)
    before = pickle.dumps(learner)
    assert learner.predict([1.0, 2.0], 3) == (0.5, ())
    assert pickle.dumps(learner) == before


def test_reasons_are_the_top_positive_contributions() -> None:
    learner, _ = _trained(LearnerSettings())
    coefficients = learner.coefficients
    assert coefficients is not None
    row = [2.0, 2.5, 1.0, 2.0]
    _, reasons = learner.predict(row, 2)
    _, parts = coefficients.predict(row)
    expected = sorted((c, n) for c, n in zip(parts, learner.names, strict=True) if c > 0)[::-1]
    assert reasons == tuple(n for _, n in expected[:2])
    assert reasons[0] == "a"


row_values = st.lists(st.one_of(st.sampled_from([0.0, 1.0, -2.5]), st.floats(-1e3, 1e3)),
                      min_size=4, max_size=4)


@settings(max_examples=40, deadline=None)
@given(examples=st.lists(st.tuples(row_values, st.integers(0, 1)), min_size=1, max_size=40),
       head_start=st.integers(0, 2),
       second=st.sampled_from([LearnerSettings(optimizer="adagrad", learning_rate=0.1),
                               LearnerSettings(optimizer="adam"), LearnerSettings(model="tree")]))
def test_learning_as_a_pair_equals_learning_one_by_one(
        examples: list[tuple[list[float], int]], head_start: int,
        second: LearnerSettings) -> None:
    names = ("a", "b", "c", "d")
    pair = (Learner(names, LearnerSettings(), seed=1), Learner(names, second, seed=1))
    alone = (Learner(names, LearnerSettings(), seed=1), Learner(names, second, seed=1))
    for values, label in examples[:head_start]:  # scalers that differ: no sharing
        pair[1].learn(values, label)
        alone[1].learn(values, label)
    for values, label in examples:
        learn_pair(pair[0], pair[1], values, label)
        alone[0].learn(values, label)
        alone[1].learn(values, label)
        if second.model == "logistic":
            assert pickle.dumps(pair) == pickle.dumps(alone)
        else:  # a tree's pickle differs between two trees that learned the same
            assert pickle.dumps(pair[0]) == pickle.dumps(alone[0])
            assert pair[1].river_proba(values) == alone[1].river_proba(values)


def test_pair_shares_scaling_only_between_equal_scalers() -> None:
    first, second = (Learner(("a", "b"), LearnerSettings(), seed=1) for _ in range(2))
    assert first.scales_like(second)
    first.learn([1.0, 2.0], 1)
    assert not first.scales_like(second)
    second.learn([1.0, 2.0], 0)
    assert first.scales_like(second)
    assert not first.scales_like(Learner(("a", "b"), LearnerSettings(model="tree"), seed=1))
