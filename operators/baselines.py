"""A player's own baselines: what is usual for them, so that markers of harm can be relative.

Absolute markers (three hours on site, three deposits a day) miss a player whose habit
is ten-minute sessions and one deposit a week, and loss chasing read as "any raise after
a loss" counts ordinary stake noise as chasing. `Baselines` keeps, in a player's running
amounts (`pitboss.operators.player_state`), exponentially weighted means of:

- their stake per bet and its variance: a raise after a loss is chasing only when it
  exceeds `chase_spreads` times the player's own stake spread (at least `min_spread` of
  their mean stake, so a flat staker's deliberate raise still counts);
- their session length in minutes and approved deposits per session, updated as each
  session closes; the features `session_minutes_vs_usual` and
  `session_deposits_vs_usual` compare the open (or last) session with them.

The first sessions are averaged equally (the weight is `max(1 / n, alpha)`), so the
baseline does not remember its starting value; the stake variance starts from
`prior_stake_cv` so that the first raises after a loss are judged against a typical
spread rather than none.

Example:
    >>> from array import array
    >>> from pitboss.operators.player_state import N_AMOUNTS
    >>> amounts = array("d", (0.0,) * N_AMOUNTS)
    >>> b = Baselines()
    >>> for stake in (10.0, 11.0, 9.0, 10.0, 10.5, 9.5):
    ...     b.add_stake(amounts, stake)
    >>> amounts[m.LAST_BET_STAKE] = 9.5  # the last bet's stake (set by the feature engine)
    >>> b.is_chase(amounts, 12.0), b.is_chase(amounts, 25.0)
    (False, True)

"""

from __future__ import annotations

import math
from array import array

from pitboss.operators import player_state as m


class Baselines:
    """Rules of a player's own baselines; holds configuration, no player state.

    Args:
        chase_gap_ms: a raise counts as chasing only this soon after a lost bet.
        chase_spreads: how many of the player's stake spreads a raise must exceed.
        stake_bets: the stake mean and variance weigh about this many recent bets.
        sessions: the session baselines weigh about this many recent sessions.
        min_spread: the smallest stake spread, as a share of the mean stake.
        prior_stake_cv: the stake spread assumed before any bet, as a share of the stake.
        min_session_minutes: the usual session length is at least this (a habit of
            two-minute visits does not make a twenty-minute one a marker).

    """

    def __init__(
        self,
        chase_gap_ms: int = 30 * 60_000,
        chase_spreads: float = 1.5,
        stake_bets: int = 50,
        sessions: int = 10,
        min_spread: float = 0.1,
        prior_stake_cv: float = 0.5,
        min_session_minutes: float = 10.0,
    ) -> None:
        self.chase_gap_ms = chase_gap_ms
        self.chase_spreads = chase_spreads
        self.stake_bets = stake_bets
        self.sessions = sessions
        self.min_spread = min_spread
        self.prior_stake_cv = prior_stake_cv
        self.min_session_minutes = min_session_minutes
        self._stake_alpha = 2.0 / (stake_bets + 1)
        self._session_alpha = 2.0 / (sessions + 1)

    def add_stake(self, amounts: array, stake: float) -> None:
        """Fold one bet's stake into the player's stake mean and variance."""
        mean = amounts[m.STAKE_EWM]
        if mean <= 0.0:
            amounts[m.STAKE_EWM] = stake
            amounts[m.STAKE_EWV] = (self.prior_stake_cv * stake) ** 2
            return
        a = self._stake_alpha
        diff = stake - mean
        amounts[m.STAKE_EWM] = mean + a * diff
        amounts[m.STAKE_EWV] = (1.0 - a) * (amounts[m.STAKE_EWV] + a * diff * diff)

    def is_chase(self, amounts: array, stake: float) -> bool:
        """Whether `stake` raises the last bet's stake beyond the player's ordinary spread."""
        mean = amounts[m.STAKE_EWM]
        spread = max(math.sqrt(amounts[m.STAKE_EWV]), self.min_spread * mean)
        return stake - amounts[m.LAST_BET_STAKE] > self.chase_spreads * spread

    def add_session(self, amounts: array, minutes: float) -> None:
        """Fold a closed session (its length and approved deposits) into the baselines."""
        n = amounts[m.BASELINE_SESSIONS] + 1.0
        a = max(1.0 / n, self._session_alpha)
        amounts[m.SESSION_MINUTES_EWM] += a * (minutes - amounts[m.SESSION_MINUTES_EWM])
        deposits = amounts[m.SESSION_DEPOSITS]
        amounts[m.SESSION_DEPOSITS_EWM] += a * (deposits - amounts[m.SESSION_DEPOSITS_EWM])
        amounts[m.BASELINE_SESSIONS] = n

    def session_ratios(self, amounts: array, minutes: float) -> tuple[float, float]:
        """Return the session's length and deposits against the player's usual (1: as usual).

        The deposit ratio is `(deposits + 1) / (usual + 1)`: a prior of one deposit keeps
        a player who rarely deposits from reading a single deposit as a multiple.
        """
        if amounts[m.BASELINE_SESSIONS] <= 0.0:
            return 1.0, 1.0
        usual = max(amounts[m.SESSION_MINUTES_EWM], self.min_session_minutes)
        deposits = (amounts[m.SESSION_DEPOSITS] + 1.0) / (amounts[m.SESSION_DEPOSITS_EWM] + 1.0)
        return minutes / usual, deposits
