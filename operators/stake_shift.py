"""A sustained shift of a player's stakes: a one-sided CUSUM chart on their own log-stakes.

`stake_escalation` (the day's mean stake over the earlier mean) is a ratio of means:
over a few bets it swings with ordinary stake noise, and a modest shift kept for hours
moves it little. A control chart asks the question the marker means: have this
player's stakes moved up, and stayed up, by more than their own spread explains?

Each bet's log-stake `x` is standardised by the player's own in-control mean `mu` and
spread `sigma` of log-stakes, `z = (x - mu) / sigma`, and accumulated by Page's (1954)
one-sided CUSUM, `S = max(0, S + z - k)`. The chart signals at `S >= h`. The reference
value is half the shift the chart should find fastest (Montgomery, Introduction to
Statistical Quality Control, 9.1). The textbook `k = 0.5` is for a shift of one spread;
the markers of harm look for less: a rise of half the player's own spread, kept for
hours, is already a change of habit, so `k = 0.25`. The decision interval is then chosen,
as the method says, for the in-control average run length (ARL0) the application can
afford. Charted bet by bet, every false signal is an intervention, so ARL0 is about
19,000 bets (Siegmund's approximation; years of a regular player's play), which gives
`h = 14.4`: the chart finds a shift of half a spread in about 54 bets, a third of a
spread in about 120 and one spread in about 20 (ARL1, the same approximation; the
textbook `k = 0.5` with the same ARL0, `h = 8`, needs about 84, 310 and 16). Log
stakes, because stakes are multiplicative (a doubling is a doubling whatever the unit).

The baseline must not follow the shift it is meant to find. It is a running mean and
variance of log-stakes that learns slowly (weight `max(1 / n, 2 / (baseline_bets + 1))`:
the first bets averaged equally, then about `baseline_bets` bets remembered: a thousand,
several times the run the chart needs to find a small shift, so that a rise built up
over days is compared with the player's habit before it rather than learnt), and only
from bets the chart sees in control (`S` below `h` before the bet): once the chart
signals the baseline is frozen until the statistic falls back. Before `warmup_bets`
bets (Montgomery's 20-25 phase-I samples) there is no chart, only the baseline. The
spread is at least `min_spread` (log units, about that share of the stake), so that a
flat staker's deliberate change counts but is not infinitely many spreads; each bet's
`z` is capped at `z_cap` spreads (three: the Shewhart limit), so that one outlying bet
cannot signal alone and only a run of raised stakes does.

The feature `stake_shift` is `S` in spreads (0: no upward shift).

Example:
    >>> from array import array
    >>> from pitboss.operators.player_state import N_AMOUNTS
    >>> amounts = array("d", (0.0,) * N_AMOUNTS)
    >>> chart = StakeShift()
    >>> for i in range(40):
    ...     chart.add_stake(amounts, 10.0 * (1.3 if i % 2 else 0.77))
    >>> chart.shift(amounts) < 1.0
    True
    >>> for i in range(8):
    ...     chart.add_stake(amounts, 20.0 * (1.3 if i % 2 else 0.77))
    >>> chart.shift(amounts) >= chart.h
    True

"""

from __future__ import annotations

import math
from array import array

from pitboss.operators import player_state as m


class StakeShift:
    """Rules of the stake-shift chart; holds configuration, no player state.

    Args:
        k: the CUSUM reference value, in spreads (half the shift to detect).
        h: the decision interval, in spreads: the chart signals at or above it.
        baseline_bets: once past its first bets, the baseline remembers about this many.
        warmup_bets: bets that only build the baseline before the chart runs.
        min_spread: the smallest spread of log-stakes.
        z_cap: one bet adds at most this many spreads.

    """

    def __init__(
        self,
        k: float = 0.25,
        h: float = 14.4,
        baseline_bets: int = 1000,
        warmup_bets: int = 20,
        min_spread: float = 0.1,
        z_cap: float = 3.0,
    ) -> None:
        self.k = k
        self.h = h
        self.baseline_bets = baseline_bets
        self.warmup_bets = warmup_bets
        self.min_spread = min_spread
        self.z_cap = z_cap
        self._alpha = 2.0 / (baseline_bets + 1)

    def add_stake(self, amounts: array, stake: float) -> None:
        """Chart one bet's stake, then fold it into the baseline if the chart was in control."""
        if stake <= 0.0:
            return
        x = math.log(stake)
        n = amounts[m.LOG_STAKE_BETS]
        mean = amounts[m.LOG_STAKE_MEAN]
        cusum = amounts[m.STAKE_CUSUM]
        if n >= self.warmup_bets:
            spread = max(math.sqrt(amounts[m.LOG_STAKE_VAR]), self.min_spread)
            z = min((x - mean) / spread, self.z_cap)
            amounts[m.STAKE_CUSUM] = max(0.0, cusum + z - self.k)
        if cusum >= self.h:
            return
        n += 1.0
        a = max(1.0 / n, self._alpha)
        diff = x - mean
        amounts[m.LOG_STAKE_MEAN] = mean + a * diff
        amounts[m.LOG_STAKE_VAR] = (1.0 - a) * (amounts[m.LOG_STAKE_VAR] + a * diff * diff)
        amounts[m.LOG_STAKE_BETS] = n

    def shift(self, amounts: array) -> float:
        """Return the chart's statistic: the sustained upward shift in spreads (0: none)."""
        return amounts[m.STAKE_CUSUM]
