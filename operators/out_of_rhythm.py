"""A quiet player's out-of-rhythm point, by jurisdiction: the policy's threshold, as plain numbers.

The policy offers re-activation to a quiet player out of their own rhythm: quiet for their
usual gap between days of play plus `thresholds.reactivation_quiet_spreads` spreads of
their gaps (`quiet_spreads`, `pitboss.operators.policy.engine`). The player shard scores
a quiet player at that very point, so that the offer can come when the player gets there.
The threshold has one home, the policy, which may override it per jurisdiction
(`[jurisdictions.<CODE>.thresholds]`); `OutOfRhythm` carries those numbers to the shard,
built once from the loaded policy (`OutOfRhythm.of_policy`). Without a policy the shard
takes the default policy's threshold (`OutOfRhythm()`).

Example:
    >>> from pitboss.operators.policy.settings import load_policy
    >>> OutOfRhythm.of_policy(load_policy()).spreads("UK") == OutOfRhythm().spreads("UK")
    True
    >>> OutOfRhythm(3.0, {"SE": 2.0}).spreads("SE"), OutOfRhythm(3.0, {"SE": 2.0}).spreads("UK")
    (2.0, 3.0)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pitboss.operators.policy.settings import ThresholdSettings

if TYPE_CHECKING:
    from pitboss.operators.policy.settings import PolicySettings

DEFAULT_SPREADS = ThresholdSettings().reactivation_quiet_spreads
"""The default policy's `thresholds.reactivation_quiet_spreads`."""


@dataclass(frozen=True)
class OutOfRhythm:
    """Spreads of their gaps past their usual gap at which a quiet player is out of rhythm.

    Args:
        base: the spreads for a player of any jurisdiction not in `own` (0: no point).
        own: the spreads of each jurisdiction whose policy overrides the threshold.
    """

    base: float = DEFAULT_SPREADS
    own: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of_policy(cls, policy: PolicySettings) -> OutOfRhythm:
        """Return the policy's `thresholds.reactivation_quiet_spreads`, base and overrides."""
        base = policy.thresholds.reactivation_quiet_spreads
        own = {code: spreads for code in sorted(policy.jurisdictions)
               if (spreads := policy.rules_for(code).thresholds.reactivation_quiet_spreads)
               != base}
        return cls(base, own)

    def spreads(self, jurisdiction: str) -> float:
        """Return the out-of-rhythm point of a player of `jurisdiction` (0: none)."""
        return self.own.get(jurisdiction, self.base)
