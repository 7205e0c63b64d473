"""The shard operator: duplicates, lateness, event-time timers and recovery state."""

import pickle
import sys
from typing import cast

import pytest

from pitboss.config.settings import load_settings
from pitboss.operators.events import DeadLetter
from pitboss.operators.out_of_rhythm import OutOfRhythm
from pitboss.operators.outputs import ClockTick, FeatureRow, ShardStats
from pitboss.operators.player_shard import (
    IDLE_AFTER_MS,
    STATE_FORMAT,
    IncompatibleStateError,
    PlayerShard,
    load_state,
)
from pitboss.operators.policy.settings import load_policy
from tests import factories as f
from tests.factories import HOUR, MINUTE, T0
from tests.operators.policy import factories

ALL = load_settings()
DEFAULT_POLICY = load_policy()
SETTINGS = ALL.features  # lateness 5 min, session timeout 30 min, hourly rows


def new_shard(scoring: bool = False) -> PlayerShard:
    return PlayerShard.from_settings(SETTINGS, ALL.labels, scoring=scoring)


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
    assert player.panes.is_empty() and len(player.recent_ids) == 0
    assert player.panes.lifetime_sums()[1] == 7


def test_state_round_trips_through_pickle_with_identical_outputs() -> None:
    first = [f.session_start(ts=T0), f.bet(ts=T0 + MINUTE, event_id="b1")]
    rest = [f.bet(ts=T0 + 2 * MINUTE, event_id="b1"), f.bet(ts=T0 + 61 * MINUTE, stake=3),
            ClockTick(T0 + 3 * HOUR)]
    a = new_shard()
    a.process(first)
    b = PlayerShard.from_settings(SETTINGS, ALL.labels, False, load_state(a.snapshot()))
    assert a.process(list(rest)) == b.process(list(rest))


def test_a_snapshot_after_a_timer_only_change_resumes_from_the_change() -> None:
    """A session closed by the clock alone, after a snapshot, is in the next snapshot."""
    a = new_shard(scoring=True)
    a.process([f.session_start(player="a", ts=T0), f.bet(player="a", ts=T0 + MINUTE)])
    a.snapshot()  # the player's pickle is kept from here
    closed = rows(a.process([ClockTick(T0 + 40 * MINUTE)]))  # no event of "a": a timer
    assert [r.trigger for r in closed] == ["session_timeout"]
    b = PlayerShard.from_settings(SETTINGS, ALL.labels, True, load_state(a.snapshot()))
    assert pickle.dumps(b.player("a")) == pickle.dumps(a.player("a"))
    rest = [f.bet(player="a", ts=T0 + 50 * MINUTE), ClockTick(T0 + 3 * HOUR)]
    assert a.process(list(rest)) == b.process(list(rest))


def test_a_shard_refuses_anything_but_events_and_clock_ticks() -> None:
    letter = DeadLetter("malformed_json", None, None, None, "log", 3, "{", "")
    with pytest.raises(TypeError, match=r"events and clock ticks.*malformed_json"):
        new_shard().process([letter])


# -- scoring points and labels --------------------------------------------------------

from pitboss.operators.feature_schema import FEATURE_INDEX  # noqa: E402
from pitboss.operators.ordered_merge import ShardProgress, Stamped  # noqa: E402
from pitboss.operators.outputs import LabelledExample, ScoringPoint  # noqa: E402

LABELS = ALL.labels


def stamped(out: list) -> list:
    return [o.item for o in out if isinstance(o, Stamped)]


def examples(out: list) -> list[LabelledExample]:
    return [o for o in stamped(out) if isinstance(o, LabelledExample)]


def test_scoring_points_on_updates_that_matter_not_on_every_bet() -> None:
    shard = new_shard(scoring=True)
    out = shard.process([f.bet(ts=T0), f.bet(ts=T0 + MINUTE), f.deposit(ts=T0 + 2 * MINUTE)])
    points = [p for p in stamped(out) if isinstance(p, ScoringPoint)]
    assert [p.trigger for p in points] == ["deposit"]
    assert isinstance(out[-1], ShardProgress) and out[-1].shard == "s03"


def test_stamps_are_in_shard_order() -> None:
    shard = new_shard(scoring=True)
    out = shard.process([f.deposit(ts=T0 + i * MINUTE) for i in range(5)])
    stamps = [(o.clock_ms, o.seq) for o in out if isinstance(o, Stamped)]
    assert stamps == sorted(stamps) and len({s for _, s in stamps}) == 5


