"""A player's flags share no bit, and the pane metrics are numbered the way the panes write them."""

from __future__ import annotations

from itertools import combinations

from pitboss.operators import player_state as m
from pitboss.operators.panes import BET_METRICS


def test_no_two_flags_share_a_bit() -> None:
    for a, b in combinations(m.FLAGS, 2):
        assert not a & b, (bin(a), bin(b))


def test_the_checkpoint_count_fits_its_bits() -> None:
    assert m.MAX_CHECKPOINTS << m.CHECKPOINT_SHIFT == m.CHECKPOINT_MASK


def test_metric_numbers_are_distinct_and_dense() -> None:
    numbers = [m.BETS, m.STAKE, m.STAKE_SQ, m.PAYOUT, m.THEO, m.NIGHT_BETS, m.BONUS_STAKE,
               m.CHASE_BETS, m.DEPOSITS, m.DEPOSIT_AMOUNT, m.DECLINED, m.WD_REQUESTED,
               m.WD_COMPLETED, m.WD_CANCELLED, m.WD_AMOUNT, m.BONUS_CLAIMS, m.SESSIONS,
               m.SESSION_SECONDS]
    assert sorted(numbers) == list(range(m.N_METRICS))
    assert numbers[: len(BET_METRICS)] == list(BET_METRICS)
