"""`pitboss replay`: run the dataflow over recorded logs, as live workers run it over Kafka.

Everything the operator names is checked before the dataflow starts (`pitboss.preflight`):
the configuration and policy, each input log's format, the output directory, the
ClickHouse server and the models export; a mistake is one line and exit code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pitboss import preflight
from pitboss.app import app
from pitboss.mistakes import fail
from pitboss.options import ConfigOption

InputsOption = Annotated[
    list[Path], typer.Option("--input", "-i", help="Recorded log(s): .jsonl or .parquet.")
]
OutOption = Annotated[
    Path,
    typer.Option("--out", "-o", help="Run directory: summary, actions, dead letters, chDB."),
]
ClickHouseOption = Annotated[
    str | None,
    typer.Option(
        "--clickhouse",
        envvar="PITBOSS_CLICKHOUSE__DSN",
        help="ClickHouse server DSN (http(s)://user:pass@host:8123/db); default: embedded "
        "chDB under OUT/clickhouse.",
    ),
]
WorkersOption = Annotated[int, typer.Option("--workers", "-w", min=1, help="Worker threads.")]
PartitionsOption = Annotated[int, typer.Option(
    "--partitions", min=1, help="Read the logs as N partitions by player (whole player "
    "shards, those Bytewax keeps on worker p of N), each ticking only its own shards; must "
    "divide features.shards. Given a partitioned log's files (`pitboss simulate "
    "--partitions`), each partition reads only its own. The outputs are the same for any N.")]
ModelsOption = Annotated[
    Path | None,
    typer.Option("--models", help="Warm-start the models from a `pitboss models export` DIR."),
]


@app.command()
def replay(
    inputs: InputsOption,
    out: OutOption,
    clickhouse: ClickHouseOption = None,
    config: ConfigOption = None,
    workers: WorkersOption = 1,
    models: ModelsOption = None,
    partitions: PartitionsOption = 1,
) -> None:
    """Replay recorded event logs through the full dataflow and summarise the run."""
    from pitboss.operators.partitioning import check_partitions
    from pitboss.replay.log.partitioned import partition_set
    from pitboss.replay.progress import replay_progress
    from pitboss.replay.runner import ClickHouseTarget, ReplayError, run_replay

    console = Console(stderr=True)
    settings = preflight.configuration(config)
    preflight.recorded_logs(inputs)
    preflight.output_dir(out, "--out")
    preflight.clickhouse_server(clickhouse)
    try:
        check_partitions(settings.features.shards, partitions)
        log_set = partition_set(list(inputs))
        if log_set is not None:
            log_set.check_shards(settings.features.shards)
    except ValueError as exc:  # RecordedLogError included
        fail(str(exc))
    warm = None
    if models is not None:
        from pitboss.operators.policy.settings import load_policy

        markers = load_policy(settings.policy_path).marker_book()
        warm = preflight.model_export(models, settings.models, markers=markers)
    target = ClickHouseTarget.for_run(out, clickhouse, settings.clickhouse.database)
    try:
        with replay_progress(list(inputs), console) as progress:
            summary = run_replay(
                list(inputs), out, settings, target, workers, progress=progress, models=warm,
                partitions=partitions,
            )
    except ReplayError as exc:
        fail(f"replay failed: {exc}")
    console.print(
        f"replayed {summary['events_in']:,} events "
        f"({summary['events_accepted']:,} accepted, {summary['events_rejected']:,} rejected, "
        f"{summary['duplicates_dropped']:,} duplicates, {summary['late_events']:,} late) "
        f"for {summary['players']:,} players in {summary['elapsed_s']:.1f}s "
        f"({summary['events_per_s']:,.0f} events/s); {summary['feature_rows']:,} feature rows, "
        f"{sum(summary['decisions'].values()):,} actions"
    )
    console.print(f"outputs in {out}/ (summary.json, actions.jsonl, rejected.jsonl, "
                  "models/, clickhouse)")
