"""Progressive validation: scored before learned, hourly rows, exact AUC, drift rows."""

import itertools
import logging
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from river import metrics

from pitboss.config.models import ModelSettings
from pitboss.models.model_set import ModelSet
from pitboss.models.validation import HourlyValidation, MetricRow, hour_of, roc_auc
from tests.factories import HOUR, T0
from tests.models.factories import RECREATIONAL, example, features, separable

HOT = {"min_labels": 0, "min_positives": 0, "min_negatives": 0}
H0 = hour_of(T0)


def hot_settings(**extra: object) -> ModelSettings:
    """Return settings whose learned models are used from the first label."""
    return ModelSettings(churn=HOT, risk=HOT, fraud=HOT, **extra)


def metric(rows: list[MetricRow], name: str, role: str = "champion",
           kind: str = "risk") -> list[MetricRow]:
    return [r for r in rows if r.metric == name and r.role == role and r.model_kind == kind]


def test_first_label_is_scored_before_it_is_learned() -> None:
    models = ModelSet(hot_settings())
    assert models.learn(example("risk", features(RECREATIONAL), 1, ts=T0)) == []
    rows = models.advance(T0 + HOUR)
    (loss,) = metric(rows, "log_loss")
    assert loss.value == pytest.approx(math.log(2))
    version = models.versions()["risk"]["champion"]
    assert (loss.hour_ms, loss.n, loss.model_version) == (H0, 1, version)
    assert metric(rows, "learned_log_loss")[0].value == pytest.approx(math.log(2))
    assert metric(rows, "roc_auc") == []  # one class only


def test_hour_rows_appear_when_event_time_passes_the_hour() -> None:
    models = ModelSet(hot_settings())
    stream = separable("risk", 40, start=H0, step_ms=60_000)  # 40 labels in the first hour
    rows = list(itertools.chain.from_iterable(models.learn(e) for e in stream))
    assert metric(rows, "log_loss") == []
    assert models.advance(H0 + HOUR - 1) == []
    rows = models.advance(H0 + HOUR)
    assert {r.metric for r in metric(rows, "log_loss") + metric(rows, "roc_auc")} == {
        "log_loss", "roc_auc"}
    assert {r.n for r in rows if r.model_kind == "risk"} == {40}
    assert {r.role for r in rows} == {"champion", "challenger"}
    assert models.advance(H0 + 2 * HOUR) == []  # nothing learned in the second hour
    models.learn(example("risk", features(RECREATIONAL), 0, ts=H0 + 2 * HOUR + 5))
    assert metric(models.close(), "log_loss")[0].hour_ms == H0 + 2 * HOUR
    assert models.close() == []


def test_learning_shows_in_later_hours_only() -> None:
    models = ModelSet(hot_settings())
    rows: list[MetricRow] = []
    for hour in range(4):
        for e in separable("fraud", 100, start=H0 + hour * HOUR, step_ms=30_000):
            rows += models.learn(e)
    rows += models.close()
    losses = [r.value for r in metric(rows, "log_loss", kind="fraud")]
    assert len(losses) == 4 and losses[0] > 0.1 and losses[-1] < losses[0] / 2
    aucs = [r.value for r in metric(rows, "learned_roc_auc", kind="fraud")]
    assert aucs[-1] == 1.0
    assert {r.metric for r in rows} >= {"precision", "recall", "positives"}


def test_late_label_counts_in_the_open_hour() -> None:
    models = ModelSet(hot_settings())
    models.learn(example("churn", features(RECREATIONAL), 0, ts=H0 + 2 * HOUR))
    models.learn(example("churn", features(RECREATIONAL), 1, ts=H0 + 10))
    (row,) = metric(models.close(), "positives", kind="churn")
    assert (row.hour_ms, row.n, row.value) == (H0 + 2 * HOUR, 2, 1.0)


