"""Run the replay dataflow over recorded logs and leave a run directory behind.

A run directory holds `summary.json`, `rejected.jsonl` and, unless a ClickHouse
server DSN is given, the embedded chDB database under `clickhouse/`. The same
function serves `pitboss replay`, the backtests and the tests.

The replay's dataflow is the live worker's (`pitboss.flows.pipeline.build_flow`)
behind another source and sink: the recorded logs (`RecordedLogSource`) in, the run's
files and ClickHouse (`RunOutputs`) out.

Example (not run here: it writes files):
    run_replay([Path("log.jsonl")], Path("out"), load_settings())
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from bytewax.dataflow import Dataflow
from bytewax.testing import cluster_main, run_main

from pitboss.config.settings import Settings
from pitboss.flows.gc_tuning import pipeline_gc
from pitboss.flows.outputs_sink import OutputsSink
from pitboss.flows.pipeline import build_flow
from pitboss.models.model_set import ModelSet
from pitboss.operators.partitioning import quietest_partition
from pitboss.operators.policy.compliance_facts import EMPTY_FACTS, ComplianceFacts
from pitboss.replay.log.source import ProgressHook, RecordedLogSource
from pitboss.sinks.clickhouse_client import open_client
from pitboss.sinks.clickhouse_writer import ClickHouseWriter
from pitboss.sinks.compliance_store import load_facts
from pitboss.sinks.migrations import apply_migrations
from pitboss.sinks.retention import apply_retention
from pitboss.sinks.run_outputs import RunOutputs


class ReplayError(RuntimeError):
    """The replay did not finish: its outputs are incomplete."""


@dataclass(frozen=True)
class ClickHouseTarget:
    """Where a run's rows go: a server DSN, or an embedded chDB path; and the database."""

    dsn: str | None
    embedded_path: Path | None
    database: str

    @classmethod
    def for_run(cls, out_dir: Path, dsn: str | None, database: str) -> ClickHouseTarget:
        """Return the default target: `dsn` if given, else chDB under `out_dir/clickhouse`."""
        return cls(dsn or None, None if dsn else out_dir / "clickhouse", database)


def prepare_store(target: ClickHouseTarget, settings: Settings) -> ComplianceFacts:
    """Bring the target's tables up to date and return the durable compliance facts to honour.

    Applies the migrations and the configured retention, then reads `compliance_state`
    of `compliance.facts_database` (the target's own database when empty). Live workers
    and replays both start here, so both honour the same snapshot.
    """
    client = open_client(target.dsn, target.embedded_path, target.database)
    apply_migrations(client, target.database)
    apply_retention(client, target.database, settings.retention.ttl_days())
    return load_facts(client, settings.compliance.facts_database or target.database)


def _outputs_factory(
    out_dir: Path, target: ClickHouseTarget, settings: Settings, started: float
) -> Callable[[], RunOutputs]:
    ch = settings.clickhouse

    def make() -> RunOutputs:
        client = open_client(target.dsn, target.embedded_path, target.database)
        apply_migrations(client, target.database)
        # Inserts overlap the dataflow on a thread of their own; a failure still stops the run.
        writer = ClickHouseWriter.from_settings(client, ch, background=True)
        return RunOutputs(out_dir, writer, started)

    return make


def build_replay_flow(
    inputs: list[Path],
    settings: Settings,
    make_outputs: Callable[[], RunOutputs],
    batch_size: int = 1000,
    models: ModelSet | None = None,
    progress: ProgressHook | None = None,
    compliance: ComplianceFacts = EMPTY_FACTS,
    partitions: int = 1,
) -> Dataflow:
    """Return the replay dataflow over `inputs`, writing through `make_outputs()`.

    Args:
        inputs: recorded logs (JSONL or Parquet), one stream each.
        settings: validated configuration.
        make_outputs: builds the run's outputs on the worker that owns them.
        batch_size: raw messages per input batch.
        models: warm-started models, or None to learn from scratch.
        progress: optional hook told how much input was read.
        compliance: the durable compliance facts snapshot the gate consults.
        partitions: input partitions by player, each a source partition of its own.
    """
    window_ms = settings.features.reorder_window_s * 1000
    source = RecordedLogSource(inputs, batch_size, progress, window_ms, partitions,
                               settings.features.shards)
    # The outputs beside the fewest shards: on N workers, the worker of that partition.
    outputs_worker = quietest_partition(settings.features.shards, partitions)
    return build_flow(source, settings,
                      OutputsSink(lambda _resume: make_outputs(), outputs_worker),
                      flow_id="pitboss_replay", input_id="recorded_logs", models=models,
                      compliance=compliance, partitions=partitions)


def _describe_store(out_dir: Path, target: ClickHouseTarget) -> None:
    """Leave `store.json` when the rows are not where `report` and `query` look by default."""
    from pitboss.replay.run_store import DEFAULT_DATABASE, StoreLocation

    default = out_dir / "clickhouse"
    if target.embedded_path is not None and (
        target.embedded_path.resolve() != default.resolve() or target.database != DEFAULT_DATABASE
    ):
        StoreLocation(None, target.embedded_path, target.database).write(out_dir)


def run_replay(
    inputs: list[Path],
    out_dir: Path,
    settings: Settings,
    target: ClickHouseTarget | None = None,
    workers: int = 1,
    batch_size: int = 1000,
    progress: ProgressHook | None = None,
    models: ModelSet | None = None,
    partitions: int = 1,
) -> dict[str, Any]:
    """Replay `inputs` through the dataflow; return the run summary.

    Args:
        inputs: recorded logs (JSONL or Parquet), one source partition each.
        out_dir: the run directory, created if missing.
        settings: validated configuration.
        target: where ClickHouse rows go; default embedded chDB under `out_dir`.
        workers: Bytewax worker threads in this process.
        batch_size: raw messages per input batch.
        progress: optional hook told how much input was read (a progress bar).
        models: warm-started models, or None to learn from scratch.
        partitions: input partitions by player (`pitboss.operators.partitioning`); the
            outputs are the same for any count that divides `features.shards`.

    Raises:
        ReplayError: when the dataflow stopped before writing its summary.

    """
    for path in inputs:
        if not path.is_file():
            raise ReplayError(f"input log {path} does not exist")
    out_dir.mkdir(parents=True, exist_ok=True)
    summary_path = out_dir / "summary.json"
    summary_path.unlink(missing_ok=True)
    target = target or ClickHouseTarget.for_run(out_dir, None, settings.clickhouse.database)
    compliance = prepare_store(target, settings)
    started = time.monotonic()
    flow = build_replay_flow(
        inputs, settings, _outputs_factory(out_dir, target, settings, started), batch_size,
        models, progress, compliance, partitions,
    )
    with pipeline_gc():
        if workers == 1:
            run_main(flow)
        else:
            cluster_main(flow, [], 0, worker_count_per_proc=workers)
    if not summary_path.exists():
        raise ReplayError(f"the replay stopped before writing {summary_path}")
    _describe_store(out_dir, target)
    summary: dict[str, Any] = orjson.loads(summary_path.read_bytes())
    return summary
