"""The player simulator: deterministic bytes, the contract, bounded disorder, archetype markers.

One small population (300 players, 14 days) is simulated once per module, written to
a recorded log, read back with `read_log` and validated by the real contract parser,
so these tests see exactly what the pipeline would see.
"""

from __future__ import annotations

import itertools
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest

from pitboss.config.settings import load_settings
from pitboss.operators.contract import EventParser
from pitboss.operators.events import (
    Bet,
    Consent,
    DeadLetter,
    Deposit,
    Event,
    SelfExclusion,
    Withdrawal,
)
from pitboss.operators.local_time import NightClock
from pitboss.replay.log.recorded_log import read_log
from pitboss.replay.simulator.archetypes import CHURNER, FRAUDSTER, HARMED, SELF_EXCLUDER
from pitboss.replay.simulator.delivery import LATE_DELAY_MS, MAX_DISPLACEMENT_MS
from pitboss.replay.simulator.simulate import (
    DEFAULT_START_MS,
    SimulationSummary,
    simulate,
    simulate_to,
)

PLAYERS, DAYS, SEED = 300, 14, 11
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


@dataclass
class Population:
    """A simulated log as the pipeline sees it, with the simulator's ground truth."""

    summary: SimulationSummary
    truth: dict[str, dict[str, Any]]
    events: list[Event] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    by_player: dict[str, list[Event]] = field(default_factory=lambda: defaultdict(list))

    def players(self, archetype: str) -> list[str]:
        return [pid for pid, t in self.truth.items() if t["archetype"] == archetype]


def parse_log(path: Path, truth_path: Path, summary: SimulationSummary) -> Population:
    truth = {t["player_id"]: t for t in orjson.loads(truth_path.read_bytes())["truth"]}
    parser = EventParser(load_settings().contract, now_ms=lambda: DEFAULT_START_MS + 30 * DAY_MS)
    population = Population(summary, truth)
    for position, raw in read_log(path):
        parsed = parser.parse(raw, path.name, position)
        if isinstance(parsed, DeadLetter):
            population.dead_letters.append(parsed)
        else:
            population.events.append(parsed)
            population.by_player[parsed.player_id].append(parsed)
    return population


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Population:
    folder = tmp_path_factory.mktemp("simulation")
    log, truth = folder / "log.jsonl", folder / "truth.json"
    summary = simulate_to(log, PLAYERS, DAYS, SEED, truth_path=truth)
    return parse_log(log, truth, summary)


def bets(events: list[Event]) -> list[Bet]:
    return [e for e in events if isinstance(e, Bet)]


# ---- determinism ---------------------------------------------------------------------------


def test_same_seed_gives_identical_bytes_and_another_seed_does_not() -> None:
    first = list(simulate(40, 3, seed=5))

    assert list(simulate(40, 3, seed=5)) == first
    assert list(simulate(40, 3, seed=6)) != first


def test_files_are_byte_identical_and_parquet_holds_the_same_messages(tmp_path: Path) -> None:
    for name in ("a.jsonl", "b.jsonl", "c.parquet"):
        simulate_to(tmp_path / name, 30, 2, seed=9, truth_path=tmp_path / f"{name}.truth.jsonl")

    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    jsonl = [value for _, value in read_log(tmp_path / "a.jsonl")]
    assert [value for _, value in read_log(tmp_path / "c.parquet")] == jsonl
    assert jsonl == list(simulate(30, 2, seed=9))
    truth_a = (tmp_path / "a.jsonl.truth.jsonl").read_bytes()
    assert truth_a == (tmp_path / "c.parquet.truth.jsonl").read_bytes()
    assert len(truth_a.splitlines()) == 30


def test_default_start_is_fixed_in_the_past() -> None:
    assert DEFAULT_START_MS == 1_767_571_200_000  # 2026-01-05T00:00:00Z


# ---- the contract and the documented imperfections -----------------------------------------


def test_summary_counts_what_was_written(population: Population) -> None:
    summary = population.summary

    assert summary.messages == len(population.events) + len(population.dead_letters)
    assert sum(summary.by_archetype.values()) == PLAYERS
    assert sum(summary.by_event_type.values()) == summary.events
    assert summary.messages == summary.events + summary.duplicates + summary.malformed