def test_abrupt_concept_change_raises_drift_rows(caplog: pytest.LogCaptureFixture) -> None:
    models = ModelSet(hot_settings(challengers=False))
    before: list[MetricRow] = []
    for e in separable("risk", 600, start=H0):
        before += models.learn(e)
    assert metric(before, "drift_detected") == []
    after: list[MetricRow] = []
    with caplog.at_level(logging.WARNING, logger="pitboss.models.validation"):
        for e in separable("risk", 300, start=H0 + 600_000, flip=True):
            after += models.learn(e)
    drift = metric(after, "drift_detected")
    assert drift and drift[0].value == 1.0 and drift[0].hour_ms == H0
    assert "model drift detected: kind=risk" in caplog.text


def test_the_log_says_when_drift_starts_and_clears_and_the_rows_keep_every_rise(
    caplog: pytest.LogCaptureFixture,
) -> None:
    validation = HourlyValidation("risk", "champion", threshold=0.5, drift_delta=0.002)
    # With label 0 the error is the score: steady, a slow rise (ADWIN sees it again and
    # again), steady and low again (cleared), then a second slow rise.
    ramp = [0.1 + 0.8 * i / 4000 for i in range(4000)]
    errors = [0.1] * 1000 + ramp + [0.1] * 2000 + ramp
    rows: list[MetricRow] = []
    with caplog.at_level(logging.WARNING, logger="pitboss.models.validation"):
        for i, error in enumerate(errors):
            hour = H0 + i // 500 * HOUR
            rows += validation.close("v") if validation.hour_ms not in (None, hour) else []
            rows += validation.add(hour, 0, error, error, "v")
    drift_rows = [r for r in rows if r.metric == "drift_detected"]
    messages = [r.getMessage().split(":")[0] for r in caplog.records]
    assert messages == ["model drift detected", "model drift cleared", "model drift detected"]
    assert len(drift_rows) > messages.count("model drift detected")  # every rise is a row
    assert validation.drifting_since_ms is not None
    assert "hour=2026-01-01T" in caplog.records[0].getMessage()


def test_roc_auc_counts_ties_as_half() -> None:
    assert roc_auc([0, 1], [0.5, 0.5]) == 0.5
    assert roc_auc([0, 1, 1], [0.1, 0.9, 0.1]) == 0.75


@given(st.lists(st.tuples(st.integers(0, 1), st.sampled_from([0.0, 0.2, 0.5, 0.7, 1.0])),
                min_size=1, max_size=30))
def test_roc_auc_equals_the_pairwise_definition(pairs: list[tuple[int, float]]) -> None:
    labels, scores = [y for y, _ in pairs], [p for _, p in pairs]
    pos = [p for y, p in pairs if y]
    neg = [p for y, p in pairs if not y]
    auc = roc_auc(labels, scores)
    if not pos or not neg:
        assert auc is None
        return
    wins = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in pos for b in neg)
    assert auc == pytest.approx(wins / (len(pos) * len(neg)))


@given(st.lists(st.tuples(st.integers(0, 1), st.sampled_from([0.0, 0.2, 0.5, 0.7, 1.0])),
                min_size=1, max_size=30))
def test_precision_and_recall_equal_rivers_own_metrics(pairs: list[tuple[int, float]]) -> None:
    v = HourlyValidation("risk", "champion", threshold=0.5, drift_delta=0.002)
    for y, p in pairs:
        v.add(H0, y, p, p, "risk-v1")
    rows = {r.metric: r.value for r in v.close("risk-v1")}
    precision, recall = metrics.Precision(), metrics.Recall()
    for y, p in pairs:
        precision.update(bool(y), p >= 0.5)
        recall.update(bool(y), p >= 0.5)
    assert rows.get("precision") == (precision.get() if any(p >= 0.5 for _, p in pairs)
                                     else None)
    assert rows.get("recall") == (recall.get() if any(y for y, _ in pairs) else None)
