"""Learned models: River pipelines, and a plain-Python fast path for scoring the linear ones.

`build_learner` makes the River estimator a `LearnerSettings` describes: either
`StandardScaler | LogisticRegression` or a `HoeffdingAdaptiveTreeClassifier`.
`Learner` wraps it with the inputs' names and scores it. For the logistic
pipeline, scoring does not go through River's dict machinery: after each
`learn_one` the scaler's means and variances and the weights are copied into
flat lists (`LinearCoefficients`), and `predict` computes the same logistic in a
few float operations per input; a test checks it against `predict_proba_one`
to 1e-12. Reasons are the inputs with the largest positive contributions
(weight x standardised value). A champion and its challenger learn through
`learn_pair`, which scales each example once for both while their scalers agree.

Example:
    >>> from pitboss.models.settings import LearnerSettings
    >>> learner = Learner(("a", "b"), LearnerSettings(), seed=1)
    >>> learner.learn([2.0, 0.0], 1)
    >>> learner.learn([0.0, 1.0], 0)
    >>> p, reasons = learner.predict([2.0, 0.0], 2)
    >>> p > 0.5, "a" in reasons
    (True, True)

"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from river import compose, linear_model, optim, preprocessing, tree

from pitboss.models.settings import LearnerSettings


def build_learner(settings: LearnerSettings, seed: int) -> Any:
    """Return the River estimator `settings` describes, seeded with `seed` where it is random."""
    if settings.model == "tree":
        return tree.HoeffdingAdaptiveTreeClassifier(grace_period=settings.grace_period, seed=seed)
    rate: float | optim.base.Scheduler = settings.learning_rate
    intercept_rate: float | optim.base.Scheduler = settings.intercept_lr
    if settings.schedule == "inverse_scaling":
        rate = optim.schedulers.InverseScaling(settings.learning_rate, settings.power)
        intercept_rate = optim.schedulers.InverseScaling(settings.intercept_lr, settings.power)
    optimizer: optim.base.Optimizer
    if settings.optimizer == "adagrad":
        optimizer = optim.AdaGrad(rate)
    elif settings.optimizer == "adam":
        optimizer = optim.Adam(rate)
    else:
        optimizer = optim.SGD(rate)
    return compose.Pipeline(
        preprocessing.StandardScaler(),
        linear_model.LogisticRegression(
            optimizer=optimizer, l2=settings.l2, intercept_lr=intercept_rate
        ),
    )


def sigmoid(z: float) -> float:
    """River's logistic (`river.utils.math.sigmoid`): clamped to 0 and 1 beyond |z| > 30."""
    if z < -30:
        return 0.0
    if z > 30:
        return 1.0
    return 1.0 / (1.0 + math.exp(-z))


def scaling_of(scaler: preprocessing.StandardScaler,
               names: Sequence[str]) -> tuple[list[float], list[float]]:
    """Return a scaler's means and standard deviations, in input order (0 for unseen inputs)."""
    means = [float(scaler.means.get(n, 0.0)) for n in names]
    stds = [float(scaler.vars.get(n, 0.0)) ** 0.5 for n in names]
    return means, stds


class LinearCoefficients:
    """Flat copies of a `StandardScaler | LogisticRegression` pipeline's state, in input order.

    River computes z_j = (x_j - mean_j) / sqrt(var_j) (0 where the variance is 0) and
    p = sigmoid(intercept + sum_j w_j z_j); here each w_j / sqrt(var_j) is folded into
    one factor, which agrees with River to rounding (a test checks 1e-12).
    """

    __slots__ = ("factors", "intercept", "means")

    def __init__(self, pipeline: compose.Pipeline, names: Sequence[str],
                 scaling: tuple[list[float], list[float]] | None = None) -> None:
        lr = pipeline.steps["LogisticRegression"]
        weights = lr.weights
        means, stds = scaling or scaling_of(pipeline.steps["StandardScaler"], names)
        self.means = list(means)
        self.factors = [float(weights.get(n, 0.0)) / s if s else 0.0
                        for n, s in zip(names, stds, strict=True)]
        self.intercept = float(lr.intercept)

    def predict(self, values: Sequence[float]) -> tuple[float, list[float]]:
        """Return the probability of the positive class and each input's contribution."""
        parts = [a * (x - m) for a, x, m in zip(self.factors, values, self.means, strict=False)]
        return sigmoid(self.intercept + sum(parts)), parts


