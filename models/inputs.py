"""Which features each model reads, and how they are transformed before it sees them.

Each model kind reads a small selected subset of the 86 per-player features
(`pitboss.operators.feature_schema.FEATURE_NAMES`): fewer inputs score faster and learn more
steadily. Money amounts and counts are compressed with `log1p` (signed for net
amounts, which can be negative), ratios are clipped to [0, 1], and unbounded
ratios are clipped to a ceiling. Transforms are codes, not lambdas, so an
`InputSet` pickles and hashes into the model version.

Example:
    >>> from pitboss.operators.feature_schema import FEATURE_NAMES
    >>> row = [0.0] * len(FEATURE_NAMES)
    >>> row[FEATURE_NAMES.index("chase_share_24h")] = 1.7
    >>> dict(zip(RISK_INPUTS.names, RISK_INPUTS.extract(row)))["chase_share_24h"]
    1.0

"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from pitboss.operators.feature_schema import FEATURE_INDEX

IDENTITY, LOG1P, SIGNED_LOG1P, CLIP01, CLIP = "identity", "log1p", "signed_log1p", "clip01", "clip"
CAPPED_LOG1P = "capped_log1p"
_CODES = {IDENTITY: 0, LOG1P: 1, SIGNED_LOG1P: 2, CLIP01: 3, CLIP: 4, CAPPED_LOG1P: 5}


@dataclass(frozen=True, slots=True)
class Input:
    """One model input: a feature name, its transform, and the ceiling of `clip`/`capped_log1p`.

    Transforms: `identity`; `log1p` (0 for v <= 0); `signed_log1p` (sign(v) log1p(|v|));
    `clip01` (into [0, 1]); `clip` (into [0, ceiling]); `capped_log1p` (log1p of v
    clipped into [0, ceiling], so the result lies in [0, log1p(ceiling)]).
    """

    feature: str
    transform: str = LOG1P
    ceiling: float = 1.0


class InputSet:
    """An ordered selection of features with their transforms.

    Args:
        inputs: the inputs, in the order models see them.

    Raises:
        KeyError: a feature that is not in `FEATURE_NAMES`; ValueError: an unknown transform.

    """

    __slots__ = ("_plan", "inputs", "names")

    def __init__(self, inputs: Sequence[Input]) -> None:
        self.inputs = tuple(inputs)
        self.names: tuple[str, ...] = tuple(i.feature for i in self.inputs)
        for i in self.inputs:
            if i.transform not in _CODES:
                raise ValueError(f"unknown transform {i.transform!r} for {i.feature}")
        self._plan = tuple(
            (FEATURE_INDEX[i.feature], _CODES[i.transform], i.ceiling) for i in self.inputs
        )

    def __getstate__(self) -> tuple[Input, ...]:
        return self.inputs

    def __setstate__(self, state: tuple[Input, ...]) -> None:
        self.__init__(state)  # type: ignore[misc]

    def extract(self, features: Sequence[float]) -> list[float]:
        """Return the transformed inputs of a feature row (in `FEATURE_NAMES` order)."""
        out = []
        for index, code, ceiling in self._plan:
            v = features[index]
            if code == 1:
                v = math.log1p(v) if v > 0.0 else 0.0
            elif code == 2:
                v = math.copysign(math.log1p(abs(v)), v)
            elif code == 3:
                v = 0.0 if v < 0.0 else (1.0 if v > 1.0 else v)
            elif code == 4:
                v = 0.0 if v < 0.0 else (ceiling if v > ceiling else v)
            elif code == 5:
                v = 0.0 if v <= 0.0 else math.log1p(ceiling if v > ceiling else v)
            out.append(v)
        return out

    def as_dict(self, values: Sequence[float]) -> dict[str, float]:
        """Return extracted values keyed by feature name, as River estimators take them."""
        return dict(zip(self.names, values, strict=True))

    def describe(self) -> list[list[object]]:
        """Return `[feature, transform, ceiling]` triples, for hashing into model versions."""
        return [[i.feature, i.transform, i.ceiling] for i in self.inputs]


RISK_INPUTS = InputSet((
    Input("stake_escalation", CLIP, 20.0),
    Input("chase_share_24h", CLIP01),
    Input("chase_share_7d", CLIP01),
    Input("night_share_24h", CLIP01),
    Input("night_share_7d", CLIP01),
    Input("session_minutes_24h"),
    Input("session_minutes_7d"),
    Input("deposits_24h"),
    Input("deposits_7d"),
    Input("declined_deposits_7d"),
    Input("withdrawals_cancelled_7d"),
    Input("net_loss_7d", SIGNED_LOG1P),
    Input("stake_24h"),
    Input("at_limit", CLIP01),
))
"""Markers of harm: stake escalation, chasing, night play, time on site, deposits, reversals."""

CHURN_INPUTS = InputSet((
    Input("quiet_gaps"),
    Input("visit_gap_days"),
    Input("frequency_trend", CAPPED_LOG1P, 10.0),
    Input("minutes_since_last_activity"),
    Input("frequency_days_7d", CLIP, 7.0),
    Input("active_days"),
    Input("tenure_days"),
    Input("bets_24h"),
    Input("bets_7d"),
    Input("sessions_7d"),
    Input("session_minutes_7d"),
    Input("stake_7d"),
    Input("monetary_7d", SIGNED_LOG1P),
    Input("adt"),
    Input("self_excluded", CLIP01),
))
"""Recency against the player's own rhythm of visits, recency, frequency and monetary value,
and engagement over 24 hours and 7 days."""

FRAUD_INPUTS = InputSet((
    Input("instruments_7d"),
    Input("devices_7d"),
    Input("bonus_claims_7d"),
    Input("bonus_wager_share_7d", CLIP01),
    Input("withdrawals_requested_24h"),
    Input("withdrawals_requested_7d"),
    Input("withdrawal_amount_7d"),
    Input("deposit_amount_7d"),
    Input("deposits_24h"),
    Input("declined_deposits_24h"),
    Input("stake_7d"),
    Input("tenure_days"),
))
"""Payment instruments, devices, bonus use, wagering against deposits, withdrawals, tenure."""

WALLET_INPUTS = InputSet((
    Input("deposits_24h", CAPPED_LOG1P, 20.0),
    Input("deposit_amount_24h", CAPPED_LOG1P, 20_000.0),
    Input("declined_deposits_24h", CAPPED_LOG1P, 10.0),
    Input("withdrawals_requested_24h", CAPPED_LOG1P, 10.0),
    Input("withdrawal_amount_24h", CAPPED_LOG1P, 20_000.0),
    Input("instruments_7d", CAPPED_LOG1P, 8.0),
    Input("devices_7d", CAPPED_LOG1P, 8.0),
    Input("bonus_claims_7d", CAPPED_LOG1P, 10.0),
))
"""What the unsupervised wallet anomaly detector sees: capped, so its scale is fixed."""


def limits(inputs: InputSet) -> dict[Hashable, tuple[float, float]]:
    """Return each `capped_log1p` input's range `(0, log1p(ceiling))`, e.g. for HalfSpaceTrees.

    >>> limits(WALLET_INPUTS)["devices_7d"] == (0.0, math.log1p(8.0))
    True
    """
    return {i.feature: (0.0, math.log1p(i.ceiling))
            for i in inputs.inputs if i.transform == CAPPED_LOG1P}

INPUTS: dict[str, InputSet] = {"churn": CHURN_INPUTS, "risk": RISK_INPUTS, "fraud": FRAUD_INPUTS}