def test_only_the_injected_malformed_messages_dead_letter(population: Population) -> None:
    reasons = Counter(letter.reason for letter in population.dead_letters)

    assert len(population.dead_letters) == population.summary.malformed > 0
    assert set(reasons) <= {"malformed_json", "unknown_currency", "missing_field"}
    assert len(reasons) == 3


def test_duplicates_repeat_an_event_id_exactly(population: Population) -> None:
    ids = Counter(event.event_id for event in population.events)
    repeated = {event_id: n for event_id, n in ids.items() if n > 1}

    assert set(repeated.values()) == {2}
    assert len(repeated) == population.summary.duplicates > 0


def test_events_are_in_event_time_order_but_for_small_bounded_disorder(
    population: Population,
) -> None:
    high_water = 0
    steps_back = []
    for event in population.events:
        if event.ts_ms < high_water:
            steps_back.append(high_water - event.ts_ms)
        high_water = max(high_water, event.ts_ms)
    beyond_lateness = [step for step in steps_back if step > MAX_DISPLACEMENT_MS]

    assert 0 < len(steps_back) < 0.02 * len(population.events)
    # A late message may surface after a quiet spell and step back less than its delay.
    assert 0.8 * population.summary.late <= len(beyond_lateness) <= population.summary.late
    assert max(steps_back) <= LATE_DELAY_MS[1]
    assert len(beyond_lateness) < 0.002 * len(population.events)


def test_all_four_topics_and_every_event_type_but_review_decisions_occur(
    population: Population,
) -> None:
    types = {event.event_type for event in population.events}

    assert {event.topic for event in population.events} == {
        "bets", "deposits", "sessions", "outcomes"
    }
    assert types == {
        "bet", "bet_settled", "deposit", "withdrawal", "bonus_claim", "session_start",
        "session_end", "limit_set", "self_exclusion", "consent", "chargeback",
        "fraud_confirmed", "fraud_cleared", "rg_assessment",
    }


def test_events_stay_inside_the_window(population: Population) -> None:
    times = [event.ts_ms for event in population.events]

    assert min(times) >= DEFAULT_START_MS and max(times) < DEFAULT_START_MS + DAYS * DAY_MS


def test_currencies_fit_jurisdictions(population: Population) -> None:
    pairs = {(e.jurisdiction, e.currency) for e in population.events if isinstance(e, Bet)}

    assert pairs == {("UK", "GBP"), ("MT", "EUR"), ("SE", "SEK"), ("US-NJ", "USD"),
                     ("CA-ON", "CAD")}


def test_mean_return_to_player_is_below_one(population: Population) -> None:
    settled = [b for b in bets(population.events) if b.payout_base is not None]
    rtp = sum(b.payout_base or 0.0 for b in settled) / sum(b.stake_base for b in settled)

    assert 0.85 < rtp < 1.0


def test_unsettled_bets_are_settled_later(population: Population) -> None:
    open_bets = {b.bet_id: b.ts_ms for b in bets(population.events) if b.payout_base is None}
    settlements = [e for e in population.events if e.event_type == "bet_settled"]

    assert open_bets and settlements
    assert all(s.bet_id in open_bets and s.ts_ms > open_bets[s.bet_id]  # type: ignore[attr-defined]
               for s in settlements)


# ---- archetype markers ---------------------------------------------------------------------


def test_harmed_players_escalate_stakes_after_onset(population: Population) -> None:
    ratios = []
    for pid in population.players(HARMED):
        onset = population.truth[pid]["onset_ms"]
        stakes = bets(population.by_player[pid])
        before = [b.stake_base for b in stakes if b.ts_ms < onset]
        after = [b.stake_base for b in stakes if b.ts_ms >= onset]
        if before and after:
            ratios.append(statistics.mean(after) / statistics.mean(before))

    assert len(ratios) >= 10
    assert statistics.median(ratios) > 2.0


