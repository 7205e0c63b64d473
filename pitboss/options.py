"""Command-line options that several `pitboss` commands share, declared once.

Each is a `typing.Annotated` type for a Typer parameter: the flag, its short form,
its environment variable and its help text live here, so every command spells them
the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="TOML file overriding config/defaults.toml.")
]
"""`--config/-c FILE`: overrides on top of config/defaults.toml."""

ServerDsnOption = Annotated[str | None, typer.Option(
    "--clickhouse", envvar="PITBOSS_CLICKHOUSE__DSN", show_envvar=True,
    help="ClickHouse server DSN (prefer the environment variable: a flag shows in `ps`).")]
"""`--clickhouse DSN`: a ClickHouse server instead of the embedded store."""

StoreDataDirOption = Annotated[Path, typer.Option(
    "--data-dir", help="The worker's data directory (embedded store DATA_DIR/clickhouse) "
    "unless a ClickHouse DSN is set; a replay's run directory works too.")]
"""`--data-dir DIR`: where the embedded store of a worker or a replay lives."""
