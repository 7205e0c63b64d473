"""Per-player features in event time: the markers of harm, fraud, value and churn signals.

`FeatureEngine.apply` folds one validated event into a `PlayerState`;
`FeatureEngine.snapshot` reads the player's features at an event time. Each
feature's definition is in docs/features.md; names end in the window they cover
(`_1h`, `_24h`, `_7d`, see `pitboss.operators.panes` for the exact window rule). The
names and their columns are in `pitboss.operators.feature_schema`.

Example:
    >>> from pitboss.config.settings import load_settings
    >>> from pitboss.operators.events import Bet
    >>> from pitboss.operators.feature_schema import FEATURE_INDEX
    >>> engine = FeatureEngine.from_settings(load_settings().features)
    >>> state = engine.new_state("p1", "UK")
    >>> bet = Bet("e1", "bet", "p1", 1_767_268_800_000, "UK", None, 10.0, "EUR", 10.0,
    ...           "g1", "slot", None, 4.0, 0.0, None)
    >>> _ = engine.apply(state, bet)
    >>> row = engine.snapshot(state, bet.ts_ms)
    >>> row[FEATURE_INDEX["net_loss_1h"]], row[FEATURE_INDEX["theo_win_24h"]]
    (6.0, 0.4)
"""

from __future__ import annotations

import math
import sys
from array import array
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING
from zlib import crc32

from pitboss.operators import player_state as m
from pitboss.operators.baselines import Baselines
from pitboss.operators.events import (
    Bet,
    BetSettled,
    BonusClaim,
    Consent,
    Deposit,
    Event,
    LimitSet,
    SelfExclusion,
    SessionEnd,
    SessionStart,
    Withdrawal,
)
from pitboss.operators.local_time import NightClock
from pitboss.operators.panes import DAY_MS
from pitboss.operators.player_state import NO_TIME, PlayerState
from pitboss.operators.stake_shift import StakeShift
from pitboss.operators.visit_rhythm import VisitRhythm

if TYPE_CHECKING:
    from pitboss.config.settings import FeatureSettings

INDEFINITE_MS = 2**62

_LIMIT_USAGE = {"deposit": m.DEPOSIT_AMOUNT, "wager": m.STAKE}
_PERIOD_WINDOW = {"day": 1, "week": 2}
_MONTH_AMOUNT = {"deposit": m.MONTH_DEPOSITS, "loss": m.MONTH_LOSS, "wager": m.MONTH_WAGER}


@lru_cache(maxsize=512)
def calendar_month(day: int) -> int:
    """Return the UTC calendar month (year * 12 + month - 1) of an epoch day number."""
    date = datetime.fromtimestamp(day * 86_400, tz=UTC)
    return date.year * 12 + date.month - 1


def _ratio(num: float, den: float, default: float = 0.0) -> float:
    return num / den if den > 0 else default


INSTRUMENT, DEVICE = 0, 1  # kinds of tracked ids, kept in the lowest bit of the fingerprint


def _track(tracked: array | None, kind: int, key: str, ts_ms: int) -> array:
    """Remember that the `kind` id `key` was used at `ts_ms`; keep the most recent few of each kind.

    `tracked` holds `(fingerprint, last_seen)` pairs side by side, payment instruments
    and devices in one array (a fingerprint's lowest bit is its kind), or is None
    when empty.
    """
    h = (_hash64(key) & ~1) | kind
    if tracked is None:
        return array("q", (h, ts_ms))
    for i in range(0, len(tracked), 2):
        if tracked[i] == h:
            tracked[i + 1] = max(tracked[i + 1], ts_ms)
            return tracked
    same_kind = [i for i in range(0, len(tracked), 2) if tracked[i] & 1 == kind]
    if len(same_kind) >= m.MAX_TRACKED_IDS:
        oldest = min(same_kind, key=lambda i: tracked[i + 1])
        del tracked[oldest : oldest + 2]
    return tracked + array("q", (h, ts_ms))  # a new array of the exact size


def _used_since(tracked: array | None, kind: int, since_ms: int) -> float:
    """Return how many tracked ids of `kind` were last used after `since_ms`."""
    if tracked is None:
        return 0.0
    return float(sum(1 for i in range(0, len(tracked), 2)
                     if tracked[i] & 1 == kind and tracked[i + 1] > since_ms))


