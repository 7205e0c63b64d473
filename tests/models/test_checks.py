"""Every scorer passes the scorer contract (`pitboss.models.checks`), and the checks can fail.

The rules, the learners (alone and as a champion-challenger pair), each kind's rule and
learners, the wallet anomaly detector and the whole model set are each a `ScorerCase`;
every applicable check runs against each on hypothesis-drawn samples and examples.
Feature rows start from a player profile (none, recreational, harmed, fraudster) with
a few features overridden, so they stay small to draw and still reach every marker.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any, get_args

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pitboss.config.models import KINDS, LearnerSettings, ModelSettings
from pitboss.models.anomaly import WalletAnomaly
from pitboss.models.checks import (
    Check,
    Example,
    Sample,
    ScorerCase,
    check_learning_is_deterministic,
    check_pickle_round_trip,
    check_scores_in_range,
    check_scoring_is_pure,
    check_snapshot_then_resume,
    yield_checks,
)
from pitboss.models.inputs import INPUTS, WALLET_INPUTS
from pitboss.models.kind_model import KindModel
from pitboss.models.linear import Learner, learn_pair
from pitboss.models.model_set import ModelSet
from pitboss.models.rules import RULES, FraudRule, RiskRule
from pitboss.models.validation import hour_of
from pitboss.operators.feature_schema import FEATURE_NAMES
from pitboss.operators.harm_markers import HARM_MARKERS, MarkerBook
from pitboss.operators.outputs import LabelledExample, ScoringPoint
from tests.models.factories import FRAUDSTER, HARMED, RECREATIONAL, features

N_FEATURES = len(FEATURE_NAMES)
DAY_MS = 86_400_000
QUICK = {"min_labels": 4, "min_positives": 1, "min_negatives": 1, "trust_labels": 4}
"""Warm-up short enough that drawn examples reach the learned part of every kind."""


# --- the scorers ---------------------------------------------------------------------------

def rule_case(name: str, make: Callable[[], Any]) -> ScorerCase:
    return ScorerCase(
        name, make, width=N_FEATURES,
        score=lambda rule, s: rule.score(s.values, s.trigger, s.anomaly, s.jurisdiction),
        values=lambda answer: [answer[0]])


def learner_case(name: str, learner: LearnerSettings) -> ScorerCase:
    names = INPUTS["risk"].names
    return ScorerCase(
        name, lambda: Learner(names, learner, seed=7), width=len(names),
        score=lambda m, s: m.predict(s.values, 3), values=lambda answer: [answer[0]],
        learn=lambda m, s, label: m.learn(s.values, label), domain=(-1e3, 1e3))


def pair_case(name: str, challenger: LearnerSettings) -> ScorerCase:
    """Return the case of a champion and challenger learning together (`learn_pair`)."""
    names = INPUTS["fraud"].names
    return ScorerCase(
        name, lambda: (Learner(names, LearnerSettings(), 7), Learner(names, challenger, 7)),
        width=len(names), score=lambda pair, s: [m.predict(s.values, 3) for m in pair],
        values=lambda answer: [p for p, _ in answer],
        learn=lambda pair, s, label: learn_pair(pair[0], pair[1], s.values, label),
        domain=(-1e3, 1e3))


def quick_settings(challenger: dict[str, object] | None = None, **extra: Any) -> ModelSettings:
    kind = {**QUICK, **({"challenger": challenger} if challenger else {})}
    return ModelSettings(**{k: kind for k in KINDS}, anomaly_window=6, anomaly_trees=4,
                         anomaly_height=4, **extra)


def kind_case(kind: str, model_settings: ModelSettings, suffix: str = "") -> ScorerCase:
    def learn(model: KindModel, s: Sample, label: int) -> Any:
        example = LabelledExample(kind, "p1", s.values, label, s.ts_ms, s.ts_ms)
        return model.learn(example, hour_of(s.ts_ms), s.anomaly)

    return ScorerCase(
        f"kind_model:{kind}{suffix}", lambda: KindModel(kind, model_settings), width=N_FEATURES,
        score=lambda m, s: m.score(s.values, s.trigger, s.anomaly, s.jurisdiction),
        values=lambda answer: [score.value for score in answer if score is not None],
        learn=learn)


def model_set_case(name: str, model_settings: ModelSettings) -> ScorerCase:
    def learn(models: ModelSet, s: Sample, label: int) -> Any:
        models.observe(as_point(s))
        return [models.learn(LabelledExample(kind, "p1", s.values, label, s.ts_ms, s.ts_ms))
                for kind in KINDS]

    return ScorerCase(
        name, lambda: ModelSet(model_settings, MarkerBook(HARM_MARKERS, {"SE": STRICT})),
        width=N_FEATURES, score=lambda models, s: models.score(as_point(s)),
        values=lambda answer: [score.value for scores in (answer.scores, answer.challengers)
                               for score in scores.values()],
        learn=learn)


def as_point(s: Sample) -> ScoringPoint:
    return ScoringPoint("p1", s.ts_ms, s.trigger, "", s.jurisdiction, s.values)


STRICT = HARM_MARKERS.overridden({"loss_chasing": {"low": 0.5, "met": 0.6, "high": 0.7}})

CASES: list[ScorerCase] = [
    *(rule_case(f"rule:{kind}", cls) for kind, cls in RULES.items()),
    rule_case("rule:risk:jurisdictions", lambda: RiskRule(MarkerBook(HARM_MARKERS,
                                                                     {"SE": STRICT}))),
    rule_case("rule:fraud:weights", lambda: FraudRule(weights={"chargeback": 1.0,
                                                               "many_devices": 0.0})),
    learner_case("learner:sgd", LearnerSettings()),
    learner_case("learner:adagrad", LearnerSettings(optimizer="adagrad", learning_rate=0.1)),
    learner_case("learner:adam:inverse_scaling",
                 LearnerSettings(optimizer="adam", schedule="inverse_scaling")),
    learner_case("learner:tree", LearnerSettings(model="tree", grace_period=5)),
    pair_case("learner_pair:adagrad", LearnerSettings(optimizer="adagrad", learning_rate=0.1)),
    pair_case("learner_pair:tree", LearnerSettings(model="tree", grace_period=5)),
    *(kind_case(kind, quick_settings()) for kind in KINDS),
    kind_case("risk", quick_settings({"model": "tree", "grace_period": 5}), ":tree_challenger"),
    kind_case("churn", quick_settings(challengers=False), ":no_challenger"),
    ScorerCase(
        "wallet_anomaly", lambda: WalletAnomaly(n_trees=4, height=4, window_size=6, seed=3),
        width=len(WALLET_INPUTS.names), score=lambda m, s: m.score(s.values),
        values=lambda answer: [answer], learn=lambda m, s, label: m.learn(s.values),
        domain=(0.0, math.log1p(20_000.0))),
    model_set_case("model_set", quick_settings()),
    model_set_case("model_set:tree_challengers",
                   quick_settings({"model": "tree", "grace_period": 5})),
]


# --- drawing samples -----------------------------------------------------------------------

PROFILES = [features(), features(RECREATIONAL), features(HARMED), features(FRAUDSTER)]
TRIGGERS = ["session_end", "hourly", "deposit", "withdrawal", "bonus_claim", "chargeback",
            "inactivity"]


def values_of(case: ScorerCase) -> st.SearchStrategy[tuple[float, ...]]:
    """Values of the case's width from its domain; feature rows as a profile plus changes."""
    low, high = case.domain
    value = st.one_of(st.sampled_from([0.0, 1.0, low, high]), st.floats(0.0, 10.0),
                      st.floats(low, high))
    if case.width != N_FEATURES:
        return st.lists(value, min_size=case.width, max_size=case.width).map(tuple)

    def row(profile: tuple[float, ...], changes: dict[int, float]) -> tuple[float, ...]:
        changed = list(profile)
        for index, v in changes.items():
            changed[index] = v
        return tuple(changed)

    return st.builds(row, st.sampled_from(PROFILES),
                     st.dictionaries(st.integers(0, N_FEATURES - 1), value, max_size=6))


