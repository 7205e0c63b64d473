"""The Pitboss dataflow from raw messages to decisions, shared by replay and live workers.

Thin wiring only; every rule lives in `operators/` and `models/`:

    raw messages -> validate_and_route -> player_shards -> (features, dead letters) -> outputs
                                                       -> models (one key, ordered merge)
                                                              -> (scores, metrics) -> outputs
                                                              -> policy (by shard) -> outputs

Step ids are stable names: renaming one orphans recovery state.

End of input means different things: a replay's log is complete, so shards report
totals and the models step drains its merge and closes the metrics hour; a live
worker's input only ends because the worker is stopping, so with
`finish_at_eof=False` the steps emit nothing and keep their state untouched for the
next start (`docs/operations.md`).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterable
from typing import Any, cast

import bytewax.operators as op
from bytewax.dataflow import Stream
from bytewax.operators import KeyedStream, StatefulBatchLogic
from bytewax.outputs import Sink

from pitboss.config.settings import Settings
from pitboss.flows.shard_step import PlayerShardLogic, shard_builder
from pitboss.models.model_set import ModelSet
from pitboss.models.model_step import ModelStep
from pitboss.operators.contract import EventParser, wall_clock_ms
from pitboss.operators.ingest import IngestRouter, RawMessage
from pitboss.operators.ordered_merge import ShardProgress, Stamped
from pitboss.operators.outputs import ScoredPoint
from pitboss.operators.player_shard import PlayerShard, ShardState
from pitboss.operators.policy.compliance_facts import EMPTY_FACTS, ComplianceFacts
from pitboss.operators.policy.engine import PolicyEngine
from pitboss.operators.policy.settings import load_policy
from pitboss.operators.policy_shard import PolicyShard
from pitboss.operators.sharding import shard_key, shard_names
from pitboss.operators.state_pickle import load_pickled

MODELS_KEY = "models"


class _PickledLogic(StatefulBatchLogic[object, object, bytes]):
    """Bytewax logic around an engine-agnostic step with `process`, `finish` and picklable state."""

    def __init__(
        self, step: Any, state_of: Callable[[Any], object], finish_at_eof: bool = True
    ) -> None:
        self.step = step
        self.state_of = state_of
        self.finish_at_eof = finish_at_eof

    def on_batch(self, values: list[object]) -> tuple[Iterable[object], bool]:
        return self.step.process(values), StatefulBatchLogic.RETAIN

    def on_eof(self) -> tuple[Iterable[object], bool]:
        finish = getattr(self.step, "finish", None) if self.finish_at_eof else None
        return (finish() if finish else []), StatefulBatchLogic.RETAIN

    def snapshot(self) -> bytes:
        return pickle.dumps(self.state_of(self.step), protocol=pickle.HIGHEST_PROTOCOL)


class _PausingShardLogic(PlayerShardLogic):
    """A player shard whose end of input is a pause: no totals, no `DONE` for the merge."""

    def on_eof(self) -> tuple[Iterable[object], bool]:
        return [], StatefulBatchLogic.RETAIN


def _is_model_bound(item: tuple[str, object]) -> bool:
    return isinstance(item[1], (Stamped, ShardProgress))


def _is_scored(item: tuple[str, object]) -> bool:
    return isinstance(item[1], ScoredPoint)


def build_pipeline(
    raw: Stream[RawMessage],
    settings: Settings,
    sink: Sink[Any],
    models: ModelSet | None = None,
    finish_at_eof: bool = True,
    compliance: ComplianceFacts = EMPTY_FACTS,
) -> None:
    """Wire the whole pipeline after `raw`, ending in `sink`.

    Args:
        raw: raw messages `(source, position, value)` from any input connector.
        settings: validated configuration.
        sink: where every output item goes (replay files and ClickHouse, or Kafka too).
        models: warm-started models, or None to start from scratch.
        finish_at_eof: True (replay) when end of input means the input is complete;
            False (live) when it only means the worker stops and will resume later.
        compliance: the durable compliance facts read at start, which the compliance
            gate consults beside each player's state (replay and live alike).
    """
    features, shards = settings.features, settings.features.shards
    router = IngestRouter(EventParser(settings.contract, wall_clock_ms), shards,
                          features.clock_tick_s * 1000)
    keyed = cast(KeyedStream[list[object]],
                 op.flat_map_batch("validate_and_route", raw, router.route_by_shard))

    def make_shard(state: ShardState | None) -> PlayerShard:
        return PlayerShard.from_settings(features, settings.labels, True, state)

    resume_shard = shard_builder(make_shard)

    def build_shard(resume: bytes | None) -> PlayerShardLogic:
        logic = resume_shard(resume)
        return logic if finish_at_eof else _PausingShardLogic(logic.shard)

    shard_out = op.stateful_batch("player_shards", keyed, build_shard)
    split = op.branch("split_model_bound", shard_out, _is_model_bound)

    names = shard_names(shards)
    start_models = models
    policy_settings = load_policy(_policy_path(settings))
    markers = policy_settings.marker_book()  # one table for the risk rule and the policy

    def build_models(resume: bytes | None) -> _PickledLogic:
        if resume is not None:
            step = load_pickled(resume)
        else:
            initial = start_models or ModelSet(settings.models, markers)
            step = ModelStep(pickle.loads(pickle.dumps(initial)), names)
        return _PickledLogic(step, lambda s: s, finish_at_eof)

    to_models = op.map("key_models", split.trues, lambda kv: (MODELS_KEY, kv[1]))
    model_out = op.stateful_batch("models", cast(KeyedStream[object], to_models), build_models)
    scored = op.branch("split_scored", model_out, _is_scored)

    engine = PolicyEngine(policy_settings, compliance)

    def build_policy(resume: bytes | None) -> _PickledLogic:
        state = load_pickled(resume) if resume is not None else None
        return _PickledLogic(PolicyShard(engine, state), lambda s: s.state, finish_at_eof)

    def key_policy(item: tuple[str, ScoredPoint]) -> tuple[str, ScoredPoint]:
        return shard_key(item[1].point.player_id, shards), item[1]

    to_policy = op.map("key_policy", cast(Stream[tuple[str, ScoredPoint]], scored.trues),
                       key_policy)
    decisions = op.stateful_batch("policy", cast(KeyedStream[object], to_policy), build_policy)
    outputs = op.merge("outputs", split.falses, scored.falses, scored.trues, decisions)
    op.output("run_outputs", outputs, sink)


def _policy_path(settings: Settings) -> Any:
    from pathlib import Path

    return Path(settings.policy_file) if settings.policy_file else None
