"""`pitboss simulate`: write a recorded log of simulated players, and their ground truth.

The log is what the Kafka topics would have carried (see docs/simulator.md), in
JSONL or Parquet by the extension of `--out`; the same seed always writes the same
bytes. The wall clock is read only to time the run and to warn when the simulated
window reaches into the future, where the contract parser would reject events.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from pitboss import preflight
from pitboss.app import app
from pitboss.mistakes import InputError
from pitboss.operators.contract import parse_timestamp, wall_clock_ms

if TYPE_CHECKING:
    from pitboss.replay.simulator.simulate import SimulationSummary

DEFAULT_START = "2026-01-05T00:00:00Z"
_DAY_MS = 86_400_000


@app.command()
def simulate(
    out: Annotated[Path, typer.Option("--out", "-o", help="Log to write: .jsonl or .parquet.")],
    players: Annotated[int, typer.Option(min=1, help="Number of players.")] = 1000,
    days: Annotated[int, typer.Option(min=1, help="Length of the simulated window in days.")] = 7,
    seed: Annotated[int, typer.Option(help="Seed: the same seed writes the same bytes.")] = 1,
    truth: Annotated[
        Path | None,
        typer.Option(help="Also write each player's ground truth: .json or .jsonl."),
    ] = None,
    start: Annotated[
        str, typer.Option(help="Start of the window, RFC 3339 with offset (fixed default).")
    ] = DEFAULT_START,
    population: Annotated[
        Path | None,
        typer.Option(help="Population file (replay/simulator/populations/*.toml): the archetypes' "
                     "shapes; default: the default population."),
    ] = None,
    partitions: Annotated[
        int, typer.Option(min=1, help="Write the log as N Parquet files by player partition "
                          "(OUT's name with .part-P-of-N.parquet), for `pitboss replay "
                          "--partitions` with the configured features.shards; 1: one file.")
    ] = 1,
) -> None:
    """Simulate players (recreational, VIP, harmed, churning, fraud, self-excluding) into a log."""
    from pitboss.replay.log.recorded_log import log_format
    from pitboss.replay.simulator.population import DEFAULT, PopulationError, load_population
    from pitboss.replay.simulator.simulate import simulate_to

    console = Console(stderr=True)
    start_ms = parse_timestamp(start)
    if start_ms is None:
        raise InputError(f"--start {start!r}: not RFC 3339 with an offset "
                         "(e.g. 2026-01-05T00:00:00Z)")
    try:
        log_format(out)
    except ValueError as exc:
        raise InputError(f"--out {exc}") from exc
    written, shards = [out], 1
    if partitions > 1:
        from pitboss.operators.partitioning import check_partitions
        from pitboss.replay.log.partitioned import partition_path

        shards = preflight.configuration(None).features.shards  # the replays' shard count
        try:
            check_partitions(shards, partitions)
        except ValueError as exc:
            raise InputError(str(exc)) from exc
        written = [partition_path(out, p, partitions) for p in range(partitions)]
    for path in written:
        preflight.output_file(path, "--out")
    shapes = DEFAULT
    if population is not None:
        preflight.readable_file(population, "--population")
        try:
            shapes = load_population(population)
        except PopulationError as exc:
            raise InputError(f"--population {exc}") from exc
    if truth is not None:
        preflight.output_file(truth, "--truth")
    if start_ms + days * _DAY_MS > wall_clock_ms():
        console.print("[yellow]warning:[/yellow] the window ends in the future; the contract "
                      "parser will reject those events as future_timestamp")
    began = time.perf_counter()
    summary = simulate_to(out, players, days, seed, truth_path=truth, start_ms=start_ms,
                          population=shapes, partitions=partitions, shards=shards)
    _report(console, summary, time.perf_counter() - began, written, truth)


def _report(
    console: Console, summary: SimulationSummary, seconds: float, written: list[Path],
    truth: Path | None,
) -> None:
    """Print the run's counts: archetypes, event types, faults injected, throughput."""
    rate = summary.messages / seconds if seconds > 0 else float("inf")
    on_disk = sum(path.stat().st_size for path in written)
    where = str(written[0]) if len(written) == 1 else (
        f"{len(written)} partition files {written[0].parent / written[0].name}, ...")
    console.print(
        f"wrote {summary.messages:,} messages ({summary.events:,} events, "
        f"{summary.bytes / 1e6:,.1f} MB of messages, {on_disk / 1e6:,.1f} MB on disk) "
        f"for {summary.players:,} players over {summary.days} days to {where} "
        f"in {seconds:.1f}s ({rate:,.0f} events/s)"
    )
    console.print(
        f"injected: {summary.displaced:,} displaced <= 2 min, {summary.late:,} late 10-60 min, "
        f"{summary.duplicates:,} duplicates, {summary.malformed:,} malformed"
    )
    table = Table("archetype", "players", "event type", "events")
    archetypes = list(summary.by_archetype.items())
    event_types = list(summary.by_event_type.items())
    for row in range(max(len(archetypes), len(event_types))):
        left = archetypes[row] if row < len(archetypes) else ("", "")
        right = event_types[row] if row < len(event_types) else ("", "")
        table.add_row(left[0], f"{left[1]:,}" if left[1] != "" else "",
                      right[0], f"{right[1]:,}" if right[1] != "" else "")
    console.print(table)
    if truth is not None:
        console.print(f"ground truth in {truth}")
