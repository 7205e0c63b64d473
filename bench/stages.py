"""Where the time goes: each stage of the pipeline timed on its own, batch by batch.

The input is fed in batches of 1,000 through plain-Python stages exactly as the
dataflow chains them (no engine): decode and validate (contract parser, timed alone),
routing, features (player shards), learning (the models step: ordered merge, learn,
release), scoring and policy (scoring shards: score with the release, engine and gate)
and sink (ClickHouse writes through the run outputs, with
the part spent inside `client.insert`, serialization and chDB's engine, shown on its
own: the rest is building rows, buffering and deduplication tokens). Each
stage's output for a batch is handed to the next and then dropped, so object lifetimes
(and garbage-collector work) are those of the real pipeline. Figures are microseconds
per input event; they add up to roughly the pipeline's cost without the engine's own.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from clickhouse_connect.driver.client import Client

from bench.step_chain import StepChain
from pitboss.config.settings import load_settings
from pitboss.flows.gc_tuning import pipeline_gc
from pitboss.operators.contract import EventParser, wall_clock_ms
from pitboss.operators.ingest import IngestRouter, is_shard_work
from pitboss.operators.policy.settings import load_policy
from pitboss.replay.log.recorded_log import read_log_messages
from pitboss.sinks.clickhouse_client import open_client
from pitboss.sinks.clickhouse_writer import ClickHouseWriter
from pitboss.sinks.migrations import apply_migrations
from pitboss.sinks.run_outputs import RunOutputs

STAGES = ("decode, validate and route", "of which decode and validate alone",
          "features (player shards)",
          "learning (merge, learn, release)", "scoring and policy (scoring shards)",
          "sink (ClickHouse writes)", "of which client.insert (serialize, engine)")


def _parse_all(parser: EventParser, raw: list[tuple[str, int, bytes]]) -> None:
    for source, position, value in raw:
        parser.parse(value, source, position)


class _TimedWriter(ClickHouseWriter):
    """The writer, counting the seconds spent in `client.insert` (retries included)."""

    def __init__(self, client: Client, database: str) -> None:
        super().__init__(client, database)
        self.insert_s = 0.0

    def _insert(
        self, table: str, columns: tuple[str, ...], data: list[list[Any]], token: str
    ) -> None:
        started = time.perf_counter()
        try:
            super()._insert(table, columns, data, token)
        finally:
            self.insert_s += time.perf_counter() - started


class _Clock:
    def __init__(self) -> None:
        self.spent = dict.fromkeys(STAGES, 0.0)

    def run(self, stage: str, fn: Any, *args: Any) -> Any:
        started = time.perf_counter()
        result = fn(*args)
        self.spent[stage] += time.perf_counter() - started
        return result


def measure(log: Path, events: int, chdb_dir: Path) -> dict[str, Any]:
    """Time every stage over the first `events` messages of `log`."""
    settings = load_settings()
    parser = EventParser(settings.contract, wall_clock_ms)
    router = IngestRouter(parser, settings.features.shards, settings.features.clock_tick_s * 1000)
    chain = StepChain(settings, load_policy(None))
    client = open_client(None, chdb_dir, "bench_stages")
    apply_migrations(client, "bench_stages")
    sink_dir = chdb_dir.parent / "stages-run"
    sink_dir.mkdir(parents=True, exist_ok=True)
    writer = _TimedWriter(client, "bench_stages")
    outputs = RunOutputs(sink_dir, writer, time.monotonic())
    clock = _Clock()
    n = scored_points = decisions = 0

    with pipeline_gc():  # the collector's settings of a pipeline run
        for raw in read_log_messages(log, "log", 0, 1000):
            n += len(raw)
            clock.run("of which decode and validate alone", _parse_all, parser, raw)
            routed = clock.run("decode, validate and route", router.route_by_shard, raw)
            shard_out = clock.run("features (player shards)", chain.player_shards, routed)
            model_out = clock.run("learning (merge, learn, release)", chain.model_step,
                                  shard_out)
            decided = clock.run("scoring and policy (scoring shards)", chain.scoring_shards,
                                shard_out, model_out)
            scored_points += chain.scored(decided)
            decisions += len(decided) - chain.scored(decided)
            sink_in = [kv[1] for kv in routed if not is_shard_work(kv)]
            sink_in += [o for _, o in shard_out if not chain.is_internal(o)]
            sink_in += [o for o in model_out if not chain.is_internal(o)]
            clock.run("sink (ClickHouse writes)", outputs.write, sink_in + decided)
            if n >= events:
                break
        clock.run("sink (ClickHouse writes)", outputs.close)
    clock.spent["of which client.insert (serialize, engine)"] = writer.insert_s
    per = {stage: round(t / n * 1e6, 2) for stage, t in clock.spent.items()}
    return {"events": n, "scoring_points": scored_points, "decisions": decisions,
            "us_per_event": per}
