"""Transparent marker rules: the cold-start score of every kind and the floor of the risk score.

Each rule reads a few features, turns each marker into a strength in [0, 1] with a
linear ramp (0 at or below `*_low`, 1 at or above `*_high`), weighs it, and combines
the weighted strengths with a noisy-OR: `score = 1 - prod(1 - weight * strength)`.
One strong marker alone gives its weight (0.3-0.45 for most markers, under the
default 0.5 threshold); two strong markers cross it. The reasons are the markers
that fired, strongest first.

Markers of harm follow the UK Gambling Commission's customer-interaction guidance
(indicators of harm: time and spend, patterns of play, payment behaviour):

- `stake_escalation`: the last 24 hours' mean stake against the player's earlier
  mean stake (`stake_escalation`).
- `loss_chasing`: share of the last 24 hours' bets that raised the stake within 30
  minutes of a lost bet (`chase_share_24h`), once the player has `min_bets` bets.
- `night_play`: share of the last 7 days' bets placed at local night (`night_share_7d`),
  once the player has `min_bets` bets in the week.
- `long_sessions`: time on site in the last 24 hours (`session_minutes_24h`).
- `deposit_frequency`: approved deposits in the last 24 hours (`deposits_24h`).
- `declined_deposits`: declined deposits in the last 7 days (`declined_deposits_7d`).
- `cancelled_withdrawals`: withdrawals reversed in the last 7 days
  (`withdrawals_cancelled_7d`): money taken back to keep gambling.
- `limit_reached`: a deposit, loss or wager limit is used up (`at_limit`).
- `self_excluded`: the player is self-excluded (`self_excluded`): the score is 1.

Fraud and bonus-abuse markers (payment-fraud and bonus-abuse typologies):

- `many_instruments`: payment instruments used in 7 days (`instruments_7d`).
- `many_devices`: devices used in 7 days (`devices_7d`); accounts of a ring share
  devices, so each shows several. (Sharing itself needs a cross-player graph.)
- `bonus_then_fast_withdrawal`: a bonus claimed and a withdrawal requested in the
  same 7 days with little wagering: `stake_7d / deposit_amount_7d` at or under
  `wagering_low` is full strength, at or over `wagering_high` none.
- `declined_deposits`: declined deposits in the last 24 hours (stolen cards).
- `chargeback`: the point was triggered by a chargeback.
- `anomalous_wallet_activity`: the wallet anomaly detector's score (`models.anomaly`).

Churn markers: `inactivity` (`minutes_since_last_activity`) and `falling_frequency`
(days active in the last 7 against the player's lifetime share of active days,
once tenure is at least `min_tenure_days`).

Example:
    >>> from operators.features import FEATURE_INDEX, FEATURE_NAMES
    >>> row = [0.0] * len(FEATURE_NAMES)
    >>> row[FEATURE_INDEX["chase_share_24h"]] = 0.5
    >>> row[FEATURE_INDEX["bets_24h"]] = 40.0
    >>> row[FEATURE_INDEX["withdrawals_cancelled_7d"]] = 1.0
    >>> value, reasons = RiskRule().score(row, "session_end")
    >>> round(value, 3), reasons
    (0.64, ('cancelled_withdrawals', 'loss_chasing'))

"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from river import base

from operators.features import FEATURE_INDEX as F

Reasons = tuple[str, ...]


def ramp(value: float, low: float, high: float) -> float:
    """Return 0 at or below `low`, 1 at or above `high`, linear in between.

    >>> ramp(1.0, 1.0, 3.0), ramp(2.0, 1.0, 3.0), ramp(9.0, 1.0, 3.0)
    (0.0, 0.5, 1.0)
    """
    if value <= low:
        return 0.0
    if value >= high:
        return 1.0
    return (value - low) / (high - low)


def combine(markers: list[tuple[float, str]], max_reasons: int = 10) -> tuple[float, Reasons]:
    """Noisy-OR of `(weight * strength, marker)` pairs; reasons strongest first, ties by name.

    >>> combine([(0.4, "b"), (0.0, "c"), (0.4, "a")])
    (0.64, ('a', 'b'))
    """
    keep = 1.0
    fired = []
    for part, name in markers:
        if part > 0.0:
            keep *= 1.0 - part
            fired.append((-part, name))
    fired.sort()
    return 1.0 - keep, tuple(name for _, name in fired[:max_reasons])


class MarkerRule(base.Base):
    """Base of the marker rules: default marker weights, overridable through `weights`."""

    DEFAULT_WEIGHTS: dict[str, float] = {}

    def _weights(self, weights: Mapping[str, float] | None) -> dict[str, float]:
        merged = dict(self.DEFAULT_WEIGHTS)
        for name, weight in (weights or {}).items():
            if name not in merged:
                raise ValueError(f"unknown marker {name!r}; known: {sorted(merged)}")
            if not 0.0 <= weight <= 1.0:
                raise ValueError(f"weight of {name} must be in [0, 1], got {weight}")
            merged[name] = weight
        return merged

    def score(self, features: Sequence[float], trigger: str,
              anomaly: float = 0.0) -> tuple[float, Reasons]:
        """Return the rule score in [0, 1] and the markers behind it, strongest first."""
        return combine(self.markers(features, trigger, anomaly))

    def markers(self, features: Sequence[float], trigger: str,
                anomaly: float) -> list[tuple[float, str]]:
        """Return `(weight * strength, marker)` for every marker of the rule."""
        raise NotImplementedError


class RiskRule(MarkerRule):
    """Markers of gambling harm (UKGC customer interaction); thresholds are the ramps' ends."""

    DEFAULT_WEIGHTS = {
        "stake_escalation": 0.35, "loss_chasing": 0.4, "night_play": 0.3,
        "long_sessions": 0.3, "deposit_frequency": 0.3, "declined_deposits": 0.3,
        "cancelled_withdrawals": 0.4, "limit_reached": 0.3, "self_excluded": 1.0,
    }

    def __init__(
        self,
        escalation_low: float = 1.6,
        escalation_high: float = 3.0,
        chase_low: float = 0.15,
        chase_high: float = 0.35,
        night_low: float = 0.35,
        night_high: float = 0.65,
        min_bets: float = 10.0,
        session_minutes_low: float = 150.0,
        session_minutes_high: float = 360.0,
        deposits_low: float = 2.0,
        deposits_high: float = 5.0,
        declined_low: float = 0.0,
        declined_high: float = 2.0,
        cancelled_low: float = 0.0,
        cancelled_high: float = 1.0,
        weights: dict[str, float] | None = None,
    ) -> None:
        self.escalation_low = escalation_low
        self.escalation_high = escalation_high
        self.chase_low = chase_low
        self.chase_high = chase_high
        self.night_low = night_low
        self.night_high = night_high
        self.min_bets = min_bets
        self.session_minutes_low = session_minutes_low
        self.session_minutes_high = session_minutes_high
        self.deposits_low = deposits_low
        self.deposits_high = deposits_high
        self.declined_low = declined_low
        self.declined_high = declined_high
        self.cancelled_low = cancelled_low
        self.cancelled_high = cancelled_high
        self.weights = weights
        self._w = self._weights(weights)

    def markers(self, features: Sequence[float], trigger: str,
                anomaly: float) -> list[tuple[float, str]]:
        """Return the weighted strength of each marker of harm."""
        f, w = features, self._w
        chasing = night = 0.0
        if f[_BETS_24H] >= self.min_bets:
            chasing = ramp(f[_CHASE_24H], self.chase_low, self.chase_high)
        if f[_BETS_7D] >= self.min_bets:
            night = ramp(f[_NIGHT_7D], self.night_low, self.night_high)
        return [
            (w["self_excluded"] * (f[_SELF_EXCLUDED] >= 1.0), "self_excluded"),
            (w["stake_escalation"] * ramp(f[_ESCALATION], self.escalation_low,
                                          self.escalation_high), "stake_escalation"),
            (w["loss_chasing"] * chasing, "loss_chasing"),
            (w["night_play"] * night, "night_play"),
            (w["long_sessions"] * ramp(f[_MINUTES_24H], self.session_minutes_low,
                                       self.session_minutes_high), "long_sessions"),
            (w["deposit_frequency"] * ramp(f[_DEPOSITS_24H], self.deposits_low,
                                           self.deposits_high), "deposit_frequency"),
            (w["declined_deposits"] * ramp(f[_DECLINED_7D], self.declined_low,
                                           self.declined_high), "declined_deposits"),
            (w["cancelled_withdrawals"] * ramp(f[_CANCELLED_7D], self.cancelled_low,
                                               self.cancelled_high), "cancelled_withdrawals"),
            (w["limit_reached"] * (f[_AT_LIMIT] >= 1.0), "limit_reached"),
        ]


