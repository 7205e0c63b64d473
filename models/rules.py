"""Transparent marker rules: the cold-start score of every kind and the floor of the risk score.

Each rule reads a few features, turns each marker into a strength in [0, 1] with a
linear ramp (0 at or below `*_low`, 1 at or above `*_high`), weighs it, and combines
the weighted strengths with a noisy-OR: `score = 1 - prod(1 - weight * strength)`.
One strong marker alone gives its weight (0.3-0.45 for most markers, under the
default 0.5 threshold); two strong markers cross it. The reasons are the markers
that fired, strongest first.

Markers of harm are the rows of one table, `pitboss.operators.harm_markers.HARM_MARKERS`
(feature, ramp, weight, and the level at which the policy counts a marker as met),
which the policy's ladder and reason codes read too; `config/policy.toml [markers]`
overrides it, per jurisdiction as well.

Fraud and bonus-abuse markers (payment-fraud and bonus-abuse typologies):

- `many_instruments`: payment instruments used in 7 days (`instruments_7d`).
- `many_devices`: devices used in 7 days (`devices_7d`); accounts of a ring share
  devices, so each shows several. (Sharing itself needs a cross-player graph.)
- `bonus_then_fast_withdrawal`: a bonus claimed and a withdrawal requested in the
  same 7 days with little wagering: `stake_7d / deposit_amount_7d` at or under
  `wagering_low` is full strength, at or over `wagering_high` none.
- `declined_deposits`: declined deposits in the last 24 hours (stolen cards).
- `chargeback`: the point was triggered by a chargeback.
- `anomalous_wallet_activity`: the wallet anomaly detector's score (`pitboss.models.anomaly`).

Churn markers, against the player's own rhythm (see `ChurnRule`): `inactivity` (time
since the last activity in units of the player's usual gap between days of play,
`quiet_gaps`) and `falling_frequency` (recent gaps longer than the usual,
`frequency_trend`).

Example:
    >>> from pitboss.operators.feature_schema import FEATURE_INDEX, FEATURE_NAMES
    >>> row = [0.0] * len(FEATURE_NAMES)
    >>> row[FEATURE_INDEX["chase_share_24h"]] = 0.6
    >>> row[FEATURE_INDEX["bets_24h"]] = 40.0
    >>> row[FEATURE_INDEX["withdrawals_cancelled_7d"]] = 1.0
    >>> value, reasons = RiskRule().score(row, "session_end")
    >>> round(value, 3), reasons
    (0.64, ('cancelled_withdrawals', 'loss_chasing'))

"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from river import base

from pitboss.operators.feature_schema import FEATURE_INDEX as F
from pitboss.operators.harm_markers import MIN_PART, MarkerBook

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


@dataclass(frozen=True, slots=True)
class Ramp:
    """A marker read straight off one feature: `ramp(feature, low, high)`.

    With a `gate`, the marker counts only once feature `gate` reaches `gate_min`
    (e.g. a share of bets means little over a handful of bets).
    """

    marker: str
    feature: str
    low: float
    high: float
    gate: str | None = None
    gate_min: float = 0.0


class MarkerRule(base.Base):
    """Base of the marker rules: ramp markers compiled once, plus rule-specific markers.

    Subclasses store their constructor arguments, then call `_compile`. Marker
    weights default to `DEFAULT_WEIGHTS` and can be overridden with `weights`; a
    weight of 0 switches a marker off.
    """

    DEFAULT_WEIGHTS: dict[str, float] = {}

    def _compile(self, weights: Mapping[str, float] | None) -> None:
        merged = dict(self.DEFAULT_WEIGHTS)
        for name, weight in (weights or {}).items():
            if name not in merged:
                raise ValueError(f"unknown marker {name!r}; known: {sorted(merged)}")
            if not 0.0 <= weight <= 1.0:
                raise ValueError(f"weight of {name} must be in [0, 1], got {weight}")
            merged[name] = weight
        self._w = merged
        plan = []
        for r in self._ramps():
            if not r.low < r.high:
                raise ValueError(f"{r.marker}: low ({r.low}) must be below high ({r.high})")
            if merged[r.marker] > 0.0:
                gate = F[r.gate] if r.gate else -1
                plan.append((F[r.feature], r.low, r.high, merged[r.marker], r.marker, gate,
                             r.gate_min))
        self._plan = tuple(plan)

    def _ramps(self) -> tuple[Ramp, ...]:
        return ()

    def _extra(self, features: Sequence[float], trigger: str,
               anomaly: float) -> list[tuple[float, str]]:
        """Return `(weight * strength, marker)` of markers that are not plain ramps."""
        return []

    def score(self, features: Sequence[float], trigger: str,
              anomaly: float = 0.0, jurisdiction: str = "") -> tuple[float, Reasons]:
        """Return the rule score in [0, 1] and the markers behind it, strongest first.

        Args:
            features: a row in `FEATURE_NAMES` order.
            trigger: why the point was scored (`chargeback` is a fraud marker).
            anomaly: the wallet anomaly score in [0, 1] (fraud only).
            jurisdiction: the player's jurisdiction (rules with per-jurisdiction markers).

        """
        keep = 1.0
        fired: list[tuple[float, str]] = []
        for index, low, high, weight, name, gate, gate_min in self._plan:
            v = features[index]
            if v <= low or (gate >= 0 and features[gate] < gate_min):
                continue
            part = weight if v >= high else weight * (v - low) / (high - low)
            if part < MIN_PART:
                continue
            keep *= 1.0 - part
            fired.append((-part, name))
        for part, name in self._extra(features, trigger, anomaly):
            if part >= MIN_PART:
                keep *= 1.0 - part
                fired.append((-part, name))
        if not fired:
            return 0.0, ()
        if len(fired) > 1:
            fired.sort()
        return 1.0 - keep, tuple(name for _, name in fired)


class RiskRule(MarkerRule):
    """Markers of harm: the rows of the marker table (`operators.harm_markers`), per jurisdiction.

    The ramps, weights and gates are not arguments of the rule: they live in the one
    marker table the policy reads too, overridden in `config/policy.toml [markers]`.

    Args:
        markers: the marker table of every jurisdiction; the default table when None.

    """

    def __init__(self, markers: MarkerBook | None = None) -> None:
        self.markers = markers
        self._book = markers if markers is not None else MarkerBook()

    def score(self, features: Sequence[float], trigger: str, anomaly: float = 0.0,
              jurisdiction: str = "") -> tuple[float, Reasons]:
        """Return the risk rule's score in [0, 1] and the markers behind it, strongest first."""
        fired = self._book.table(jurisdiction).strengths(features)
        if not fired:
            return 0.0, ()
        keep = 1.0
        for part, _ in fired:
            keep *= 1.0 + part
        if len(fired) > 1:
            fired.sort()
        return 1.0 - keep, tuple(name for _, name in fired)


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
        if not wagering_low < wagering_high or not anomaly_low < anomaly_high:
            raise ValueError("wagering_low and anomaly_low must be below their highs")
        self._compile(weights)

    def _ramps(self) -> tuple[Ramp, ...]:
        return (
            Ramp("many_instruments", "instruments_7d", self.instruments_low,
                 self.instruments_high),
            Ramp("many_devices", "devices_7d", self.devices_low, self.devices_high),
            Ramp("declined_deposits", "declined_deposits_24h", self.declined_low,
                 self.declined_high),
        )

    def _extra(self, features: Sequence[float], trigger: str,
               anomaly: float) -> list[tuple[float, str]]:
        w = self._w
        out = []
        if trigger == "chargeback":
            out.append((w["chargeback"], "chargeback"))
        if features[_BONUS_CLAIMS_7D] >= 1.0 and features[_WD_REQUESTED_7D] >= 1.0:
            wagering = features[_STAKE_7D] / max(features[_DEPOSIT_AMOUNT_7D], 1.0)
            strength = 1.0 - ramp(wagering, self.wagering_low, self.wagering_high)
            out.append((w["bonus_then_fast_withdrawal"] * strength, "bonus_then_fast_withdrawal"))
        if anomaly > self.anomaly_low:
            strength = ramp(anomaly, self.anomaly_low, self.anomaly_high)
            out.append((w["anomalous_wallet_activity"] * strength, "anomalous_wallet_activity"))
        return out


