"""Scoring with released models: a point's score follows from the input alone.

The rule (`pitboss.models.release`): a point stamped c is scored with the models as
learned from every item stamped before `boundary(c)`, in merge order. These tests
compute that by definition, from scratch for every point, and compare it with what
the models step and the scoring shards' replicas give, however the models step's
input is batched and however releases and points interleave at a scoring shard.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pitboss.config.models import ModelSettings
from pitboss.models.model_set import ModelSet
from pitboss.models.model_step import ModelStep
from pitboss.models.release import ModelRelease, ModelReplica, boundary, is_scoring_input
from pitboss.operators.ordered_merge import DONE, ShardProgress, Stamped
from pitboss.operators.outputs import LabelledExample, ScoredPoint, ScoringPoint
from tests.models.factories import FRAUDSTER, HARMED, RECREATIONAL, features

EVERY = 1_000
SHARDS = ("s0", "s1")
SETTINGS = ModelSettings(  # models that warm up and change after a few labels
    churn={"min_labels": 2, "min_positives": 1, "min_negatives": 1, "trust_labels": 0},
    risk={"min_labels": 2, "min_positives": 1, "min_negatives": 1},
    fraud={"min_labels": 2, "min_positives": 1, "min_negatives": 1},
    anomaly_window=3)
ROWS = (features(RECREATIONAL), features(HARMED), features(FRAUDSTER),
        features(RECREATIONAL, deposits_24h=3.0, instruments_7d=3.0))

# One shard output: (clock step, what: 0 point, 1 wallet point, 2 label, 3 progress, row).
output = st.tuples(st.integers(0, 700), st.integers(0, 3), st.integers(0, len(ROWS) - 1))


def shard_streams(draws: dict[str, list[tuple[int, int, int]]]) -> dict[str, list[object]]:
    """Return each shard's outputs, stamped in its own order, ending with DONE progress."""
    streams: dict[str, list[object]] = {}
    for shard, outputs in draws.items():
        clock, seq, items = 10_000, 0, []
        for n, (step, what, row) in enumerate(outputs):
            clock += step
            if what == 3:
                items.append(ShardProgress(shard, clock))
                continue
            seq += 1
            inner: object
            if what == 2:
                inner = LabelledExample(("churn", "risk", "fraud")[n % 3], f"{shard}-{n}",
                                        ROWS[row], n % 2, clock - 5, clock)
            else:
                trigger = "deposit" if what == 1 else "bet"
                inner = ScoringPoint(f"{shard}-{n}", clock, trigger, f"e{n}", "UK", ROWS[row])
            items.append(Stamped(shard, clock, seq, inner))
        items.append(ShardProgress(shard, DONE))
        streams[shard] = items
    return streams


def by_definition(streams: dict[str, list[object]]) -> dict[str, list[ScoredPoint]]:
    """Score every point from scratch, by the rule's definition.

    Each with a model set that learned every item stamped before the point's boundary,
    in (clock, shard, sequence) order, and nothing else.
    """
    merged = sorted((s for items in streams.values() for s in items if isinstance(s, Stamped)),
                    key=lambda s: (s.clock_ms, s.shard, s.seq))
    out: dict[str, list[ScoredPoint]] = {shard: [] for shard in streams}
    for stamped in merged:
        point = stamped.item
        if not isinstance(point, ScoringPoint):
            continue
        models = ModelSet(SETTINGS)
        for earlier in merged:
            if earlier.clock_ms >= boundary(stamped.clock_ms, EVERY):
                break
            if isinstance(earlier.item, LabelledExample):
                models.learn(earlier.item)
            elif isinstance(earlier.item, ScoringPoint):
                models.observe(earlier.item)
        scored = models.score(point)
        scored.order = (stamped.clock_ms, stamped.shard, stamped.seq)
        out[stamped.shard].append(scored)
    return out


