"""Simulated games: how often a player bets on each game type and what a bet pays.

Payouts are drawn so that the mean return to player is `1 - house edge` of the
game type (the edges are the defaults of `[features.house_edge]`), with the shape
of each game: slots pay rarely with a long tail, table games and poker pay even
money, sports and crash bets pay the odds or the cash-out multiplier taken.

Example:
    >>> import random
    >>> rng = random.Random(7)
    >>> spins = [payout_multiplier(rng, "slot") for _ in range(200_000)]
    >>> round(sum(spins) / len(spins), 2)
    0.96

"""

from __future__ import annotations

import random

HOUSE_EDGE: dict[str, float] = {
    "slot": 0.04,
    "live_casino": 0.02,
    "table": 0.015,
    "sports": 0.06,
    "crash": 0.03,
    "poker": 0.025,
    "other": 0.03,
}
"""Theoretical house edge per game type, as in `config/defaults.toml`."""

SECONDS_PER_BET: dict[str, float] = {
    "slot": 8.0,
    "live_casino": 45.0,
    "table": 30.0,
    "sports": 240.0,
    "crash": 25.0,
    "poker": 60.0,
    "other": 30.0,
}
"""Mean time between two bets of one player on a game type."""

GAMES_PER_TYPE = 12
"""Distinct `game_id`s per game type (`slot-00` ... `slot-11`)."""

GAME_IDS: dict[str, tuple[str, ...]] = {
    game_type: tuple(f"{game_type}-{n:02d}" for n in range(GAMES_PER_TYPE))
    for game_type in HOUSE_EDGE
}

_SLOT_HIT_RATE = 0.3
_EVEN_MONEY = frozenset({"table", "live_casino", "poker", "other"})


def payout_multiplier(rng: random.Random, game_type: str) -> float:
    """Draw `payout / stake` for one bet; its mean is `1 - HOUSE_EDGE[game_type]`.

    Args:
        rng: the player's random generator.
        game_type: one of the contract's game types.

    Returns:
        0.0 for a lost bet, otherwise the multiple of the stake paid back.

    """
    rtp = 1.0 - HOUSE_EDGE[game_type]
    if game_type == "slot":
        if rng.random() >= _SLOT_HIT_RATE:
            return 0.0
        return rtp / _SLOT_HIT_RATE * rng.expovariate(1.0)
    if game_type in _EVEN_MONEY:
        return 2.0 if rng.random() < rtp / 2.0 else 0.0
    odds = sports_odds(rng) if game_type == "sports" else crash_target(rng)
    return odds if rng.random() < rtp / odds else 0.0


def sports_odds(rng: random.Random) -> float:
    """Draw decimal odds of a sports bet: mostly favourites, sometimes long shots."""
    return round(min(1.15 + rng.expovariate(1 / 1.4), 25.0), 2)


def crash_target(rng: random.Random) -> float:
    """Draw the cash-out multiplier a crash-game player aims for."""
    return round(min(1.1 + rng.expovariate(1 / 1.2), 50.0), 2)
