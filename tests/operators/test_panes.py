from hypothesis import given
from hypothesis import strategies as st

from pitboss.operators import player_state as m
from pitboss.operators.panes import DAY_MS, HOUR_MS, MINUTE_MS, PaneLevels


def test_window_rule_is_current_pane_and_the_ones_before_it() -> None:
    levels = PaneLevels(1)
    t = 100 * DAY_MS
    levels.add(t - 45 * MINUTE_MS, 0, 1.0, t)  # pane t//10min - 5: the oldest of the 1h window
    levels.add(t - 55 * MINUTE_MS, 0, 10.0, t)  # pane - 6: just outside it
    levels.add(t - 23 * HOUR_MS, 0, 100.0, t)
    levels.add(t - 6 * DAY_MS, 0, 1000.0, t)
    levels.add(t - 8 * DAY_MS, 0, 10000.0, t)
    assert levels.window_sums(t, 0) == [1.0]
    assert levels.window_sums(t, 1) == [111.0]
    assert levels.window_sums(t, 2) == [1111.0]
    assert levels.lifetime_sums() == [11111.0]


def test_folding_keeps_window_sums_and_bounds_state() -> None:
    levels = PaneLevels(2)
    t = 10 * DAY_MS
    for minute in range(0, 3 * 24 * 60, 7):
        levels.add(t + minute * MINUTE_MS, minute % 2, 1.0)
    now = t + 3 * DAY_MS
    before = [levels.window_sums(now, w) for w in range(3)]
    levels.fold(now)
    assert [levels.window_sums(now, w) for w in range(3)] == before
    assert levels.pane_count() <= 6 + 24 + 7
    lifetime = levels.lifetime_sums()
    levels.fold(now + 30 * DAY_MS)
    assert levels.is_empty()
    assert levels.lifetime_sums() == lifetime


@given(st.lists(st.tuples(st.integers(0, 20 * DAY_MS), st.floats(0, 1e6)), max_size=60),
       st.integers(0, 30 * DAY_MS))
def test_lifetime_total_never_loses_or_invents_money(
    adds: list[tuple[int, float]], extra: int
) -> None:
    levels = PaneLevels(1)
    now = 0
    for ts, value in adds:
        now = max(now, ts)
        levels.add(ts, 0, value, now)
        levels.fold(now)
    levels.fold(now + extra)
    total = sum(v for _, v in adds)
    assert abs(levels.lifetime_sums()[0] - total) <= 1e-6 * max(1.0, total)
    for w in range(3):
        tolerance = 1e-6 * max(1.0, total)
        assert levels.window_sums(now + extra, w)[0] <= levels.lifetime_sums()[0] + tolerance


WINDOWS = ((10 * MINUTE_MS, 6), (HOUR_MS, 24), (DAY_MS, 7))


@given(st.lists(st.tuples(st.integers(0, 10 * DAY_MS), st.integers(0, 17), st.integers(-50, 50)),
                max_size=80),
       st.integers(0, 9 * DAY_MS))
def test_sparse_panes_sum_exactly_like_the_window_rule(
    adds: list[tuple[int, int, int]], extra: int
) -> None:
    # Whole-number values add exactly in any order, so the sums must equal a brute-force
    # reading of the window rule over every add, however panes were folded or stored.
    levels = PaneLevels(18)
    now = 0
    for ts, metric, value in adds:
        now = max(now, ts)
        levels.add(ts, metric, float(value), now)
    at = now + extra
    windows = levels.windows_at(at)
    for w, (size, count) in enumerate(WINDOWS):
        expected = [0.0] * 18
        for ts, metric, value in adds:
            if ts // size > at // size - count:
                expected[metric] += value
        assert windows[w] == expected == levels.window_sums(at, w)
    lifetime = [0.0] * 18
    for _, metric, value in adds:
        lifetime[metric] += value
    assert levels.lifetime_sums() == lifetime


def test_a_pane_stores_only_the_metrics_it_was_given() -> None:
    levels = PaneLevels(18)
    levels.add_bet(0, 0, 10.0, 0.0, 0.2, 0.0, night=False, chase=False)
    levels.add(60_000, 16, 1.0)  # a session start in the same pane
    assert levels.vals is not None and len(levels.vals) == 5 + 1 + 2  # 6 values, mask, key
    assert levels.window_sums(60_000, 0)[:5] == [1.0, 10.0, 100.0, 0.0, 0.2]
    assert levels.window_sums(60_000, 0)[16] == 1.0


_amounts = st.floats(0.0, 1e4, allow_nan=False)


@given(
    st.lists(
        st.tuples(st.integers(0, 3 * HOUR_MS), _amounts, _amounts, _amounts, _amounts,
                  st.booleans(), st.booleans()),
        max_size=12,
    ),
    st.lists(st.tuples(st.integers(0, 3 * HOUR_MS), st.integers(8, 17), _amounts), max_size=4),
)
def test_add_bet_adds_each_metric_under_the_player_states_name(
    bets: list[tuple[int, float, float, float, float, bool, bool]],
    others: list[tuple[int, int, float]],
) -> None:
    # add_bet writes the bet's metrics by position; add_many names each by its number.
    fast, named = PaneLevels(m.N_METRICS), PaneLevels(m.N_METRICS)
    for ts, metric, value in others:
        fast.add(ts, metric, value)
        named.add(ts, metric, value)
    for ts, stake, payout, theo, bonus, night, chase in bets:
        bonus = min(bonus, stake)
        fast.add_bet(ts, ts, stake, payout, theo, bonus, night=night, chase=chase)
        named.add_many(ts, {
            m.BETS: 1.0, m.STAKE: stake, m.STAKE_SQ: stake * stake, m.PAYOUT: payout,
            m.THEO: theo, m.NIGHT_BETS: 1.0 if night else 0.0, m.BONUS_STAKE: bonus,
            m.CHASE_BETS: 1.0 if chase else 0.0,
        }, ts)
    now = 3 * HOUR_MS
    for window in range(3):
        assert fast.window_sums(now, window) == named.window_sums(now, window)
    assert fast.lifetime_sums() == named.lifetime_sums()
