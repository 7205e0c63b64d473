"""Progressive validation: each label is scored before it is learned, summarised per hour.

`HourlyValidation` keeps the `(label, score)` pairs of the open hour of event time
for one model (kind x role) and, when the hour closes, turns them into
`MetricRow`s for the ClickHouse table `model_metrics`
(`sinks/schema/0004_model_metrics.sql`):

- `roc_auc`: exact, from the hour's pairs (Mann-Whitney with ties counted half),
  rather than River's `metrics.ROCAUC`, whose default 10 thresholds are coarse; an
  hour's labels are few enough to keep. Left out when the hour has one class only.
- `log_loss`, `precision`, `recall`: River's `metrics.LogLoss`, `metrics.Precision`
  and `metrics.Recall` at the kind's decision threshold. Precision is left out when
  nothing was predicted positive, recall when the hour has no positive.
- `positives`: labels equal to 1.
- `learned_roc_auc`, `learned_log_loss`: the learned model alone, also while the
  rule still drives the score, to see when it is worth warming up.

A drift detector (`river.drift.ADWIN`) watches each model's absolute error
|label - score|. ADWIN flags any change of the mean error, including the fall
while a model learns; every change for the worse (the mean error of the window
ADWIN keeps is above the mean before the change) is a `drift_detected` row
(value 1). The log says only when a model's drift state changes: one warning when
it starts drifting, none for further rises while it drifts, and one when ADWIN
next sees the error fall (drift cleared).

Example:
    >>> v = HourlyValidation("risk", "champion", threshold=0.5, drift_delta=0.002)
    >>> _ = v.add(3_600_000, 1, 0.9, 0.9, "risk-v1")
    >>> _ = v.add(3_600_500, 0, 0.2, 0.2, "risk-v1")
    >>> sorted((r.metric, r.value) for r in v.close("risk-v1"))[:3]
    [('learned_log_loss', 0.164252...), ('learned_roc_auc', 1.0), ('log_loss', 0.164252...)]

"""

from __future__ import annotations

import logging
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from river import drift, metrics

HOUR_MS = 3_600_000
log = logging.getLogger(__name__)


@dataclass(slots=True)
class MetricRow:
    """One row of `model_metrics`: a metric of one model over one hour of event time.

    `n` is the number of labels in the hour (so far, for `drift_detected`).
    """

    model_kind: str
    role: str
    model_version: str
    hour_ms: int
    metric: str
    value: float
    n: int


def hour_of(ts_ms: int) -> int:
    """Return the start of the UTC hour holding `ts_ms` (epoch ms).

    >>> hour_of(7_300_000)
    7200000
    """
    return ts_ms - ts_ms % HOUR_MS


def _hour_text(hour_ms: int) -> str:
    """Return an hour as ISO 8601 UTC to the minute, for log lines.

    >>> _hour_text(1_767_268_800_000)
    '2026-01-01T12:00Z'
    """
    return f"{datetime.fromtimestamp(hour_ms / 1000, UTC):%Y-%m-%dT%H:%MZ}"


def roc_auc(labels: Sequence[int], scores: Sequence[float]) -> float | None:
    """Return the exact ROC AUC (ties count half), or None with a single class.

    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    >>> roc_auc([1, 1], [0.2, 0.3]) is None
    True
    """
    positives = sum(1 for y in labels if y)
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return None
    order = sorted(range(len(scores)), key=scores.__getitem__)
    rank_sum, i = 0.0, 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        mid_rank = (i + j) / 2 + 1
        rank_sum += mid_rank * sum(1 for k in order[i:j + 1] if labels[k])
        i = j + 1
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