class FraudRule(MarkerRule):
    """Payment-fraud and bonus-abuse markers, plus the wallet anomaly score."""

    DEFAULT_WEIGHTS = {
        "many_instruments": 0.45, "many_devices": 0.35, "bonus_then_fast_withdrawal": 0.5,
        "declined_deposits": 0.3, "chargeback": 0.9, "anomalous_wallet_activity": 0.35,
    }

    def __init__(
        self,
        instruments_low: float = 1.0,
        instruments_high: float = 3.0,
        devices_low: float = 2.0,
        devices_high: float = 4.0,
        wagering_low: float = 1.0,
        wagering_high: float = 5.0,
        declined_low: float = 0.0,
        declined_high: float = 3.0,
        anomaly_low: float = 0.6,
        anomaly_high: float = 0.9,
        weights: dict[str, float] | None = None,
    ) -> None:
        self.instruments_low = instruments_low
        self.instruments_high = instruments_high
        self.devices_low = devices_low
        self.devices_high = devices_high
        self.wagering_low = wagering_low
        self.wagering_high = wagering_high
        self.declined_low = declined_low
        self.declined_high = declined_high
        self.anomaly_low = anomaly_low
        self.anomaly_high = anomaly_high
        self.weights = weights
        self._w = self._weights(weights)

    def markers(self, features: Sequence[float], trigger: str,
                anomaly: float) -> list[tuple[float, str]]:
        """Return the weighted strength of each fraud and bonus-abuse marker."""
        f, w = features, self._w
        bonus_abuse = 0.0
        if f[_BONUS_CLAIMS_7D] >= 1.0 and f[_WD_REQUESTED_7D] >= 1.0:
            wagering = f[_STAKE_7D] / max(f[_DEPOSIT_AMOUNT_7D], 1.0)
            bonus_abuse = 1.0 - ramp(wagering, self.wagering_low, self.wagering_high)
        return [
            (w["chargeback"] * (trigger == "chargeback"), "chargeback"),
            (w["many_instruments"] * ramp(f[_INSTRUMENTS_7D], self.instruments_low,
                                          self.instruments_high), "many_instruments"),
            (w["many_devices"] * ramp(f[_DEVICES_7D], self.devices_low, self.devices_high),
             "many_devices"),
            (w["bonus_then_fast_withdrawal"] * bonus_abuse, "bonus_then_fast_withdrawal"),
            (w["declined_deposits"] * ramp(f[_DECLINED_24H], self.declined_low,
                                           self.declined_high), "declined_deposits"),
            (w["anomalous_wallet_activity"] * ramp(anomaly, self.anomaly_low, self.anomaly_high),
             "anomalous_wallet_activity"),
        ]


