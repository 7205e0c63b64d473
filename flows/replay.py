"""The replay dataflow: recorded logs through validation and per-player shards to the sinks.

Thin wiring only; every rule lives in `operators/`. The live worker wires the same
steps behind a Kafka source, so replay and live differ only in their input and
output connectors. Step ids are stable names: renaming one orphans recovery state.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import cast

import bytewax.operators as op
from bytewax.dataflow import Dataflow
from bytewax.operators import KeyedStream

from config.settings import Settings
from flows.log_source import RecordedLogSource
from flows.outputs_sink import RunOutputsSink
from flows.shard_step import shard_builder
from operators.contract import EventParser, wall_clock_ms
from operators.ingest import IngestRouter
from operators.player_shard import PlayerShard, ShardState
from sinks.run_outputs import RunOutputs


def build_replay_flow(
    inputs: list[Path],
    settings: Settings,
    make_outputs: Callable[[], RunOutputs],
    batch_size: int = 1000,
) -> Dataflow:
    """Return the replay dataflow over `inputs`, writing through `make_outputs()`."""
    flow = Dataflow("pitboss_replay")
    raw = op.input("recorded_logs", flow, RecordedLogSource(inputs, batch_size))
    router = IngestRouter(
        EventParser(settings.contract, wall_clock_ms),
        settings.features.shards,
        settings.features.clock_tick_s * 1000,
    )
    keyed = cast(KeyedStream[object], op.flat_map_batch("validate_and_route", raw, router.route))

    def make_shard(state: ShardState | None) -> PlayerShard:
        return PlayerShard.from_settings(settings.features, settings.labels, False, state)

    shards = op.stateful_batch("player_shards", keyed, shard_builder(make_shard))
    op.output("run_outputs", shards, RunOutputsSink(make_outputs))
    return flow
