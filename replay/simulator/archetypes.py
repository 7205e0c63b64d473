"""Who the simulated players are: archetypes, jurisdictions and each player's plan.

Each player gets one archetype, drawn with the population's shares
(`pitboss.replay.simulator.population`; by default those of `ARCHETYPE_SHARES`), and an independent
overlay of refusing marketing (15% by default). A `PlayerProfile` fixes everything
decided up front: where the player is, how often and how high they bet, and the
moments that matter for evaluation (harm onset, churn, self-exclusion, start of
fraud). The behaviour those moments trigger lives in `pitboss.replay.simulator.player`.

Markers of harm follow the UK Gambling Commission's customer-interaction guidance
and Braverman & Shaffer (2012): after onset a harmed player escalates stakes,
chases losses, plays at night and for longer, deposits more often (with more
declined deposits) and reverses withdrawals.

Example:
    >>> profile = draw_profile(player_rng(seed=1, index=0), 0, start_ms=0, end_ms=14 * DAY_MS)
    >>> profile.player_id, profile.archetype in ARCHETYPES
    ('p000000', True)
    >>> draw_profile(player_rng(1, 0), 0, 0, 14 * DAY_MS) == profile
    True

"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import NamedTuple

from pitboss.replay.simulator.population import DEFAULT, Population

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS

RECREATIONAL = "recreational"
VIP = "vip"
HARMED = "harmed"
CHURNER = "churner"
FRAUDSTER = "fraudster"
SELF_EXCLUDER = "self_excluder"

ARCHETYPE_SHARES: tuple[tuple[str, float], ...] = DEFAULT.archetypes.pairs()
"""The default population's shares (`pitboss.replay.simulator.population.ArchetypeShares`)."""
ARCHETYPES = tuple(name for name, _ in ARCHETYPE_SHARES)
FRAUD_RING_SIZE = 4
"""Fraudster accounts per ring on average; accounts of a ring share devices."""


class Jurisdiction(NamedTuple):
    """A licensing jurisdiction the simulated operator serves."""

    code: str
    currency: str
    share: float
    zone: str
    currency_per_eur: float


JURISDICTIONS: tuple[Jurisdiction, ...] = (
    Jurisdiction("UK", "GBP", 0.40, "Europe/London", 0.85),
    Jurisdiction("MT", "EUR", 0.15, "Europe/Malta", 1.0),
    Jurisdiction("SE", "SEK", 0.15, "Europe/Stockholm", 11.5),
    Jurisdiction("US-NJ", "USD", 0.15, "America/New_York", 1.09),
    Jurisdiction("CA-ON", "CAD", 0.15, "America/Toronto", 1.47),
)
JURISDICTION_BY_CODE = {j.code: j for j in JURISDICTIONS}
CHANNEL_SHARES: tuple[tuple[str, float], ...] = (("mobile", 0.6), ("web", 0.35), ("retail", 0.05))

_GAME_TASTES: dict[str, tuple[tuple[str, float], ...]] = {
    RECREATIONAL: (("slot", 0.45), ("sports", 0.25), ("live_casino", 0.1), ("table", 0.08),
                   ("crash", 0.06), ("poker", 0.06)),
    VIP: (("live_casino", 0.35), ("table", 0.25), ("sports", 0.25), ("slot", 0.15)),
    HARMED: (("slot", 0.55), ("crash", 0.15), ("sports", 0.15), ("live_casino", 0.15)),
    FRAUDSTER: (("table", 0.6), ("live_casino", 0.4)),
}


@dataclass(slots=True)
class PlayerProfile:
    """Everything decided about one player before the first event.

    Times are epoch milliseconds; the archetype-specific ones are None where they
    do not apply. `base_stake_eur` is the typical stake before any escalation.
    """

    index: int
    player_id: str
    archetype: str
    refuses_marketing: bool
    jurisdiction: Jurisdiction
    channel: str
    base_stake_eur: float
    activity: float
    """Probability of playing on a given day."""
    games: tuple[tuple[str, float], ...]
    onset_ms: int | None = None
    churn_ms: int | None = None
    exclusion_ms: int | None = None
    exclusion_until_ms: int | None = None
    fraud_start_ms: int | None = None
    fraud_ring: int | None = None
    chargebacks: bool = False
    """Fraudsters with stolen cards charge back; bonus abusers (the rest) do not."""


