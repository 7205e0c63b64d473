"""Learned models: scaling, weights and fast path equal River's; predicting changes nothing."""

import pickle
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from river import compose, preprocessing

from pitboss.config.models import LearnerSettings
from pitboss.models.linear import Learner, build_learner, learn_pair


def _trained(settings: LearnerSettings, n: int = 300, seed: int = 3) -> tuple[Learner, list]:
    rng = random.Random(seed)
    learner = Learner(("a", "b", "c", "d"), settings, seed=1)
    rows = []
    for _ in range(n):
        row = [rng.gauss(0, 1), rng.uniform(0, 5), rng.choice((0.0, 1.0)), 2.0]
        learner.learn(row, int(row[0] + 0.5 * row[2] + rng.gauss(0, 0.5) > 0.3))
        rows.append(row)
    return learner, rows


def river_pipeline(settings: LearnerSettings) -> compose.Pipeline:
    """River's own `StandardScaler | LogisticRegression`: the reference the learner must equal."""
    return compose.Pipeline(preprocessing.StandardScaler(), build_learner(settings, seed=1))


row_values = st.lists(st.one_of(st.sampled_from([0.0, 1.0, -2.5]), st.floats(-1e3, 1e3)),
                      min_size=4, max_size=4)
logistic_settings = st.sampled_from([
    LearnerSettings(), LearnerSettings(optimizer="adagrad", learning_rate=0.1),
    LearnerSettings(optimizer="adam"), LearnerSettings(schedule="inverse_scaling", l2=0.01)])


@settings(max_examples=40, deadline=None)
@given(examples=st.lists(st.tuples(row_values, st.integers(0, 1)), min_size=1, max_size=40),
       learner_settings=logistic_settings)
def test_logistic_learner_equals_rivers_scaler_and_regression_to_the_bit(
        examples: list[tuple[list[float], int]], learner_settings: LearnerSettings) -> None:
    names = ("a", "b", "c", "d")
    learner, pipeline = Learner(names, learner_settings, seed=1), river_pipeline(learner_settings)
    for values, label in examples:
        learner.learn(values, label)
        x = dict(zip(names, values, strict=True))
        pipeline.learn_one(x, bool(label))
        scaler, regression = pipeline["StandardScaler"], pipeline["LogisticRegression"]
        scaling = learner.scaling
        assert scaling is not None
        assert [scaler.counts[n] for n in names] == [scaling.count] * len(names)
        assert [scaler.means[n] for n in names] == scaling.means
        assert [scaler.vars[n] for n in names] == scaling.vars
        assert learner.model.weights == regression.weights
        assert learner.model.intercept == regression.intercept
        assert learner.river_proba(values) == pipeline.predict_proba_one(x)[True]


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
    scaling = learner.scaling.copy() if learner.scaling is not None else None
    for row in [*rows[:20], [100.0, -3.0, 0.5, 7.0]]:
        learner.predict(row, 3)
        learner.predict(row, 3)
        learner.river_proba(row)
    assert pickle.dumps(learner) == before
    assert learner.scaling == scaling


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


def attribute_pickles(learner: Learner) -> list[tuple[str, bytes]]:
    """Return each attribute's pickle, in order: equal states compare equal.

    The whole learner's pickle also depends on which equal strings happen to be one
    object (pickle's memo), which a load changes. The settings are compared by value:
    their pickle holds pydantic's set of fields set, whose order a load can change.
    """
    return [(name, pickle.dumps(value.model_dump() if name == "settings" else value))
            for name, value in vars(learner).items()]


def _legacy_learner(settings: LearnerSettings, examples: list[tuple[list[float], int]]) -> Any:
    """Return a logistic `Learner` as pickles written before `RunningScaling` hold it.

    Its state is the one the former `Learner.__init__` and `learn` left: a River pipeline
    `StandardScaler | LogisticRegression` under `model`, and no `scaling`.
    """
    names = ("a", "b", "c", "d")
    pipeline = river_pipeline(settings)
    fresh = Learner(names, settings, seed=1)
    for values, label in examples:
        pipeline.learn_one(dict(zip(names, values, strict=True)), bool(label))
        fresh.learn(values, label)
    legacy = Learner.__new__(Learner)
    legacy.__dict__.update(names=names, settings=settings, seed=1, model=pipeline, linear=True,
                           coefficients=fresh.coefficients, n_learned=len(examples))
    return legacy


@settings(max_examples=20, deadline=None)
@given(examples=st.lists(st.tuples(row_values, st.integers(0, 1)), min_size=2, max_size=30),
       learner_settings=logistic_settings, cut=st.integers(0, 30))
def test_a_pickle_of_the_former_pipeline_shape_resumes_exactly(
        examples: list[tuple[list[float], int]], learner_settings: LearnerSettings,
        cut: int) -> None:
    cut = min(cut, len(examples))
    resumed = pickle.loads(pickle.dumps(_legacy_learner(learner_settings, examples[:cut])))
    uninterrupted = Learner(("a", "b", "c", "d"), learner_settings, seed=1)
    for values, label in examples[:cut]:
        uninterrupted.learn(values, label)
    assert attribute_pickles(resumed) == attribute_pickles(uninterrupted)
    for values, label in examples[cut:]:
        resumed.learn(values, label)
        uninterrupted.learn(values, label)
        assert resumed.predict(values, 4) == uninterrupted.predict(values, 4)
    assert attribute_pickles(resumed) == attribute_pickles(uninterrupted)
