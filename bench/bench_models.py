"""Benchmark the online models: `score()` and `learn()` per second, per kind and for the set.

Builds synthetic feature rows (mostly recreational players, some with markers of
harm or fraud), warms every kind past `min_labels` with labelled examples, then
times on one core (scoring: best of three runs):

- `KindModel.score` per kind (rule + champion + challenger), and `ModelSet.score`
  (all three kinds and the wallet anomaly detector), warm and cold;
- `ModelSet.learn` per kind (progressive validation + champion and challenger learning);
- `ModelSet.observe` (the anomaly detector learning a wallet point).

Run: `.venv/bin/python bench/bench_models.py [--points 20000] [--labels 5000] [--seed 7]
[--no-challengers] [--challenger tree]`
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from pitboss.config.models import KINDS, ModelSettings
from pitboss.models.kind_model import KindModel
from pitboss.models.model_set import ModelSet
from pitboss.operators.feature_schema import FEATURE_INDEX, FEATURE_NAMES
from pitboss.operators.outputs import LabelledExample, ScoringPoint

HOUR_MS = 3_600_000
T0 = 1_767_268_800_000
REPEAT = 3
"""Pure (scoring) runs are timed this many times and the fastest kept: the machine is shared."""


def synthetic_row(rng: random.Random, marked: bool) -> tuple[float, ...]:
    """Return a plausible feature row; `marked` rows show markers of harm and of fraud."""
    row = [0.0] * len(FEATURE_NAMES)
    bets = rng.randint(5, 200)
    stake = bets * rng.lognormvariate(0.5, 0.8)
    values = {
        "bets_24h": bets, "stake_24h": stake, "bets_7d": bets * 4, "stake_7d": stake * 4,
        "net_loss_7d": stake * rng.uniform(-0.2, 0.3), "session_minutes_24h": rng.uniform(5, 120),
        "session_minutes_7d": rng.uniform(20, 600), "sessions_7d": rng.randint(1, 12),
        "deposits_24h": rng.choice((0, 0, 1, 1, 2)), "deposits_7d": rng.randint(0, 6),
        "deposit_amount_24h": rng.uniform(0, 100), "deposit_amount_7d": rng.uniform(10, 500),
        "instruments_7d": 1, "devices_7d": rng.choice((1, 1, 2)),
        "stake_escalation": rng.uniform(0.6, 1.5), "chase_share_24h": rng.uniform(0, 0.1),
        "night_share_7d": rng.uniform(0, 0.3), "minutes_since_last_activity": rng.uniform(0, 5000),
        "frequency_days_7d": rng.randint(1, 7), "active_days": rng.randint(1, 60),
        "tenure_days": rng.uniform(1, 90), "adt": rng.uniform(0.1, 20),
        "monetary_7d": rng.uniform(-100, 400), "limit_headroom": 1.0, "marketing_consent": 1.0,
    }
    if marked:
        values.update({
            "stake_escalation": rng.uniform(2, 5), "chase_share_24h": rng.uniform(0.2, 0.6),
            "night_share_7d": rng.uniform(0.4, 0.9), "declined_deposits_7d": rng.randint(1, 4),
            "instruments_7d": rng.randint(2, 5), "bonus_claims_7d": 1,
            "withdrawals_requested_7d": 1, "withdrawals_requested_24h": 1,
        })
    for name, value in values.items():
        row[FEATURE_INDEX[name]] = float(value)
    return tuple(row)


def _score_rows(model: KindModel, rows: list[tuple[float, ...]]) -> None:
    for row in rows:
        model.score(row, "hourly", 0.0)


def _each(call: Callable[[Any], object], items: list[Any]) -> None:
    for item in items:
        call(item)


def _rate(n: int, run: Callable[[], None], repeat: int = 1) -> float:
    """Return `n / seconds` of the fastest of `repeat` runs (pure runs only when repeat > 1)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return n / best


def _points(rng: random.Random, n: int) -> list[ScoringPoint]:
    triggers = ("session_end", "hourly", "deposit", "withdrawal", "bonus_claim")
    return [ScoringPoint(f"p{i % 5000}", T0 + i * 100, rng.choice(triggers), "", "UK",
                         synthetic_row(rng, rng.random() < 0.1)) for i in range(n)]


def _examples(rng: random.Random, kind: str, n: int) -> list[LabelledExample]:
    out = []
    for i in range(n):
        label = 1 if rng.random() < 0.15 else 0
        row = synthetic_row(rng, marked=bool(label) != (rng.random() < 0.1))
        out.append(LabelledExample(kind, f"p{i}", row, label, T0 + i * 1000, T0 + i * 1000))
    return out


def main() -> None:
    """Parse arguments, warm the models, time them and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=20_000)
    parser.add_argument("--labels", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-challengers", action="store_true")
    parser.add_argument("--challenger", choices=("logistic", "tree"), default="logistic")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    overrides: dict[str, object] = {"challengers": not args.no_challengers}
    if args.challenger == "tree":
        overrides.update({k: {"challenger": {"model": "tree"}} for k in KINDS})
    settings = ModelSettings(**overrides)
    points = _points(rng, args.points)

    cold = ModelSet(settings)
    rate = _rate(len(points), partial(_each, cold.score, points), REPEAT)
    print(f"cold  ModelSet.score: {rate:>9,.0f}/s")
    models = ModelSet(settings)
    wallet = [p for p in points if p.trigger in settings.anomaly_triggers]
    rate = _rate(len(wallet), partial(_each, models.observe, wallet))
    print(f"      ModelSet.observe: {rate:>7,.0f}/s")
    for kind in KINDS:
        examples = _examples(rng, kind, args.labels)
        rate = _rate(len(examples), partial(_each, models.learn, examples))
        print(f"{kind:>5} ModelSet.learn: {rate:>9,.0f}/s  -> {models.versions()[kind]}")
    for kind in KINDS:
        model = models.models[kind]
        rows = [p.features for p in points]
        rate = _rate(len(rows), partial(_score_rows, model, rows), REPEAT)
        print(f"{kind:>5} KindModel.score: {rate:>8,.0f}/s")
    rate = _rate(len(points), partial(_each, models.score, points), REPEAT)
    print(f"warm  ModelSet.score: {rate:>9,.0f}/s")


if __name__ == "__main__":
    main()
