"""Factories for model inputs: feature rows by name, scoring points and labelled examples."""

from __future__ import annotations

from pitboss.operators.feature_schema import FEATURE_INDEX, FEATURE_NAMES
from pitboss.operators.outputs import LabelledExample, ScoringPoint
from tests.factories import HOUR, T0

RECREATIONAL = {
    "bets_24h": 30.0, "stake_24h": 30.0, "bets_7d": 90.0, "stake_7d": 95.0,
    "stake_escalation": 1.05, "chase_share_24h": 0.03, "night_share_7d": 0.05,
    "session_minutes_24h": 40.0, "session_minutes_7d": 160.0, "sessions_7d": 4.0,
    "deposits_24h": 1.0, "deposits_7d": 2.0, "deposit_amount_7d": 60.0,
    "instruments_7d": 1.0, "devices_7d": 1.0, "minutes_since_last_activity": 30.0,
    "frequency_days_7d": 3.0, "active_days": 20.0, "tenure_days": 50.0, "adt": 1.2,
    "limit_headroom": 1.0, "marketing_consent": 1.0,
    "visit_gap_days": 2.0, "quiet_gaps": 0.01, "frequency_trend": 1.0,
}
HARMED = {
    **RECREATIONAL, "stake_escalation": 3.2, "chase_share_24h": 0.52, "night_share_7d": 0.55,
    "session_minutes_24h": 300.0, "deposits_24h": 4.0, "declined_deposits_7d": 5.0,
}
FRAUDSTER = {
    **RECREATIONAL, "instruments_7d": 4.0, "devices_7d": 4.0, "bonus_claims_7d": 1.0,
    "withdrawals_requested_7d": 1.0, "withdrawals_requested_24h": 1.0, "stake_7d": 40.0,
    "deposit_amount_7d": 50.0,
}


def features(base: dict[str, float] | None = None, **named: float) -> tuple[float, ...]:
    """Return a feature row in `FEATURE_NAMES` order: zeros, then `base`, then `named`."""
    row = [0.0] * len(FEATURE_NAMES)
    for name, value in {**(base or {}), **named}.items():
        row[FEATURE_INDEX[name]] = float(value)
    return tuple(row)


def point(row: tuple[float, ...], ts: int = T0, trigger: str = "session_end",
          player: str = "p1") -> ScoringPoint:
    return ScoringPoint(player, ts, trigger, "", "UK", row)


def example(kind: str, row: tuple[float, ...], label: int, ts: int = T0,
            player: str = "p1") -> LabelledExample:
    return LabelledExample(kind, player, row, label, ts - HOUR, ts)


def separable(kind: str, n: int, start: int = T0, step_ms: int = 1000,
              flip: bool = False) -> list[LabelledExample]:
    """Labelled examples whose label is 1 exactly for the 'high' rows (inverted with `flip`).

    Rows alternate between a low and a high value of every input of every kind.
    """
    low = features(RECREATIONAL)
    high = features(HARMED | FRAUDSTER, minutes_since_last_activity=20_000.0)
    out = []
    for i in range(n):
        label = i % 2
        row = high if label else low
        out.append(example(kind, row, 1 - label if flip else label, start + i * step_ms,
                           player=f"p{i}"))
    return out
