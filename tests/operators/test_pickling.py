"""Items that cross worker processes pickle as their constructor's arguments, losing nothing."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from pitboss.operators.events import DeadLetter, Event
from pitboss.operators.ordered_merge import ShardProgress, Stamped
from pitboss.operators.outputs import (
    ClockTick,
    FeatureRow,
    LabelledExample,
    Score,
    ScoredPoint,
    ScoringPoint,
)
from pitboss.operators.pickling import PickledByFields
from pitboss.operators.policy.player_policy_state import OpenReview, PlayerPolicyState
from tests import factories as f


def _located(event: Event) -> Event:
    event.source, event.position, event.raw = "bets/3", 41, b'{"event_type": "bet"}'
    return event


EVENTS = [
    _located(f.bet(payout=None, bet_id="b1")), f.settled(), f.deposit(device="d1"),
    f.withdrawal(), f.bonus(), f.session_start(), f.session_end(), f.limit(),
    f.exclusion(until=f.T0 + f.DAY), f.consent(marketing=False),
]
POINT = ScoringPoint("p1", f.T0, "deposit", "e1", "UK", (1.0, float("nan"), -0.0), EVENTS[2])
ITEMS: list[Any] = [
    *EVENTS,
    DeadLetter("late", "ts", "e9", "p1", "bets/0", 12, '{"ts": 1}', "bet at 1"),
    ClockTick(f.T0, "s03"), ShardProgress("s03", f.T0),
    Stamped("s03", f.T0, 7, POINT),
    FeatureRow("p1", f.T0, "hourly", "", "UK", (0.5, 2.0)),
    LabelledExample("fraud", "p1", (1.0,), 1, f.T0, f.T0 + f.DAY),
    ScoredPoint(POINT, {"risk": Score(0.7, "risk-rule-1", ("stake_escalation",))}, {}, 3),
    # Policy shard state, pickled at every epoch end.
    PlayerPolicyState("p1", consent=1, rg_level=2, rg_last_risk=0.25,
                      offers=[(f.T0, "free_spins")],
                      reviews=[OpenReview("d1", "rg_review", f.T0)]),
]


def _fields(obj: Any) -> list[Any]:
    """Every slot's value, compare=False fields included; NaN made comparable."""
    names = [n for cls in type(obj).__mro__ for n in getattr(cls, "__slots__", ())]
    return [repr(getattr(obj, name)) for name in names]


@pytest.mark.parametrize("item", ITEMS, ids=lambda item: type(item).__name__)
def test_round_trip_keeps_every_field(item: Any) -> None:
    back = pickle.loads(pickle.dumps(item))
    assert type(back) is type(item)
    assert _fields(back) == _fields(item)


@pytest.mark.parametrize("item", ITEMS, ids=lambda item: type(item).__name__)
def test_a_pickle_is_the_class_called_with_the_fields_not_the_generated_state(item: Any) -> None:
    reduced = item.__reduce__()
    assert type(item) in (reduced[0], reduced[1][0])


def test_a_list_of_a_shards_events_round_trips_in_order() -> None:
    batch = [_located(f.bet(ts=f.T0 + i, event_id=f"e{i}")) for i in range(50)]
    back = pickle.loads(pickle.dumps(batch))
    assert [_fields(e) for e in back] == [_fields(e) for e in batch]


@pytest.mark.parametrize("item", ITEMS, ids=lambda item: type(item).__name__)
def test_state_pickled_the_default_way_still_loads(
    item: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recovery state written before this change holds items pickled the default way."""
    with monkeypatch.context() as before:
        before.delattr(PickledByFields, "__reduce__")
        old_bytes = pickle.dumps(item)
    assert b"pitboss.operators.pickling" not in old_bytes
    old = pickle.loads(old_bytes)
    assert type(old) is type(item)
    assert _fields(old) == _fields(item)