def samples_of(case: ScorerCase) -> st.SearchStrategy[Sample]:
    return st.builds(Sample, values_of(case), st.sampled_from(TRIGGERS), st.floats(0.0, 1.0),
                     st.sampled_from(["", "UK", "SE"]), st.integers(0, 3 * DAY_MS))


def case_checks() -> list[Any]:
    return [pytest.param(case, check, id=f"{case.name}-{check.__name__}")
            for case in CASES for check in yield_checks(case)]


@pytest.mark.parametrize(("case", "check"), case_checks())
@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_every_scorer_keeps_the_contract(case: ScorerCase, check: Check,
                                         data: st.DataObject) -> None:
    sample = samples_of(case)
    examples = data.draw(st.lists(st.tuples(sample, st.integers(0, 1)), max_size=16),
                         label="examples")
    samples = data.draw(st.lists(sample, min_size=1, max_size=4), label="samples")
    check(case, examples, samples)


# --- every scorer has a case ---------------------------------------------------------------

def test_every_rule_every_learner_and_every_kind_has_a_case() -> None:
    made = [case.make() for case in CASES]
    assert {type(m) for m in made} >= {*RULES.values(), Learner, KindModel, WalletAnomaly,
                                       ModelSet}
    learners = [m.settings for m in made if isinstance(m, Learner)]
    learners += [learner.settings for m in made if isinstance(m, tuple) for learner in m]
    fields = LearnerSettings.model_fields
    for field in ("model", "optimizer", "schedule"):
        wanted = set(get_args(fields[field].annotation))
        assert {getattr(s, field) for s in learners} == wanted, field
    assert {m.kind for m in made if isinstance(m, KindModel)} == set(KINDS)


