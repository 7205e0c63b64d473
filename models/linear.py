"""Learned models: River estimators behind one `Learner`, and a plain-Python fast path for logistic.

`build_learner` makes the River estimator a `LearnerSettings` describes: a
`LogisticRegression` (over standardised inputs) or a `HoeffdingAdaptiveTreeClassifier`.
`Learner` wraps it with the inputs' names and scores it, through River's public
`learn_one` / `predict_proba_one` and the regression's public `weights` and `intercept`
only, so any River release in the range pyproject allows behaves the same.

The logistic learner standardises its inputs itself (`RunningScaling`): the running
means and variances of River's `preprocessing.StandardScaler`, with the same float
operations in the same order, kept as flat lists in input order. A test learns the
same stream with River's own `StandardScaler | LogisticRegression` pipeline and checks
the statistics and weights are equal to the bit. Owning this small piece of math
keeps River's pipeline and scaler internals out of the model, makes the scaled
values and standard deviations lists the fast path reads directly, and lets a
champion and its challenger share the scaling of an example (`learn_pair`).

Scoring does not go through River's dict machinery: after each `learn` the
scaling and the weights are folded into flat lists (`LinearCoefficients`), and
`predict` computes the same logistic in a few float operations per input; a test
checks it against River's `predict_proba_one` to 1e-12. Reasons are the inputs with
the largest positive contributions (weight x standardised value).

Example:
    >>> from pitboss.config.models import LearnerSettings
    >>> learner = Learner(("a", "b"), LearnerSettings(), seed=1)
    >>> learner.learn([2.0, 0.0], 1)
    >>> learner.learn([0.0, 1.0], 0)
    >>> p, reasons = learner.predict([2.0, 0.0], 2)
    >>> p > 0.5, "a" in reasons
    (True, True)

"""

from __future__ import annotations

import copy
import math
import pickle
from collections.abc import Sequence
from typing import Any

from river import linear_model, optim, tree

from pitboss.config.models import LearnerSettings


def build_learner(settings: LearnerSettings, seed: int) -> Any:
    """Return the River estimator `settings` describes, seeded with `seed` where it is random.

    The logistic regression learns standardised inputs (see `RunningScaling`); the tree
    learns the inputs as they are.
    """
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
    return linear_model.LogisticRegression(
        optimizer=optimizer, l2=settings.l2, intercept_lr=intercept_rate)


def sigmoid(z: float) -> float:
    """River's logistic (`river.utils.math.sigmoid`): clamped to 0 and 1 beyond |z| > 30."""
    if z < -30:
        return 0.0
    if z > 30:
        return 1.0
    return 1.0 / (1.0 + math.exp(-z))


class RunningScaling:
    """Running means and variances of the inputs: River's `StandardScaler`, in input order.

    Welford's update, written as River's `StandardScaler.learn_one` writes it, so the
    statistics are River's to the bit; `scale` is its `transform_one`: (x - mean) /
    sqrt(variance), 0 where the variance is 0. Every example has every input, so one
    count serves all of them.

    Args:
        width: the number of inputs.

    Example:
        >>> scaling = RunningScaling(2)
        >>> for values in ([1.0, 10.0], [3.0, 10.0]):
        ...     scaling.learn(values)
        >>> scaling.means, scaling.vars, scaling.scale([3.0, 10.0])
        ([2.0, 10.0], [1.0, 0.0], [1.0, 0.0])

    """

    __slots__ = ("count", "means", "vars")

    def __init__(self, width: int) -> None:
        self.count = 0
        self.means = [0.0] * width
        self.vars = [0.0] * width

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RunningScaling):
            return NotImplemented
        return (self.count == other.count and self.means == other.means
                and self.vars == other.vars)

    __hash__ = None  # type: ignore[assignment]  # mutable

    def learn(self, values: Sequence[float]) -> None:
        """Update the statistics with one example (values in input order)."""
        self.count += 1
        n = self.count
        means, variances = self.means, self.vars
        for j, x in enumerate(values):
            old = means[j]
            means[j] = mean = old + (x - old) / n
            variances[j] += ((x - old) * (x - mean) - variances[j]) / n

    def scale(self, values: Sequence[float]) -> list[float]:
        """Return the values standardised with the current statistics."""
        return [(x - m) / v**0.5 if v else 0.0
                for x, m, v in zip(values, self.means, self.vars, strict=True)]

    def copy(self) -> RunningScaling:
        """Return an independent copy."""
        twin = RunningScaling(0)
        twin.count, twin.means, twin.vars = self.count, list(self.means), list(self.vars)
        return twin