class Learner:
    """One learned model over named inputs: learn, predict and explain.

    Args:
        names: the input names, in the order `learn` and `predict` get their values.
        settings: which River model and its hyperparameters.
        seed: seed of anything random in the model.

    """

    def __init__(self, names: Sequence[str], settings: LearnerSettings, seed: int) -> None:
        self.names = tuple(names)
        self.settings = settings
        self.seed = seed
        self.model = build_learner(settings, seed)
        self.linear = settings.model == "logistic"
        self.coefficients: LinearCoefficients | None = None
        self.n_learned = 0

    def learn(self, values: Sequence[float], label: int) -> None:
        """Learn one labelled example (values in input order)."""
        self.model.learn_one(dict(zip(self.names, values, strict=True)), bool(label))
        self.n_learned += 1
        if self.linear:
            self.coefficients = LinearCoefficients(self.model, self.names)

    def scales_like(self, other: Learner) -> bool:
        """Whether both are logistic over the same inputs with equal scaler statistics."""
        if not (self.linear and other.linear and self.names == other.names):
            return False
        mine, theirs = self.model.steps["StandardScaler"], other.model.steps["StandardScaler"]
        # dict's own equality: `Counter.__eq__` loops in Python (and calls a 0 count missing)
        return (dict.__eq__(mine.counts, theirs.counts) and mine.means == theirs.means
                and mine.vars == theirs.vars)

    def _learn_scaled(self, scaled: dict[str, float], label: int,
                      scaling: tuple[list[float], list[float]]) -> None:
        """Finish `learn` once the scaler has learned the example and scaled it to `scaled`."""
        if self.model._plan is None:
            self.model._build_plan()  # as `Pipeline.learn_one` does: the same pipeline state
        self.model.steps["LogisticRegression"].learn_one(scaled, bool(label))
        self.n_learned += 1
        self.coefficients = LinearCoefficients(self.model, self.names, scaling)

    def predict(self, values: Sequence[float], max_reasons: int) -> tuple[float, tuple[str, ...]]:
        """Return P(label = 1) and up to `max_reasons` inputs that pushed it up.

        Pure: the River model is not touched before it has learned anything (River's
        scalers would otherwise add empty entries for unseen inputs), and never updated.
        """
        if self.n_learned == 0:
            return 0.5, ()
        if self.coefficients is not None:
            p, parts = self.coefficients.predict(values)
            up = [(c, j) for j, c in enumerate(parts) if c > 0.0]
            if len(up) > 1:
                up.sort(reverse=True)
            names = self.names
            return p, tuple([names[j] for _, j in up[:max_reasons]])
        proba = self.model.predict_proba_one(dict(zip(self.names, values, strict=True)))
        return float(proba.get(True, 0.0)), ()

    def river_proba(self, values: Sequence[float]) -> float:
        """Return River's own `predict_proba_one` (for checking the fast path; slower)."""
        proba = self.model.predict_proba_one(dict(zip(self.names, values, strict=True)))
        return float(proba.get(True, 0.0))


def learn_pair(first: Learner, second: Learner, values: Sequence[float], label: int) -> None:
    """Have two learners learn one example, exactly as `first.learn` then `second.learn` would.

    A champion and its challenger learn the same labels over the same inputs, so their
    scalers hold equal statistics, learn the same new ones and scale the example the
    same way. When they do (`scales_like`), `first`'s scaler learns and scales the
    example once, `second`'s takes a copy of the new statistics, and both regressions
    learn from the one scaled example. Otherwise each learns on its own.
    """
    if not first.scales_like(second):
        first.learn(values, label)
        second.learn(values, label)
        return
    scaler = first.model.steps["StandardScaler"]
    x = dict(zip(first.names, values, strict=True))
    scaler.learn_one(x)
    twin = second.model.steps["StandardScaler"]
    for mine, theirs in ((scaler.counts, twin.counts), (scaler.means, twin.means),
                         (scaler.vars, twin.vars)):
        dict.update(theirs, mine)  # replace values (`Counter.update` would add counts)
    scaled = scaler.transform_one(x)
    scaling = scaling_of(scaler, first.names)
    first._learn_scaled(scaled, label, scaling)
    second._learn_scaled(scaled, label, scaling)
