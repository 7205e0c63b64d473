"""The shard operator: duplicates, lateness, event-time timers and recovery state."""

import pickle

from config.settings import load_settings
from operators.events import DeadLetter
from operators.outputs import ClockTick, FeatureRow, ShardStats
from operators.player_shard import IDLE_AFTER_MS, PlayerShard
from tests import factories as f
from tests.factories import HOUR, MINUTE, T0

SETTINGS = load_settings().features  # lateness 5 min, session timeout 30 min, hourly rows


def new_shard() -> PlayerShard:
    return PlayerShard.from_settings(SETTINGS)


def rows(out: list) -> list[FeatureRow]:
    return [o for o in out if isinstance(o, FeatureRow)]


def letters(out: list) -> list[DeadLetter]:
    return [o for o in out if isinstance(o, DeadLetter)]


def test_duplicate_is_dead_lettered_and_not_counted() -> None:
    shard = new_shard()
    out = shard.process([f.bet(event_id="x", stake=5), f.bet(event_id="x", stake=5)])
    assert [d.reason for d in letters(out)] == ["duplicate"]
    assert shard.state.accepted == 1
    assert shard.state.players["p1"].panes.lifetime_sums()[0] == 1


def test_late_beyond_allowed_lateness_is_dead_lettered() -> None:
    shard = new_shard()
    out = shard.process([
        f.bet(ts=T0 + 10 * MINUTE),
        f.bet(ts=T0 + 6 * MINUTE),          # 4 minutes late: accepted in its place
        f.bet(ts=T0 + 4 * MINUTE, event_id="late-1"),  # 6 minutes late: dead letter
    ])
    late = letters(out)
    assert [(d.reason, d.event_id, d.field) for d in late] == [("late", "late-1", "ts")]
    assert shard.state.accepted == 2


def test_lateness_is_per_player() -> None:
    shard = new_shard()
    out = shard.process([f.bet(player="a", ts=T0 + HOUR), f.bet(player="b", ts=T0)])
    assert letters(out) == []


def test_session_timeout_fires_only_when_event_time_passes_it_plus_lateness() -> None:
    shard = new_shard()
    shard.process([f.session_start(player="a", ts=T0), f.bet(player="a", ts=T0 + MINUTE)])
    due = T0 + MINUTE + 30 * MINUTE
    assert rows(shard.process([ClockTick(due + 4 * MINUTE)])) == []
    fired = rows(shard.process([ClockTick(due + 5 * MINUTE)]))
    assert [(r.player_id, r.trigger, r.as_of_ms) for r in fired] == [("a", "session_timeout", due)]
    assert rows(shard.process([ClockTick(due + 10 * HOUR)])) == []


def test_activity_pushes_the_session_timeout_back() -> None:
    shard = new_shard()
    shard.process([f.session_start(player="a", ts=T0), f.bet(player="a", ts=T0 + 20 * MINUTE)])
    assert rows(shard.process([ClockTick(T0 + 36 * MINUTE)])) == []
    fired = rows(shard.process([ClockTick(T0 + 56 * MINUTE)]))
    assert [r.as_of_ms for r in fired] == [T0 + 50 * MINUTE]


def test_end_of_input_fires_no_timers() -> None:
    shard = new_shard()
    shard.process([f.session_start(player="a", ts=T0)])
    assert shard.finish() == [ShardStats(players=1, accepted=1)]


def test_session_end_and_hourly_rows() -> None:
    shard = new_shard()
    out = shard.process(
        [f.session_start(ts=T0)]
        + [f.bet(ts=T0 + i * 10 * MINUTE) for i in range(1, 14)]
        + [f.session_end(ts=T0 + 140 * MINUTE)]
    )
    triggers = [(r.trigger, r.as_of_ms - T0) for r in rows(out)]
    assert triggers == [("hourly", 60 * MINUTE), ("hourly", 120 * MINUTE),
                        ("session_end", 140 * MINUTE)]


def test_idle_player_is_compacted_but_keeps_lifetime_totals() -> None:
    shard = new_shard()
    shard.process([f.bet(player="a", ts=T0, stake=7), f.deposit(player="a", ts=T0)])
    shard.process([ClockTick(T0 + IDLE_AFTER_MS + SETTINGS.allowed_lateness_s * 1000)])
    player = shard.state.players["a"]
    assert player.panes.is_empty() and len(player.id_hashes) == 0
    assert player.panes.lifetime_sums()[1] == 7


def test_state_round_trips_through_pickle_with_identical_outputs() -> None:
    first = [f.session_start(ts=T0), f.bet(ts=T0 + MINUTE, event_id="b1")]
    rest = [f.bet(ts=T0 + 2 * MINUTE, event_id="b1"), f.bet(ts=T0 + 61 * MINUTE, stake=3),
            ClockTick(T0 + 3 * HOUR)]
    a = new_shard()
    a.process(first)
    b = PlayerShard.from_settings(SETTINGS, pickle.loads(a.snapshot_bytes()))
    assert a.process(list(rest)) == b.process(list(rest))


def test_pass_through_items_are_emitted_in_place() -> None:
    letter = DeadLetter("malformed_json", None, None, None, "log", 3, "{", "")
    assert new_shard().process([letter]) == [letter]