def through_the_steps(streams: dict[str, list[object]], data: st.DataObject
                      ) -> dict[str, list[ScoredPoint]]:
    """Run the models step and one replica per shard, batches and interleaving drawn."""
    step = ModelStep(ModelSet(SETTINGS), SHARDS, EVERY)
    pending = {shard: list(items) for shard, items in streams.items()}
    replicas = {shard: ModelReplica(EVERY) for shard in SHARDS}
    to_replica: dict[str, list[object]] = {shard: [] for shard in SHARDS}
    out: dict[str, list[ScoredPoint]] = {shard: [] for shard in SHARDS}
    while any(pending.values()):
        batch: list[object] = []
        for shard in SHARDS:  # each shard hands on a drawn number of its outputs
            n = data.draw(st.integers(1, 4))
            sent, pending[shard] = pending[shard][:n], pending[shard][n:]
            batch += sent
            to_replica[shard] += [o for o in sent if is_scoring_input(o)]
        released = [o for o in step.process(batch) if isinstance(o, ModelRelease)]
        for shard in SHARDS:
            queue = to_replica[shard]
            first = data.draw(st.integers(0, len(queue)))  # points may come before a release
            for item in [*queue[:first], *released, *queue[first:]]:
                out[shard] += replicas[shard].take(item)
            to_replica[shard] = []
    last = [o for o in step.finish() if isinstance(o, ModelRelease)]
    for shard in SHARDS:
        for item in last:
            out[shard] += replicas[shard].take(item)
        assert not replicas[shard].waiting
    return out


def comparable(scored: list[ScoredPoint]) -> list[tuple[object, ...]]:
    return [(s.point, s.scores, s.challengers, s.order) for s in scored]


@settings(max_examples=60, deadline=None)
@given(s0=st.lists(output, max_size=25), s1=st.lists(output, max_size=25), data=st.data())
def test_points_are_scored_with_the_release_of_their_boundary(
        s0: list[tuple[int, int, int]], s1: list[tuple[int, int, int]],
        data: st.DataObject) -> None:
    streams = shard_streams({"s0": s0, "s1": s1})
    expected, got = by_definition(streams), through_the_steps(streams, data)
    for shard in SHARDS:
        assert comparable(got[shard]) == comparable(expected[shard])


def test_the_definition_sees_learning() -> None:
    """Labels before a point's boundary warm its models up; a label after it does not count."""
    draws = {"s0": [(0, 2, 1), (0, 2, 0), (0, 2, 1), (0, 2, 0), (0, 2, 1), (0, 2, 0),
                    (1_500, 0, 1), (0, 2, 1), (10, 0, 1)],
             "s1": [(3_000, 3, 0)]}
    first, second = by_definition(shard_streams(draws))["s0"]
    assert first.scores["churn"].model_version.endswith("-n2")  # two churn labels learned
    assert second.scores == first.scores  # the label at 11,500 is after boundary 11,000


def test_a_point_waits_only_while_its_boundary_is_not_released() -> None:
    replica = ModelReplica(EVERY)
    models = ModelSet(SETTINGS).release()
    point = ScoringPoint("p", 2_500, "bet", "e", "UK", ROWS[0])
    assert replica.take(ModelRelease(1_000, models)) == []
    assert replica.take(Stamped("s0", 2_500, 1, point)) == []  # boundary 2,000 not released
    later = Stamped("s0", 2_600, 2, point)
    assert replica.take(later) == []  # behind a waiting point, in the shard's order
    scored = replica.take(ModelRelease(2_000, None))
    assert [s.order for s in scored] == [(2_500, "s0", 1), (2_600, "s0", 2)]
    assert all(s.waited for s in scored)
    assert not replica.take(Stamped("s0", 2_700, 3, point))[0].waited


def test_progress_forgets_the_releases_no_coming_point_needs() -> None:
    replica = ModelReplica(EVERY)
    first, second = ModelSet(SETTINGS).release(), ModelSet(SETTINGS).release()
    replica.take(ModelRelease(1_000, first))
    replica.take(ModelRelease(3_000, second))
    assert len(replica.versions) == 2
    replica.take(ShardProgress("s0", 1_999))  # a coming point may be at boundary 1,000
    assert len(replica.versions) == 2
    replica.take(ShardProgress("s0", 2_000))
    assert [models for _, models in replica.versions] == [second]


def test_a_replica_refuses_what_is_not_its_input() -> None:
    with pytest.raises(TypeError, match="model replica"):
        ModelReplica(EVERY).take("a string")
