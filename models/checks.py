"""The contract every scorer keeps, as checks run against each one (River's `estimator_checks`).

A scorer turns a point into a score: the marker rules, a `Learner`, a kind's rule and
learners (`KindModel`), the wallet anomaly detector, the whole `ModelSet`. Their
signatures differ, so a `ScorerCase` says how to make one, score a `Sample` with it
and, if it learns, teach it one. Every scorer must pass:

- `check_scoring_is_pure`: scoring changes nothing (the scorer's pickle is the same
  bytes before and after) and the same sample scores the same twice;
- `check_scores_in_range`: every score is finite and within the case's range, before
  and after learning;
- `check_pickle_round_trip`: the scorer loaded from its pickle scores as the original,
  and keeps doing so as both learn the same examples;
- `check_learning_is_deterministic`: two scorers made alike that learn the same
  examples answer and score alike (seeded, no wall clock, no hash order);
- `check_snapshot_then_resume`: learning, snapshotting (pickle), loading and learning
  on equals learning without interruption, answer for answer.

`yield_checks(case)` gives the checks that apply (the last two only to scorers that
learn). tests/models/test_checks.py runs them against every scorer with
hypothesis-drawn samples; a new scorer gets a `ScorerCase` there.

Example:
    >>> from pitboss.models.anomaly import WalletAnomaly
    >>> case = ScorerCase(
    ...     "wallet_anomaly", lambda: WalletAnomaly(n_trees=3, height=3, window_size=4, seed=1),
    ...     width=8, score=lambda m, s: m.score(s.values), values=lambda score: [score],
    ...     learn=lambda m, s, label: m.learn(s.values))
    >>> points = [Sample(tuple(float(i % 3 + j) for j in range(8))) for i in range(10)]
    >>> for check in yield_checks(case):
    ...     check(case, [(p, 0) for p in points], points)
    >>> [check.__name__ for check in yield_checks(case)][-1]
    'check_snapshot_then_resume'

"""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Sample:
    """What a scorer is given: input values and the point's context.

    Scorers that read only values (a learner, the anomaly detector) ignore the rest.

    Attributes:
        values: the inputs, as many as the case's `width` (a feature row for the rules).
        trigger: why the point is scored (`chargeback` is a fraud marker).
        anomaly: the wallet anomaly score handed to the rules.
        jurisdiction: the player's jurisdiction (per-jurisdiction marker tables).
        ts_ms: the event time of the point or label.

    """

    values: tuple[float, ...]
    trigger: str = "session_end"
    anomaly: float = 0.0
    jurisdiction: str = ""
    ts_ms: int = 0


Example = tuple[Sample, int]
"""A sample and its label (0 or 1; unsupervised scorers ignore it)."""


@dataclass(frozen=True)
class ScorerCase:
    """How the checks drive one scorer.

    Attributes:
        name: the case's name in test ids.
        make: returns a fresh scorer.
        width: how many values a sample has.
        score: scores a sample; returns the scorer's own answer (compared with ==).
        values: the numbers in an answer that must lie in [`low`, `high`].
        learn: teaches a scorer one example and returns what learning returns (compared
            with ==); None for a scorer that does not learn.
        low: the lowest score allowed.
        high: the highest score allowed.
        domain: the range of input values the scorer is meant for (drawn from by tests).

    """

    name: str
    make: Callable[[], Any]
    width: int
    score: Callable[[Any, Sample], Any]
    values: Callable[[Any], Sequence[float]]
    learn: Callable[[Any, Sample, int], Any] | None = None
    low: float = 0.0
    high: float = 1.0
    domain: tuple[float, float] = (-1e6, 1e6)


Check = Callable[[ScorerCase, Sequence[Example], Sequence[Sample]], None]


def _learned(case: ScorerCase, scorer: Any, examples: Sequence[Example]) -> list[Any]:
    """Teach `scorer` the examples in order; return what each `learn` returned."""
    if case.learn is None:
        return []
    return [case.learn(scorer, sample, label) for sample, label in examples]