def test_risk_label_learns_from_features_before_the_label_event() -> None:
    from pitboss.operators.events import RgAssessment
    from pitboss.operators.feature_schema import FEATURE_INDEX

    shard = new_shard(scoring=True)
    shard.process([f.bet(ts=T0, stake=10)])
    assessment = RgAssessment("a1", "rg_assessment", "p1", T0 + HOUR, "UK", None,
                              "harm_confirmed")
    out = shard.process([assessment])
    (example,) = examples(out)
    assert (example.kind, example.label, example.label_ts_ms) == ("risk", 1, T0 + HOUR)
    assert example.features[FEATURE_INDEX["lifetime_bets"]] == 1


def test_fraud_label_uses_features_at_the_withdrawal_request() -> None:
    from pitboss.operators.events import Chargeback
    from pitboss.operators.feature_schema import FEATURE_INDEX

    shard = new_shard(scoring=True)
    shard.process([f.deposit(ts=T0, amount=500), f.withdrawal(ts=T0 + HOUR, amount=450)])
    cb = Chargeback("c1", "chargeback", "p1", T0 + 5 * DAY_, "UK", None, 500.0, "EUR", 500.0,
                    None)
    (example,) = examples(shard.process([cb]))
    assert (example.kind, example.label, example.point_ts_ms) == ("fraud", 1, T0 + HOUR)
    assert example.features[FEATURE_INDEX["withdrawals_requested_24h"]] == 1


DAY_ = 24 * HOUR


def test_churn_label_is_0_on_return_and_1_after_the_horizon() -> None:
    shard = new_shard(scoring=True)
    shard.process([f.session_start(ts=T0), f.session_end(ts=T0 + 10 * MINUTE)])
    back = examples(shard.process([f.session_start(ts=T0 + DAY_, session="s2")]))
    assert [(e.kind, e.label, e.point_ts_ms) for e in back] == [("churn", 0, T0 + 10 * MINUTE)]
    shard.process([f.session_end(ts=T0 + DAY_ + MINUTE, session="s2")])
    assert shard.labels.churn_due(shard.state.players["p1"]) is not None
    horizon = LABELS.churn_horizon_s * 1000
    end = T0 + DAY_ + MINUTE
    assert examples(shard.process([ClockTick(end + horizon)])) == []  # lateness not yet passed
    gone = examples(shard.process([ClockTick(end + horizon + SETTINGS.allowed_lateness_s * 1000)]))
    assert [(e.kind, e.label, e.label_ts_ms) for e in gone] == [("churn", 1, end + horizon)]


def test_labels_are_never_learned_before_their_time() -> None:
    shard = new_shard(scoring=True)
    out = shard.process([f.session_start(ts=T0), f.session_end(ts=T0 + MINUTE)]
                        + [ClockTick(T0 + k * DAY_) for k in range(1, 40)])
    for e in examples(out):
        assert e.point_ts_ms <= e.label_ts_ms
    stamps = [(o.clock_ms, o.item) for o in out if isinstance(o, Stamped)]
    for clock, item in stamps:
        if isinstance(item, LabelledExample):
            assert item.label_ts_ms <= clock


def test_players_without_positives_become_negatives_once() -> None:
    shard = new_shard(scoring=True)
    shard.process([f.bet(ts=T0)])
    horizon = LABELS.negative_horizon_s * 1000 + SETTINGS.allowed_lateness_s * 1000
    out = shard.process([ClockTick(T0 + horizon), ClockTick(T0 + 2 * horizon)])
    negatives = [(e.kind, e.label) for e in examples(out) if e.kind != "churn"]
    assert sorted(negatives) == [("fraud", 0), ("risk", 0)]


def inactivity_points(out: list) -> list[ScoringPoint]:
    return [p for p in stamped(out) if isinstance(p, ScoringPoint) and p.trigger == "inactivity"]


def calendar_shard() -> PlayerShard:
    """Return a scoring shard with the calendar checkpoints only (no out-of-rhythm point)."""
    return PlayerShard.from_settings(SETTINGS, LABELS, scoring=True,
                                     out_of_rhythm=OutOfRhythm(0.0))


