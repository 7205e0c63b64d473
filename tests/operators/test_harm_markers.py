"""The marker table, and each marker of harm played from events to a decision without a dataflow.

Each case plays a player's events through the feature engine, scores the features with
the models (cold: the risk score is the rule's, read from the marker table), and hands
the scored point to the policy engine. Exactly one marker fires, at full strength, so
the risk score is that marker's weight; with a ladder whose first rung such a score
reaches, the decision names that marker and no other. A newcomer adding a marker adds
a row to `HARM_MARKERS` and a case here.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable

import pytest

from pitboss.config.models import ModelSettings
from pitboss.config.settings import load_settings
from pitboss.models.model_set import ModelSet
from pitboss.operators.events import Event
from pitboss.operators.feature_schema import FEATURE_INDEX
from pitboss.operators.features import FeatureEngine
from pitboss.operators.harm_markers import HARM_MARKERS, HarmMarker, MarkerTable
from pitboss.operators.outputs import ScoringPoint
from pitboss.operators.policy.engine import PolicyEngine
from tests import factories as f
from tests.factories import DAY, HOUR, MINUTE, T0
from tests.operators.policy.factories import policy

# T0 is midday in the UK; UK winter time is UTC, so T0 - 10 h is 02:00 local night.
NIGHT = T0 - 10 * HOUR


def _won(ts: int, stake: float = 10.0, session: str = "s1") -> Event:
    return f.bet(ts=ts, stake=stake, payout=stake * 1.5, session_id=session)


def _lost(ts: int, stake: float = 10.0, session: str = "s1") -> Event:
    return f.bet(ts=ts, stake=stake, payout=0.0, session_id=session)


def _quiet_sessions(days: int, minutes: int = 20) -> list[Event]:
    """Sessions of `minutes`, one a day for `days` days before T0: a habit, nothing more."""
    out: list[Event] = []
    for d in range(days, 0, -1):
        start, session = T0 - d * DAY, f"h{d}"
        out += [f.session_start(ts=start, session=session),
                _won(start + MINUTE, session=session),
                f.session_end(ts=start + minutes * MINUTE, session=session)]
    return out


def stake_escalation() -> list[Event]:
    # Fewer bets than the stake-shift chart's warm-up (20): only the ratio of means reads them.
    start = T0 - DAY - HOUR
    day_before = [f.session_start(ts=start, session="a"),
                  *(_won(start + i * MINUTE, session="a") for i in range(8)),
                  f.session_end(ts=start + 8 * MINUTE, session="a")]
    return [*day_before, f.session_start(ts=T0, session="b"),
            *(_won(T0 + i * MINUTE, stake=30.0, session="b") for i in range(10))]


def stake_shift() -> list[Event]:
    # A steady staker (9.5 to 10.5) moves to 12 and stays: 1.2x, too little for
    # stake_escalation (from 1.25), but many of their own spreads, bet after bet.
    start = T0 - DAY - HOUR
    day_before = [f.session_start(ts=start, session="a"),
                  *(_won(start + i * MINUTE, 9.5 if i % 2 else 10.5, session="a")
                    for i in range(30)),
                  f.session_end(ts=start + 30 * MINUTE, session="a")]
    return [*day_before, f.session_start(ts=T0, session="b"),
            *(_won(T0 + i * MINUTE, stake=12.0, session="b") for i in range(14))]


def loss_chasing() -> list[Event]:
    # Lose at 10, raise to 30 (beyond the player's spread) right after, win, repeat.
    return [(_lost if i % 2 == 0 else _won)(T0 + i * MINUTE, 10.0 if i % 2 == 0 else 30.0)
            for i in range(20)]


def night_play() -> list[Event]:
    return [_won(NIGHT + i * MINUTE) for i in range(12)]


def long_sessions() -> list[Event]:
    start = T0 - 6 * HOUR
    return [f.session_start(ts=start), *(_won(start + i * 20 * MINUTE) for i in range(19))]


def longer_sessions_than_usual() -> list[Event]:
    return [*_quiet_sessions(5), f.session_start(ts=T0 - 80 * MINUTE, session="s1"),
            *(_won(T0 - 80 * MINUTE + i * 10 * MINUTE) for i in range(9))]


def deposit_frequency() -> list[Event]:
    return [f.deposit(ts=T0 - HOUR + i * 10 * MINUTE) for i in range(5)]


def more_deposits_than_usual() -> list[Event]:
    return [*_quiet_sessions(5), f.session_start(ts=T0 - 20 * MINUTE, session="s1"),
            _won(T0 - 19 * MINUTE), f.deposit(ts=T0 - 10 * MINUTE), f.deposit(ts=T0)]


def declined_deposits() -> list[Event]:
    return [f.deposit(ts=T0 - HOUR + i * MINUTE, status="declined") for i in range(4)]


def cancelled_withdrawals() -> list[Event]:
    return [f.withdrawal(ts=T0 - HOUR), f.withdrawal(ts=T0, status="cancelled")]


def limit_reached() -> list[Event]:
    return [f.limit(ts=T0 - HOUR, amount=100.0), f.deposit(ts=T0, amount=100.0)]


CASES: dict[str, Callable[[], list[Event]]] = {
    "stake_escalation": stake_escalation,
    "stake_shift": stake_shift,
    "loss_chasing": loss_chasing,
    "night_play": night_play,
    "long_sessions": long_sessions,
    "longer_sessions_than_usual": longer_sessions_than_usual,
    "deposit_frequency": deposit_frequency,
    "more_deposits_than_usual": more_deposits_than_usual,
    "declined_deposits": declined_deposits,
    "cancelled_withdrawals": cancelled_withdrawals,
    "limit_reached": limit_reached,
}


def _play(events: list[Event]) -> tuple[float, ...]:
    engine = FeatureEngine.from_settings(load_settings().features)
    state = engine.new_state("p1", "UK")
    for event in events:
        engine.apply(state, event)
    return engine.snapshot(state, max(e.ts_ms for e in events))


def test_every_marker_but_self_exclusion_has_a_chained_case() -> None:
    assert set(CASES) == set(HARM_MARKERS.names) - {"self_excluded"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_one_marker_from_events_to_decision(name: str) -> None:
    marker = next(m for m in HARM_MARKERS.markers if m.name == name)
    features = _play(CASES[name]())
    assert features[FEATURE_INDEX[marker.feature]] >= marker.high  # full strength
    assert HARM_MARKERS.met(features) == [name]

    point = ScoringPoint("p1", T0, "hourly", "ev-1", "UK", features, None)
    scored = ModelSet(ModelSettings()).score(point)  # cold: the risk rule alone
    assert scored.scores["risk"].value == pytest.approx(marker.weight)
    assert scored.scores["risk"].reasons == (name,)

    first_rung = [{"action": "rg_message", "severity": "low", "min_risk": 0.15}]
    engine = PolicyEngine(policy(escalation=first_rung))
    decisions = engine.decide(engine.new_state("p1"), scored)
    (decision,) = [d for d in decisions if d.action.kind == "intervention"]
    assert decision.action.action == "rg_message"
    assert [r for r in decision.action.reasons if r.startswith("marker:")] == [f"marker:{name}"]
    assert decision.features[marker.feature] == features[FEATURE_INDEX[marker.feature]]


def test_a_jurisdiction_override_moves_the_rule_and_the_policy_together() -> None:
    settings = policy(jurisdictions={"SE": {"markers": {"deposit_frequency": {
        "low": 4.0, "met": 6.0, "high": 8.0}}}})
    features = _play(deposit_frequency())  # five deposits today
    uk, se = settings.rules_for("UK").harm_markers, settings.rules_for("SE").harm_markers
    assert uk.met(features) == ["deposit_frequency"] and se.met(features) == []

    models = ModelSet(ModelSettings(), settings.marker_book())
    for jurisdiction, weight in (("UK", 0.3), ("SE", 0.3 * (5.0 - 4.0) / (8.0 - 4.0))):
        point = ScoringPoint("p1", T0, "deposit", "ev-1", jurisdiction, features, None)
        assert models.score(point).scores["risk"].value == pytest.approx(weight)


def test_self_exclusion_is_full_risk_from_events() -> None:
    features = _play([f.exclusion(ts=T0)])
    assert HARM_MARKERS.met(features) == ["self_excluded"]
    point = ScoringPoint("p1", T0, "self_exclusion", "ev-1", "UK", features, None)
    assert ModelSet(ModelSettings()).score(point).scores["risk"].value == 1.0


def test_a_marker_row_must_be_consistent() -> None:
    with pytest.raises(ValueError, match="met"):
        HarmMarker("x", "deposits_24h", 1.0, 3.0, 0.3, 4.0)
    with pytest.raises(ValueError, match="unknown feature"):
        HarmMarker("x", "no_such_feature", 1.0, 3.0, 0.3, 2.0)
    with pytest.raises(ValueError, match="distinct"):
        MarkerTable([HARM_MARKERS.markers[1], HARM_MARKERS.markers[1]])
    with pytest.raises(ValueError, match="cannot override"):
        HARM_MARKERS.overridden({"night_play": {"feature": 1.0}})


def test_the_table_pickles_and_compares_by_rows() -> None:
    table = HARM_MARKERS.overridden({"night_play": {"weight": 0.1}})
    assert pickle.loads(pickle.dumps(table)) == table != HARM_MARKERS