# --- the checks catch what they are for ----------------------------------------------------

class Toy:
    """A scorer that learns the mean of its labels; subclasses break one rule each."""

    def __init__(self) -> None:
        self.total = 0.0
        self.n = 0

    def learn(self, values: tuple[float, ...], label: int) -> None:
        self.total += label
        self.n += 1

    def score(self, values: tuple[float, ...]) -> float:
        return self.total / self.n if self.n else 0.5


class CountsScores(Toy):
    def score(self, values: tuple[float, ...]) -> float:
        self.scored = getattr(self, "scored", 0) + 1  # a counter left in the state
        return super().score(values)


class LearnsWhenScoring(Toy):
    def score(self, values: tuple[float, ...]) -> float:
        self.learn(values, 1)
        return super().score(values)


class Noisy(Toy):
    def learn(self, values: tuple[float, ...], label: int) -> None:
        super().learn(values, label)
        self.total += random.random() * 1e-9  # unseeded: two runs differ


class ForgetsOnPickle(Toy):
    def __getstate__(self) -> dict[str, Any]:
        return {"total": 0.0, "n": self.n}  # learned state not saved


class ResumesOff(Toy):
    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.n += 1  # a counter restored one off: only learning after the load shows it


class Unbounded(Toy):
    def score(self, values: tuple[float, ...]) -> float:
        return super().score(values) + values[0]


def toy_case(cls: type[Toy]) -> ScorerCase:
    return ScorerCase(cls.__name__, cls, width=1, score=lambda m, s: m.score(s.values),
                      values=lambda answer: [answer],
                      learn=lambda m, s, label: m.learn(s.values, label))


TOY_EXAMPLES: list[Example] = [(Sample((0.0,)), 1), (Sample((0.0,)), 0), (Sample((0.0,)), 1),
                               (Sample((0.0,)), 1)]
TOY_SAMPLES = [Sample((0.0,)), Sample((0.5,))]


@pytest.mark.parametrize("check", list(yield_checks(toy_case(Toy))))
def test_a_scorer_that_keeps_the_contract_passes(check: Check) -> None:
    check(toy_case(Toy), TOY_EXAMPLES, TOY_SAMPLES)


@pytest.mark.parametrize(("broken", "check", "message"), [
    (CountsScores, check_scoring_is_pure, "scoring changed"),
    (LearnsWhenScoring, check_scoring_is_pure, "scored differently twice"),
    (Noisy, check_learning_is_deterministic, "different scores"),
    (ForgetsOnPickle, check_pickle_round_trip, "loaded from its pickle scores differently"),
    (ForgetsOnPickle, check_snapshot_then_resume, "resumed scorer scores differently"),
    (ResumesOff, check_snapshot_then_resume, "resumed scorer scores differently"),
    (Unbounded, check_scores_in_range, "outside"),
])
def test_each_check_catches_the_mistake_it_is_for(broken: type[Toy], check: Check,
                                                  message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check(toy_case(broken), TOY_EXAMPLES, [*TOY_SAMPLES, Sample((3.0,))])
