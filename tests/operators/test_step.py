"""Every stateful step passes the step contract (`pitboss.operators.step_checks`).

The player shards, the models step and the policy shards, each fed what it is fed in
the dataflow: a small simulated population routed and sharded, the shards' stamped
points and progress for the models, the models' scored points for the policy.
Hypothesis cuts each input into batches and picks where to snapshot and resume.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from typing import cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pitboss.config.settings import load_settings
from pitboss.models import model_step
from pitboss.models.model_set import ModelSet
from pitboss.models.model_step import ModelStep
from pitboss.operators import input_clock as input_clock_module
from pitboss.operators import player_shard, policy_shard
from pitboss.operators.contract import EventParser
from pitboss.operators.ingest import IngestRouter, is_shard_work
from pitboss.operators.input_clock import INPUT_CLOCK, InputClock
from pitboss.operators.ordered_merge import ShardProgress, Stamped
from pitboss.operators.out_of_rhythm import OutOfRhythm
from pitboss.operators.outputs import Ordered, ScoredPoint
from pitboss.operators.player_shard import PlayerShard, ShardState
from pitboss.operators.policy.engine import PolicyEngine
from pitboss.operators.policy.settings import load_policy
from pitboss.operators.policy_shard import PolicyShard, PolicyShardState
from pitboss.operators.sharding import shard_names
from pitboss.operators.step import Step, resumable
from pitboss.operators.step_checks import (
    Build,
    StepCheckFailed,
    check_every_epoch_resumes,
    check_process_is_deterministic,
    check_resume_equals_uninterrupted,
    check_state_round_trips,
    check_step,
    run_step,
)
from pitboss.replay.simulator.simulate import simulate

SETTINGS = load_settings()
POLICY = load_policy(None)
PLAYERS, DAYS, SEED, BATCH = 12, 10, 7, 100


@dataclass(frozen=True)
class StepCase:
    """A step to check: how to build it, and an input that exercises it, batch by batch."""

    name: str
    build: Build
    batches: list[list[object]]

    @property
    def items(self) -> list[object]:
        return [item for batch in self.batches for item in batch]


def player_shards() -> Build:
    def start(state: ShardState | None) -> PlayerShard:
        return PlayerShard.from_settings(SETTINGS.features, SETTINGS.labels, True, state,
                                         OutOfRhythm.of_policy(POLICY))

    return resumable(start, player_shard.load_state)


def models_step() -> Build:
    names = shard_names(SETTINGS.features.shards)

    def start(step: ModelStep | None) -> ModelStep:
        return step or ModelStep(ModelSet(SETTINGS.models, POLICY.marker_book()), names)

    return resumable(start, model_step.load_state)


def policy_shards() -> Build:
    engine = PolicyEngine(POLICY)

    def start(state: PolicyShardState | None) -> PolicyShard:
        return PolicyShard(engine, state)

    return resumable(start, policy_shard.load_state)


@cache
def _routed() -> list[list[tuple[str, list[object]]]]:
    """Return the simulated population's shard work, batch by batch, keyed by shard."""
    router = IngestRouter(EventParser(SETTINGS.contract, lambda: 2**62),
                          SETTINGS.features.shards, SETTINGS.features.clock_tick_s * 1000)
    messages = list(simulate(PLAYERS, DAYS, SEED))
    batches = []
    for start in range(0, len(messages), BATCH):
        raw = [("sim", start + i, m) for i, m in enumerate(messages[start:start + BATCH])]
        work = filter(is_shard_work, router.route_by_shard(raw))
        batches.append([(key, cast(list[object], items)) for key, items in work])
    return batches


def input_clock() -> Build:
    def start(clock: InputClock | None) -> InputClock:
        return clock or InputClock(SETTINGS.features.shards)

    return resumable(start, input_clock_module.load_state)


@cache
def _progress() -> list[list[object]]:
    """Return the routers' progress reports of the simulated population, batch by batch."""
    router = IngestRouter(EventParser(SETTINGS.contract, lambda: 2**62),
                          SETTINGS.features.shards, SETTINGS.features.clock_tick_s * 1000,
                          report_progress=True)
    messages = list(simulate(PLAYERS, DAYS, SEED))
    return [[item for key, item in router.route_by_shard(
                [("sim", start + i, m) for i, m in enumerate(messages[start:start + BATCH])])
             if key == INPUT_CLOCK] for start in range(0, len(messages), BATCH)]


@cache
def cases() -> dict[str, StepCase]:
    """Return the three steps, each with the input the step before it hands on."""
    shard_input: list[list[object]] = [
        [item for _, items in batch for item in items] for batch in _routed()
    ]
    shards: dict[str, Step] = {}
    model_input: list[list[object]] = []
    for batch in _routed():
        out: list[object] = []
        for key, items in batch:
            if key not in shards:
                shards[key] = player_shards()(None)
            out += shards[key].process(list(items))
        model_input.append([o for o in out if isinstance(o, Stamped | ShardProgress)])
    model_input.append([o for shard in shards.values() for o in shard.finish()
                        if isinstance(o, Stamped | ShardProgress)])
    models = models_step()(None)
    policy_input = [[o for o in models.process(batch) if isinstance(o, ScoredPoint)]
                    for batch in model_input]
    return {
        "player_shard": StepCase("player_shard", player_shards(), shard_input),
        "model_step": StepCase("model_step", models_step(), model_input),
        "policy_shard": StepCase("policy_shard", policy_shards(), policy_input),
        "input_clock": StepCase("input_clock", input_clock(), _progress()),
    }