def _hash64(text: str) -> int:
    """Return a stable signed 64-bit fingerprint of `text` (not Python's salted `hash`).

    Two CRC-32s with different seeds: fast, stable across processes and restarts, and
    with a collision chance far below one in a billion among the few ids a player
    keeps at a time.
    """
    data = text.encode("utf-8", "surrogatepass")
    return (crc32(data) << 31) ^ crc32(data, 0x9E3779B9)


event_hash = _hash64  # the fingerprint used to recognise a repeated `event_id`


def _session_slope(n: int, sum_y: float, sum_xy: float) -> float:
    """Least-squares slope of stake against bet number 1..n, from running sums.

    With x = 1..n, sum x = n(n+1)/2 and sum x^2 = n(n+1)(2n+1)/6 need not be stored.
    """
    if n < 2:
        return 0.0
    sum_x = n * (n + 1) / 2
    sum_xx = n * (n + 1) * (2 * n + 1) / 6
    return (n * sum_xy - sum_x * sum_y) / (n * sum_xx - sum_x * sum_x)


class FeatureEngine:
    """Rules that turn a player's events into features; holds configuration, no player state.

    Args:
        house_edge: game type to house edge (theoretical win = stake x edge).
        night: the local-night clock.
        session_timeout_ms: a session with no activity for this long is closed.
        baselines: the player's own baselines (stake spread for loss chasing, usual
            session length and deposits per session); the defaults when None.
        rhythm: how the player's usual and recent gaps between visits are averaged; the
            defaults when None.
        stake_shift: the chart of a sustained shift of the player's stakes; the defaults
            when None.
    """

    def __init__(
        self, house_edge: Mapping[str, float], night: NightClock, session_timeout_ms: int,
        baselines: Baselines | None = None,
        rhythm: VisitRhythm | None = None,
        stake_shift: StakeShift | None = None,
    ) -> None:
        self.house_edge = dict(house_edge)
        self.night = night
        self.session_timeout_ms = session_timeout_ms
        self.baselines = baselines if baselines is not None else Baselines()
        self.rhythm = rhythm or VisitRhythm()
        self.stake_shift = stake_shift or StakeShift()

    @classmethod
    def from_settings(cls, settings: FeatureSettings) -> FeatureEngine:
        """Build the engine from the `[features]` configuration."""
        night = NightClock(settings.timezones, settings.night_start_hour, settings.night_end_hour)
        baselines = Baselines(settings.chase_gap_s * 1000, settings.chase_stake_spreads,
                              settings.stake_baseline_bets, settings.session_baseline_sessions)
        rhythm = VisitRhythm(settings.visit_gap_prior_days * DAY_MS, settings.usual_gap_visits,
                             settings.recent_gap_visits)
        return cls(settings.house_edge, night, settings.session_timeout_s * 1000, baselines,
                   rhythm)

    def new_state(self, player_id: str, jurisdiction: str) -> PlayerState:
        """Return the empty state of a player seen for the first time."""
        return PlayerState(player_id, jurisdiction)

    # -- applying events -------------------------------------------------------------

    def apply(self, state: PlayerState, event: Event) -> str | None:
        """Fold `event` into `state`.

        Returns:
            The snapshot trigger the event causes (`session_end`) or None. An open
            session closed by a new `session_start` is reported as `session_end` too.
        """
        ts = event.ts_ms
        if state.first_ts == NO_TIME:
            state.first_ts = ts
        if event.jurisdiction != state.jurisdiction:
            state.jurisdiction = sys.intern(event.jurisdiction)
        trigger = None
        if isinstance(event, Bet):
            self._bet(state, event)
        elif isinstance(event, BetSettled):
            self._settled(state, event)
        elif isinstance(event, Deposit):
            self._deposit(state, event)
        elif isinstance(event, Withdrawal):
            self._withdrawal(state, event)
        elif isinstance(event, BonusClaim):
            state.panes.add(ts, m.BONUS_CLAIMS, 1.0, state.max_ts)
            self._active(state, ts)
        elif isinstance(event, SessionStart):
            trigger = self._session_start(state, event)
        elif isinstance(event, SessionEnd):
            trigger = self._session_end(state, event)
        elif isinstance(event, LimitSet):
            state.limits = dict(state.limits or {})
            state.limits[f"{event.limit_type}:{event.period}"] = event.amount
        elif isinstance(event, SelfExclusion):
            state.excluded_until = INDEFINITE_MS if event.until_ms is None else event.until_ms
        elif isinstance(event, Consent):
            state.consent = event.marketing
        if ts > state.max_ts:
            state.max_ts = ts
        return trigger

    def _active(self, state: PlayerState, ts: int) -> None:
        if ts > state.last_active_ts:
            if ts // DAY_MS > state.last_active_ts // DAY_MS:  # the first activity of a day
                state.active_days += 1
                if state.last_active_ts != NO_TIME:
                    self.rhythm.add_gap(state.amounts, ts - state.last_active_ts)
            state.last_active_ts = ts
        if state.session_id is not None and ts > state.session_last:
            state.session_last = ts

    def _month_usage(self, state: PlayerState, ts: int) -> array:
        """Return the player's running amounts, the month's reset if `ts` starts a new month."""
        month = calendar_month(ts // DAY_MS)
        amounts = state.amounts
        if month > state.month:
            state.month = month
            amounts[m.MONTH_DEPOSITS] = amounts[m.MONTH_LOSS] = amounts[m.MONTH_WAGER] = 0.0
        return amounts

    def _bet(self, state: PlayerState, bet: Bet) -> None:
        ts, stake = bet.ts_ms, bet.stake_base
        if state.session_id is None:
            self._open_session(state, bet.session_id or "", ts)
        in_order = ts >= state.last_bet_ts
        baselines = self.baselines
        chase = (
            in_order
            and state.last_bet_lost
            and ts - state.last_bet_ts <= baselines.chase_gap_ms
            and baselines.is_chase(state.amounts, stake)
        )
        baselines.add_stake(state.amounts, stake)
        self.stake_shift.add_stake(state.amounts, stake)
        payout = bet.payout_base
        state.panes.add_bet(
            ts,
            state.max_ts,
            stake,
            payout or 0.0,
            stake * self.house_edge.get(bet.game_type, 0.0),
            bet.bonus_stake_base,
            self.night.is_night(bet.jurisdiction, ts),
            chase,
        )
        amounts = self._month_usage(state, ts)
        amounts[m.MONTH_WAGER] += stake
        amounts[m.MONTH_LOSS] += stake - (payout or 0.0)
        if in_order:
            state.last_bet_ts = ts
            amounts[m.LAST_BET_STAKE] = stake
            state.last_bet_lost = payout is not None and payout < stake
        if payout is None and bet.bet_id:
            _keep_open_stake(state, bet.bet_id, stake)
        state.session_bets += 1
        amounts[m.SESSION_STAKE] += stake
        amounts[m.SESSION_XY] += state.session_bets * stake
        self._active(state, ts)

    def _settled(self, state: PlayerState, event: BetSettled) -> None:
        state.panes.add(event.ts_ms, m.PAYOUT, event.payout_base, state.max_ts)
        self._month_usage(state, event.ts_ms)[m.MONTH_LOSS] -= event.payout_base
        stake = state.open_stakes.pop(event.bet_id, None) if state.open_stakes else None
        if stake is not None and event.payout_base < stake and event.ts_ms >= state.last_bet_ts:
            # The loss is known from now: a raised stake soon after it is chasing.
            state.last_bet_ts = event.ts_ms
            state.amounts[m.LAST_BET_STAKE] = stake
            state.last_bet_lost = True

    def _deposit(self, state: PlayerState, dep: Deposit) -> None:
        ts = dep.ts_ms
        if dep.status == "approved":
            state.panes.add_many(ts, {m.DEPOSITS: 1.0, m.DEPOSIT_AMOUNT: dep.amount_base},
                                 state.max_ts)
            amounts = self._month_usage(state, ts)
            amounts[m.MONTH_DEPOSITS] += dep.amount_base
            amounts[m.SESSION_DEPOSITS] += 1.0
        else:
            state.panes.add(ts, m.DECLINED, 1.0, state.max_ts)
        if dep.instrument_id:
            state.tracked_ids = _track(state.tracked_ids, INSTRUMENT, dep.instrument_id, ts)
        if dep.device_id:
            state.tracked_ids = _track(state.tracked_ids, DEVICE, dep.device_id, ts)
        self._active(state, ts)

    def _withdrawal(self, state: PlayerState, wd: Withdrawal) -> None:
        if wd.status == "requested":
            state.panes.add_many(wd.ts_ms, {m.WD_REQUESTED: 1.0, m.WD_AMOUNT: wd.amount_base},
                                 state.max_ts)
        elif wd.status == "completed":
            state.panes.add(wd.ts_ms, m.WD_COMPLETED, 1.0, state.max_ts)
        else:
            state.panes.add(wd.ts_ms, m.WD_CANCELLED, 1.0, state.max_ts)
        self._active(state, wd.ts_ms)

    # -- sessions --------------------------------------------------------------------

    def _open_session(self, state: PlayerState, session_id: str, ts: int) -> None:
        state.session_id = session_id
        state.session_start = ts
        state.session_last = ts
        state.session_bets = 0
        amounts = state.amounts
        amounts[m.SESSION_STAKE] = amounts[m.SESSION_XY] = amounts[m.SESSION_DEPOSITS] = 0.0
        amounts[m.SCORED_BETS] = 0.0
        amounts[m.SCORED_MS] = float(ts)
        state.panes.add(ts, m.SESSIONS, 1.0, state.max_ts)

    def close_session(self, state: PlayerState, end_ms: int) -> None:
        """Close the open session at `end_ms`, adding its length to time on site.

        The closed session's start, end and bets stay in the state: the `session_*`
        features describe the open session, or else the last one.
        """
        if state.session_id is None:
            return
        state.session_last = max(state.session_last, end_ms)
        seconds = max(0, end_ms - state.session_start) / 1000.0
        state.panes.add(end_ms, m.SESSION_SECONDS, seconds, max(state.max_ts, end_ms))
        self.baselines.add_session(state.amounts, seconds / 60.0)
        state.session_id = None

    def _session_start(self, state: PlayerState, event: SessionStart) -> str | None:
        trigger = None
        if state.session_id is not None and event.ts_ms >= state.session_start:
            self.close_session(state, state.session_last)
            trigger = "session_end"
        if state.session_id is None:
            self._open_session(state, event.session_id, event.ts_ms)
        if event.device_id:
            state.tracked_ids = _track(state.tracked_ids, DEVICE, event.device_id,
                                       event.ts_ms)
        self._active(state, event.ts_ms)
        return trigger

    def _session_end(self, state: PlayerState, event: SessionEnd) -> str | None:
        if state.session_id is None or event.ts_ms < state.session_start:
            return None
        self._active(state, event.ts_ms)
        self.close_session(state, event.ts_ms)
        return "session_end"

    def session_due_ms(self, state: PlayerState) -> int | None:
        """Return when the open session times out, or None without an open session."""
        if state.session_id is None:
            return None
        return state.session_last + self.session_timeout_ms

    # -- reading features ------------------------------------------------------------

    def snapshot(self, state: PlayerState, now_ms: int) -> tuple[float, ...]:
        """Return the player's features at event time `now_ms`, in `FEATURE_NAMES` order."""
        row: list[float] = []
        windows = state.panes.windows_at(now_ms)
        open_start = state.session_start if state.session_id is not None else NO_TIME
        for w, sums in enumerate(windows):
            row.extend(self._window_features(state, sums, w, now_ms, open_start))
        row.extend(self._player_features(state, windows, now_ms))
        return tuple(row)

    def _window_features(
        self, state: PlayerState, s: list[float], window: int, now_ms: int, open_start: int
    ) -> list[float]:
        bets, stake = s[m.BETS], s[m.STAKE]
        mean = _ratio(stake, bets)
        var = max(0.0, _ratio(s[m.STAKE_SQ], bets) - mean * mean)
        std = math.sqrt(var)
        length = (3_600_000, 86_400_000, 7 * 86_400_000)[window]
        seconds = s[m.SESSION_SECONDS]
        if open_start != NO_TIME:
            seconds += max(0, now_ms - max(open_start, now_ms - length)) / 1000.0
        since = now_ms - length
        return [
            bets,
            stake,
            stake - s[m.PAYOUT],
            mean,
            std,
            _ratio(std, mean),
            _ratio(s[m.NIGHT_BETS], bets),
            _ratio(s[m.CHASE_BETS], bets),
            _ratio(s[m.BONUS_STAKE], stake),
            s[m.THEO],
            s[m.SESSIONS],
            seconds / 60.0,
            s[m.DEPOSITS],
            s[m.DEPOSIT_AMOUNT],
            s[m.DECLINED],
            s[m.WD_REQUESTED],
            s[m.WD_COMPLETED],
            s[m.WD_CANCELLED],
            s[m.WD_AMOUNT],
            s[m.BONUS_CLAIMS],
            _used_since(state.tracked_ids, INSTRUMENT, since),
            _used_since(state.tracked_ids, DEVICE, since),
        ]

    def _player_features(
        self, state: PlayerState, windows: list[list[float]], now_ms: int
    ) -> list[float]:
        life = state.panes.lifetime_sums()
        day, week = windows[1], windows[2]
        base_bets = life[m.BETS] - day[m.BETS]
        base_stake = life[m.STAKE] - day[m.STAKE]
        escalation = (
            _ratio(_ratio(day[m.STAKE], day[m.BETS]), _ratio(base_stake, base_bets), 1.0)
            if base_bets > 0 and day[m.BETS] > 0
            else 1.0
        )
        headroom, at_limit = self._limit_headroom(state, windows)
        session_slope = _session_slope(state.session_bets, state.amounts[m.SESSION_STAKE],
                                       state.amounts[m.SESSION_XY])
        session_known = state.session_start != NO_TIME
        session_minutes = ((state.session_last - state.session_start) / 60_000.0
                           if session_known else 0.0)
        idle = now_ms - state.last_active_ts if state.last_active_ts != NO_TIME else 0
        usual, recent = self.rhythm.gaps_ms(state.amounts)
        excluded = state.excluded_until is not None and state.excluded_until > now_ms
        return [
            float(state.session_bets),
            state.amounts[m.SESSION_STAKE],
            session_minutes,
            session_slope,
            escalation,
            float(len(state.limits or ())),
            headroom,
            1.0 if at_limit else 0.0,
            idle / 60_000.0,
            float(state.panes.active_days(now_ms, 2)),
            week[m.DEPOSIT_AMOUNT] - week[m.WD_AMOUNT],
            life[m.THEO],
            float(state.active_days),
            _ratio(life[m.THEO], state.active_days),
            life[m.BETS],
            life[m.STAKE],
            life[m.STAKE] - life[m.PAYOUT],
            (now_ms - state.first_ts) / DAY_MS if state.first_ts != NO_TIME else 0.0,
            1.0 if excluded else 0.0,
            -1.0 if state.consent is None else float(state.consent),
            *self.baselines.session_ratios(state.amounts, session_minutes),
            state.amounts[m.BASELINE_SESSIONS],
            usual / DAY_MS,
            idle / usual,
            usual / recent,
            self.rhythm.quiet_spreads(state.amounts, idle),
            self.stake_shift.shift(state.amounts),
        ]

    def at_limit(self, state: PlayerState, now_ms: int) -> bool:
        """Return whether a money limit of the player is used up at `now_ms`."""
        return self._limit_headroom(state, state.panes.windows_at(now_ms))[1]

    def _limit_headroom(
        self, state: PlayerState, windows: list[list[float]]
    ) -> tuple[float, bool]:
        """Return the smallest remaining share of any money limit, and whether one is reached."""
        if not state.limits:
            return 1.0, False
        smallest = 1.0
        for key, amount in state.limits.items():
            kind, period = key.split(":", 1)
            if kind == "time":
                continue
            if period == "month":
                used = state.amounts[_MONTH_AMOUNT[kind]]
            else:
                s = windows[_PERIOD_WINDOW[period]]
                used = s[m.STAKE] - s[m.PAYOUT] if kind == "loss" else s[_LIMIT_USAGE[kind]]
            smallest = min(smallest, (amount - used) / amount)
        return smallest, smallest <= 0.0


def _keep_open_stake(state: PlayerState, bet_id: str, stake: float) -> None:
    """Remember an unsettled bet's stake until its `bet_settled` (the oldest go beyond a cap)."""
    stakes = state.open_stakes
    if stakes is None:
        stakes = state.open_stakes = {}
    stakes[bet_id] = stake
    if len(stakes) > m.MAX_OPEN_BETS:
        del stakes[next(iter(stakes))]
