"""`pitboss compare`: replay one log under two configurations and compare their decisions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from pitboss import preflight
from pitboss.app import app
from pitboss.config.settings import ConfigError
from pitboss.mistakes import InputError, fail


@app.command()
def compare(
    log: Annotated[Path, typer.Option(
        "--input", "-i", help="Recorded log to replay (.jsonl or .parquet).")],
    configs: Annotated[list[Path], typer.Option(
        "--config", "-c", help="Exactly two TOML files: A, then B (each may set policy_file).")],
    truth: Annotated[Path | None, typer.Option(
        help="Simulator truth file: adds detection, latency and false positives.")] = None,
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Directory for a/, b/, their shared store and comparison.html.",
    )] = Path("compare-out"),
    sample: Annotated[int, typer.Option(
        min=0, help="Players with differing outcomes to explain.")] = 10,
    workers: Annotated[int, typer.Option(
        "--workers", "-w", min=1, help="Bytewax worker threads per replay.")] = 1,
) -> None:
    """Shadow before live: show what configuration B decides differently from A."""
    from pitboss.replay.analysis.compare import comparison_html, run_compare
    from pitboss.replay.runner import ReplayError

    err = Console(stderr=True)
    if len(configs) != 2:
        raise InputError(f"--config: give exactly two files, A then B (got {len(configs)})")
    for side, config in zip("AB", configs, strict=True):
        try:
            preflight.configuration(config)
        except ConfigError as exc:
            raise ConfigError(f"--config {side}: {exc}") from exc
    preflight.recorded_logs([log])
    if truth is not None:
        preflight.truth_file(truth)
    preflight.output_dir(out, "--out")
    try:
        result = run_compare(log, (configs[0], configs[1]), out, truth, sample=sample,
                             workers=workers)
    except (ReplayError, ValueError, OSError) as exc:
        fail(f"compare failed: {exc}")
    table = Table("measure", *result.names, title="A vs B (changed rows in yellow)")
    for measure, a, b in result.rows:
        style = "yellow" if a != b else None
        table.add_row(measure, a, b, style=style)
    console = Console()
    console.print(table)
    diffs = Table("player", result.names[0], result.names[1],
                  title=f"{result.players_differing:,} players with a different outcome")
    for d in result.sample:
        diffs.add_row(d.player_id, *(
            f"{e.status} {e.action} {e.decided_at}\nreasons: {', '.join(e.reasons) or '-'}\n"
            + ", ".join(f"{k} {v:.2f}" for k, v in e.scores.items()) for e in (d.a, d.b)))
    console.print(diffs)
    (out / "comparison.html").write_text(comparison_html(result), encoding="utf-8")
    document = orjson.dumps(result.as_dict(), option=orjson.OPT_INDENT_2)
    (out / "comparison.json").write_bytes(document)
    err.print(f"written {out / 'comparison.html'} and comparison.json; runs in {out}/a and {out}/b")
