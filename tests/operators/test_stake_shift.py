"""The stake-shift chart: Page's CUSUM of a player's log-stakes against their own baseline."""

from __future__ import annotations

import math
import pickle
import random
from array import array

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pitboss.operators import player_state as m
from pitboss.operators.player_state import PlayerState
from pitboss.operators.stake_shift import StakeShift


def charted(stakes: list[float], chart: StakeShift | None = None) -> array:
    chart = chart or StakeShift()
    amounts = array("d", (0.0,) * m.N_AMOUNTS)
    for stake in stakes:
        chart.add_stake(amounts, stake)
    return amounts


def lognormal(rng: random.Random, median: float, sigma: float, n: int) -> list[float]:
    return [median * math.exp(rng.gauss(0.0, sigma)) for _ in range(n)]


def test_the_cusum_is_pages_recursion_written_out() -> None:
    chart = StakeShift(warmup_bets=3)
    stakes = [*[10.0, 12.0, 8.0] * 5, *[30.0] * 10, 5.0, 30.0]  # signals, then frozen
    mean = var = n = s = 0.0
    for stake in stakes:
        x = math.log(stake)
        if n >= 3:
            z = min((x - mean) / max(math.sqrt(var), 0.1), 3.0)
            s_before, s = s, max(0.0, s + z - 0.25)
        else:
            s_before = 0.0
        if s_before < 14.4:
            n += 1
            a = max(1 / n, 2 / 1001)
            d = x - mean
            mean += a * d
            var = (1 - a) * (var + a * d * d)
    amounts = charted(stakes, chart)
    assert amounts[m.STAKE_CUSUM] == pytest.approx(s)
    assert amounts[m.LOG_STAKE_MEAN] == pytest.approx(mean)
    assert amounts[m.LOG_STAKE_BETS] == n < len(stakes)


def test_no_chart_before_the_warm_up_bets() -> None:
    amounts = charted([1.0] * 5 + [100.0] * 14)
    assert amounts[m.STAKE_CUSUM] == 0.0
    assert amounts[m.LOG_STAKE_BETS] == 19


@pytest.mark.parametrize("sigma", [0.1, 0.3, 0.8])
def test_stakes_in_control_rarely_signal(sigma: float) -> None:
    """Ordinary noise of any size, measured against the player's own spread, stays below h."""
    rng = random.Random(7)
    chart = StakeShift()
    amounts = array("d", (0.0,) * m.N_AMOUNTS)
    signalled = 0
    for stake in lognormal(rng, 10.0, sigma, 3000):
        chart.add_stake(amounts, stake)
        signalled += chart.shift(amounts) >= chart.h
    assert signalled / 3000 < 0.02


@pytest.mark.parametrize("sigma", [0.1, 0.3, 0.8])
def test_a_sustained_shift_of_one_spread_signals_within_tens_of_bets(sigma: float) -> None:
    rng = random.Random(11)
    chart = StakeShift()
    amounts = charted(lognormal(rng, 10.0, sigma, 100), chart)
    signalled_at = None
    for bet, stake in enumerate(lognormal(rng, 10.0 * math.exp(sigma), sigma, 100)):
        chart.add_stake(amounts, stake)
        if signalled_at is None and chart.shift(amounts) >= chart.h:
            signalled_at = bet
    # ARL for a one-spread shift at k 0.25, h 14.4: about 20 bets (Siegmund)
    assert signalled_at is not None and signalled_at < 50


@pytest.mark.parametrize("sigma", [0.1, 0.3, 0.8])
def test_a_sustained_shift_of_half_a_spread_signals_within_a_few_hundred_bets(
    sigma: float,
) -> None:
    """The shift the reference value is set for: ARL about 54 bets (Siegmund)."""
    rng = random.Random(17)
    chart = StakeShift()
    amounts = charted(lognormal(rng, 10.0, sigma, 300), chart)
    signalled_at = None
    for bet, stake in enumerate(lognormal(rng, 10.0 * math.exp(sigma / 2), sigma, 400)):
        chart.add_stake(amounts, stake)
        if signalled_at is None and chart.shift(amounts) >= chart.h:
            signalled_at = bet
    assert signalled_at is not None and signalled_at < 200


def test_one_outlying_bet_does_not_signal_alone() -> None:
    rng = random.Random(3)
    chart = StakeShift()
    amounts = charted(lognormal(rng, 10.0, 0.3, 100), chart)
    amounts[m.STAKE_CUSUM] = 0.0
    chart.add_stake(amounts, 10_000.0)
    assert 0.0 < chart.shift(amounts) < chart.h


def test_a_gradual_shift_is_not_absorbed_by_the_baseline() -> None:
    """Stakes doubling over 300 bets: the slow, frozen-once-signalled baseline still sees it."""
    rng = random.Random(5)
    chart = StakeShift()
    amounts = charted(lognormal(rng, 10.0, 0.3, 100), chart)
    for bet in range(300):
        chart.add_stake(amounts, 10.0 * 2 ** (bet / 300) * math.exp(rng.gauss(0.0, 0.3)))
    assert chart.shift(amounts) >= chart.h
    assert math.exp(amounts[m.LOG_STAKE_MEAN]) < 14.0


def test_a_fall_in_stakes_is_no_shift() -> None:
    rng = random.Random(9)
    amounts = charted(lognormal(rng, 10.0, 0.3, 100) + lognormal(rng, 3.0, 0.3, 100))
    assert amounts[m.STAKE_CUSUM] < 1.0


@given(st.lists(st.floats(min_value=0.0, max_value=1e9, allow_nan=False), max_size=80))
def test_the_statistic_is_finite_and_never_negative(stakes: list[float]) -> None:
    amounts = charted(stakes)
    assert 0.0 <= amounts[m.STAKE_CUSUM] < math.inf
    assert amounts[m.LOG_STAKE_VAR] >= 0.0


def test_a_player_pickled_in_format_6_loads_with_an_empty_chart_that_then_builds() -> None:
    rng = random.Random(13)
    stakes = lognormal(rng, 10.0, 0.3, 30)
    player = PlayerState("p1", "MT")
    player.amounts = charted(stakes)[:m.LOG_STAKE_MEAN]  # format 6: 18 amounts
    loaded = pickle.loads(pickle.dumps(player))
    assert len(loaded.amounts) == m.N_AMOUNTS
    assert list(loaded.amounts[m.LOG_STAKE_MEAN:]) == [0.0] * (m.N_AMOUNTS - m.LOG_STAKE_MEAN)
    chart = StakeShift()
    for stake in stakes:
        chart.add_stake(loaded.amounts, stake)
    assert loaded.amounts[m.LOG_STAKE_MEAN:] == charted(stakes)[m.LOG_STAKE_MEAN:]