class ChurnRule(MarkerRule):
    """Churn markers: days without activity, and activity falling below the player's habit."""

    DEFAULT_WEIGHTS = {"inactivity": 0.85, "falling_frequency": 0.45}

    def __init__(
        self,
        inactive_days_low: float = 2.0,
        inactive_days_high: float = 10.0,
        drop_low: float = 0.3,
        drop_high: float = 0.8,
        min_tenure_days: float = 14.0,
        weights: dict[str, float] | None = None,
    ) -> None:
        self.inactive_days_low = inactive_days_low
        self.inactive_days_high = inactive_days_high
        self.drop_low = drop_low
        self.drop_high = drop_high
        self.min_tenure_days = min_tenure_days
        self.weights = weights
        self._w = self._weights(weights)

    def markers(self, features: Sequence[float], trigger: str,
                anomaly: float) -> list[tuple[float, str]]:
        """Return the weighted strength of inactivity and of falling frequency."""
        f, w = features, self._w
        idle_days = f[_IDLE_MINUTES] / 1440.0
        drop = 0.0
        tenure = f[_TENURE_DAYS]
        if tenure >= self.min_tenure_days:
            habit = min(1.0, f[_ACTIVE_DAYS] / tenure)
            recent = f[_FREQUENCY_7D] / 7.0
            if habit > 0.0:
                drop = ramp((habit - recent) / habit, self.drop_low, self.drop_high)
        return [
            (w["inactivity"] * ramp(idle_days, self.inactive_days_low, self.inactive_days_high),
             "inactivity"),
            (w["falling_frequency"] * drop, "falling_frequency"),
        ]


RULES: dict[str, type[MarkerRule]] = {"churn": ChurnRule, "risk": RiskRule, "fraud": FraudRule}

_BETS_24H, _BETS_7D = F["bets_24h"], F["bets_7d"]
_CHASE_24H, _NIGHT_7D = F["chase_share_24h"], F["night_share_7d"]
_ESCALATION = F["stake_escalation"]
_MINUTES_24H, _DEPOSITS_24H = F["session_minutes_24h"], F["deposits_24h"]
_DECLINED_7D, _DECLINED_24H = F["declined_deposits_7d"], F["declined_deposits_24h"]
_CANCELLED_7D = F["withdrawals_cancelled_7d"]
_AT_LIMIT, _SELF_EXCLUDED = F["at_limit"], F["self_excluded"]
_INSTRUMENTS_7D, _DEVICES_7D = F["instruments_7d"], F["devices_7d"]
_BONUS_CLAIMS_7D, _WD_REQUESTED_7D = F["bonus_claims_7d"], F["withdrawals_requested_7d"]
_STAKE_7D, _DEPOSIT_AMOUNT_7D = F["stake_7d"], F["deposit_amount_7d"]
_IDLE_MINUTES, _TENURE_DAYS = F["minutes_since_last_activity"], F["tenure_days"]
_ACTIVE_DAYS, _FREQUENCY_7D = F["active_days"], F["frequency_days_7d"]
