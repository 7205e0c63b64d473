"""The state Pitboss keeps for one player: panes of activity plus a few facts.

Everything here is plain picklable data (slots, arrays, small lists) so that a
shard of players can be snapshotted for recovery and measured for size. The
rules that change it live in `pitboss.operators.features`.
"""

from __future__ import annotations

import sys
from array import array
from operator import attrgetter

from pitboss.operators.panes import BET_METRICS, PaneLevels

# Pane metrics, one float each. Names are the feature stems in docs/features.md.
# Every bet adds to the first five, so they come first: `PaneLevels.add_bet` keeps them
# stored together at the start of a pane, and writes the first eight by position, so
# their numbers are the panes' own (`BET_METRICS`).
BETS, STAKE, STAKE_SQ, PAYOUT, THEO, NIGHT_BETS, BONUS_STAKE, CHASE_BETS = BET_METRICS
DEPOSITS = 8
DEPOSIT_AMOUNT = 9
DECLINED = 10
WD_REQUESTED = 11
WD_COMPLETED = 12
WD_CANCELLED = 13
WD_AMOUNT = 14
BONUS_CLAIMS = 15
SESSIONS = 16
SESSION_SECONDS = 17
N_METRICS = 18

# Running amounts, one float each in `PlayerState.amounts`: this calendar month's
# deposits, net loss and wagers (for limits), the open session's stake and sum of bet
# number x stake (for the within-session slope), and the stake of the latest bet.
# Then the player's own baselines (`pitboss.operators.baselines`, state format 4): the
# exponentially weighted mean and variance of their stakes, of their session length
# in minutes and of their approved deposits per session, how many sessions those
# baselines have seen, the open session's approved deposits, and when (event time)
# and at which bet of the session the player was last scored. Then the player's rhythm
# of visits (state format 5): the usual and the recent gap between days of play
# (moving averages, in ms; 0 until a first gap) and how many gaps they have seen; and
# (state format 6) the variance of those gaps, kept from the second gap on
# (`pitboss.operators.visit_rhythm`; 0 until then, and for players of format 5).
# Then (state format 7) the stake-shift chart (`pitboss.operators.stake_shift`): the
# in-control mean and variance of the player's log-stakes, how many bets they have
# seen, and the chart's CUSUM statistic in spreads (0 for players of older formats).
MONTH_DEPOSITS = 0
MONTH_LOSS = 1
MONTH_WAGER = 2
SESSION_STAKE = 3
SESSION_XY = 4
LAST_BET_STAKE = 5
STAKE_EWM = 6
STAKE_EWV = 7
SESSION_MINUTES_EWM = 8
SESSION_DEPOSITS_EWM = 9
BASELINE_SESSIONS = 10
SESSION_DEPOSITS = 11
SCORED_MS = 12
SCORED_BETS = 13
USUAL_GAP = 14
RECENT_GAP = 15
VISIT_GAPS = 16
GAP_VARIANCE = 17
LOG_STAKE_MEAN = 18
LOG_STAKE_VAR = 19
LOG_STAKE_BETS = 20
STAKE_CUSUM = 21
N_AMOUNTS = 22

# `PlayerState.flags`: every bit of a player's flags is named here, and nowhere else.
# Plain ints, so that testing or setting a flag on the hot path is one integer operation.
RISK_POSITIVE = 1  # a positive risk label was seen (pitboss.operators.labels)
FRAUD_POSITIVE = 2  # a positive fraud label was seen
RISK_NEGATIVE_DONE = 4  # the one noisy risk negative was taught
FRAUD_NEGATIVE_DONE = 8  # the one noisy fraud negative was taught
_FORMATS_3_4_INACTIVITY_DONE = 16
"""Formats 3 and 4's flag for "the (single) inactivity point of this quiet spell was scored":
read only when loading their state (`PlayerState.__setstate__`), never to be reused."""
COMPACTED = 32  # state reduced to long-horizon aggregates since the last activity (player_shard)
AT_LIMIT_SCORED = 64  # the player was scored at a limit they reached (until below it)
RHYTHM_POINT_DONE = 128  # this quiet spell's out-of-rhythm point was scored (player_shard)
# Bits 8-11: how many inactivity checkpoints of the current quiet spell were scored
# (pitboss.operators.player_shard).
CHECKPOINT_SHIFT = 8
CHECKPOINT_MASK = 0xF << CHECKPOINT_SHIFT
MAX_CHECKPOINTS = 15
FLAGS = (RISK_POSITIVE, FRAUD_POSITIVE, RISK_NEGATIVE_DONE, FRAUD_NEGATIVE_DONE,
         _FORMATS_3_4_INACTIVITY_DONE, COMPACTED, AT_LIMIT_SCORED, RHYTHM_POINT_DONE,
         CHECKPOINT_MASK)
"""Every flag and field of `PlayerState.flags`; no two share a bit."""