def quiet_days_after(shard: PlayerShard, last: int, days: int = 40) -> list[ScoringPoint]:
    """Tick a day at a time for `days` days after `last`; return the inactivity points."""
    lateness = SETTINGS.allowed_lateness_s * 1000
    ticks = [ClockTick(last + k * DAY_ + lateness) for k in range(1, days + 1)]
    return inactivity_points(shard.process(ticks) + shard.process([ClockTick(last + 60 * DAY_)]))


def test_a_quiet_player_is_scored_once_at_each_checkpoint() -> None:
    shard = calendar_shard()
    shard.process([f.bet(ts=T0)])
    quiet_days = [(p.ts_ms - T0) / DAY_ for p in quiet_days_after(shard, T0)]
    assert quiet_days == [s / 86_400 for s in LABELS.inactivity_checkpoints_s] == [3, 7, 14, 30]


def test_a_quiet_player_is_also_scored_once_at_their_out_of_rhythm_point() -> None:
    shard = new_shard(scoring=True)
    shard.process([f.bet(ts=T0)])  # one visit: the prior rhythm, a 3-day gap spread 3 days
    points = quiet_days_after(shard, T0)
    assert [round((p.ts_ms - T0) / DAY_, 3) for p in points] == [3, 7, 12, 14, 30]
    spreads = [p.features[FEATURE_INDEX["quiet_spreads"]] for p in points]
    assert spreads[2] >= DEFAULT_POLICY.thresholds.reactivation_quiet_spreads > spreads[1]
    assert spreads[2] == pytest.approx(3.0)


def test_a_shard_built_without_a_policy_scores_at_the_default_policys_point() -> None:
    """The packaged policy's re-activation threshold is where a shard with no policy scores."""
    threshold = DEFAULT_POLICY.thresholds.reactivation_quiet_spreads
    assert threshold > 0
    assert new_shard().out_of_rhythm == OutOfRhythm(threshold) == OutOfRhythm.of_policy(
        DEFAULT_POLICY)


def test_each_player_is_scored_at_their_jurisdictions_out_of_rhythm_point() -> None:
    """A jurisdiction whose policy overrides the threshold has its own point; others the base."""
    policy = factories.policy(
        jurisdictions={"SE": {"thresholds": {"reactivation_quiet_spreads": 1.5}}})
    shard = PlayerShard.from_settings(SETTINGS, LABELS, scoring=True,
                                      out_of_rhythm=OutOfRhythm.of_policy(policy))
    # one visit each: the prior rhythm, a 3-day gap spread 3 days
    shard.process([f.bet(player="uk", ts=T0, jurisdiction="UK"),
                   f.bet(player="se", ts=T0, jurisdiction="SE")])
    points = quiet_days_after(shard, T0)
    days = {code: [round((p.ts_ms - T0) / DAY_, 3) for p in points if p.jurisdiction == code]
            for code in ("UK", "SE")}
    assert days == {"UK": [3, 7, 12, 14, 30], "SE": [3, 7, 7.5, 14, 30]}
    for code in ("UK", "SE"):  # each out-of-rhythm point at its policy's threshold
        rhythm_point = [p for p in points if p.jurisdiction == code][2]
        assert rhythm_point.features[FEATURE_INDEX["quiet_spreads"]] == pytest.approx(
            policy.rules_for(code).thresholds.reactivation_quiet_spreads)


def test_a_regular_player_is_out_of_rhythm_before_the_first_checkpoint_and_scored_there() -> None:
    shard = new_shard(scoring=True)
    shard.process([f.bet(ts=T0 + k * DAY_, event_id=f"d{k}") for k in range(30)])
    last = T0 + 29 * DAY_
    points = quiet_days_after(shard, last)
    assert [(p.ts_ms - last) / DAY_ for p in points] == [3, 7, 14, 30]
    assert points[0].features[FEATURE_INDEX["quiet_spreads"]] > 3.0


def test_an_irregular_player_is_out_of_rhythm_later_than_a_regular_one_with_their_usual_gap(
) -> None:
    def rhythm_point(gaps_days: list[float]) -> float:
        shard = new_shard(scoring=True)
        t = T0
        events = [f.bet(ts=t, event_id="b0")]
        for k, gap in enumerate(gaps_days, start=1):
            t += int(gap * DAY_)
            events.append(f.bet(ts=t, event_id=f"b{k}"))
        shard.process(events)
        calendar = {3.0, 7.0, 14.0, 30.0}
        days = [(p.ts_ms - t) / DAY_ for p in quiet_days_after(shard, t)]
        return next(d for d in days if round(d, 3) not in calendar)

    regular = rhythm_point([2.0] * 12)
    irregular = rhythm_point([1.0, 3.0] * 6)  # the same usual gap, twice a day apart
    assert 3.0 < regular < irregular < 14.0