class LinearCoefficients:
    """Flat copies of a logistic learner's state, in input order: scaling folded into weights.

    River computes z_j = (x_j - mean_j) / sqrt(var_j) (0 where the variance is 0) and
    p = sigmoid(intercept + sum_j w_j z_j); here each w_j / sqrt(var_j) is folded into
    one factor, which agrees with River to rounding (a test checks 1e-12).

    Args:
        regression: the `LogisticRegression` (its public `weights` and `intercept`).
        names: the input names, in input order.
        scaling: the statistics its inputs were standardised with.

    """

    __slots__ = ("factors", "intercept", "means")

    def __init__(self, regression: linear_model.LogisticRegression, names: Sequence[str],
                 scaling: RunningScaling) -> None:
        weights = regression.weights
        self.means = list(scaling.means)
        self.factors = [float(weights.get(n, 0.0)) / s if (s := v**0.5) else 0.0
                        for n, v in zip(names, scaling.vars, strict=True)]
        self.intercept = float(regression.intercept)

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
        self.scaling = RunningScaling(len(self.names)) if self.linear else None
        self.coefficients: LinearCoefficients | None = None
        self.n_learned = 0

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Load a pickle; one written before `RunningScaling` holds a River pipeline instead.

        That pipeline's `StandardScaler` statistics become the scaling (its public `counts`,
        `means` and `vars`, read once) and its `LogisticRegression` the model, so learning
        resumes exactly where it stopped.
        """
        if "scaling" not in state:
            state = _from_pipeline(state)
        self.__dict__.update(state)

    def learn(self, values: Sequence[float], label: int) -> None:
        """Learn one labelled example (values in input order)."""
        if self.scaling is None:
            self.model.learn_one(dict(zip(self.names, values, strict=True)), bool(label))
            self.n_learned += 1
            return
        self.scaling.learn(values)
        self._learn_scaled(self.scaling.scale(values), label)

    def scales_like(self, other: Learner) -> bool:
        """Whether both are logistic over the same inputs with equal scaling statistics."""
        return (self.scaling is not None and self.names == other.names
                and self.scaling == other.scaling)

    def _learn_scaled(self, scaled: Sequence[float], label: int) -> None:
        """Finish `learn` once the scaling has learned the example and scaled it to `scaled`."""
        assert self.scaling is not None
        self.model.learn_one(dict(zip(self.names, scaled, strict=True)), bool(label))
        self.n_learned += 1
        self.coefficients = LinearCoefficients(self.model, self.names, self.scaling)

    def predict(self, values: Sequence[float], max_reasons: int) -> tuple[float, tuple[str, ...]]:
        """Return P(label = 1) and up to `max_reasons` inputs that pushed it up.

        Pure: the model is not touched before it has learned anything, and never updated.
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
        return self.river_proba(values), ()

    def frozen(self) -> Learner:
        """Return a copy that scores as this learner does now, unchanged by later learning.

        A logistic learner's copy shares the coefficients (each `learn` makes new ones)
        and leaves out the River model and scaling, which only learning reads; a tree
        is copied whole.
        """
        if not self.linear or (self.coefficients is None and self.n_learned):
            twin: Learner = pickle.loads(pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL))
            return twin
        twin = copy.copy(self)
        twin.model, twin.scaling = None, None
        return twin

    def river_proba(self, values: Sequence[float]) -> float:
        """Return River's own `predict_proba_one` (for checking the fast path; slower)."""
        if self.scaling is not None:
            values = self.scaling.scale(values)
        proba = self.model.predict_proba_one(dict(zip(self.names, values, strict=True)))
        return float(proba.get(True, 0.0))


def _from_pipeline(state: dict[str, Any]) -> dict[str, Any]:
    """Return the state of a `Learner` pickled with a River pipeline, in the current shape."""
    model, scaling = state["model"], None
    if state["linear"]:
        names = state["names"]
        scaler, model = model["StandardScaler"], model["LogisticRegression"]
        scaling = RunningScaling(len(names))
        scaling.count = int(scaler.counts.get(names[0], 0)) if names else 0
        scaling.means = [float(scaler.means.get(n, 0.0)) for n in names]
        scaling.vars = [float(scaler.vars.get(n, 0.0)) for n in names]
    migrated = dict(state, model=model, scaling=scaling)
    order = ("names", "settings", "seed", "model", "linear", "scaling", "coefficients",
             "n_learned")  # `__init__`'s, so the pickle of a resumed learner equals a fresh one's
    return {key: migrated[key] for key in order if key in migrated} | migrated


def learn_pair(first: Learner, second: Learner, values: Sequence[float], label: int) -> None:
    """Have two learners learn one example, exactly as `first.learn` then `second.learn` would.

    A champion and its challenger learn the same labels over the same inputs, so their
    scalings hold equal statistics, learn the same new ones and scale the example the
    same way. When they do (`scales_like`), `first`'s scaling learns and scales the
    example once, `second` takes a copy of the new statistics, and both regressions
    learn from the one scaled example. Otherwise each learns on its own.
    """
    if first.scaling is None or not first.scales_like(second):
        first.learn(values, label)
        second.learn(values, label)
        return
    first.scaling.learn(values)
    second.scaling = first.scaling.copy()
    scaled = first.scaling.scale(values)
    first._learn_scaled(scaled, label)
    second._learn_scaled(scaled, label)