def test_harmed_players_play_at_night_after_onset(population: Population) -> None:
    night = NightClock(load_settings().features.timezones, start_hour=0, end_hour=6)
    shares: dict[bool, list[bool]] = {False: [], True: []}
    for pid in population.players(HARMED):
        onset = population.truth[pid]["onset_ms"]
        for b in bets(population.by_player[pid]):
            shares[b.ts_ms >= onset].append(night.is_night(b.jurisdiction, b.ts_ms))
    before, after = (statistics.mean(shares[phase]) for phase in (False, True))

    assert after > 0.15
    assert after > 3 * before


def test_harmed_players_chase_losses_after_onset(population: Population) -> None:
    raised: dict[bool, list[bool]] = {False: [], True: []}
    for pid in population.players(HARMED):
        onset = population.truth[pid]["onset_ms"]
        stakes = [b for b in bets(population.by_player[pid]) if b.payout_base is not None]
        for prev, nxt in itertools.pairwise(stakes):
            if prev.session_id == nxt.session_id and (prev.payout_base or 0.0) < prev.stake_base:
                raised[prev.ts_ms >= onset].append(nxt.stake_base >= 1.4 * prev.stake_base)

    assert statistics.mean(raised[True]) > 2 * statistics.mean(raised[False])


def test_harmed_players_deposit_more_get_declined_and_reverse_withdrawals(
    population: Population,
) -> None:
    harmed = set(population.players(HARMED))
    declined = {e.player_id for e in population.events
                if isinstance(e, Deposit) and e.status == "declined" and e.player_id in harmed}
    cancelled = {e.player_id for e in population.events
                 if isinstance(e, Withdrawal) and e.status == "cancelled"}

    assert len(declined) >= len(harmed) // 2
    assert cancelled and cancelled <= harmed


def test_harm_is_confirmed_only_for_harmed_players_and_after_onset(population: Population) -> None:
    confirmed = [e for e in population.events if e.event_type == "rg_assessment"
                 and e.outcome == "harm_confirmed"]  # type: ignore[attr-defined]
    no_concern = [e for e in population.events if e.event_type == "rg_assessment"
                  and e.outcome == "no_concern"]  # type: ignore[attr-defined]

    assert confirmed and no_concern
    for event in confirmed:
        truth = population.truth[event.player_id]
        assert truth["archetype"] == HARMED and event.ts_ms == truth["harm_confirmed_ms"]
        assert event.ts_ms >= truth["onset_ms"] + 3 * DAY_MS
    assert all(population.truth[e.player_id]["archetype"] != HARMED for e in no_concern)


def test_fraudsters_cash_out_fast_with_several_instruments_and_a_bonus(
    population: Population,
) -> None:
    fraudsters = population.players(FRAUDSTER)
    assert len(fraudsters) >= 4
    for pid in fraudsters:
        events = population.by_player[pid]
        deposits = [e for e in events if isinstance(e, Deposit)]
        first_approved = min(e.ts_ms for e in deposits if e.status == "approved")
        requested = min(e.ts_ms for e in events
                        if isinstance(e, Withdrawal) and e.status == "requested")
        assert len({e.instrument_id for e in deposits}) >= 2
        assert any(e.event_type == "bonus_claim" for e in events)
        assert 0 < requested - first_approved <= 4 * HOUR_MS
        assert max(b.stake_base for b in bets(events)) <= 10.0
        completed = population.truth[pid]["first_withdrawal_completed_ms"]
        assert completed is None or any(
            isinstance(e, Withdrawal) and e.status == "completed" and e.ts_ms == completed
            for e in events
        )


def test_fraud_rings_share_devices_and_charge_back_earlier_deposits(
    population: Population,
) -> None:
    fraudsters = set(population.players(FRAUDSTER))
    owners: dict[str, set[str]] = defaultdict(set)
    deposit_ids = {e.event_id for e in population.events if isinstance(e, Deposit)}
    for e in population.events:
        if isinstance(e, Deposit) and e.device_id and e.player_id in fraudsters:
            owners[e.device_id].add(e.player_id)
    chargebacks = [e for e in population.events if e.event_type == "chargeback"]

    assert any(len(players) >= 2 for players in owners.values())
    assert chargebacks and all(e.player_id in fraudsters for e in chargebacks)
    assert all(e.reference in deposit_ids for e in chargebacks)  # type: ignore[attr-defined]
    verdicts = Counter((e.event_type, population.truth[e.player_id]["archetype"] == FRAUDSTER)
                       for e in population.events if e.event_type.startswith("fraud_"))
    assert set(verdicts) == {("fraud_confirmed", True), ("fraud_cleared", False)}