def test_activity_starts_the_out_of_rhythm_point_over() -> None:
    shard = new_shard(scoring=True)
    lateness = SETTINGS.allowed_lateness_s * 1000
    shard.process([f.bet(ts=T0), ClockTick(T0 + 13 * DAY_ + lateness)])
    back = T0 + 13 * DAY_ + HOUR
    shard.process([f.bet(ts=back, event_id="b2")])
    days = [round((p.ts_ms - back) / DAY_, 1) for p in quiet_days_after(shard, back)]
    # A 13-day gap: usual 8.0 days, spread 5.5 days, so out of rhythm after 24.4 quiet days.
    assert days == [3, 7, 14, 24.4, 30]


def test_activity_starts_the_checkpoints_over() -> None:
    shard = new_shard(scoring=True)
    lateness = SETTINGS.allowed_lateness_s * 1000
    shard.process([f.bet(ts=T0), ClockTick(T0 + 8 * DAY_ + lateness)])
    back = T0 + 9 * DAY_
    out = shard.process([f.bet(ts=back, event_id="b2"), ClockTick(back + 4 * DAY_ + lateness)])
    assert [p.ts_ms for p in inactivity_points(out)] == [back + 3 * DAY_]


def test_checkpoints_are_churn_labels_positive_if_still_quiet_a_horizon_later() -> None:
    shard = new_shard(scoring=True)
    lateness = SETTINGS.allowed_lateness_s * 1000
    horizon = LABELS.churn_horizon_s * 1000
    out = shard.process([f.bet(ts=T0)] + [ClockTick(T0 + k * DAY_ + lateness)
                                          for k in range(1, 12)])
    back = T0 + 12 * DAY_  # returns after 12 days: the 3-day point is due at 10 days
    out += shard.process([f.bet(ts=back, event_id="b2")])
    quiet = [e for e in examples(out) if e.kind == "churn" and e.point_ts_ms >= T0 + DAY_]
    labelled = sorted((e.point_ts_ms - T0, e.label, e.label_ts_ms - T0) for e in quiet)
    assert labelled == [(3 * DAY_, 1, 3 * DAY_ + horizon), (7 * DAY_, 0, 12 * DAY_)]
    assert all(e.features[FEATURE_INDEX["minutes_since_last_activity"]] > 0 for e in quiet)
    assert shard.state.players["p1"].quiet_points is None


def test_a_daily_player_quiet_for_a_week_is_quiet_for_many_of_their_gaps() -> None:
    shard = new_shard(scoring=True)
    lateness = SETTINGS.allowed_lateness_s * 1000
    shard.process([f.bet(ts=T0 + k * DAY_, event_id=f"d{k}") for k in range(20)])
    last = T0 + 19 * DAY_
    out = shard.process([ClockTick(last + 7 * DAY_ + lateness)])
    week = inactivity_points(out)[-1].features
    assert week[FEATURE_INDEX["visit_gap_days"]] < 1.2
    assert week[FEATURE_INDEX["quiet_gaps"]] > 6.0
    assert week[FEATURE_INDEX["frequency_trend"]] == pytest.approx(1.0, abs=0.1)  # steady


def test_scoring_state_with_pending_examples_round_trips_through_pickle() -> None:
    first = [f.session_start(ts=T0), f.deposit(ts=T0 + MINUTE, event_id="d1"),
             f.withdrawal(ts=T0 + 2 * MINUTE),
             f.session_end(ts=T0 + 10 * MINUTE)]
    rest = [f.bet(ts=T0 + 11 * MINUTE, event_id="d1"), f.bet(ts=T0 + 2 * HOUR, stake=3),
            ClockTick(T0 + 30 * 24 * HOUR)]
    a = new_shard(scoring=True)
    a.process(first)
    player = a.state.players["p1"]
    assert player.churn_point is not None and player.fraud_point is not None
    b = PlayerShard.from_settings(SETTINGS, LABELS, True, load_state(a.snapshot()))
    out = a.process(list(rest))
    assert out == b.process(list(rest))
    churn = [e for e in examples(out) if e.kind == "churn"]
    assert (churn[0].label, churn[0].point_ts_ms) == (0, T0 + 10 * MINUTE)


