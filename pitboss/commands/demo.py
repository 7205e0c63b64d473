"""`pitboss demo`: the main job on embedded defaults, what `make run` starts.

Simulates a small population of players into a recorded log, replays it through
the full pipeline (features, models, policy, compliance gate) into an embedded
ClickHouse (chDB), and prints what happened and how to query it. Everything it
writes goes under `--dir` (default `runs/demo`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from pitboss.app import app


@app.command()
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Where the demo writes its log and run.")] = Path("runs/demo"),
    players: Annotated[int, typer.Option(min=1, help="Simulated players.")] = 500,
    days: Annotated[int, typer.Option(min=1, help="Simulated days.")] = 7,
    seed: Annotated[int, typer.Option(help="Simulation seed.")] = 1,
) -> None:
    """Simulate players, replay them through the whole pipeline, and summarise the run."""
    from config.settings import load_settings
    from replay.progress import replay_progress
    from replay.runner import run_replay
    from replay.simulator import simulate_to

    console = Console()
    directory.mkdir(parents=True, exist_ok=True)
    log, truth, run = directory / "log.jsonl", directory / "truth.json", directory / "run"
    console.print(f"[bold]1/2[/bold] simulating {players:,} players over {days} days -> {log}")
    simulated = simulate_to(log, players=players, days=days, seed=seed, truth_path=truth)
    console.print(f"     {simulated.messages:,} messages, truth in {truth}")
    console.print(f"[bold]2/2[/bold] replaying through the pipeline -> {run}")
    with replay_progress([log]) as progress:
        summary = run_replay([log], run, load_settings(), progress=progress)
    console.print(_summary_table(summary))
    console.print(
        "\nNext:\n"
        f"  pitboss query --run {run} \"SELECT action, status, count() FROM decisions FINAL "
        "GROUP BY action, status ORDER BY action, status\"\n"
        f"  pitboss report {run} --truth {truth}\n"
        f"  head -3 {run}/actions.jsonl"
    )


def _summary_table(summary: dict) -> Table:
    table = Table(title="demo run", show_header=False)
    for key in ("events_in", "events_accepted", "events_rejected", "duplicates_dropped",
                "late_events", "players", "feature_rows", "scored_points", "events_per_s"):
        table.add_row(key, f"{summary[key]:,}")
    for kind, count in summary["decisions"].items():
        table.add_row(f"actions emitted: {kind}", f"{count:,}")
    for rule, count in summary.get("suppressed_by", {}).items():
        table.add_row(f"held back by: {rule}", f"{count:,}")
    return table
