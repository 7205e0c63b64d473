"""Every stateful step passes the step contract (`pitboss.operators.step_checks`).

The player shards, the models step and the scoring shards, each fed what it is fed in
the dataflow: a small simulated population routed and sharded, the shards' labels,
wallet points and progress for the models, and one shard's points and progress with
the models' releases for a scoring shard (either first in turn).
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
from pitboss.models import model_step, scoring_shard
from pitboss.models.model_set import ModelSet
from pitboss.models.model_step import ModelStep, learns_from
from pitboss.models.release import ModelRelease, ModelReplica, is_scoring_input
from pitboss.models.scoring_shard import ScoringShard
from pitboss.operators import input_clock as input_clock_module
from pitboss.operators import player_shard
from pitboss.operators.contract import EventParser
from pitboss.operators.ingest import IngestRouter, is_shard_work
from pitboss.operators.input_clock import INPUT_CLOCK, InputClock
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

_DEFAULTS = load_settings()
SETTINGS = _DEFAULTS.model_copy(update={  # two shards: a scoring shard sees many points
    "features": _DEFAULTS.features.model_copy(update={"shards": 2})})
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


EVERY_MS = SETTINGS.models.release_every_s * 1000


def models_step() -> Build:
    names = shard_names(SETTINGS.features.shards)

    def start(step: ModelStep | None) -> ModelStep:
        return step or ModelStep(ModelSet(SETTINGS.models, POLICY.marker_book()), names,
                                 EVERY_MS)

    return resumable(start, model_step.load_state)


def scoring_shards() -> Build:
    engine = PolicyEngine(POLICY)

    def start(state: tuple[ModelReplica | None, PolicyShardState] | None) -> ScoringShard:
        replica, policy = (None, None) if state is None else state
        return ScoringShard(replica or ModelReplica(EVERY_MS), PolicyShard(engine, policy))

    return resumable(start, scoring_shard.load_state)


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
    shard_outputs: list[list[tuple[str, object]]] = []
    for batch in _routed():
        out: list[tuple[str, object]] = []
        for key, items in batch:
            if key not in shards:
                shards[key] = player_shards()(None)
            out += [(key, o) for o in shards[key].process(list(items))]
        shard_outputs.append(out)
    shard_outputs.append([(key, o) for key, shard in shards.items() for o in shard.finish()])
    learned = learns_from(SETTINGS.models.anomaly_triggers)
    model_input = [[o for _, o in out if learned(o)] for out in shard_outputs]
    models = models_step()(None)
    releases = [[o for o in models.process(learnt) if isinstance(o, ModelRelease)]
                for learnt in model_input]
    releases.append([o for o in models.finish() if isinstance(o, ModelRelease)])

    def scoring_input(shard: str) -> list[list[object]]:
        """Return a scoring shard's input: its own points and progress, and every release."""
        batches: list[list[object]] = []
        for out, released in zip([*shard_outputs, []], releases, strict=True):
            points = [o for key, o in out if key == shard and is_scoring_input(o)]
            batches.append([*points, *released] if len(batches) % 2 else [*released, *points])
        return batches  # either may come first

    def decisions(shard: str) -> int:
        outputs = run_step(scoring_shards()(None), scoring_input(shard))
        return sum(isinstance(o, Ordered) for o in outputs)

    busiest = max(sorted(shards), key=decisions)
    return {
        "player_shard": StepCase("player_shard", player_shards(), shard_input),
        "model_step": StepCase("model_step", models_step(), model_input),
        "scoring_shard": StepCase("scoring_shard", scoring_shards(), scoring_input(busiest)),
        "input_clock": StepCase("input_clock", input_clock(), _progress()),
    }


CASES = ("player_shard", "model_step", "scoring_shard", "input_clock")


def test_the_inputs_exercise_every_step() -> None:
    """A check over a step that emits nothing could not fail."""
    shard, models, scoring, clock = (cases()[name] for name in CASES)
    assert len(clock.items) > 20 and len(clock.build(None).finish()) == 0
    ticks = clock.build(None)
    ticks.process(clock.items)
    assert len(ticks.finish()) == SETTINGS.features.shards
    assert len(shard.items) > 500 and len(models.items) > 100
    released = [o for o in scoring.items if isinstance(o, ModelRelease)]
    assert len(released) > 40 and sum(r.models is not None for r in released) > 10
    outputs = run_step(scoring.build(None), scoring.batches)
    scored = [o for o in outputs if isinstance(o, ScoredPoint)]
    assert len(scored) > 30 and any(s.waited for s in scored) and not all(s.waited for s in scored)
    assert [o for o in outputs if isinstance(o, Ordered)]  # decisions


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