def test_recovery_state_of_another_layout_is_refused_with_a_clear_error() -> None:
    shard = new_shard()
    shard.process([f.session_start(ts=T0), f.bet(ts=T0 + MINUTE)])
    untagged = pickle.dumps(shard.state)  # as versions before format 2 wrote it
    other = pickle.dumps((STATE_FORMAT + 1, shard.state))
    for data, says in ((untagged, "untagged"), (other, f"format {STATE_FORMAT + 1}"),
                       (b"not a pickle", "unreadable")):
        with pytest.raises(IncompatibleStateError, match=f"{says}.*empty recovery directory"):
            load_state(data)


# -- quiet players kept pickled between snapshots ----------------------------------------

from pitboss.operators.contract import EventParser  # noqa: E402
from pitboss.operators.ingest import IngestRouter, is_shard_work  # noqa: E402
from pitboss.operators.player_shard import QUIET_MS  # noqa: E402
from pitboss.operators.player_state import _SLOT_VALUES, N_AMOUNTS, PlayerState  # noqa: E402
from pitboss.replay.simulator.simulate import simulate  # noqa: E402


def _replay_shards(
    batches: list[list[tuple[str, int, bytes]]], snapshot_every: int
) -> tuple[list[object], int]:
    """Run batches through scoring shards; return the outputs and players kept pickled.

    After every `snapshot_every` batches (0: never) each shard is snapshotted, and every
    third snapshot is resumed from, as a restarted worker would.
    """
    router = IngestRouter(EventParser(ALL.contract, lambda: 2**62), SETTINGS.shards,
                          SETTINGS.clock_tick_s * 1000)
    shards: dict[str, PlayerShard] = {}
    out: list[object] = []
    kept = snapshots = 0
    for n, batch in enumerate(batches, 1):
        for key, items in filter(is_shard_work, router.route_by_shard(batch)):
            shard = shards.get(key) or shards.setdefault(key, new_shard(scoring=True))
            out.extend(shard.process(cast(list[object], items)))
        if snapshot_every and n % snapshot_every == 0:
            for key, shard in shards.items():
                data = shard.snapshot()
                kept += sum(isinstance(p, bytes) for p in shard.state.players.values())
                snapshots += 1
                if snapshots % 3 == 0:
                    shards[key] = PlayerShard.from_settings(SETTINGS, ALL.labels, True,
                                                            load_state(data))
    for shard in shards.values():
        out.extend(shard.finish())
    return out, kept


def test_players_kept_pickled_while_quiet_change_no_output() -> None:
    messages = list(simulate(40, 3, 11))
    batches = [[("sim", i + j, raw) for j, raw in enumerate(messages[i:i + 200])]
               for i in range(0, len(messages), 200)]

    plain, _ = _replay_shards(batches, snapshot_every=0)
    snapshotted, kept = _replay_shards(batches, snapshot_every=2)

    assert kept > 0  # players were kept pickled, then woken by events and timers
    assert repr(snapshotted) == repr(plain)


def test_a_quiet_player_is_kept_pickled_and_unpickled_when_it_plays_again() -> None:
    shard = new_shard()
    shard.process([f.bet(player="quiet", ts=T0, stake=2), f.bet(player="busy", ts=T0)])
    shard.process([f.bet(player="busy", ts=T0 + QUIET_MS + HOUR)])

    shard.snapshot()

    players = shard.state.players
    assert isinstance(players["quiet"], bytes) and isinstance(players["busy"], PlayerState)
    shard.process([f.bet(player="quiet", ts=T0 + QUIET_MS + HOUR, stake=3, event_id="b2")])
    quiet = players["quiet"]
    assert isinstance(quiet, PlayerState) and quiet.panes.lifetime_sums()[1] == 5
    assert quiet.jurisdiction is sys.intern(quiet.jurisdiction)  # one string per code


def test_recovery_state_of_format_2_still_loads() -> None:
    shard = new_shard()
    shard.process([f.session_start(ts=T0), f.bet(ts=T0 + MINUTE)])
    state = load_state(pickle.dumps((2, shard.state)))

    assert isinstance(state.players["p1"], PlayerState) and STATE_FORMAT == 7


