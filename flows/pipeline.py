"""The Pitboss dataflow from raw messages to decisions, shared by replay and live workers.

Thin wiring only; every rule lives in `operators/` and `models/`:

    source -> validate_and_route -> (input counts, parser dead letters) ----------> outputs
                                 -> input_clock (one key: at a replay's end, a tick
                                                 to every shard at the last event time)
                                 -> player_shards -> (features, dead letters) -----> outputs
                                      | labels, wallet points, progress
                                      v
                                    models (one key: ordered merge, learning) -> metrics -> outputs
                                      | a release at each event-time boundary, to every shard
                                      v
                  points, progress -> policy (by shard: scoring, then policy)
                                                 -> (scores, decisions) -> outputs

Scoring is off the models step's path: each shard scores its points with the models
released at their boundary (`pitboss.models.release`), so no point waits for other
shards unless the models step is behind.

`build_flow` takes any Bytewax source of raw messages and any sink; the replay
(`pitboss.replay.runner`) and the live worker (`pitboss.flows.live`) differ only in
those. Each stateful step is a `pitboss.operators.step.Step` hosted by the one adapter
`pitboss.flows.step_logic.stateful_step`.

Step ids are stable names: renaming one orphans recovery state.

End of input means different things: a replay's log is complete, so shards report
totals and the models step drains its merge and closes the metrics hour; a live
worker's input only ends because the worker is stopping, so with
`finish_at_eof=False` the steps emit nothing and keep their state untouched for the
next start (`docs/operations.md`).
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any, cast

import bytewax.operators as op
from bytewax.dataflow import Dataflow, Stream
from bytewax.inputs import Source
from bytewax.operators import KeyedStream
from bytewax.outputs import Sink

from pitboss.config.settings import Settings
from pitboss.flows.step_logic import stateful_step
from pitboss.models import model_step, scoring_shard
from pitboss.models.model_set import ModelSet
from pitboss.models.model_step import ModelStep
from pitboss.models.release import ModelRelease, ModelReplica, is_scoring_input
from pitboss.models.scoring_shard import ScoringShard
from pitboss.operators import input_clock, player_shard
from pitboss.operators.contract import EventParser, wall_clock_ms
from pitboss.operators.ingest import IngestRouter, RawMessage, is_progress, is_shard_work
from pitboss.operators.input_clock import InputClock
from pitboss.operators.ordered_merge import ShardProgress, Stamped
from pitboss.operators.out_of_rhythm import OutOfRhythm
from pitboss.operators.outputs import ClockTick, ScoredPoint
from pitboss.operators.player_shard import PlayerShard, ShardState
from pitboss.operators.policy.compliance_facts import EMPTY_FACTS, ComplianceFacts
from pitboss.operators.policy.engine import PolicyEngine
from pitboss.operators.policy.settings import PolicySettings, load_policy
from pitboss.operators.policy_shard import PolicyShard, PolicyShardState
from pitboss.operators.sharding import shard_key, shard_names
from pitboss.operators.step import StepBuilder, resumable

MODELS_KEY = "models"


def _is_model_bound(item: tuple[str, object]) -> bool:
    return isinstance(item[1], (Stamped, ShardProgress))


def build_flow(
    source: Source[RawMessage],
    settings: Settings,
    sink: Sink[Any],
    finish_at_eof: bool = True,
    *,
    flow_id: str,
    input_id: str,
    models: ModelSet | None = None,
    compliance: ComplianceFacts = EMPTY_FACTS,
    partitions: int = 1,
) -> Dataflow:
    """Return the whole pipeline as a dataflow, from `source` to `sink`.

    Args:
        source: raw messages `(source, position, value)` from any input connector.
        settings: validated configuration.
        sink: where every output item goes (replay files and ClickHouse, or Kafka too).
        finish_at_eof: True (replay) when end of input means the input is complete;
            False (live) when it only means the worker stops and will resume later.
        flow_id: the dataflow's id, part of every step id (keep it: recovery state).
        input_id: the input step's id (keep it: recovery state).
        models: warm-started models, or None to start from scratch.
        compliance: the durable compliance facts read at start, which the compliance
            gate consults beside each player's state (replay and live alike).
        partitions: how many partitions by player the source reads
            (`pitboss.operators.partitioning`): each shard's clock then follows its own
            partition's input.
    """
    flow = Dataflow(flow_id)
    raw = op.input(input_id, flow, source)
    features, shards = settings.features, settings.features.shards
    router = IngestRouter(EventParser(settings.contract, wall_clock_ms), shards,
                          features.clock_tick_s * 1000, partitions=partitions,
                          report_progress=finish_at_eof)
    routed = op.flat_map_batch("validate_and_route", raw, router.route_by_shard)
    ingest = op.branch("split_ingest_records", routed, is_shard_work)
    reports = op.branch("split_progress", ingest.falses, is_progress)
    end_ticks = stateful_step("input_clock", cast(KeyedStream[object], reports.trues),
                              input_clock_step(shards), finish_at_eof)
    shard_in = op.merge("shard_input", ingest.trues,
                        op.map("key_end_ticks", end_ticks, _to_its_shard))

    policy_settings = load_policy(_policy_path(settings))
    shard_out = stateful_step("player_shards", cast(KeyedStream[object], shard_in),
                              player_shards(settings, policy_settings), finish_at_eof,
                              grouped=True)
    split = op.branch("split_model_bound", shard_out, _is_model_bound)

    learned = model_step.learns_from(settings.models.anomaly_triggers)
    to_models = op.filter_map("key_models", split.trues,
                              lambda kv: (MODELS_KEY, kv[1]) if learned(kv[1]) else None)
    model_out = stateful_step("models", cast(KeyedStream[object], to_models),
                              models_step(settings, policy_settings, models), finish_at_eof)
    released = op.branch("split_released", model_out, _is_for_scoring)
    names = shard_names(shards)

    def key_released(item: tuple[str, object]) -> list[tuple[str, object]]:
        released = item[1]
        if isinstance(released, ScoredPoint):  # held from before releases: to its own shard
            return [(shard_key(released.point.player_id, shards), released)]
        return [(name, released) for name in names]  # a release: to every scoring shard

    to_scoring = op.merge(
        "scoring_input", op.filter("points_and_progress", split.trues,
                                   lambda kv: is_scoring_input(kv[1])),
        op.flat_map("key_releases", cast(Stream[tuple[str, object]], released.trues),
                    key_released))
    engine = PolicyEngine(policy_settings, compliance)
    decisions = stateful_step("policy", cast(KeyedStream[object], to_scoring),
                              scoring_shards(settings, engine), finish_at_eof)
    outputs = op.merge("outputs", reports.falses, split.falses, released.falses, decisions)
    op.output("run_outputs", outputs, sink)
    return flow


def _is_for_scoring(item: tuple[str, object]) -> bool:
    return isinstance(item[1], (ModelRelease, ScoredPoint))


def _to_its_shard(item: tuple[str, object]) -> tuple[str, list[object]]:
    tick = cast(ClockTick, item[1])
    return tick.shard, [tick]  # the shards take lists of items (`route_by_shard`)


def input_clock_step(shards: int) -> StepBuilder[InputClock]:
    """Return the builder of the input clock (`pitboss.operators.input_clock`)."""

    def start(clock: InputClock | None) -> InputClock:
        return clock if clock is not None else InputClock(shards)

    return resumable(start, input_clock.load_state)


def player_shards(settings: Settings, policy: PolicySettings) -> StepBuilder[PlayerShard]:
    """Return the builder of a scoring player shard, fresh or resumed from its snapshot.

    Quiet players are scored at the policy's out-of-rhythm point, each at their
    jurisdiction's, where the policy offers re-activation.
    """
    out_of_rhythm = OutOfRhythm.of_policy(policy)

    def start(state: ShardState | None) -> PlayerShard:
        return PlayerShard.from_settings(settings.features, settings.labels, True, state,
                                         out_of_rhythm)

    return resumable(start, player_shard.load_state)


def models_step(
    settings: Settings, policy: PolicySettings, models: ModelSet | None
) -> StepBuilder[ModelStep]:
    """Return the builder of the models step: from `models` (a copy) or new, or resumed."""
    names = shard_names(settings.features.shards)
    markers = policy.marker_book()  # one table for the risk rule and the policy
    every_ms = settings.models.release_every_s * 1000

    def start(step: ModelStep | None) -> ModelStep:
        if step is not None:  # resumed: its rules follow the current configuration
            step.models.follow(settings.models, markers)
            step.every_ms = every_ms
            return step
        initial = models or ModelSet(settings.models, markers)
        return ModelStep(pickle.loads(pickle.dumps(initial)), names, every_ms)  # its own copy

    return resumable(start, model_step.load_state)


def scoring_shards(settings: Settings, engine: PolicyEngine) -> StepBuilder[ScoringShard]:
    """Return the builder of a scoring shard around `engine`, fresh or resumed."""
    every_ms = settings.models.release_every_s * 1000

    def start(state: tuple[ModelReplica | None, PolicyShardState] | None) -> ScoringShard:
        replica, policy = (None, None) if state is None else state
        if replica is None:
            replica = ModelReplica(every_ms)
        replica.every_ms = every_ms
        return ScoringShard(replica, PolicyShard(engine, policy))

    return resumable(start, scoring_shard.load_state)


def _policy_path(settings: Settings) -> Path | None:
    return Path(settings.policy_file) if settings.policy_file else None