class ChurnRule(MarkerRule):
    """Churn markers read against the player's own rhythm of visits, not a fixed calendar.

    - `inactivity`: how long the player has been quiet in units of their usual gap
      between days of play (`quiet_gaps`). If a player returns at random with their
      usual gap on average, about e^-r of their quiet spells last r gaps or more: the
      ramp starts at one gap (a spell as long as usual, e^-1 = 37% of spells) and is at
      full strength at three (e^-3 = 5%: a spell this long is unusual for the player).
    - `falling_frequency`: visits thinning out: the recent gap against the usual one
      (`frequency_trend` = usual / recent); `drop = 1 - frequency_trend` from
      `drop_low` (recent gaps 1.4 times the usual) to `drop_high` (5 times).

    A steady player who is always seldom seen is not drifting away: seven quiet days are
    one gap for a weekly player, and seven gaps for a daily one.
    """

    DEFAULT_WEIGHTS = {"inactivity": 0.85, "falling_frequency": 0.45}

    def __init__(
        self,
        quiet_gaps_low: float = 1.0,
        quiet_gaps_high: float = 3.0,
        drop_low: float = 0.3,
        drop_high: float = 0.8,
        weights: dict[str, float] | None = None,
    ) -> None:
        self.quiet_gaps_low = quiet_gaps_low
        self.quiet_gaps_high = quiet_gaps_high
        self.drop_low = drop_low
        self.drop_high = drop_high
        self.weights = weights
        if not drop_low < drop_high:
            raise ValueError("drop_low must be below drop_high")
        self._compile(weights)

    def _ramps(self) -> tuple[Ramp, ...]:
        return (Ramp("inactivity", "quiet_gaps", self.quiet_gaps_low, self.quiet_gaps_high),)

    def _extra(self, features: Sequence[float], trigger: str,
               anomaly: float) -> list[tuple[float, str]]:
        drop = 1.0 - features[_FREQUENCY_TREND]
        return [(self._w["falling_frequency"] * ramp(drop, self.drop_low, self.drop_high),
                 "falling_frequency")]


RULES: dict[str, type[MarkerRule]] = {"churn": ChurnRule, "risk": RiskRule, "fraud": FraudRule}

_BONUS_CLAIMS_7D, _WD_REQUESTED_7D = F["bonus_claims_7d"], F["withdrawals_requested_7d"]
_STAKE_7D, _DEPOSIT_AMOUNT_7D = F["stake_7d"], F["deposit_amount_7d"]
_FREQUENCY_TREND = F["frequency_trend"]
