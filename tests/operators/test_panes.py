from hypothesis import given
from hypothesis import strategies as st

from operators.panes import DAY_MS, HOUR_MS, MINUTE_MS, PaneLevels


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