def _as_format_3(player: PlayerState) -> tuple[object, ...]:
    """Return the state format 3 pickled: no `open_stakes` nor `quiet_points`, six amounts."""
    values = dict(zip(PlayerState.__slots__, _SLOT_VALUES(player), strict=True))
    del values["open_stakes"], values["quiet_points"]
    values["amounts"] = values["amounts"][:6]  # type: ignore[index]
    values["flags"] = 16  # its single inactivity point was scored
    return tuple(values.values())


def test_recovery_state_of_format_3_loads_with_no_rhythm_and_one_checkpoint_done(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shard = new_shard(scoring=True)
    shard.process([f.bet(ts=T0), f.bet(ts=T0 + DAY_, event_id="b2")])
    with monkeypatch.context() as before:
        before.setattr(PlayerState, "__getstate__", _as_format_3)
        data = pickle.dumps((3, shard.state))
    resumed = PlayerShard.from_settings(SETTINGS, ALL.labels, True, load_state(data))
    player = resumed.player("p1")

    assert player is not None and player.quiet_points is None and len(player.amounts) == N_AMOUNTS
    lateness = SETTINGS.allowed_lateness_s * 1000
    out = resumed.process([ClockTick(T0 + DAY_ + 8 * DAY_ + lateness)])
    assert [(p.ts_ms - T0) // DAY_ for p in inactivity_points(out)] == [8]  # 3 days was done


def test_players_pickled_in_format_3_load_without_open_stakes_or_baselines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pitboss.operators.player_state import _FORMAT_3

    shard = new_shard()
    shard.process([f.session_start(ts=T0), f.bet(ts=T0 + MINUTE, stake=4)])
    player = shard.state.players["p1"]
    assert isinstance(player, PlayerState)
    player.amounts = player.amounts[:6]  # format 3 kept six running amounts
    monkeypatch.setattr(PlayerState, "__getstate__",
                        lambda self: tuple(getattr(self, n) for n in _FORMAT_3))
    data = pickle.dumps((3, shard.state))
    monkeypatch.undo()

    player = load_state(data).players["p1"]

    assert isinstance(player, PlayerState) and player.open_stakes is None
    assert len(player.amounts) == N_AMOUNTS and not any(player.amounts[6:])
    assert player.panes.lifetime_sums()[1] == 4
    assert pickle.loads(pickle.dumps(player)).panes.lifetime_sums()[1] == 4


def _point_triggers(out: list) -> list[str]:
    return [p.trigger for p in stamped(out) if isinstance(p, ScoringPoint)]


def test_a_session_is_scored_every_n_bets_and_every_m_minutes() -> None:
    every_bets = PlayerShard.from_settings(
        SETTINGS.model_copy(update={"session_score_bets": 5, "session_score_interval_s": 0}),
        ALL.labels, scoring=True)
    bets = [f.session_start(ts=T0)] + [f.bet(ts=T0 + i * 1000, session_id="s1")
                                       for i in range(1, 13)]
    assert _point_triggers(every_bets.process(bets)) == ["in_session", "in_session"]

    every_minutes = PlayerShard.from_settings(
        SETTINGS.model_copy(update={"session_score_bets": 0, "session_score_interval_s": 600}),
        ALL.labels, scoring=True)
    bets = [f.session_start(ts=T0)] + [f.bet(ts=T0 + i * 4 * MINUTE, session_id="s1")
                                       for i in range(1, 7)]  # 4, 8, ..., 24 minutes in
    assert _point_triggers(every_minutes.process(bets)) == ["in_session", "in_session"]

    off = PlayerShard.from_settings(
        SETTINGS.model_copy(update={"session_score_bets": 0, "session_score_interval_s": 0}),
        ALL.labels, scoring=True)
    assert _point_triggers(off.process(bets)) == []


def test_a_bet_that_uses_up_a_limit_is_scored_once() -> None:
    shard = PlayerShard.from_settings(
        SETTINGS.model_copy(update={"session_score_bets": 0, "session_score_interval_s": 0}),
        ALL.labels, scoring=True)
    out = shard.process([
        f.limit(ts=T0, limit_type="wager", period="day", amount=30.0),
        f.bet(ts=T0 + MINUTE, stake=20.0),
        f.bet(ts=T0 + 2 * MINUTE, stake=20.0),  # 40 wagered of 30: the limit is used up
        f.bet(ts=T0 + 3 * MINUTE, stake=20.0),
    ])
    assert _point_triggers(out) == ["limit_set", "limit_reached"]