CASES = ("player_shard", "model_step", "policy_shard", "input_clock")


def test_the_inputs_exercise_every_step() -> None:
    """A check over a step that emits nothing could not fail."""
    shard, models, policy, clock = (cases()[name] for name in CASES)
    assert len(clock.items) > 20 and len(clock.build(None).finish()) == 0
    ticks = clock.build(None)
    ticks.process(clock.items)
    assert len(ticks.finish()) == SETTINGS.features.shards
    assert len(shard.items) > 500 and len(models.items) > 100
    assert len(policy.items) > 30  # scored points
    decisions = [o for o in run_step(policy.build(None), policy.batches) if isinstance(o, Ordered)]
    assert decisions


@pytest.mark.parametrize("name", CASES)
def test_a_step_satisfies_the_protocol(name: str) -> None:
    assert isinstance(cases()[name].build(None), Step)


@pytest.mark.parametrize("name", CASES)
def test_process_is_deterministic(name: str) -> None:
    case = cases()[name]
    check_process_is_deterministic(case.build, case.batches)


@pytest.mark.parametrize("name", CASES)
def test_state_pickles_and_round_trips(name: str) -> None:
    case = cases()[name]
    check_state_round_trips(case.build, case.batches)


def _cut(items: list[object], cuts: list[int]) -> list[list[object]]:
    bounds = [0, *sorted(cuts), len(items)]
    return [items[a:b] for a, b in pairwise(bounds)]


@pytest.mark.parametrize("name", CASES)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_snapshot_then_resume_equals_uninterrupted(name: str, data: st.DataObject) -> None:
    items = cases()[name].items
    cuts = data.draw(st.lists(st.integers(0, len(items)), max_size=6), label="cuts")
    batches = _cut(items, cuts)
    resume_after = data.draw(st.integers(0, len(batches)), label="resume_after")
    check_resume_equals_uninterrupted(cases()[name].build, batches, resume_after)


@pytest.mark.parametrize("name", CASES)
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_snapshot_at_every_epoch_end_resumes(name: str, data: st.DataObject) -> None:
    items = cases()[name].items
    epochs = data.draw(st.integers(8, 24), label="epochs")
    first = data.draw(st.integers(1, len(items) // epochs), label="first")
    cuts = list(range(first, len(items), len(items) // epochs))
    check_every_epoch_resumes(cases()[name].build, _cut(items, cuts))


# -- the checks themselves can fail -------------------------------------------------------


class _Forgetful:
    """Counts its items, but its snapshot forgets the count: resuming starts again from 0."""

    def __init__(self, total: int | None = None) -> None:
        self.total = total or 0

    def process(self, items: list[object]) -> list[object]:
        self.total += len(items)
        return [self.total]

    def finish(self) -> list[object]:
        return [self.total]

    def snapshot(self) -> bytes:
        return pickle.dumps(0)


class _Restless(_Forgetful):
    """Counts its items, and also every snapshot taken: snapshotting disturbs it."""

    def snapshot(self) -> bytes:
        self.total += 1
        return pickle.dumps(self.total)


def _build(cls: type[_Forgetful]) -> Callable[[bytes | None], _Forgetful]:
    return resumable(cls, pickle.loads)


@pytest.mark.parametrize(("cls", "says"), [
    (_Forgetful, "resume after 1 batches equals uninterrupted"),
    (_Restless, "snapshot after 1 batches leaves the step undisturbed"),
])
def test_a_step_that_breaks_the_contract_fails_the_checks(
    cls: type[_Forgetful], says: str
) -> None:
    with pytest.raises(StepCheckFailed, match=says):
        check_resume_equals_uninterrupted(_build(cls), [["a"], ["b"]], 1)


class _Stale(_Forgetful):
    """Counts its items, but writes only its first snapshot: later changes are lost."""

    written: bytes | None = None

    def snapshot(self) -> bytes:
        if self.written is None:
            self.written = pickle.dumps(self.total)
        return self.written


def test_a_step_whose_later_snapshots_miss_changes_fails() -> None:
    with pytest.raises(StepCheckFailed, match="snapshot after batch 2 of 3"):
        check_every_epoch_resumes(_build(_Stale), [["a"], ["b"], ["c"]])


def test_a_step_whose_snapshot_is_not_bytes_fails() -> None:
    class _Unpickled(_Forgetful):
        def snapshot(self) -> bytes:
            return cast(bytes, self.total)

    with pytest.raises(StepCheckFailed, match="not bytes"):
        check_step(resumable(_Unpickled, int), [["a"], ["b"]], 1)
