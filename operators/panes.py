"""Sparse tumbling panes of per-player metrics, folded from fine to coarse as they age.

A player's activity is summed into panes of event time: 10-minute panes for the
1-hour window, hourly panes for the 24-hour window and daily panes for the
7-day window. A pane that falls out of its window is folded into the next
coarser level, and a daily pane older than 7 days into the long-horizon totals,
so state stays bounded however long the player plays. Only panes with activity
are stored (sparse), in compact `array`s.

A window of length W with pane size p at time t holds exactly the panes whose
index `ts // p` is greater than `t // p - W / p`: the current pane and the
W/p - 1 before it. This is the documented definition used by every feature.

Example:
    >>> levels = PaneLevels(n_metrics=2)
    >>> levels.add(0, 0, 1.0)          # metric 0 += 1 at t=0
    >>> levels.add(60_000, 1, 5.0)     # metric 1 += 5 at t=1 min
    >>> levels.window_sums(60_000, 0)  # 1-hour window at t=1 min
    [1.0, 5.0]
"""

from __future__ import annotations

from array import array

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS

# (pane size, panes per window) for the 1h, 24h and 7d windows, finest first.
LEVELS: tuple[tuple[int, int], ...] = ((10 * MINUTE_MS, 6), (HOUR_MS, 24), (DAY_MS, 7))
WINDOW_NAMES: tuple[str, ...] = ("1h", "24h", "7d")


