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
from operator import add

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS

# (pane size, panes per window) for the 1h, 24h and 7d windows, finest first.
LEVELS: tuple[tuple[int, int], ...] = ((10 * MINUTE_MS, 6), (HOUR_MS, 24), (DAY_MS, 7))
WINDOW_NAMES: tuple[str, ...] = ("1h", "24h", "7d")
FINE_MS = LEVELS[0][0]
_LEVEL_ATTRS = ("fine", "hourly", "daily")  # PaneLevels slots, finest first


class PaneLevels:
    """Three levels of sparse panes plus long-horizon totals for one player.

    Each level is one flat `array("d")` of panes laid out as `[index, m0, m1, ...]`
    (the pane index is stored as a float: exact far beyond any epoch), created only
    when the level first holds a pane, so an idle player costs a few pointers. Arrays
    are rebuilt at their exact size when a pane is inserted or removed (a few times an
    hour), so they carry no spare capacity.

    Args:
        n_metrics: how many float metrics each pane holds.
    """

    __slots__ = ("daily", "fine", "hourly", "n_metrics", "totals")

    def __init__(self, n_metrics: int) -> None:
        self.n_metrics = n_metrics
        self.fine: array | None = None  # 10-minute panes (1h window)
        self.hourly: array | None = None  # hourly panes (24h window)
        self.daily: array | None = None  # daily panes (7d window)
        self.totals: array | None = None

    def __getstate__(self) -> tuple[int, array | None, array | None, array | None, array | None]:
        return (self.n_metrics, self.fine, self.hourly, self.daily, self.totals)

    def __setstate__(
        self, state: tuple[int, array | None, array | None, array | None, array | None]
    ) -> None:
        self.n_metrics, self.fine, self.hourly, self.daily, self.totals = state

    def _level(self, level: int) -> array | None:
        return getattr(self, _LEVEL_ATTRS[level])

    def _set_level(self, level: int, vals: array | None) -> None:
        setattr(self, _LEVEL_ATTRS[level], vals)

    def _totals(self) -> array:
        if self.totals is None:
            self.totals = array("d", bytes(8 * self.n_metrics))
        return self.totals

    def _slot(self, level: int, pane: int) -> tuple[array, int]:
        """Return the level's array and the offset of `pane`'s first metric, creating it."""
        stride = self.n_metrics + 1
        vals = self._level(level)
        if vals is None:
            vals = array("d", bytes(8 * stride))
            vals[0] = pane
            self._set_level(level, vals)
            return vals, 1
        last = len(vals) - stride
        if vals[last] == pane:
            return vals, last + 1
        pos = len(vals) // stride
        while pos and vals[(pos - 1) * stride] > pane:
            pos -= 1
        if pos and vals[(pos - 1) * stride] == pane:
            return vals, (pos - 1) * stride + 1
        off = pos * stride
        empty = array("d", bytes(8 * stride))
        empty[0] = pane
        vals = vals[:off] + empty + vals[off:]  # a new array of exactly the needed size
        self._set_level(level, vals)
        return vals, off + 1

    def _level_for(self, ts_ms: int, now_ms: int) -> int:
        """Return the finest level whose window still holds `ts_ms` at `now_ms` (3: totals)."""
        for level, (size, count) in enumerate(LEVELS):
            if ts_ms // size > now_ms // size - count:
                return level
        return len(LEVELS)

    def _target(self, ts_ms: int, now_ms: int | None) -> tuple[array, int]:
        if now_ms is None or now_ms <= ts_ms:
            fine = self.fine  # the usual case: the newest 10-minute pane
            if fine is not None:
                last = len(fine) - self.n_metrics - 1
                if fine[last] == ts_ms // FINE_MS:
                    return fine, last + 1
            return self._slot(0, ts_ms // FINE_MS)
        level = self._level_for(ts_ms, now_ms)
        if level == len(LEVELS):
            return self._totals(), 0
        return self._slot(level, ts_ms // LEVELS[level][0])

    def add(self, ts_ms: int, metric: int, value: float, now_ms: int | None = None) -> None:
        """Add `value` to `metric` in the pane holding `ts_ms`.

        `now_ms` is the player's latest event time (defaults to `ts_ms`); an event older
        than the finest window lands directly in the coarser pane that still holds it.
        """
        vals, off = self._target(ts_ms, now_ms)
        vals[off + metric] += value

    def add_many(self, ts_ms: int, values: dict[int, float], now_ms: int) -> None:
        """Add several metrics at once to the pane holding `ts_ms`."""
        vals, off = self._target(ts_ms, now_ms)
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
        vals, off = self._target(ts_ms, now_ms)
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
        stride = self.n_metrics + 1
        for level, (size, count) in enumerate(LEVELS):
            vals = self._level(level)
            cut = now_ms // size - count
            if vals is None or vals[0] > cut:
                continue
            k = 0
            while k < len(vals) and vals[k] <= cut:
                self._fold_pane(level, int(vals[k]) * size, vals[k + 1 : k + stride])
                k += stride
            self._set_level(level, vals[k:] if k < len(vals) else None)

    def _fold_pane(self, level: int, start_ms: int, values: array) -> None:
        if level + 1 == len(LEVELS):
            target, off = self._totals(), 0
        else:
            target, off = self._slot(level + 1, start_ms // LEVELS[level + 1][0])
        for i, v in enumerate(values):
            target[off + i] += v

    def window_sums(self, now_ms: int, window: int) -> list[float]:
        """Return the metric sums of window `window` (0: 1h, 1: 24h, 2: 7d) at `now_ms`."""
        size, count = LEVELS[window]
        first = now_ms // size - count + 1
        sums = [0.0] * self.n_metrics
        for level in range(window + 1):
            sums = self._add_recent(sums, level, size, first)
        return sums

    def _add_recent(self, sums: list[float], level: int, size: int, first: int) -> list[float]:
        """Add the level's panes, newest first, while they start in window pane >= `first`."""
        vals = self._level(level)
        if vals is None:
            return sums
        stride = self.n_metrics + 1
        lsize = LEVELS[level][0]
        for base in range(len(vals) - stride, -1, -stride):
            if (int(vals[base]) * lsize) // size < first:
                break
            sums = list(map(add, sums, vals[base + 1 : base + stride]))
        return sums

    def windows_at(self, now_ms: int) -> list[list[float]]:
        """Fold to `now_ms`, then return the sums of every window, finest first.

        After the fold every pane of a level lies in that level's window, and the
        windows are nested, so each window's sums continue the finer window's: the
        same additions in the same order as `window_sums`, each pane read once.
        """
        self.fold(now_ms)
        windows = []
        sums = [0.0] * self.n_metrics
        for level, (size, count) in enumerate(LEVELS):
            sums = self._add_recent(sums, level, size, now_ms // size - count + 1)
            windows.append(sums)
        return windows

    def all_window_sums(self, now_ms: int) -> list[list[float]]:
        """Return the sums of every window, finest first."""
        return [self.window_sums(now_ms, w) for w in range(len(LEVELS))]

    def lifetime_sums(self) -> list[float]:
        """Return totals over all time: folded totals plus every live pane."""
        stride = self.n_metrics + 1
        sums = list(self.totals) if self.totals is not None else [0.0] * self.n_metrics
        for level in range(len(LEVELS)):
            vals = self._level(level)
            if vals is None:
                continue
            for base in range(0, len(vals), stride):
                sums = list(map(add, sums, vals[base + 1 : base + stride]))
        return sums

    def active_days(self, now_ms: int, window: int) -> int:
        """Return how many distinct days hold a pane with any activity in the window."""
        size, count = LEVELS[window]
        first = now_ms // size - count + 1
        stride = self.n_metrics + 1
        days = set()
        for level in range(window + 1):
            vals = self._level(level)
            if vals is None:
                continue
            lsize = LEVELS[level][0]
            for base in range(0, len(vals), stride):
                start = int(vals[base]) * lsize
                if start // size >= first:
                    days.add(start // DAY_MS)
        return len(days)

    def pane_count(self) -> int:
        """Return how many panes are stored (a measure of state size)."""
        stride = self.n_metrics + 1
        levels = (self._level(level) for level in range(len(LEVELS)))
        return sum(len(v) // stride for v in levels if v is not None)

    def is_empty(self) -> bool:
        """Return True when no pane is stored (only long-horizon totals remain)."""
        return self.fine is None and self.hourly is None and self.daily is None
