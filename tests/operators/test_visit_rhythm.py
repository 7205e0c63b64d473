"""A player's rhythm of visits: usual gap, its spread, and when a quiet spell is out of rhythm."""

from __future__ import annotations

import math
import pickle
from array import array

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pitboss.operators import player_state as m
from pitboss.operators.panes import DAY_MS
from pitboss.operators.player_state import PlayerState
from pitboss.operators.visit_rhythm import MIN_SPREAD_MS, VisitRhythm

PRIOR = 3 * DAY_MS


def amounts_after(gaps_days: list[float], rhythm: VisitRhythm | None = None) -> array:
    rhythm = rhythm or VisitRhythm(PRIOR)
    amounts = array("d", (0.0,) * m.N_AMOUNTS)
    for gap in gaps_days:
        rhythm.add_gap(amounts, gap * DAY_MS)
    return amounts


def weighted_mean_and_variance(gaps_days: list[float], visits: int = 10) -> tuple[float, float]:
    """Return the moving mean and variance, written out: the prior (mean 3, variance 9) as a gap."""
    mean, variance = 3.0, 9.0
    for seen, gap in enumerate(gaps_days):
        weight = max(1.0 / (seen + 2), 1.0 / visits)
        change = gap - mean
        mean += weight * change
        variance = (1 - weight) * (variance + weight * change * change)
    return mean, variance


@pytest.mark.parametrize("gaps", [[], [5.0], [1.0, 1.0], [0.5, 9.0, 2.0, 4.0], [2.0] * 30])
def test_the_spread_is_the_moving_standard_deviation_of_the_gaps_from_the_prior(
    gaps: list[float],
) -> None:
    rhythm = VisitRhythm(PRIOR)
    amounts = amounts_after(gaps, rhythm)
    mean, variance = weighted_mean_and_variance(gaps)
    assert rhythm.spread_ms(amounts) / DAY_MS == pytest.approx(
        max(math.sqrt(variance), MIN_SPREAD_MS / DAY_MS))
    assert rhythm.gaps_ms(amounts)[0] / DAY_MS == pytest.approx(max(1.0, mean))


def test_the_variance_is_kept_only_from_the_second_gap() -> None:
    assert amounts_after([5.0])[m.GAP_VARIANCE] == 0.0
    assert amounts_after([5.0, 1.0])[m.GAP_VARIANCE] > 0.0


def test_a_regular_player_is_out_of_rhythm_sooner_than_an_irregular_one() -> None:
    rhythm = VisitRhythm(PRIOR)
    regular, irregular = amounts_after([2.0] * 12), amounts_after([1.0, 3.0] * 6)
    assert rhythm.gaps_ms(regular)[0] == pytest.approx(rhythm.gaps_ms(irregular)[0], rel=0.1)
    assert rhythm.out_of_rhythm_ms(regular, 3.0) < rhythm.out_of_rhythm_ms(irregular, 3.0)


def test_a_player_of_state_format_5_reads_the_exponentials_spread_their_usual_gap() -> None:
    rhythm = VisitRhythm(PRIOR)
    amounts = amounts_after([2.0, 4.0, 3.0], rhythm)
    amounts[m.GAP_VARIANCE] = 0.0  # format 5 kept no variance
    assert rhythm.spread_ms(amounts) == pytest.approx(amounts[m.USUAL_GAP])


def test_a_player_pickled_in_format_5_loads_with_the_spread_slot_empty() -> None:
    player = PlayerState("p1", "MT")
    player.amounts = amounts_after([2.0, 4.0])[:m.GAP_VARIANCE]  # format 5: 17 amounts
    loaded = pickle.loads(pickle.dumps(player))
    assert len(loaded.amounts) == m.N_AMOUNTS and loaded.amounts[m.GAP_VARIANCE] == 0.0
    assert loaded.amounts[m.VISIT_GAPS] == 2.0


@given(st.lists(st.floats(0.0, 60.0), max_size=40), st.floats(0.5, 5.0))
def test_the_out_of_rhythm_spell_is_that_many_spreads_past_the_usual_gap(
    gaps: list[float], spreads: float,
) -> None:
    rhythm = VisitRhythm(PRIOR)
    amounts = amounts_after(gaps, rhythm)
    spell = rhythm.out_of_rhythm_ms(amounts, spreads)
    assert rhythm.spread_ms(amounts) >= MIN_SPREAD_MS
    assert spell > rhythm.gaps_ms(amounts)[0]
    assert rhythm.quiet_spreads(amounts, spell) == pytest.approx(spreads)
    assert rhythm.quiet_spreads(amounts, spell + 2) >= spreads