def test_churners_fade_and_are_gone_after_churn(population: Population) -> None:
    churners = population.players(CHURNER)
    active_before = 0
    for pid in churners:
        churn = population.truth[pid]["churn_ms"]
        times = [e.ts_ms for e in population.by_player[pid]]
        assert all(ts < churn for ts in times)
        active_before += bool(times)

    assert active_before >= 0.8 * len(churners)


def test_self_excluded_players_place_no_bets_after_exclusion(population: Population) -> None:
    excluded = [pid for pid, t in population.truth.items() if t["exclusion_ms"] is not None]
    assert set(population.players(SELF_EXCLUDER)) <= set(excluded)
    for pid in excluded:
        truth = population.truth[pid]
        events = population.by_player[pid]
        exclusion = [e for e in events if isinstance(e, SelfExclusion)]
        assert [e.ts_ms for e in exclusion] == [truth["exclusion_ms"]]
        assert exclusion[0].until_ms == truth["exclusion_until_ms"]
        assert all(b.ts_ms < truth["exclusion_ms"] for b in bets(events))


def test_players_refusing_marketing_say_so_and_never_opt_in(population: Population) -> None:
    refusers = [pid for pid, t in population.truth.items() if t["refuses_marketing"]]
    assert 0.08 * PLAYERS < len(refusers) < 0.25 * PLAYERS
    for pid in refusers:
        consents = [e.marketing for e in population.by_player[pid] if isinstance(e, Consent)]
        assert consents == [False] or not population.by_player[pid]


def test_truth_documents_every_player(population: Population) -> None:
    assert len(population.truth) == PLAYERS
    assert {frozenset(t) for t in population.truth.values()} == {frozenset({
        "player_id", "index", "archetype", "jurisdiction", "currency", "refuses_marketing",
        "onset_ms", "harm_confirmed_ms", "exclusion_ms", "exclusion_until_ms", "fraud_start_ms",
        "first_withdrawal_completed_ms", "fraud_confirmed_ms", "churn_ms", "last_event_ms",
        "first_harmful_play_ms", "first_harmful_session", "first_harmful_session_end_ms",
        "marketing_consent_ms",
    })}
    for pid, truth in population.truth.items():
        times = [e.ts_ms for e in population.by_player[pid]]
        assert truth["last_event_ms"] == (max(times) if times else None)


def test_truth_says_when_a_player_accepted_marketing(population: Population) -> None:
    accepted = 0
    for pid, truth in population.truth.items():
        consents = [e.ts_ms for e in population.by_player[pid]
                    if isinstance(e, Consent) and e.marketing]
        assert truth["marketing_consent_ms"] == (min(consents) if consents else None)
        accepted += bool(consents)
    assert 0 < accepted < PLAYERS


# ---- the command ---------------------------------------------------------------------------


def test_command_writes_the_log_and_truth_of_the_python_api(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pitboss.cli import app

    out, truth = tmp_path / "log.jsonl", tmp_path / "truth.json"
    result = CliRunner().invoke(app, [
        "simulate", "--players", "25", "--days", "2", "--seed", "3",
        "--out", str(out), "--truth", str(truth), "--start", "2026-02-01T00:00:00+01:00",
    ])

    assert result.exit_code == 0, result.output
    start_ms = 1_769_900_400_000  # 2026-01-31T23:00:00Z
    assert out.read_bytes().splitlines() == list(simulate(25, 2, seed=3, start_ms=start_ms))
    document = orjson.loads(truth.read_bytes())
    assert (document["start_ms"], len(document["truth"])) == (start_ms, 25)


def test_command_refuses_a_start_without_offset(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pitboss.cli import app

    result = CliRunner().invoke(app, ["simulate", "--out", str(tmp_path / "log.jsonl"),
                                      "--start", "2026-02-01T00:00:00"])

    assert result.exit_code == 2
    assert not (tmp_path / "log.jsonl").exists()
