"""Feature values on small hand-made sequences, checked against hand-computed numbers."""

import math

import pytest

from pitboss.config.settings import load_settings
from pitboss.operators.feature_schema import FEATURE_INDEX, FEATURE_NAMES
from pitboss.operators.features import FeatureEngine
from pitboss.operators.player_state import PlayerState
from tests import factories as f
from tests.factories import DAY, HOUR, MINUTE, T0


@pytest.fixture
def engine() -> FeatureEngine:
    return FeatureEngine.from_settings(load_settings().features)


def play(engine: FeatureEngine, events: list) -> PlayerState:
    state = engine.new_state(events[0].player_id, events[0].jurisdiction)
    for event in events:
        engine.apply(state, event)
    return state


def features(engine: FeatureEngine, state: PlayerState, now: int) -> dict[str, float]:
    return dict(zip(FEATURE_NAMES, engine.snapshot(state, now), strict=True))


def test_one_session_by_hand(engine: FeatureEngine) -> None:
    state = play(engine, [
        f.session_start(ts=T0),
        f.bet(ts=T0 + 1 * MINUTE, stake=10, payout=0),    # a loss
        f.bet(ts=T0 + 2 * MINUTE, stake=20, payout=50),   # raised after a loss: chasing
        f.bet(ts=T0 + 3 * MINUTE, stake=5, payout=0),     # after a win: not chasing
        f.deposit(ts=T0 + 4 * MINUTE, amount=100, instrument="card-1"),
        f.deposit(ts=T0 + 5 * MINUTE, amount=30, status="declined", instrument="card-2"),
        f.bonus(ts=T0 + 6 * MINUTE),
        f.withdrawal(ts=T0 + 7 * MINUTE, amount=40),
        f.session_end(ts=T0 + 10 * MINUTE),
    ])
    x = features(engine, state, T0 + 10 * MINUTE)
    mean = 35 / 3
    std = math.sqrt((100 + 400 + 25) / 3 - mean**2)
    for window in ("1h", "24h", "7d"):
        assert x[f"bets_{window}"] == 3
        assert x[f"stake_{window}"] == 35
        assert x[f"net_loss_{window}"] == -15
        assert x[f"stake_mean_{window}"] == pytest.approx(mean)
        assert x[f"stake_std_{window}"] == pytest.approx(std)
        assert x[f"stake_cv_{window}"] == pytest.approx(std / mean)
        assert x[f"chase_share_{window}"] == pytest.approx(1 / 3)
        assert x[f"night_share_{window}"] == 0
        assert x[f"theo_win_{window}"] == pytest.approx(35 * 0.04)
        assert x[f"sessions_{window}"] == 1
        assert x[f"session_minutes_{window}"] == pytest.approx(10)
        assert x[f"deposits_{window}"] == 1
        assert x[f"deposit_amount_{window}"] == 100
        assert x[f"declined_deposits_{window}"] == 1
        assert x[f"withdrawals_requested_{window}"] == 1
        assert x[f"withdrawal_amount_{window}"] == 40
        assert x[f"bonus_claims_{window}"] == 1
        assert x[f"instruments_{window}"] == 2
    assert x["session_bets"] == 3
    assert x["session_stake"] == 35
    assert x["session_minutes"] == pytest.approx(10)
    # stakes 10, 20, 5 at bet index 1, 2, 3: least-squares slope -2.5
    assert x["session_stake_slope"] == pytest.approx(-2.5)
    assert x["monetary_7d"] == 60
    assert x["adt"] == pytest.approx(1.4)
    assert x["stake_escalation"] == 1.0  # no baseline before the last 24 hours


def test_windows_age_out_exactly(engine: FeatureEngine) -> None:
    state = play(engine, [f.bet(ts=T0, stake=10, payout=0)])
    at = lambda now: features(engine, state, now)  # noqa: E731
    # T0 is a 10-minute pane boundary: the 1h window holds it until 6 panes later.
    assert at(T0 + 59 * MINUTE)["bets_1h"] == 1
    assert at(T0 + 60 * MINUTE)["bets_1h"] == 0
    assert at(T0 + 23 * HOUR)["bets_24h"] == 1
    assert at(T0 + 24 * HOUR)["bets_24h"] == 0
    assert at(T0 + 6 * DAY)["bets_7d"] == 1
    assert at(T0 + 7 * DAY)["bets_7d"] == 0
    assert at(T0 + 7 * DAY)["lifetime_bets"] == 1
    assert at(T0 + 7 * DAY)["minutes_since_last_activity"] == 7 * 24 * 60


def test_out_of_order_event_lands_in_its_own_pane(engine: FeatureEngine) -> None:
    state = play(engine, [
        f.bet(ts=T0 + 4 * MINUTE, stake=10, payout=0),
        f.bet(ts=T0 + 12 * MINUTE, stake=10, payout=0),
        f.bet(ts=T0 + 9 * MINUTE, stake=30, payout=0),   # 3 minutes out of order
    ])
    assert features(engine, state, T0 + 12 * MINUTE)["stake_1h"] == 50
    x = features(engine, state, T0 + 65 * MINUTE)  # 1h window: panes from T0+10min on
    assert x["bets_1h"] == 1 and x["stake_1h"] == 10


