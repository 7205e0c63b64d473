"""Where the time goes: each stage of the pipeline timed alone, in plain Python, on one input.

Stages: decode and validate (contract parser), features (routing and player shards),
scoring (ordered merge, models: score and learn), policy (engine and gate), sink
(ClickHouse inserts of what the stages produced). Each is reported in microseconds
per input event, so the costliest stage is visible and the figures add up to roughly
the pipeline's cost without the engine's own overhead.
"""

from __future__ import annotations

import time
from itertools import islice
from pathlib import Path
from typing import Any

from config.settings import load_settings
from models.model_set import ModelSet
from operators.contract import EventParser, wall_clock_ms
from operators.ingest import IngestRouter
from operators.model_step import ModelStep
from operators.ordered_merge import ShardProgress, Stamped
from operators.outputs import FeatureRow, Ordered, ScoredPoint
from operators.player_shard import PlayerShard
from operators.policy.engine import PolicyEngine
from operators.policy.settings import load_policy
from operators.policy_shard import PolicyShard
from operators.sharding import shard_names
from replay.recorded_log import read_log_batches
from sinks.clickhouse_client import open_client
from sinks.clickhouse_writer import ClickHouseWriter
from sinks.migrations import apply_migrations
from sinks.run_outputs import RunOutputs


def _timed(fn: Any, *args: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - started, result


def measure(log: Path, events: int, chdb_dir: Path) -> dict[str, Any]:
    """Time every stage over the first `events` messages of `log`."""
    settings = load_settings()
    batches = [
        [("log", pos, raw) for pos, raw in batch]
        for batch in islice(read_log_batches(log, 0, 1000), (events + 999) // 1000)
    ]
    n = sum(map(len, batches))
    parser = EventParser(settings.contract, wall_clock_ms)
    t_parse, _ = _timed(lambda: [parser.parse(r, s, p) for b in batches for s, p, r in b])
    router = IngestRouter(parser, settings.features.shards, settings.features.clock_tick_s * 1000)
    t_route, routed = _timed(lambda: [router.route(b) for b in batches])
    grouped = []
    for items in routed:
        groups: dict[str, list[object]] = {}
        for key, item in items:
            groups.setdefault(key, []).append(item)
        grouped.append(groups)
    shards: dict[str, PlayerShard] = {}

    def run_shards() -> list[object]:
        out: list[object] = []
        for groups in grouped:
            for key, items in groups.items():
                shard = shards.get(key)
                if shard is None:
                    shard = shards[key] = PlayerShard.from_settings(
                        settings.features, settings.labels, True)
                out.extend(shard.process(items))
        for shard in shards.values():
            out.extend(shard.finish())
        return out

    t_features, shard_out = _timed(run_shards)
    model_bound = [o for o in shard_out if isinstance(o, (Stamped, ShardProgress))]
    step = ModelStep(ModelSet(settings.models), shard_names(settings.features.shards))

    def run_models() -> list[object]:
        out = step.process(model_bound)
        return out + step.finish()

    t_models, model_out = _timed(run_models)
    scored = [o for o in model_out if isinstance(o, ScoredPoint)]
    policy = PolicyShard(PolicyEngine(load_policy(None)))
    t_policy, decisions = _timed(policy.process, scored)
    client = open_client(None, chdb_dir, "bench_stages")
    apply_migrations(client, "bench_stages")
    sink_dir = chdb_dir.parent / "stages-run"
    sink_dir.mkdir(parents=True, exist_ok=True)
    outputs = RunOutputs(sink_dir, ClickHouseWriter(client, "bench_stages"), time.monotonic())
    sink_items = [o for o in shard_out if isinstance(o, FeatureRow)] + scored + [
        o for o in decisions if isinstance(o, Ordered)
    ]
    t_sink, _ = _timed(lambda: (outputs.write(sink_items), outputs.writer.close()))
    per = lambda t: round(t / n * 1e6, 2)  # noqa: E731
    return {
        "events": n,
        "scoring_points": len(scored),
        "decisions": len(decisions),
        "us_per_event": {
            "decode and validate": per(t_parse),
            "route (incl. decode and validate)": per(t_route),
            "features (player shards)": per(t_features),
            "scoring (merge, score, learn)": per(t_models),
            "policy (engine and gate)": per(t_policy),
            "sink (ClickHouse inserts)": per(t_sink),
        },
    }