class PaneLevels:
    """Three levels of sparse panes plus long-horizon totals for one player.

    Args:
        n_metrics: how many float metrics each pane holds.
    """

    __slots__ = ("_idx", "_val", "n_metrics", "totals")

    def __init__(self, n_metrics: int) -> None:
        self.n_metrics = n_metrics
        self._idx: list[array] = [array("q") for _ in LEVELS]
        self._val: list[array] = [array("d") for _ in LEVELS]
        self.totals = array("d", bytes(8 * n_metrics))

    def __getstate__(self) -> tuple[int, list[array], list[array], array]:
        return (self.n_metrics, self._idx, self._val, self.totals)

    def __setstate__(self, state: tuple[int, list[array], list[array], array]) -> None:
        self.n_metrics, self._idx, self._val, self.totals = state

    def _slot(self, level: int, pane: int) -> int:
        """Return the offset of `pane` in level `level`, creating it if missing."""
        idx = self._idx[level]
        n = len(idx)
        if n and idx[n - 1] == pane:
            return (n - 1) * self.n_metrics
        pos = n
        while pos and idx[pos - 1] > pane:
            pos -= 1
        if pos and idx[pos - 1] == pane:
            return (pos - 1) * self.n_metrics
        idx.insert(pos, pane)
        vals = self._val[level]
        off = pos * self.n_metrics
        vals[off:off] = array("d", bytes(8 * self.n_metrics))
        return off

    def _level_for(self, ts_ms: int, now_ms: int) -> int:
        """Return the finest level whose window still holds `ts_ms` at `now_ms` (3: totals)."""
        for level, (size, count) in enumerate(LEVELS):
            if ts_ms // size > now_ms // size - count:
                return level
        return len(LEVELS)

    def add(self, ts_ms: int, metric: int, value: float, now_ms: int | None = None) -> None:
        """Add `value` to `metric` in the pane holding `ts_ms`.

        `now_ms` is the player's latest event time (defaults to `ts_ms`); an event older
        than the finest window lands directly in the coarser pane that still holds it.
        """
        level = 0 if now_ms is None or now_ms <= ts_ms else self._level_for(ts_ms, now_ms)
        if level == len(LEVELS):
            self.totals[metric] += value
            return
        off = self._slot(level, ts_ms // LEVELS[level][0])
        self._val[level][off + metric] += value

    def add_many(self, ts_ms: int, values: dict[int, float], now_ms: int) -> None:
        """Add several metrics at once to the pane holding `ts_ms`."""
        level = 0 if now_ms <= ts_ms else self._level_for(ts_ms, now_ms)
        if level == len(LEVELS):
            totals = self.totals
            for metric, value in values.items():
                totals[metric] += value
            return
        off = self._slot(level, ts_ms // LEVELS[level][0])
        vals = self._val[level]
        for metric, value in values.items():
            vals[off + metric] += value

    def add_bet(
        self,
        ts_ms: int,
        now_ms: int,
        stake: float,
        payout: float,
        theo: float,
        bonus_stake: float,
        night: bool,
        chase: bool,
    ) -> None:
        """Add one bet's metrics (the hot path: no per-bet dict)."""
        # Metric offsets follow operators.player_state: BETS, STAKE, STAKE_SQ, PAYOUT,
        # NIGHT_BETS, BONUS_STAKE, THEO, CHASE_BETS.
        if now_ms <= ts_ms:
            level = 0
        else:
            level = self._level_for(ts_ms, now_ms)
        if level == len(LEVELS):
            vals, off = self.totals, 0
        else:
            off = self._slot(level, ts_ms // LEVELS[level][0])
            vals = self._val[level]
        vals[off] += 1.0
        vals[off + 1] += stake
        vals[off + 2] += stake * stake
        vals[off + 3] += payout
        if night:
            vals[off + 4] += 1.0
        vals[off + 5] += bonus_stake
        vals[off + 6] += theo
        if chase:
            vals[off + 7] += 1.0

    def fold(self, now_ms: int) -> None:
        """Move panes that left their window at `now_ms` into the next coarser level."""
        m = self.n_metrics
        for level, (size, count) in enumerate(LEVELS):
            idx = self._idx[level]
            if not idx or idx[0] > now_ms // size - count:
                continue
            cut = now_ms // size - count
            vals = self._val[level]
            k = 0
            while k < len(idx) and idx[k] <= cut:
                self._fold_pane(level, idx[k] * size, vals[k * m : (k + 1) * m])
                k += 1
            del idx[:k]
            del vals[: k * m]

    def _fold_pane(self, level: int, start_ms: int, values: array) -> None:
        if level + 1 == len(LEVELS):
            totals = self.totals
            for i, v in enumerate(values):
                totals[i] += v
            return
        off = self._slot(level + 1, start_ms // LEVELS[level + 1][0])
        vals = self._val[level + 1]
        for i, v in enumerate(values):
            vals[off + i] += v

    def window_sums(self, now_ms: int, window: int) -> list[float]:
        """Return the metric sums of window `window` (0: 1h, 1: 24h, 2: 7d) at `now_ms`."""
        size, count = LEVELS[window]
        first = now_ms // size - count + 1
        sums = [0.0] * self.n_metrics
        m = self.n_metrics
        for level in range(window + 1):
            lsize = LEVELS[level][0]
            idx = self._idx[level]
            vals = self._val[level]
            for k in range(len(idx) - 1, -1, -1):
                if (idx[k] * lsize) // size < first:
                    break
                base = k * m
                for i in range(m):
                    sums[i] += vals[base + i]
        return sums

    def all_window_sums(self, now_ms: int) -> list[list[float]]:
        """Return the sums of every window, finest first."""
        return [self.window_sums(now_ms, w) for w in range(len(LEVELS))]

    def lifetime_sums(self) -> list[float]:
        """Return totals over all time: folded totals plus every live pane."""
        sums = list(self.totals)
        m = self.n_metrics
        for vals in self._val:
            for k in range(0, len(vals), m):
                for i in range(m):
                    sums[i] += vals[k + i]
        return sums

    def active_days(self, now_ms: int, window: int) -> int:
        """Return how many distinct days hold a pane with any activity in the window."""
        size, count = LEVELS[window]
        first = now_ms // size - count + 1
        days = set()
        for level in range(window + 1):
            lsize = LEVELS[level][0]
            for pane in self._idx[level]:
                start = pane * lsize
                if start // size >= first:
                    days.add(start // DAY_MS)
        return len(days)

    def pane_count(self) -> int:
        """Return how many panes are stored (a measure of state size)."""
        return sum(len(idx) for idx in self._idx)

    def is_empty(self) -> bool:
        """Return True when no pane is stored (only long-horizon totals remain)."""
        return not any(self._idx)
