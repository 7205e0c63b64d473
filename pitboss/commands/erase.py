"""`pitboss erase PLAYER... | --file FILE`: a data-subject erasure request (docs/data-retention.md).

Deletes the players' feature snapshots, scores and dead letters; keeps the audit
trail and the durable compliance facts, which the law requires, and says how many
rows of each were erased and kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pitboss import preflight
from pitboss.app import app
from pitboss.mistakes import InputError
from pitboss.options import ConfigOption, ServerDsnOption, StoreDataDirOption


def _ids_from(file: Path) -> list[str]:
    """Return the player ids of FILE, one a line (blank lines and `#` comments skipped)."""
    preflight.readable_file(file, "--file")
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise InputError(f"--file {file}: not UTF-8 text (byte {exc.start})") from exc
    return [s for line in lines if (s := line.strip()) and not s.startswith("#")]


@app.command()
def erase(
    players: Annotated[list[str] | None, typer.Argument(help="Player ids to erase.")] = None,
    file: Annotated[Path | None, typer.Option(
        "--file", help="A file of player ids, one a line.")] = None,
    data_dir: StoreDataDirOption = Path("runs/live"),
    clickhouse: ServerDsnOption = None,
    config: ConfigOption = None,
) -> None:
    """Erase players' personal data; keep the audit trail and self-exclusions (by law)."""
    from pitboss.replay.runner import ClickHouseTarget
    from pitboss.sinks.clickhouse_client import open_client
    from pitboss.sinks.erasure import erase_players, kept_rows
    from pitboss.sinks.migrations import apply_migrations

    settings = preflight.configuration(config)
    ids = list(players or []) + (_ids_from(file) if file is not None else [])
    if not ids:
        raise InputError("PLAYER or --file: name at least one player to erase")
    preflight.clickhouse_server(clickhouse)
    if clickhouse is None and not (data_dir / "clickhouse").is_dir():
        raise InputError(f"--data-dir {data_dir}: no store (no clickhouse directory)")
    database = settings.clickhouse.database
    target = ClickHouseTarget.for_run(data_dir, clickhouse, database)
    client = open_client(target.dsn, target.embedded_path, database)
    apply_migrations(client, database)
    erased = erase_players(client, database, ids)
    kept = kept_rows(client, database, ids)
    Console(stderr=True).print(
        f"erased {len(set(ids)):,} players: "
        + ", ".join(f"{table} {n:,} rows deleted" for table, n in erased.items())
        + "; kept by law: " + ", ".join(f"{table} {n:,} rows" for table, n in kept.items()),
        soft_wrap=True)
