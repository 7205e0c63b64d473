"""The online models of Pitboss: one global model per kind, scored and learned in event order.

`ModelSet` is what the dataflow's single `models` step holds. For each
`ScoringPoint` it returns a `ScoredPoint` with the `churn`, `risk` and `fraud`
champion scores (and the challengers' in shadow); `observe` then lets the
unsupervised wallet anomaly detector learn from wallet-event points; `learn`
takes a `LabelledExample` through progressive validation (scored first, then
learned) and returns the metric rows of hours that closed and any drift rows.
The whole object pickles: it is dataflow state, snapshotted for recovery. The
same sequence of calls always gives the same floats (seeded, no wall clock).

Example:
    >>> from pitboss.operators.feature_schema import FEATURE_NAMES
    >>> from pitboss.operators.outputs import ScoringPoint
    >>> models = ModelSet(ModelSettings())
    >>> point = ScoringPoint("p1", 0, "session_end", "e1", "UK", (0.0,) * len(FEATURE_NAMES))
    >>> scored = models.score(point)
    >>> sorted(scored.scores), scored.scores["risk"].model_version.endswith("-rules")
    (['churn', 'fraud', 'risk'], True)

"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pitboss.config.models import KINDS, ModelSettings
from pitboss.models.anomaly import FrozenAnomaly, WalletAnomaly
from pitboss.models.inputs import WALLET_INPUTS
from pitboss.models.kind_model import KindModel
from pitboss.models.validation import MetricRow, hour_of
from pitboss.operators.feature_schema import FEATURE_INDEX, FEATURE_NAMES
from pitboss.operators.harm_markers import MarkerBook
from pitboss.operators.outputs import LabelledExample, Score, ScoredPoint, ScoringPoint

N_FEATURES = len(FEATURE_NAMES)
_WALLET_ACTIVITY = tuple(FEATURE_INDEX[name] for name in (
    "deposits_24h", "declined_deposits_24h", "withdrawals_requested_24h", "bonus_claims_24h"))


class ModelSet:
    """Churn, risk and fraud models, the wallet anomaly detector, and the event-time hour.

    Args:
        settings: the `[models]` configuration.
        markers: the markers of harm per jurisdiction (the policy's `marker_book()`);
            the default table when None.

    """

    def __init__(self, settings: ModelSettings, markers: MarkerBook | None = None) -> None:
        self.settings = settings
        self.markers = markers
        self.models: dict[str, KindModel] = {
            kind: KindModel(kind, settings, markers) for kind in KINDS}
        self.anomaly = WalletAnomaly(settings.anomaly_trees, settings.anomaly_height,
                                     settings.anomaly_window, settings.seed)
        self.anomaly_triggers = frozenset(settings.anomaly_triggers)
        self.hour_ms: int | None = None
        self.revision = 0
        """Counts the changes to how the models score (a label learned, a window pivoted)."""

    def __setstate__(self, state: dict[str, object]) -> None:
        """Load a pickle; one written before `revision` counted from 0 then."""
        self.__dict__.update({"revision": 0, **state})

    def follow(self, settings: ModelSettings, markers: MarkerBook | None = None) -> None:
        """Take the current configuration after a resume (`KindModel.follow`, every kind).

        Raises:
            LearnedStateMismatchError: a learned model's own settings changed.

        """
        for model in self.models.values():
            model.follow(settings, markers)
        self.settings = settings
        self.markers = markers
        self.revision += 1

    def score(self, point: ScoringPoint) -> ScoredPoint:
        """Score a point with every kind's champion and challenger; changes no model.

        The wallet anomaly score is computed only for players with wallet activity
        (a deposit, declined deposit, withdrawal request or bonus claim) in the last
        24 hours; for the others it is 0.

        Raises:
            ValueError: the point's features are not a full `FEATURE_NAMES` row.

        """
        return _score(self.models, self.anomaly, point)

    def anomaly_score(self, features: tuple[float, ...]) -> float:
        """Return the wallet anomaly score of a feature row (0 without recent wallet activity)."""
        return _anomaly_score(self.anomaly, features)

    def observe(self, point: ScoringPoint) -> None:
        """Let the wallet anomaly detector learn from a point triggered by a wallet event."""
        if point.trigger in self.anomaly_triggers and self.anomaly.learn(
                WALLET_INPUTS.extract(_checked(point.features))):
            self.revision += 1  # the reference window pivoted: scores change

    def release(self) -> ReleasedModels:
        """Return the models as they score now, a copy later learning leaves unchanged."""
        return ReleasedModels({kind: model.frozen() for kind, model in self.models.items()},
                              self.anomaly.frozen())

    def learn(self, example: LabelledExample) -> list[MetricRow]:
        """Score a label with the models as they are, then learn it.

        The label counts in the open hour of event time: the hour of `label_ts_ms`, or
        the latest hour already reached if the label is older (a closed hour is not
        reopened).

        Returns:
            Rows of hours that `label_ts_ms` closed, then any `drift_detected` rows.

        Raises:
            ValueError: an unknown kind, or features that are not a full row.

        """
        model = self.models.get(example.kind)
        if model is None:
            raise ValueError(f"labelled example of unknown kind {example.kind!r}")
        features = _checked(example.features)
        rows = self.advance(example.label_ts_ms)
        hour = self.hour_ms if self.hour_ms is not None else hour_of(example.label_ts_ms)
        anomaly = self.anomaly_score(features) if example.kind == "fraud" else 0.0
        rows += model.learn(example, hour, anomaly)
        self.revision += 1
        return rows

    def advance(self, ts_ms: int) -> list[MetricRow]:
        """Move event time to `ts_ms`; return the rows of the hour it closed, if any."""
        hour = hour_of(ts_ms)
        if self.hour_ms is not None and hour <= self.hour_ms:
            return []
        rows = self._close_hour() if self.hour_ms is not None else []
        self.hour_ms = hour
        return rows

    def close(self) -> list[MetricRow]:
        """End of input: return the open hour's rows."""
        return self._close_hour()

    def _close_hour(self) -> list[MetricRow]:
        rows: list[MetricRow] = []
        for model in self.models.values():
            rows += model.close_hour()
        return rows

    def versions(self) -> dict[str, dict[str, str]]:
        """Return each kind's current model version per role."""
        return {kind: {c.role: c.version for c in model.contenders()}
                for kind, model in self.models.items()}


class ReleasedModels:
    """The models of a `ModelSet` as they scored at one moment: scoring only, never changed.

    What the models step releases to the scoring shards (`pitboss.models.release`). It
    scores exactly as its `ModelSet` did when released (`ModelSet.score`'s own code).

    Args:
        models: a frozen copy of each kind's model (`KindModel.frozen`).
        anomaly: the wallet anomaly detector's frozen scoring.

    """

    __slots__ = ("anomaly", "models")

    def __init__(self, models: dict[str, KindModel], anomaly: FrozenAnomaly) -> None:
        self.models = models
        self.anomaly = anomaly

    def __getstate__(self) -> tuple[dict[str, KindModel], FrozenAnomaly]:
        return self.models, self.anomaly

    def __setstate__(self, state: tuple[dict[str, KindModel], FrozenAnomaly]) -> None:
        self.models, self.anomaly = state

    def score(self, point: ScoringPoint) -> ScoredPoint:
        """Score a point as `ModelSet.score` did at release."""
        return _score(self.models, self.anomaly, point)


class _AnomalyScorer(Protocol):
    def score(self, values: Sequence[float]) -> float: ...


def _score(models: dict[str, KindModel], anomaly: _AnomalyScorer,
           point: ScoringPoint) -> ScoredPoint:
    """Score a point with every kind's champion and challenger (`ModelSet.score`)."""
    features = _checked(point.features)
    anomaly_score = _anomaly_score(anomaly, features)
    scores: dict[str, Score] = {}
    challengers: dict[str, Score] = {}
    for kind, model in models.items():
        champion, challenger = model.score(features, point.trigger,
                                           anomaly_score if kind == "fraud" else 0.0,
                                           point.jurisdiction)
        scores[kind] = champion
        if challenger is not None:
            challengers[kind] = challenger
    return ScoredPoint(point, scores, challengers)


def _anomaly_score(anomaly: _AnomalyScorer, features: tuple[float, ...]) -> float:
    """Return the wallet anomaly score of a feature row (0 without recent wallet activity)."""
    for i in _WALLET_ACTIVITY:
        if features[i] > 0.0:
            return anomaly.score(WALLET_INPUTS.extract(features))
    return 0.0


def _checked(features: tuple[float, ...]) -> tuple[float, ...]:
    if len(features) != N_FEATURES:
        raise ValueError(f"expected {N_FEATURES} features, got {len(features)}")
    return features