def test_stake_escalation_and_night_play(engine: FeatureEngine) -> None:
    night = T0 + 14 * HOUR  # 02:00 London on 2 January
    events = [f.bet(ts=T0 + i * MINUTE, stake=10, payout=10) for i in range(5)]
    events += [f.bet(ts=night + i * MINUTE, stake=40, payout=0) for i in range(5)]
    state = play(engine, events)
    x = features(engine, state, night + 10 * MINUTE + DAY - 14 * HOUR + HOUR)
    assert x["stake_mean_24h"] == 40
    assert x["stake_escalation"] == pytest.approx(4.0)
    assert x["night_share_24h"] == 1.0
    assert x["night_share_7d"] == 0.5


def test_night_uses_the_jurisdictions_local_clock(engine: FeatureEngine) -> None:
    ts = T0 + 14 * HOUR  # 02:00 London, 21:00 New York
    uk = play(engine, [f.bet(ts=ts, jurisdiction="UK")])
    us = play(engine, [f.bet(ts=ts, jurisdiction="US-NJ", player="p2")])
    assert features(engine, uk, ts)["night_share_1h"] == 1.0
    assert features(engine, us, ts)["night_share_1h"] == 0.0


def test_unsettled_bet_counts_payout_at_settlement(engine: FeatureEngine) -> None:
    state = play(engine, [f.bet(ts=T0, stake=10, payout=None, game_type="sports", bet_id="b1")])
    assert features(engine, state, T0 + 1 * HOUR)["net_loss_24h"] == 10
    engine.apply(state, f.settled(ts=T0 + 2 * HOUR, bet_id="b1", payout=25))
    assert features(engine, state, T0 + 2 * HOUR)["net_loss_24h"] == -15
    assert features(engine, state, T0 + 2 * HOUR)["theo_win_24h"] == pytest.approx(0.6)


def test_a_bet_settled_as_lost_counts_for_loss_chasing(engine: FeatureEngine) -> None:
    state = play(engine, [
        f.session_start(ts=T0),
        f.bet(ts=T0, stake=10, payout=None, game_type="sports", bet_id="b1"),
        f.settled(ts=T0 + 2 * HOUR, bet_id="b1", payout=0),            # lost, known now
        f.bet(ts=T0 + 2 * HOUR + MINUTE, stake=25, payout=0, game_type="sports"),  # chasing
        f.bet(ts=T0 + 3 * HOUR, stake=5, payout=None, game_type="sports", bet_id="b2"),
        f.settled(ts=T0 + 4 * HOUR, bet_id="b2", payout=12),           # won: no chase
        f.bet(ts=T0 + 4 * HOUR + MINUTE, stake=8, payout=8, game_type="sports"),
    ])

    assert features(engine, state, T0 + 5 * HOUR)["chase_share_24h"] == pytest.approx(1 / 4)
    assert state.open_stakes == {}


def test_open_stakes_stay_bounded_when_settlements_never_come(engine: FeatureEngine) -> None:
    state = play(engine, [f.bet(ts=T0 + i, stake=1, payout=None, game_type="sports",
                                bet_id=f"b{i}", event_id=f"e{i}") for i in range(40)])

    assert state.open_stakes is not None and len(state.open_stakes) == 16
    assert "b39" in state.open_stakes and "b0" not in state.open_stakes


def test_limits_headroom_and_at_limit(engine: FeatureEngine) -> None:
    state = play(engine, [
        f.limit(limit_type="deposit", period="day", amount=100),
        f.deposit(ts=T0 + MINUTE, amount=60),
    ])
    x = features(engine, state, T0 + MINUTE)
    assert x["limits_set"] == 1
    assert x["limit_headroom"] == pytest.approx(0.4)
    assert x["at_limit"] == 0
    engine.apply(state, f.deposit(ts=T0 + 2 * MINUTE, amount=40))
    assert features(engine, state, T0 + 2 * MINUTE)["at_limit"] == 1


def test_exclusion_and_consent_are_reported(engine: FeatureEngine) -> None:
    state = play(engine, [f.exclusion(ts=T0, until=T0 + DAY), f.consent(ts=T0, marketing=False)])
    assert features(engine, state, T0 + HOUR)["self_excluded"] == 1
    assert features(engine, state, T0 + DAY)["self_excluded"] == 0
    assert features(engine, state, T0)["marketing_consent"] == 0


def test_feature_names_are_unique_and_indexed() -> None:
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)
    assert FEATURE_INDEX["bets_1h"] == 0


def test_instruments_and_devices_are_counted_apart_and_capped_per_kind(
    engine: FeatureEngine,
) -> None:
    # The same id used as an instrument and as a device counts once for each kind, and
    # each kind keeps its own most recent eight however many of the other kind are seen.
    events = [f.session_start(ts=T0, device="shared-id")]
    events += [f.deposit(ts=T0 + i * MINUTE, instrument=f"card-{i}", device="shared-id",
                         event_id=f"d{i}") for i in range(1, 11)]
    events += [f.deposit(ts=T0 + 20 * MINUTE, instrument="shared-id", device=None,
                         event_id="d-shared")]
    x = features(engine, play(engine, events), T0 + 30 * MINUTE)
    assert x["instruments_1h"] == 8
    assert x["devices_1h"] == 1
    events += [f.session_start(ts=T0 + 40 * MINUTE + i, device=f"phone-{i}", session=f"s{i}",
                               event_id=f"s{i}") for i in range(12)]
    x = features(engine, play(engine, events), T0 + 50 * MINUTE)
    assert x["instruments_1h"] == 8
    assert x["devices_1h"] == 8
