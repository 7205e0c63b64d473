"""`pitboss evaluate`: score a replay against the simulator's truth, or sweep many populations.

`pitboss evaluate RUN --truth TRUTH` writes RUN/evaluation.json. `pitboss evaluate
--sweep FILE --out DIR` simulates, replays and evaluates every population of a
sweep file with one configuration (`pitboss.replay.analysis.sweep`) and writes DIR/sweep.md and
DIR/sweep.json: a table per population and the worst case of each figure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from pitboss import preflight
from pitboss.app import app
from pitboss.mistakes import InputError, fail


def evaluation_table(evaluation: dict[str, Any]) -> Table:
    """Return the evaluation's headline numbers as a rich table."""
    from pitboss.replay.analysis.report import operator_rows

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
    for key, text in operator_rows(evaluation.get("operator")):
        table.add_row(key, text)
    for rule, n in evaluation["suppressions_by_rule"].items():
        table.add_row(f"suppressed_by.{rule}", f"{n:,}")
    return table


@app.command()
def evaluate(
    run: Annotated[Path | None, typer.Argument(
        help="Run directory written by `pitboss replay` (not with --sweep).")] = None,
    truth: Annotated[Path | None, typer.Option(
        help="Simulator truth file (pitboss simulate --truth).")] = None,
    clickhouse: Annotated[str | None, typer.Option(
        "--clickhouse", envvar="PITBOSS_CLICKHOUSE__DSN",
        help="ClickHouse server DSN, when the run wrote there.")] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", help="The TOML the run used (policy thresholds); with --sweep, "
        "the one configuration every population is replayed with.")] = None,
    sweep: Annotated[Path | None, typer.Option(
        help="Sweep file: simulate, replay and evaluate each of its populations.")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="With --sweep: directory for the populations and sweep.md/json.")]
        = None,
    jobs: Annotated[int, typer.Option(
        min=1, help="With --sweep: populations run at once, one process each.")] = 1,
) -> None:
    """Evaluate a run against the truth and write RUN/evaluation.json (or run a sweep)."""
    if sweep is not None:
        _sweep(sweep, out, config, jobs)
        return
    if run is None or truth is None:
        raise InputError("give a run directory and --truth, or --sweep FILE --out DIR")
    _evaluate(run, truth, clickhouse, config)


def _sweep(sweep: Path, out: Path | None, config: Path | None, jobs: int) -> None:
    """Run the populations of a sweep file and print the table with the worst case."""
    from pitboss.replay.analysis.sweep import load_sweep, run_sweep, sweep_markdown
    from pitboss.replay.simulator.population import PopulationError

    if out is None:
        raise InputError("--sweep needs --out DIR (where the populations and the table go)")
    preflight.readable_file(sweep, "--sweep")
    preflight.configuration(config)
    preflight.output_dir(out, "--out")
    try:
        populations = load_sweep(sweep)
    except PopulationError as exc:
        raise InputError(f"--sweep {exc}") from exc
    console = Console(stderr=True)

    def done(result: dict[str, Any]) -> None:
        console.print(f"{result['population']}: {result['events']:,} events "
                      f"in {result['seconds']:.0f}s")

    document = run_sweep(populations, out, config, jobs, done)
    typer.echo(sweep_markdown(document))
    console.print(f"written to {out / 'sweep.md'} and {out / 'sweep.json'}")


def _evaluate(run: Path, truth: Path, clickhouse: str | None, config: Path | None) -> None:
    """Evaluate one run directory against its truth file."""
    from pitboss.replay.analysis.evaluation import evaluate_run
    from pitboss.replay.run_store import StoreLocation, open_store

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