MAX_TRACKED_IDS = 8  # distinct instruments / devices kept per player (counts saturate here)
MAX_OPEN_BETS = 16  # unsettled bets whose stake is kept until `bet_settled` (oldest dropped)
NO_TIME = -(2**62)


class PlayerState:
    """Per-player state of the feature operator.

    Attributes are public on purpose: `pitboss.operators.features` owns the rules and the
    tests build states directly.
    """

    __slots__ = (
        "active_days",
        "amounts",
        "churn_point",
        "churn_point_ts",
        "consent",
        "excluded_until",
        "first_ts",
        "flags",
        "fraud_point",
        "fraud_point_ts",
        "jurisdiction",
        "last_active_ts",
        "last_bet_lost",
        "last_bet_ts",
        "last_snapshot_ts",
        "limits",
        "max_ts",
        "month",
        "open_stakes",
        "panes",
        "player_id",
        "quiet_points",
        "recent_ids",
        "session_bets",
        "session_id",
        "session_last",
        "session_start",
        "tracked_ids",
        "wake_ms",
    )

    def __init__(self, player_id: str, jurisdiction: str) -> None:
        self.player_id = player_id
        self.jurisdiction = sys.intern(jurisdiction)  # one string per code, not per player
        self.first_ts = NO_TIME
        self.max_ts = NO_TIME
        self.last_active_ts = NO_TIME
        self.last_snapshot_ts = NO_TIME
        # (event fingerprint, event time) pairs side by side, for deduplication.
        self.recent_ids = array("q")
        self.panes = PaneLevels(N_METRICS)
        self.session_id: str | None = None
        self.session_start = NO_TIME
        self.session_last = NO_TIME
        self.session_bets = 0
        self.last_bet_ts = NO_TIME
        self.last_bet_lost = False
        # Stakes (base currency) of unsettled bets by bet id, so that a bet settled as
        # lost counts for loss chasing; None when there is none.
        self.open_stakes: dict[str, float] | None = None
        # (fingerprint, last seen) pairs of payment instruments and devices in one array
        # (pitboss.operators.features._track), None when empty.
        self.tracked_ids: array | None = None
        self.limits: dict[str, float] | None = None
        self.month = -1  # calendar month of the MONTH_ amounts
        self.amounts = array("d", (0.0,) * N_AMOUNTS)  # the running amounts above (exact size)
        self.active_days = 0
        self.excluded_until: int | None = None  # NO_TIME-free: None means not excluded
        self.consent: bool | None = None
        # Pending training examples, packed by `pitboss.operators.feature_pack` (float32, zeros
        # as a bitmap) to keep state small.
        self.churn_point: bytes | None = None
        self.churn_point_ts = NO_TIME
        self.fraud_point: bytes | None = None
        self.fraud_point_ts = NO_TIME
        # Inactivity checkpoints waiting for their churn label: (checkpoint time, packed
        # features) pairs, oldest first, or None (pitboss.operators.labels).
        self.quiet_points: list[tuple[int, bytes]] | None = None
        self.flags = 0  # label and timer bits (`FLAGS` above)
        self.wake_ms = NO_TIME  # due time of the player's entry in the shard's timer heap

    def __getstate__(self) -> tuple[object, ...]:
        return _SLOT_VALUES(self)

    def __setstate__(self, state: tuple[object, ...]) -> None:
        missing = len(PlayerState.__slots__) - len(state)
        names = (PlayerState.__slots__, _FORMAT_4, _FORMAT_3)[missing]
        for name, value in zip(names, state, strict=True):
            setattr(self, name, value)
        if names is _FORMAT_3:
            self.open_stakes = None
        if names is not PlayerState.__slots__:  # before format 5: no inactivity checkpoints
            self.quiet_points = None
            if self.flags & _FORMATS_3_4_INACTIVITY_DONE:  # its one inactivity point: the first
                self.flags = (self.flags & ~_FORMATS_3_4_INACTIVITY_DONE) | (1 << CHECKPOINT_SHIFT)
        if len(self.amounts) < N_AMOUNTS:  # before format 7: baselines, rhythm, chart start empty
            self.amounts = self.amounts + array("d", (0.0,) * (N_AMOUNTS - len(self.amounts)))
        self.jurisdiction = sys.intern(self.jurisdiction)  # one string per code again


_FORMAT_4 = tuple(name for name in PlayerState.__slots__ if name != "quiet_points")
"""The slots of a player's state as state format 4 pickled it (no `quiet_points`)."""
_FORMAT_3 = tuple(name for name in _FORMAT_4 if name != "open_stakes")
"""The slots of a player's state as state formats 2 and 3 pickled it (no `open_stakes`)."""
_SLOT_VALUES = attrgetter(*PlayerState.__slots__)
"""Every slot's value in `__slots__` order, read in one C call: a live worker pickles every
player of a shard at each epoch end, and a loop of `getattr` was a quarter of that."""
