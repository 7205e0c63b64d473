"""`pitboss evaluate`: score a replay against the simulator's truth and write evaluation.json."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from pitboss import preflight
from pitboss.app import app
from pitboss.mistakes import fail


def evaluation_table(evaluation: dict[str, Any]) -> Table:
    """Return the evaluation's headline numbers as a rich table."""
    table = Table("measure", "value", title=f"policy {evaluation['policy_version']}")
    for section in ("rg", "fraud", "scores"):
        for name, v in evaluation[section].items():
            share = "n/a" if v["share"] is None else f"{v['share']:.1%}"
            table.add_row(f"{section}.{name}", f"{v['count']:,} of {v['of']:,} ({share})")
    for name, value in evaluation["offers"].items():
        table.add_row(f"offers.{name}", "n/a" if value is None else f"{value:,}")
    for who, lat in evaluation["latency_h"].items():
        table.add_row(f"latency_h.{who}", f"median {lat['median']}, p90 {lat['p90']}, "
                      f"{lat['undetected']} undetected")
    auc = evaluation["models"]["churn_progressive_roc_auc"]
    table.add_row("models.churn_progressive_roc_auc", "n/a" if auc is None else f"{auc:.3f}")
    for rule, n in evaluation["suppressions_by_rule"].items():
        table.add_row(f"suppressed_by.{rule}", f"{n:,}")
    return table


@app.command()
def evaluate(
    run: Annotated[Path, typer.Argument(help="Run directory written by `pitboss replay`.")],
    truth: Annotated[Path, typer.Option(help="Simulator truth file (pitboss simulate --truth).")],
    clickhouse: Annotated[str | None, typer.Option(
        "--clickhouse", envvar="PITBOSS_CLICKHOUSE__DSN",
        help="ClickHouse server DSN, when the run wrote there.")] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", help="The TOML the run used (policy thresholds).")] = None,
) -> None:
    """Evaluate a run against the truth and write RUN/evaluation.json."""
    from replay.evaluation_truth import evaluate_run
    from replay.run_store import StoreLocation, open_store

    console = Console()
    preflight.run_directory(run)
    settings = preflight.configuration(config)
    preflight.truth_file(truth)
    preflight.clickhouse_server(clickhouse)
    client = None
    if clickhouse:
        client = open_store(StoreLocation.of_run(run, clickhouse, settings.clickhouse.database))
    try:
        evaluation = evaluate_run(run, truth, settings, client)
    except (ValueError, OSError) as exc:
        fail(f"evaluation failed: {exc}")
    (run / "evaluation.json").write_bytes(
        orjson.dumps(evaluation, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    console.print(evaluation_table(evaluation))
    console.print(f"written to {run / 'evaluation.json'}")