def player_rng(seed: int, index: int) -> random.Random:
    """Return the random generator of one player, derived from (seed, index) only.

    Uses BLAKE2b rather than `hash()`, which is salted per process.

    Example:
        >>> player_rng(1, 2).random() == player_rng(1, 2).random() != player_rng(1, 3).random()
        True

    """
    digest = hashlib.blake2b(f"{seed}:{index}".encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


def pick(rng: random.Random, shares: tuple[tuple[str, float], ...]) -> str:
    """Draw a name from `(name, share)` pairs whose shares sum to about 1."""
    u = rng.random()
    for name, share in shares:
        u -= share
        if u < 0:
            return name
    return shares[-1][0]


def draw_profile(
    rng: random.Random,
    index: int,
    start_ms: int,
    end_ms: int,
    players: int = 1,
    population: Population = DEFAULT,
) -> PlayerProfile:
    """Draw the profile of player `index` of a simulation.

    Args:
        rng: the player's generator (`player_rng`); the simulation goes on using it.
        index: the player's number, 0-based.
        start_ms: start of the simulated window.
        end_ms: end of the simulated window (exclusive).
        players: how many players the simulation has (sizes the fraud rings).
        population: the archetypes' shapes (`pitboss.replay.simulator.population`).

    Returns:
        The profile; a generator in the same state always gives an equal profile.

    """
    archetype = pick(rng, population.archetypes.pairs())
    mix = population.jurisdictions
    jurisdiction = JURISDICTIONS[_index_of(rng, [mix.share(j.code) for j in JURISDICTIONS])]
    profile = PlayerProfile(
        index=index,
        player_id=f"p{index:06d}",
        archetype=archetype,
        refuses_marketing=rng.random() < population.refuses_marketing_share,
        jurisdiction=jurisdiction,
        channel=pick(rng, CHANNEL_SHARES),
        base_stake_eur=_base_stake(rng, archetype, population),
        activity=_activity(rng, archetype, population),
        games=_GAME_TASTES.get(archetype, _GAME_TASTES[RECREATIONAL]),
    )
    _plan_moments(rng, profile, start_ms, end_ms, players, population)
    return profile


def _index_of(rng: random.Random, shares: list[float]) -> int:
    u = rng.random() * sum(shares)
    for i, share in enumerate(shares):
        u -= share
        if u < 0:
            return i
    return len(shares) - 1


def _base_stake(rng: random.Random, archetype: str, population: Population) -> float:
    """Typical stake in EUR: log-normal around a median that depends on the archetype."""
    stakes = population.stakes
    return stakes.median(archetype) * rng.lognormvariate(0.0, stakes.spread)


def _activity(rng: random.Random, archetype: str, population: Population) -> float:
    """Daily chance of playing: uniform in the archetype's range, times the population's scale."""
    low, high = population.frequency.range_of(archetype)
    chance = rng.uniform(low, high)
    scale = population.frequency.scale
    return chance if scale == 1.0 else min(1.0, chance * scale)


def _plan_moments(
    rng: random.Random,
    profile: PlayerProfile,
    start_ms: int,
    end_ms: int,
    players: int,
    population: Population,
) -> None:
    """Fix the archetype's moments inside the window [start_ms, end_ms)."""
    span = end_ms - start_ms
    archetype = profile.archetype
    harm = population.harm
    if archetype == HARMED:
        profile.onset_ms = start_ms + int(span * rng.uniform(*harm.onset_window))
        if rng.random() < harm.self_exclude_share:
            after = rng.uniform(*harm.self_exclude_after_days)
            _plan_exclusion(rng, profile, profile.onset_ms + int(after * DAY_MS))
    elif archetype == CHURNER:
        profile.churn_ms = start_ms + int(span * rng.uniform(*population.churn.window))
    elif archetype == SELF_EXCLUDER:
        _plan_exclusion(rng, profile, start_ms + int(span * rng.uniform(0.1, 0.7)))
    elif archetype == FRAUDSTER:
        profile.fraud_start_ms = start_ms + int(span * rng.uniform(0.02, 0.5))
        profile.fraud_ring = rng.randrange(max(1, round(players * 0.03 / FRAUD_RING_SIZE)))
        profile.chargebacks = rng.random() < 0.7


def _plan_exclusion(rng: random.Random, profile: PlayerProfile, at_ms: int) -> None:
    profile.exclusion_ms = at_ms
    if rng.random() < 0.5:
        profile.exclusion_until_ms = at_ms + rng.choice((182, 365, 1825)) * DAY_MS