class HourlyValidation:
    """Progressive validation and drift detection for one model (kind x role).

    Args:
        kind: `churn`, `risk` or `fraud`.
        role: `champion` or `challenger`.
        threshold: the decision threshold for precision and recall.
        drift_delta: ADWIN's `delta`.

    """

    # Class-level defaults, so state pickled before these existed resumes as "not drifting".
    drifting_since_ms: int | None = None
    """The hour the current drift was detected in; None while the model is not drifting."""
    drift_rows: int = 0
    """`drift_detected` rows since the current drift was detected."""

    def __init__(self, kind: str, role: str, threshold: float, drift_delta: float) -> None:
        self.kind = kind
        self.role = role
        self.threshold = threshold
        self.detector = drift.ADWIN(delta=drift_delta)
        self.hour_ms: int | None = None
        self.labels = array("b")
        self.scores = array("d")
        self.learned = array("d")
        self.drifts = 0
        self.drifting_since_ms = None
        self.drift_rows = 0

    def add(self, hour_ms: int, label: int, score: float, learned: float,
            version: str) -> list[MetricRow]:
        """Record a label scored (before learning) in the open hour `hour_ms`.

        Returns:
            A `drift_detected` row if the error stream drifted for the worse, else
            nothing. The caller closes earlier hours with `close` before adding to a
            new one.

        """
        self.hour_ms = hour_ms
        self.labels.append(1 if label else 0)
        self.scores.append(score)
        self.learned.append(learned)
        detector = self.detector
        error_before = detector.estimation
        detector.update(abs(label - score))
        if not detector.drift_detected:
            return []
        if detector.estimation <= error_before:
            self._clear_drift(hour_ms, version, error_before)
            return []
        self._note_drift(hour_ms, version, error_before)
        return [MetricRow(self.kind, self.role, version, hour_ms, "drift_detected", 1.0,
                          len(self.labels))]

    def _note_drift(self, hour_ms: int, version: str, error_before: float) -> None:
        """ADWIN saw the error rise: count it; log it only if the model was not drifting."""
        self.drifts += 1
        self.drift_rows += 1
        if self.drifting_since_ms is not None:
            return
        self.drifting_since_ms = hour_ms
        log.warning("model drift detected: kind=%s role=%s version=%s hour=%s labels_in_hour=%d "
                    "mean_error %.3f -> %.3f (until it clears, further rises are only "
                    "drift_detected rows in model_metrics)", self.kind, self.role, version,
                    _hour_text(hour_ms), len(self.labels), error_before,
                    self.detector.estimation)

    def _clear_drift(self, hour_ms: int, version: str, error_before: float) -> None:
        """ADWIN saw the error fall: end the current drift, if any, with one log line."""
        since = self.drifting_since_ms
        if since is None:
            return
        log.warning("model drift cleared: kind=%s role=%s version=%s hour=%s mean_error "
                    "%.3f -> %.3f; drifting since %s, %d drift_detected row(s)",
                    self.kind, self.role, version, _hour_text(hour_ms), error_before,
                    self.detector.estimation, _hour_text(since), self.drift_rows)
        self.drifting_since_ms = None
        self.drift_rows = 0

    def close(self, version: str) -> list[MetricRow]:
        """Return the open hour's metric rows and start afresh; nothing if the hour is empty."""
        if self.hour_ms is None or not self.labels:
            self.hour_ms = None
            return []
        n, hour = len(self.labels), self.hour_ms
        values = self._summarise(self.scores, "")
        values.update(self._summarise(self.learned, "learned_", with_threshold=False))
        values["positives"] = float(sum(self.labels))
        self.hour_ms = None
        self.labels, self.scores, self.learned = array("b"), array("d"), array("d")
        return [MetricRow(self.kind, self.role, version, hour, name, value, n)
                for name, value in sorted(values.items())]

    def _summarise(self, scores: Sequence[float], prefix: str,
                   with_threshold: bool = True) -> dict[str, float]:
        labels = self.labels
        out: dict[str, float] = {}
        auc = roc_auc(labels, scores)
        if auc is not None:
            out[f"{prefix}roc_auc"] = auc
        loss = metrics.LogLoss()
        for y, p in zip(labels, scores, strict=True):
            loss.update(bool(y), p)
        out[f"{prefix}log_loss"] = loss.get()
        if with_threshold:
            # One confusion matrix behind both: each label counted once, read by both.
            confusion = metrics.ConfusionMatrix()
            precision, recall = metrics.Precision(cm=confusion), metrics.Recall(cm=confusion)
            predicted = [p >= self.threshold for p in scores]
            for y, yp in zip(labels, predicted, strict=True):
                confusion.update(bool(y), yp)
            if any(predicted):
                out["precision"] = precision.get()
            if any(labels):
                out["recall"] = recall.get()
        return out
