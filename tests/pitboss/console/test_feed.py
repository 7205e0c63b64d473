"""The console's live feed keeps a bounded memory: cases and players by count and by age.

`FeedMemory` is fed records as the topics carry them (lists in, what it keeps out);
one test reads them off a real Tansu broker through `LiveFeed`.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import confluent_kafka
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from pitboss.config.settings import load_settings
from pitboss.console.feed import DAY_MS, FeedLimits, FeedMemory, LiveFeed
from pitboss.replay.live.dev_broker import DevKafka

REVIEWS, INTERVENTIONS, OUTCOMES = "actions.reviews", "actions.interventions", "outcomes"
T0 = 1_767_571_200_000  # 2026-01-05T00:00:00Z


def _at(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def review(n: int, at_ms: int, player: str = "p1") -> dict[str, Any]:
    return {"decision_id": f"d{n}", "player_id": player, "action": "fraud_review",
            "kind": "review", "decided_at": _at(at_ms)}


def verdict(n: int, ts_ms: int, player: str = "p1") -> dict[str, Any]:
    return {"event_type": "review_decision", "decision_id": f"d{n}", "verdict": "approve",
            "reviewer": "rita", "player_id": player, "ts": ts_ms}


def finalised(n: int, at_ms: int, player: str = "p1") -> dict[str, Any]:
    return {"decision_id": f"f{n}", "player_id": player, "action": "mandatory_cool_off",
            "kind": "intervention", "decided_at": _at(at_ms), "review_decision_id": f"d{n}"}


def memory(**limits: Any) -> FeedMemory:
    return FeedMemory(FeedLimits(**limits), REVIEWS, OUTCOMES)


def test_the_newest_cases_are_kept_when_there_are_more_than_the_limit() -> None:
    kept = memory(cases=3)
    for n in range(10):
        kept.read(REVIEWS, review(n, T0 + n * 60_000))

    assert [r.decision_id for r in kept.open_reviews()] == ["d7", "d8", "d9"]
    assert kept.forgotten_cases == 7


def test_cases_older_than_the_age_limit_are_forgotten() -> None:
    kept = memory(max_age_days=2)
    kept.read(REVIEWS, review(1, T0))
    kept.read(REVIEWS, review(2, T0 + DAY_MS))
    kept.read(INTERVENTIONS, {"decision_id": "x", "player_id": "p2", "action": "rg_message",
                              "decided_at": _at(T0 + 2 * DAY_MS + 1)})

    assert [r.decision_id for r in kept.open_reviews()] == ["d2"]
    kept.read(REVIEWS, review(3, T0))  # already past the limit when read: not kept
    assert [r.decision_id for r in kept.open_reviews()] == ["d2"]


def test_a_forgotten_verdict_takes_its_review_along_and_never_reopens_it() -> None:
    kept = memory(cases=2)
    kept.read(REVIEWS, review(1, T0))
    kept.read(REVIEWS, review(2, T0 + 1))
    kept.read(OUTCOMES, verdict(1, T0 + 2))  # touches case 1: case 2 is now the oldest
    kept.read(REVIEWS, review(3, T0 + 3))

    assert list(kept.cases) == ["d1", "d3"]
    assert [r.decision_id for r in kept.open_reviews()] == ["d3"]
    for n in range(4, 8):
        kept.read(REVIEWS, review(n, T0 + n))
    assert "d1" not in {r.decision_id for r in kept.open_reviews()}


def test_a_verdict_read_before_its_review_is_not_the_first_forgotten() -> None:
    # Topics are read side by side: outcomes may come in before actions.reviews.
    kept = memory(cases=3)
    kept.read(OUTCOMES, verdict(9, T0 + 10 * 60_000))
    for n in range(10):
        kept.read(REVIEWS, review(n, T0 + n * 60_000))

    assert kept.cases["d9"].verdict is not None
    assert [r.decision_id for r in kept.open_reviews()] == ["d7", "d8"]


def test_a_verdict_in_wall_clock_time_does_not_age_out_the_workers_cases() -> None:
    kept = memory(max_age_days=1)
    kept.read(REVIEWS, review(1, T0))
    kept.read(REVIEWS, review(2, T0 + 1))
    kept.read(OUTCOMES, verdict(1, T0 + 300 * DAY_MS))  # the reviewer's clock, far ahead

    assert [r.decision_id for r in kept.open_reviews()] == ["d2"]
    assert kept.cases["d1"].verdict is not None


def test_a_player_keeps_their_latest_actions_and_players_are_bounded() -> None:
    kept = memory(players=2, actions_per_player=3)
    for n in range(5):
        kept.read(INTERVENTIONS, finalised(n, T0 + n, player="p1"))
    kept.read(INTERVENTIONS, finalised(5, T0 + 5, player="p2"))
    kept.read(INTERVENTIONS, finalised(6, T0 + 6, player="p3"))

    assert list(kept.players) == ["p2", "p3"]
    kept = memory(players=2, actions_per_player=3)
    for n in range(5):
        kept.read(INTERVENTIONS, finalised(n, T0 + n, player="p1"))
    assert [r["decision_id"] for r in kept.players["p1"]] == ["f2", "f3", "f4"]


_records = st.lists(st.tuples(
    st.sampled_from(["review", "verdict", "finalised", "other"]),
    st.integers(0, 30), st.integers(0, 40 * DAY_MS), st.sampled_from(["p1", "p2", "p3", "p4"])),
    max_size=200)


@settings(max_examples=200, deadline=None)
@given(records=_records, cases=st.integers(1, 8), players=st.integers(1, 3),
       per_player=st.integers(1, 4), age_days=st.integers(1, 20))
def test_memory_stays_within_its_limits_and_answered_reviews_stay_closed(
        records: list[tuple[str, int, int, str]], cases: int, players: int, per_player: int,
        age_days: int) -> None:
    kept = memory(cases=cases, players=players, actions_per_player=per_player,
                  max_age_days=age_days)
    answered: set[str] = set()
    reviewed: list[int] = []
    for index, (kind, ref, offset, player) in enumerate(records):
        at = T0 + offset
        if kind == "review":  # each review read once; answers only to reviews read before
            kept.read(REVIEWS, review(index, at, player))
            reviewed.append(index)
        elif kind in ("verdict", "finalised") and reviewed:
            n = reviewed[ref % len(reviewed)]
            if kind == "verdict":
                kept.read(OUTCOMES, verdict(n, at, player))
            else:
                kept.read(INTERVENTIONS, finalised(n, at, player))
            answered.add(f"d{n}")
        else:
            kept.read(INTERVENTIONS, {"decision_id": f"o{index}", "player_id": player,
                                      "decided_at": _at(at)})
        assert len(kept.cases) <= cases
        assert len(kept.players) <= players
        assert all(len(p) <= per_player for p in kept.players.values())
        horizon = kept.newest_ms - age_days * DAY_MS
        for kept_map in (kept.cases, kept.players):
            assert all(kept_map.time_of(key) >= horizon for key in kept_map)
        open_ids = {r.decision_id for r in kept.open_reviews()}
        assert not open_ids & answered, "a review answered while kept never reopens"


def test_the_live_feed_keeps_the_newest_reviews_read_off_the_broker() -> None:
    with DevKafka(partitions=1) as kafka:
        producer = confluent_kafka.Producer({"bootstrap.servers": kafka.bootstrap})
        for n in range(40):
            producer.produce(REVIEWS, orjson.dumps(review(n, T0 + n * 1000)), b"p1")
        producer.produce(OUTCOMES, orjson.dumps(verdict(39, T0 + 50_000)), b"p1")
        producer.produce(REVIEWS, b"not json", b"p1")
        assert producer.flush(10) == 0
        settings_ = load_settings().kafka.model_copy(update={"bootstrap_servers": kafka.bootstrap})
        with LiveFeed(settings_, FeedLimits(cases=5)) as feed:
            deadline = time.monotonic() + 30
            # Both topics read to the end: the unreadable last review, the verdict.
            while (feed.unreadable == 0 or feed.verdict_for("d39") is None) \
                    and time.monotonic() < deadline:
                time.sleep(0.1)
            assert [r.decision_id for r in feed.open_reviews()] == ["d35", "d36", "d37", "d38"]
            assert feed.counts() == {"open": 4, "approved": 1, "denied": 0, "all": 5}
            assert feed.verdict_for("d39") is not None
            assert feed.memory.forgotten_cases == 35
            assert len(feed.player_actions("p1")) == 40
