"""`pitboss demo`: the main job on embedded defaults, what `make run` starts.

By default the live demo (`pitboss.replay.live.demo`): a development Kafka broker, a
producer of simulated players at `--rate` events per second, the live worker
(`pitboss run`, embedded chDB) and a consumer of the action topics, shown live
for `PITBOSS_DEMO_SECONDS` seconds (60 by default, 0 for no end) or until
Ctrl-C, then stopped cleanly with a summary and the commands to query the run.
Each run writes to a fresh `--dir/live-<UTC time>/`. With `--replay`, the
earlier batch demo instead: simulate a week into a recorded log, replay it through
the same pipeline and summarise (`--dir/log.jsonl`, `--dir/run`). `--config` applies a
TOML file as `pitboss run --config` does: the broker creates its topics, and the
producer, the worker and the action reader use them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from pitboss import preflight
from pitboss.app import app

if TYPE_CHECKING:
    from pitboss.config.settings import Settings
    from pitboss.console.demo_console import DemoConsole
    from pitboss.replay.live.worker_process import WorkerProcess

PLAIN_REFRESH_S = 5.0


@app.command()
def demo(
    replay: Annotated[bool, typer.Option(
        "--replay", help="Run the batch demo: simulate a log and replay it.")] = False,
    directory: Annotated[Path, typer.Option(
        "--dir", help="Where the demo writes its runs.")] = Path("runs/demo"),
    players: Annotated[int, typer.Option(min=1, help="Simulated players.")] = 500,
    rate: Annotated[float, typer.Option(
        min=1.0, help="Live demo: events per second produced.")] = 500.0,
    seconds: Annotated[float, typer.Option(
        min=0.0, envvar="PITBOSS_DEMO_SECONDS", show_envvar=True,
        help="Live demo: how long to run; 0 runs until Ctrl-C.")] = 60.0,
    days: Annotated[int, typer.Option(min=1, help="Simulated days (per cycle, live).")] = 7,
    seed: Annotated[int, typer.Option(help="Simulation seed.")] = 1,
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", help="TOML file overriding config/defaults.toml.")] = None,
) -> None:
    """Run the live pipeline on an embedded broker and show it (or replay a log, --replay)."""
    settings = preflight.configuration(config)
    preflight.output_dir(directory, "--dir")
    if replay:
        _replay_demo(directory, players, days, seed, settings)
    else:
        _live_demo(directory, players, rate, seconds, days, seed, config,
                   settings.clickhouse.database)


def _live_demo(
    directory: Path, players: int, rate: float, seconds: float, days: int, seed: int,
    config: Path | None, database: str,
) -> None:
    from pitboss.console.demo_console import DemoConsole
    from pitboss.replay.live.demo import DemoSettings, LiveDemo, audit_counts
    from pitboss.replay.live.view import plain_line, render_frame, render_summary

    console = Console()
    run_dir = directory / f"live-{datetime.now(tz=UTC):%Y%m%dT%H%M%SZ}"
    interactive = sys.stdout.isatty()
    review = DemoConsole.prepare(run_dir)
    settings = DemoSettings(run_dir=run_dir, players=players, rate=rate, seconds=seconds,
                            seed=seed, days=days, config=config, worker_args=review.worker_args,
                            refresh_s=0.5 if interactive else PLAIN_REFRESH_S)  # fmt: skip
    length = f"for {seconds:.0f} s" if seconds else "until Ctrl-C"
    console.print(f"live demo: {players:,} players at {rate:,.0f} events/s {length}; "
                  f"worker output in {run_dir}")  # fmt: skip
    if interactive:
        with Live(console=console, auto_refresh=False, transient=False) as live:
            beside = _announced(review, live.console.print)
            result = LiveDemo(settings, lambda f: live.update(render_frame(f), refresh=True),
                              beside=beside).run()
    else:
        beside = _announced(review, lambda text: print(text, flush=True))
        result = LiveDemo(settings, lambda f: print(plain_line(f), flush=True),
                          beside=beside).run()
    audit = audit_counts(result.data_dir, database) if result.worker_exit_code == 0 else None
    # soft_wrap: the query commands must stay on one line each, to be copied.
    console.print(render_summary(result, audit, config), soft_wrap=True)
    if result.worker_exit_code != 0 or result.problems:
        raise typer.Exit(1)


def _announced(review: DemoConsole, announce: Callable[[str], None]
               ) -> Callable[[WorkerProcess], AbstractContextManager[object]]:
    """Return what waits for the worker's review console and prints its URL and login."""
    return lambda worker: review.announced(announce, alive=lambda: worker.poll() is None)


def _replay_demo(
    directory: Path, players: int, days: int, seed: int, settings: Settings
) -> None:
    """Simulate players, replay them through the whole pipeline, and summarise the run."""
    from pitboss.replay.progress import replay_progress
    from pitboss.replay.runner import run_replay
    from pitboss.replay.simulator.simulate import simulate_to

    console = Console()
    directory.mkdir(parents=True, exist_ok=True)
    log, truth, run = directory / "log.jsonl", directory / "truth.json", directory / "run"
    console.print(f"[bold]1/2[/bold] simulating {players:,} players over {days} days -> {log}")
    simulated = simulate_to(log, players=players, days=days, seed=seed, truth_path=truth)
    console.print(f"     {simulated.messages:,} messages, truth in {truth}")
    console.print(f"[bold]2/2[/bold] replaying through the pipeline -> {run}")
    with replay_progress([log]) as progress:
        summary = run_replay([log], run, settings, progress=progress)
    console.print(_summary_table(summary))
    console.print(
        "\nNext:\n"
        f"  pitboss query --run {run} \"SELECT action, status, count() FROM decisions FINAL "
        "GROUP BY action, status ORDER BY action, status\"\n"
        f"  pitboss report {run} --truth {truth}\n"
        f"  head -3 {run}/actions.jsonl"
    )


def _summary_table(summary: dict[str, Any]) -> Table:
    table = Table(title="demo run", show_header=False)
    for key in ("events_in", "events_accepted", "events_rejected", "duplicates_dropped",
                "late_events", "players", "feature_rows", "scored_points", "events_per_s"):
        table.add_row(key, f"{summary[key]:,}")
    for kind, count in summary["decisions"].items():
        table.add_row(f"actions emitted: {kind}", f"{count:,}")
    for rule, count in summary.get("suppressed_by", {}).items():
        table.add_row(f"held back by: {rule}", f"{count:,}")
    return table
