"""`pitboss report`: turn a replay's run directory into a self-contained HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from config.settings import ConfigError, load_settings
from pitboss.app import app


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
    from replay.report import write_report
    from replay.run_store import RunStoreError

    console = Console(stderr=True)
    if not (run / "summary.json").is_file():
        console.print(f"[red]{run} is not a run directory (no summary.json)[/red]")
        raise typer.Exit(2)
    try:
        settings = load_settings(config)
        page = write_report(run, truth, settings, dsn=clickhouse)
    except (ConfigError, RunStoreError, ValueError, OSError) as exc:
        console.print(f"[red]report failed:[/red] {exc}")
        raise typer.Exit(1) from exc
    console.print(f"report written to {page}")
