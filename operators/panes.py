"""Sparse tumbling panes of per-player metrics, folded from fine to coarse as they age.

A player's activity is summed into panes of event time: 10-minute panes for the
1-hour window, hourly panes for the 24-hour window and daily panes for the
7-day window. A pane that falls out of its window is folded into the next
coarser level, and a daily pane older than 7 days into the long-horizon totals,
so state stays bounded however long the player plays. Only panes with activity
are stored (sparse), all levels of a player in one compact `array`, and within a
pane only the metrics that ever held a non-zero value (a bet pane rarely has
withdrawals).

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
from functools import lru_cache

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS

# (pane size, panes per window) for the 1h, 24h and 7d windows, finest first (their names:
# pitboss.operators.feature_schema.WINDOW_NAMES).
LEVELS: tuple[tuple[int, int], ...] = ((10 * MINUTE_MS, 6), (HOUR_MS, 24), (DAY_MS, 7))
FINE_MS = LEVELS[0][0]
TOTALS = len(LEVELS)  # the long-horizon totals, stored as one more (coarsest) level

# A stored pane is a record `[v..., mask, key]`: the values of the metrics whose bits
# are set in `mask`, in metric order, then the mask, then a key that says both the
# pane's level and its index: key = _BASE[level] + index. Each level owns a key range
# of width _SPAN, coarsest lowest, so one array sorted by key holds the totals first,
# then the daily, hourly and 10-minute panes, and ends with the key of the newest
# 10-minute pane, where nearly every event lands. Records are read from the end.
# Keys and masks stay exact as floats: pane indexes lie within +-2**39 (ten million
# years of 10-minute panes either side of 1970), keys below 2**53.
_SPAN = 2**40
_HALF = _SPAN // 2
_BASE: tuple[int, ...] = tuple((TOTALS - level) * _SPAN for level in range(TOTALS + 1))
_SIZE: tuple[int, ...] = (*(size for size, _ in LEVELS), 1)
_FINE_BASE = _BASE[0]

BET_METRICS = (0, 1, 2, 3, 4, 5, 6, 7)
"""The metric numbers `PaneLevels.add_bet` writes, in record order: the five every bet adds
to, then a night bet, a bonus stake and a chase. `add_bet` finds them by position, so they
are the first eight metrics; `pitboss.operators.player_state` takes its numbers of BETS ..
CHASE_BETS from here."""
_BET_CORE = sum(1 << metric for metric in BET_METRICS[:5])  # BETS, STAKE, STAKE_SQ, PAYOUT, THEO
_NIGHT, _BONUS, _CHASE = (1 << metric for metric in BET_METRICS[5:])


def _level_of(key: int) -> int:
    """Return the level (0: 10-minute panes ... TOTALS) a record key belongs to."""
    return TOTALS - (key + _HALF) // _SPAN


@lru_cache(maxsize=4096)
def _metrics_of(mask: int) -> tuple[int, ...]:
    """Return the metric numbers whose bits are set in `mask`, in order."""
    return tuple(i for i in range(mask.bit_length()) if mask >> i & 1)


class PaneLevels:
    """Three levels of sparse panes plus long-horizon totals for one player.

    All panes live in one flat `array("d")` of records `[v..., mask, key]` sorted by
    key (see `_BASE`): a pane stores only the metrics that were ever given a non-zero
    value, which is what makes it sparse twice over (a bet pane of 18 metrics stores
    about 6). A metric that is not stored reads as 0.0, and adding 0.0 to a sum leaves
    it unchanged, so the sums are exactly those of dense panes. The array is created
    with the first pane and rebuilt at its exact size when a pane or a metric is
    added or removed (a few times an hour), so it carries no spare capacity.

    Args:
        n_metrics: how many float metrics each pane holds.
    """

    __slots__ = ("n_metrics", "vals")

    def __init__(self, n_metrics: int) -> None:
        self.n_metrics = n_metrics
        self.vals: array | None = None

    def __getstate__(self) -> tuple[int, array | None]:
        return (self.n_metrics, self.vals)

    def __setstate__(self, state: tuple[int, array | None]) -> None:
        self.n_metrics, self.vals = state

    # -- finding and changing records ----------------------------------------------------

    def _locate(self, level: int, pane: int) -> int:
        """Return the end offset of the level's `pane` record, creating it (empty) if absent."""
        key = _BASE[level] + pane
        vals = self.vals
        if vals is None:
            self.vals = array("d", (0.0, key))
            return 2
        end = len(vals)
        while end and vals[end - 1] > key:  # search from the newest end: new panes are newest
            end -= 2 + int(vals[end - 2]).bit_count()
        if end and vals[end - 1] == key:
            return end
        self.vals = vals[:end] + array("d", (0.0, key)) + vals[end:]  # exact size
        return end + 2

    def _add_at(self, end: int, metric: int, value: float) -> int:
        """Add `value` to `metric` of the record ending at `end`; return its (new) end."""
        vals = self.vals
        assert vals is not None
        mask = int(vals[end - 2])
        at = end - 2 - (mask >> metric).bit_count()  # where the metric is, or goes
        if mask >> metric & 1:
            vals[at] += value
            return end
        if value == 0.0:
            return end  # an absent metric reads 0.0 already
        self.vals = vals = vals[:at] + array("d", (0.0 + value,)) + vals[at:]
        vals[end - 1] = mask | 1 << metric
        return end + 1

    def _ensure(self, end: int, metrics: int) -> int:
        """Store every metric in the bit set `metrics` in the record ending at `end` (new: 0.0)."""
        vals = self.vals
        assert vals is not None
        mask = int(vals[end - 2])
        if mask & metrics == metrics:
            return end
        start = end - 2 - mask.bit_count()
        dense = dict(zip(_metrics_of(mask), vals[start : end - 2], strict=True))
        merged = mask | metrics
        record = array("d", [dense.get(i, 0.0) for i in _metrics_of(merged)])
        record.extend((merged, vals[end - 1]))
        self.vals = vals[:start] + record + vals[end:]
        return start + len(record)

    def _level_for(self, ts_ms: int, now_ms: int) -> int:
        """Return the finest level whose window still holds `ts_ms` at `now_ms` (3: totals)."""
        for level, (size, count) in enumerate(LEVELS):
            if ts_ms // size > now_ms // size - count:
                return level
        return TOTALS

    def _target(self, ts_ms: int, now_ms: int | None) -> int:
        """Return the end offset of the record that an event at `ts_ms` adds to."""
        if now_ms is None or now_ms <= ts_ms:
            vals = self.vals  # the usual case: the newest 10-minute pane, last in the array
            if vals is not None and vals[-1] == _FINE_BASE + ts_ms // FINE_MS:
                return len(vals)
            return self._locate(0, ts_ms // FINE_MS)
        level = self._level_for(ts_ms, now_ms)
        return self._locate(level, ts_ms // _SIZE[level] if level < TOTALS else 0)

    # -- adding ------------------------------------------------------------------------

    def add(self, ts_ms: int, metric: int, value: float, now_ms: int | None = None) -> None:
        """Add `value` to `metric` in the pane holding `ts_ms`.

        `now_ms` is the player's latest event time (defaults to `ts_ms`); an event older
        than the finest window lands directly in the coarser pane that still holds it.
        """
        self._add_at(self._target(ts_ms, now_ms), metric, value)

    def add_many(self, ts_ms: int, values: dict[int, float], now_ms: int) -> None:
        """Add several metrics at once to the pane holding `ts_ms`."""
        end = self._target(ts_ms, now_ms)
        for metric, value in values.items():
            end = self._add_at(end, metric, value)

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
        """Add one bet's metrics (the hot path: no per-bet dict, the first five in place)."""
        # Metric numbers are `BET_METRICS`: BETS, STAKE, STAKE_SQ, PAYOUT and THEO (0-4,
        # stored together at the start of the record), then NIGHT_BETS, BONUS_STAKE and
        # CHASE_BETS (5-7).
        vals = self.vals
        if vals is not None and now_ms <= ts_ms and vals[-1] == _FINE_BASE + ts_ms // FINE_MS:
            end = len(vals)  # the usual case (`_target` inline): the newest 10-minute pane
        else:
            end = self._target(ts_ms, now_ms)
            vals = self.vals
            assert vals is not None
        mask = int(vals[end - 2])
        if (mask & _BET_CORE != _BET_CORE or (night and not mask & _NIGHT)
                or (bonus_stake and not mask & _BONUS) or (chase and not mask & _CHASE)):
            # The pane's first bet, or its first of a kind; adding 0.0 changes nothing, so
            # such metrics need no room.
            wanted = _BET_CORE | (_NIGHT if night else 0) | (_BONUS if bonus_stake else 0) | (
                _CHASE if chase else 0)
            end = self._ensure(end, wanted)
            vals = self.vals
            assert vals is not None
            mask = int(vals[end - 2])
        at = end - 2 - mask.bit_count()
        vals[at] += 1.0
        vals[at + 1] += stake
        vals[at + 2] += stake * stake
        vals[at + 3] += payout
        vals[at + 4] += theo
        at += 5
        if mask & _NIGHT:
            if night:
                vals[at] += 1.0
            at += 1
        if mask & _BONUS:
            if bonus_stake:
                vals[at] += bonus_stake
            at += 1
        if chase:
            vals[at] += 1.0

    # -- folding -----------------------------------------------------------------------

    def fold(self, now_ms: int) -> None:
        """Move panes that left their window at `now_ms` into the next coarser level."""
        for level, (size, count) in enumerate(LEVELS):
            cut = _BASE[level] + now_ms // size - count  # the newest key that left the window
            data, records = self._walk()
            leaving = [r for r in records if _level_of(r[0]) == level and r[0] <= cut]
            if not leaving:
                continue
            start, stop = leaving[-1][2], leaving[0][3] + 2  # oldest's values to newest's key
            vals = self.vals
            assert vals is not None
            self.vals = (vals[:start] + vals[stop:]) or None
            for key, mask, first, last in reversed(leaving):  # oldest first
                pane = key - _BASE[level]
                self._fold_pane(level, pane * size, mask, data[first:last])

    def _fold_pane(self, level: int, start_ms: int, mask: int, values: list[float]) -> None:
        coarser = level + 1
        end = self._locate(coarser, start_ms // _SIZE[coarser] if coarser < TOTALS else 0)
        for metric, value in zip(_metrics_of(mask), values, strict=True):
            end = self._add_at(end, metric, value)

    # -- reading -----------------------------------------------------------------------

    def _add_recent(self, sums: list[float], level: int, size: int, first: int) -> None:
        """Add the level's panes to `sums`, newest first, while they start in pane >= `first`."""
        data, records = self._walk()
        lsize, key_base = LEVELS[level][0], _BASE[level]
        for key, mask, start, stop in records:
            if _level_of(key) != level:
                continue
            if ((key - key_base) * lsize) // size < first:
                break
            for metric, value in zip(_metrics_of(mask), data[start:stop], strict=True):
                sums[metric] += value

    def window_sums(self, now_ms: int, window: int) -> list[float]:
        """Return the metric sums of window `window` (0: 1h, 1: 24h, 2: 7d) at `now_ms`."""
        size, count = LEVELS[window]
        first = now_ms // size - count + 1
        sums = [0.0] * self.n_metrics
        for level in range(window + 1):
            self._add_recent(sums, level, size, first)
        return sums

    def windows_at(self, now_ms: int) -> list[list[float]]:
        """Fold to `now_ms`, then return the sums of every window, finest first.

        After the fold every pane of a level lies in that level's window, and the
        windows are nested, so each window's sums continue the finer window's: the
        same additions in the same order as `window_sums`, each pane read once, in
        one pass over the array from its newest end (10-minute panes newest first,
        then hourly, then daily).
        """
        data, records = self._walk()
        if self._must_fold(records, now_ms):
            self.fold(now_ms)
            data, records = self._walk()
        windows: list[list[float]] = []
        sums = [0.0] * self.n_metrics
        level = 0
        low = _BASE[0] - _HALF
        first_key = _BASE[0] + now_ms // FINE_MS - LEVELS[0][1] + 1
        for key, mask, start, stop in records:
            while key < low and level < TOTALS:  # past the level's records: its window is done
                windows.append(sums)
                sums = list(sums)
                level += 1
                low = _BASE[level] - _HALF
                if level < TOTALS:
                    size, count = LEVELS[level]
                    first_key = _BASE[level] + now_ms // size - count + 1
            if level == TOTALS:
                break
            if key < first_key:  # not in the window (none after the fold)
                continue
            for metric, value in zip(_metrics_of(mask), data[start:stop], strict=True):
                sums[metric] += value
        while len(windows) < len(LEVELS):
            windows.append(sums)
            sums = list(sums)
        return windows

    def _walk(self) -> tuple[list[float], list[tuple[int, int, int, int]]]:
        """Return the array as a list and `(key, mask, start, stop)` of its records, newest first.

        `data[start:stop]` are the record's stored values, in metric order.
        """
        if self.vals is None:
            return [], []
        data = self.vals.tolist()
        found = []
        end = len(data)
        while end:
            mask = int(data[end - 2])
            start = end - 2 - mask.bit_count()
            found.append((int(data[end - 1]), mask, start, end - 2))
            end = start
        return data, found

    @staticmethod
    def _must_fold(records: list[tuple[int, int, int, int]], now_ms: int) -> bool:
        """Return True when a record of `records` has left its level's window at `now_ms`."""
        cuts = [_BASE[level] + now_ms // size - count for level, (size, count) in enumerate(LEVELS)]
        for key, _, _, _ in records:
            level = _level_of(key)
            if level < TOTALS and key <= cuts[level]:
                return True
        return False

    def all_window_sums(self, now_ms: int) -> list[list[float]]:
        """Return the sums of every window, finest first."""
        return [self.window_sums(now_ms, w) for w in range(len(LEVELS))]

    def lifetime_sums(self) -> list[float]:
        """Return totals over all time: folded totals plus every live pane."""
        sums = [0.0] * self.n_metrics
        data, records = self._walk()
        by_level: list[list[tuple[int, int, int, int]]] = [[] for _ in range(TOTALS + 1)]
        for record in reversed(records):  # oldest first within each level
            by_level[_level_of(record[0])].append(record)
        for level in (TOTALS, *range(len(LEVELS))):
            for _, mask, start, stop in by_level[level]:
                for metric, value in zip(_metrics_of(mask), data[start:stop], strict=True):
                    sums[metric] += value
        return sums

    def active_days(self, now_ms: int, window: int) -> int:
        """Return how many distinct days hold a pane with any activity in the window."""
        size, count = LEVELS[window]
        first = now_ms // size - count + 1
        days = set()
        vals = self.vals
        end = len(vals) if vals is not None else 0
        while end:
            key = int(vals[end - 1])  # type: ignore[index]
            level = _level_of(key)
            if level > window:
                break  # coarser levels lie before the finer ones in the array
            pane_start = (key - _BASE[level]) * _SIZE[level]
            if pane_start // size >= first:
                days.add(pane_start // DAY_MS)
            end -= 2 + int(vals[end - 2]).bit_count()  # type: ignore[index]
        return len(days)

    def pane_count(self) -> int:
        """Return how many panes are stored (a measure of state size)."""
        return sum(1 for key, _, _, _ in self._walk()[1] if _level_of(key) < TOTALS)

    def is_empty(self) -> bool:
        """Return True when no pane is stored (only long-horizon totals remain)."""
        return self.pane_count() == 0
