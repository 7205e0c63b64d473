"""A player's rhythm of visits: their usual gap between days of play, its spread, the trend.

Recency means little on its own: seven quiet days are one gap for a weekly player and
seven for a daily one. `VisitRhythm` keeps, in a player's running amounts
(`pitboss.operators.player_state`), exponentially weighted statistics of the gaps
between their days of play (a gap is the quiet time before the first activity of a
new UTC day: the spell the player's next visit ends):

- the usual gap (over about `usual_visits` gaps) and its spread (the standard
  deviation of the gaps, with the same weights);
- the recent gap (over about `recent_visits` gaps), for the frequency trend.

Each statistic starts as a plain mean that counts the prior as one gap already seen,
then becomes an exponential moving average of weight 1 / visits, so a player with few
visits is read against the prior, not a single accident. The prior's spread is the
prior gap itself: the gaps of a player who returns at random, at a steady rate, are
exponential, and an exponential's spread equals its mean.

A quiet spell is out of the player's rhythm once it passes their usual gap by several
of their spreads (`out_of_rhythm_ms`), the control limit of a Shewhart chart: a
regular player (small spread) is out of rhythm soon after their usual gap, an
irregular one only after a long spell. The spread is kept in the amounts from the
second gap on; until then it is computed from the usual gap and the prior, exactly as
the moving average would have it (and a player kept by state format 5, which had no
spread, reads the exponential's: their usual gap).

Example:
    >>> from array import array
    >>> rhythm = VisitRhythm(prior_gap_ms=3 * DAY_MS, usual_visits=10, recent_visits=2)
    >>> amounts = array("d", [0.0] * m.N_AMOUNTS)
    >>> rhythm.gaps_ms(amounts) == (3 * DAY_MS, 3 * DAY_MS)
    True
    >>> round(rhythm.spread_ms(amounts) / DAY_MS, 2)  # the prior's: an exponential's
    3.0
    >>> for _ in range(3):
    ...     rhythm.add_gap(amounts, DAY_MS)
    >>> [round(g / DAY_MS, 2) for g in rhythm.gaps_ms(amounts)]
    [1.5, 1.25]
    >>> round(rhythm.spread_ms(amounts) / DAY_MS, 2)  # the prior still weighs
    1.73
    >>> round(rhythm.out_of_rhythm_ms(amounts, 3.0) / DAY_MS, 2)  # 1.5 + 3 x 1.73
    6.7

"""

from __future__ import annotations

import math
from array import array

from pitboss.operators import player_state as m
from pitboss.operators.panes import DAY_MS

HOUR_MS = 3_600_000
MIN_SPREAD_MS = HOUR_MS
"""The least spread of a player's gaps: a gap is the spell before the first activity of
a day, and no player keeps to their hour of play closer than this."""


class VisitRhythm:
    """A player's rhythm of visits: moving averages and spread of their gaps between days of play.

    Args:
        prior_gap_ms: the gap assumed before any is seen (its spread: the same).
        usual_visits: visits the usual gap and its spread remember (weight 1 / usual_visits).
        recent_visits: visits the recent gap remembers.
    """

    __slots__ = ("prior_gap_ms", "recent_visits", "usual_visits")

    def __init__(self, prior_gap_ms: float = 3 * DAY_MS, usual_visits: int = 10,
                 recent_visits: int = 2) -> None:
        self.prior_gap_ms = float(prior_gap_ms)
        self.usual_visits = usual_visits
        self.recent_visits = recent_visits

    def add_gap(self, amounts: array, gap_ms: float) -> None:
        """Fold one gap between days of play into the player's averages and spread."""
        seen = amounts[m.VISIT_GAPS]
        usual_weight = max(1.0 / (seen + 2.0), 1.0 / self.usual_visits)
        if seen:  # from the second gap on the variance is kept (until then: `_variance`)
            change = gap_ms - amounts[m.USUAL_GAP]
            amounts[m.GAP_VARIANCE] = (1.0 - usual_weight) * (
                self._variance(amounts) + usual_weight * change * change)
        for index, visits in ((m.USUAL_GAP, self.usual_visits),
                              (m.RECENT_GAP, self.recent_visits)):
            weight = max(1.0 / (seen + 2.0), 1.0 / visits)  # the prior counts as one gap
            before = amounts[index] if seen else self.prior_gap_ms
            amounts[index] = before + weight * (gap_ms - before)
        amounts[m.VISIT_GAPS] = seen + 1.0

    def _variance(self, amounts: array) -> float:
        """Return the variance of the player's gaps (ms squared), before any flooring.

        With no gap seen, the prior's; with one, what the moving average gives from the
        prior (mean p, variance p^2) and that gap g, weight 1/2: p^2 / 2 + (g - p)^2 / 4,
        where g - p = 2 (usual - p). A player with more gaps and no variance kept (one
        written by state format 5) reads the exponential's: the usual gap squared.
        """
        seen = amounts[m.VISIT_GAPS]
        prior = self.prior_gap_ms
        if not seen:
            return prior * prior
        kept = amounts[m.GAP_VARIANCE]
        if kept > 0.0:
            return kept
        usual = amounts[m.USUAL_GAP]
        if seen == 1.0:
            return prior * prior / 2.0 + (usual - prior) * (usual - prior)
        return usual * usual

    def gaps_ms(self, amounts: array) -> tuple[float, float]:
        """Return the usual and the recent gap between visits, each at least a day."""
        if not amounts[m.VISIT_GAPS]:
            prior = max(float(DAY_MS), self.prior_gap_ms)
            return prior, prior
        return max(float(DAY_MS), amounts[m.USUAL_GAP]), max(float(DAY_MS), amounts[m.RECENT_GAP])

    def spread_ms(self, amounts: array) -> float:
        """Return the spread (standard deviation) of the player's gaps, at least `MIN_SPREAD_MS`."""
        return max(MIN_SPREAD_MS, math.sqrt(self._variance(amounts)))

    def quiet_spreads(self, amounts: array, quiet_ms: float) -> float:
        """Return how many spreads a quiet spell of `quiet_ms` passes the usual gap by.

        Negative while the spell is shorter than the usual gap.
        """
        return (quiet_ms - self.gaps_ms(amounts)[0]) / self.spread_ms(amounts)

    def out_of_rhythm_ms(self, amounts: array, spreads: float) -> float:
        """Return the quiet spell (ms) that passes the usual gap by `spreads` spreads."""
        return self.gaps_ms(amounts)[0] + spreads * self.spread_ms(amounts)