def _scores(case: ScorerCase, scorer: Any, samples: Sequence[Sample]) -> list[Any]:
    return [case.score(scorer, sample) for sample in samples]


def check_scoring_is_pure(case: ScorerCase, examples: Sequence[Example],
                          samples: Sequence[Sample]) -> None:
    """Check that scoring leaves the pickle unchanged and a sample scores the same twice."""
    scorer = case.make()
    _learned(case, scorer, examples)
    before = pickle.dumps(scorer)
    first = _scores(case, scorer, samples)
    second = _scores(case, scorer, samples)
    assert first == second, f"{case.name}: the same sample scored differently twice"
    assert pickle.dumps(scorer) == before, f"{case.name}: scoring changed the scorer's state"


def check_scores_in_range(case: ScorerCase, examples: Sequence[Example],
                          samples: Sequence[Sample]) -> None:
    """Check that every score is finite and in [`low`, `high`], before and after learning."""
    scorer = case.make()
    for stage in ("fresh", "learned"):
        for sample, answer in zip(samples, _scores(case, scorer, samples), strict=True):
            for value in case.values(answer):
                assert math.isfinite(value) and case.low <= value <= case.high, (
                    f"{case.name} ({stage}): score {value!r} outside [{case.low}, {case.high}] "
                    f"for {sample}")
        _learned(case, scorer, examples)


def check_pickle_round_trip(case: ScorerCase, examples: Sequence[Example],
                            samples: Sequence[Sample]) -> None:
    """Check that a scorer loaded from its pickle scores as the original, also after learning."""
    scorer = case.make()
    half = len(examples) // 2
    _learned(case, scorer, examples[:half])
    restored = pickle.loads(pickle.dumps(scorer))
    assert _scores(case, restored, samples) == _scores(case, scorer, samples), (
        f"{case.name}: the scorer loaded from its pickle scores differently")
    assert _learned(case, restored, examples[half:]) == _learned(case, scorer, examples[half:]), (
        f"{case.name}: the scorer loaded from its pickle answered learning differently")
    assert _scores(case, restored, samples) == _scores(case, scorer, samples), (
        f"{case.name}: the scorer loaded from its pickle learned differently")


def check_learning_is_deterministic(case: ScorerCase, examples: Sequence[Example],
                                    samples: Sequence[Sample]) -> None:
    """Check that two scorers made alike that learn the same examples answer and score alike."""
    first, second = case.make(), case.make()
    assert _learned(case, first, examples) == _learned(case, second, examples), (
        f"{case.name}: learning the same examples answered differently")
    assert _scores(case, first, samples) == _scores(case, second, samples), (
        f"{case.name}: learning the same examples gave different scores")


def check_snapshot_then_resume(case: ScorerCase, examples: Sequence[Example],
                               samples: Sequence[Sample]) -> None:
    """Check that snapshot (pickle) halfway, load and learn on equals learning uninterrupted."""
    uninterrupted, interrupted = case.make(), case.make()
    half = len(examples) // 2
    answers = _learned(case, uninterrupted, examples)
    resumed_answers = _learned(case, interrupted, examples[:half])
    resumed = pickle.loads(pickle.dumps(interrupted))
    resumed_answers += _learned(case, resumed, examples[half:])
    assert resumed_answers == answers, f"{case.name}: a resumed scorer learned differently"
    assert _scores(case, resumed, samples) == _scores(case, uninterrupted, samples), (
        f"{case.name}: a resumed scorer scores differently from an uninterrupted one")


def yield_checks(case: ScorerCase) -> Iterator[Check]:
    """Yield the checks that apply to `case`: all of them to a scorer that learns."""
    yield check_scoring_is_pure
    yield check_scores_in_range
    yield check_pickle_round_trip
    if case.learn is not None:
        yield check_learning_is_deterministic
        yield check_snapshot_then_resume
