"""Populations as data: the default gives the historic simulator, the others differ as named."""

from __future__ import annotations

import hashlib
import statistics
from pathlib import Path

import orjson
import pytest

from pitboss.replay.simulator.population import (
    DEFAULT,
    Population,
    PopulationError,
    load_population,
)
from pitboss.replay.simulator.simulate import Simulation, simulate

POPULATIONS = Path(__file__).parents[3] / "replay" / "simulator" / "populations"
HISTORIC_DIGEST = "6d025c499f5026fd1bd859e04a3259e92f60162b7542cf301a65dfd4bd05b3a3"
"""sha256 of the JSONL log of simulate(200, 21, seed=2026) before populations were data."""


def test_the_default_population_writes_the_historic_bytes() -> None:
    log = b"".join(message + b"\n" for message in simulate(200, 21, seed=2026))

    assert hashlib.sha256(log).hexdigest() == HISTORIC_DIGEST


def test_the_default_file_documents_exactly_the_defaults() -> None:
    assert load_population(POPULATIONS / "default.toml") == DEFAULT


def test_a_file_overrides_only_what_it_sets(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text('name = "x"\n[harm]\namplitude = 0.5\n')

    population = load_population(path)

    assert population.harm.amplitude == 0.5
    assert population.harm.onset == DEFAULT.harm.onset
    assert population.stakes == DEFAULT.stakes


@pytest.mark.parametrize(("text", "field"), [
    ('[harm]\nonset = "sudden"\n', "harm.onset"),
    ("[stakes]\nnoyse = 0.5\n", "stakes.noyse"),
    ("players = 0\n", "players"),
])
def test_a_bad_field_is_named_with_the_file(tmp_path: Path, text: str, field: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)

    with pytest.raises(PopulationError, match=f"{path}: {field}"):
        load_population(path)


def _truth(population: Population, players: int = 400, days: int = 21) -> list[dict]:
    simulation = Simulation(players, days, 5, population=population)
    for _ in simulation.messages():
        pass
    return simulation.truth()


def _bets(population: Population, players: int = 150, days: int = 7) -> list[dict]:
    out = []
    for raw in simulate(players, days, 5, population=population):
        try:
            event = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        if (isinstance(event, dict) and event.get("event_type") == "bet"
                and "player_id" in event and isinstance(event.get("stake"), float)):
            out.append(event)
    return out


def test_harmed_players_record_their_first_harmful_play_and_session() -> None:
    harmed = [t for t in _truth(DEFAULT) if t["archetype"] == "harmed"]

    played = [t for t in harmed if t["first_harmful_play_ms"] is not None]
    assert played
    for t in played:
        assert t["onset_ms"] <= t["first_harmful_play_ms"] <= t["first_harmful_session_end_ms"]
        assert t["first_harmful_session"].startswith("5-")


def test_labels_follow_the_population_share() -> None:
    none = Population.merged({"labels": {"harm_confirmed_share": 0.0}})

    assert not any(t["harm_confirmed_ms"] for t in _truth(none))
    assert any(t["harm_confirmed_ms"] for t in _truth(DEFAULT))


def test_stake_noise_widens_the_spread_of_stakes_around_a_players_typical_one() -> None:
    def spread(population: Population) -> float:
        by_player: dict[str, list[float]] = {}
        for bet in _bets(population):
            by_player.setdefault(bet["player_id"], []).append(bet["stake"])
        return statistics.median(
            statistics.pstdev(s) / statistics.mean(s) for s in by_player.values() if len(s) > 20)

    assert spread(Population.merged({"stakes": {"noise": 0.9}})) > 1.5 * spread(DEFAULT)


def test_fast_churners_keep_playing_until_shortly_before_churn() -> None:
    fast = Population.merged({"churn": {"fade_days": 2.0}})

    def quiet_days(population: Population) -> float:
        churners = [t for t in _truth(population) if t["archetype"] == "churner"
                    and t["last_event_ms"] is not None]
        return statistics.median((t["churn_ms"] - t["last_event_ms"]) / 86_400_000
                                 for t in churners)

    assert quiet_days(fast) < quiet_days(DEFAULT)
