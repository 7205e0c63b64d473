"""`pitboss report`: turn a replay's run directory into a self-contained HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pitboss import preflight
from pitboss.app import app
from pitboss.mistakes import fail


@app.command()
def report(
    run: Annotated[Path, typer.Argument(help="Run directory written by `pitboss replay`.")],
    truth: Annotated[Path | None, typer.Option(
        help="Simulator truth file: adds detection latency, false positives and offers "
        "to protected players.")] = None,
    clickhouse: Annotated[str | None, typer.Option(
        "--clickhouse", envvar="PITBOSS_CLICKHOUSE__DSN",
        help="ClickHouse server DSN, when the run wrote there. Default: the run's own store.",
    )] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", help="The TOML the run used (policy thresholds).")] = None,
) -> None:
    """Write RUN/report/index.html: activity, actions, scores, models, gate, dead letters."""
    from pitboss.replay.analysis.report import write_report

    console = Console(stderr=True)
    preflight.run_directory(run)
    settings = preflight.configuration(config)
    if truth is not None:
        preflight.truth_file(truth)
    preflight.clickhouse_server(clickhouse)
    try:
        page = write_report(run, truth, settings, dsn=clickhouse)
    except (ValueError, OSError) as exc:
        fail(f"report failed: {exc}")
    console.print(f"report written to {page}")
