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

The churn and fraud thresholds and weights are configuration: their defaults, bounds
and descriptions live in one place, `pitboss.config.models` (`ChurnRuleSettings`,
`FraudRuleSettings`, the `[models.<kind>.rule]` sections), and each rule validates its
arguments there.

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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from river import base

from pitboss.config.models import ChurnRuleSettings, FraudRuleSettings, RuleSettings
from pitboss.operators.feature_schema import FEATURE_INDEX as F
from pitboss.operators.harm_markers import MIN_PART, MarkerBook

Reasons = tuple[str, ...]
_CHURN, _FRAUD = ChurnRuleSettings(), FraudRuleSettings()
"""The default thresholds of the churn and fraud rules, from their one home."""


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

    A rule with settings (churn, fraud) takes the fields of its `SETTINGS` section as
    constructor arguments, stored under the same names, then calls `_compile`, which
    validates them with that section (thresholds, and `weights` overriding the
    section's default weights; a weight of 0 switches a marker off).
    """

    SETTINGS: ClassVar[type[RuleSettings]]

    @classmethod
    def from_settings(cls, settings: RuleSettings) -> Self:
        """Return the rule of a `[models.<kind>.rule]` section.

        Only the weights the section was given are passed on, as a rule made with the
        same overrides as arguments would have them (the configuration hash reads them).
        """
        arguments: dict[str, Any] = settings.model_dump(exclude={"weights"})
        given = "weights" in settings.model_fields_set
        arguments["weights"] = settings.weights.model_dump(exclude_unset=True) if given else None
        return cls(**arguments)

    def _compile(self) -> None:
        values = {name: getattr(self, name) for name in self.SETTINGS.model_fields}
        settings = self.SETTINGS.model_validate({**values, "weights": values["weights"] or {}})
        merged: dict[str, float] = settings.weights.model_dump()
        self._w = merged
        plan = []
        for r in self._ramps():
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
    """Payment-fraud and bonus-abuse markers, plus the wallet anomaly score.

    The arguments are the fields of `FraudRuleSettings` (`[models.fraud.rule]`), their
    defaults its defaults; `weights` overrides some of its weights.
    """

    SETTINGS = FraudRuleSettings

    def __init__(
        self,
        instruments_low: float = _FRAUD.instruments_low,
        instruments_high: float = _FRAUD.instruments_high,
        devices_low: float = _FRAUD.devices_low,
        devices_high: float = _FRAUD.devices_high,
        wagering_low: float = _FRAUD.wagering_low,
        wagering_high: float = _FRAUD.wagering_high,
        declined_low: float = _FRAUD.declined_low,
        declined_high: float = _FRAUD.declined_high,
        anomaly_low: float = _FRAUD.anomaly_low,
        anomaly_high: float = _FRAUD.anomaly_high,
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
        self._compile()

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

    The arguments are the fields of `ChurnRuleSettings` (`[models.churn.rule]`), their
    defaults its defaults; `weights` overrides some of its weights.
    """

    SETTINGS = ChurnRuleSettings

    def __init__(
        self,
        quiet_gaps_low: float = _CHURN.quiet_gaps_low,
        quiet_gaps_high: float = _CHURN.quiet_gaps_high,
        drop_low: float = _CHURN.drop_low,
        drop_high: float = _CHURN.drop_high,
        weights: dict[str, float] | None = None,
    ) -> None:
        self.quiet_gaps_low = quiet_gaps_low
        self.quiet_gaps_high = quiet_gaps_high
        self.drop_low = drop_low
        self.drop_high = drop_high
        self.weights = weights
        self._compile()

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
