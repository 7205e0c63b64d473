"""`pitboss query`: read-only SQL against the configured ClickHouse or a run's embedded store."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from config.settings import ConfigError, load_settings
from pitboss.app import app


@app.command()
def query(
    sql: Annotated[str, typer.Argument(
        help="One SELECT, WITH, SHOW, DESCRIBE or EXPLAIN statement.")],
    fmt: Annotated[Literal["table", "csv", "json"], typer.Option(
        "--format", "-f", help="Output format.")] = "table",
    clickhouse: Annotated[str | None, typer.Option(
        "--clickhouse", help="ClickHouse server DSN.", envvar="PITBOSS_CLICKHOUSE__DSN")] = None,
    run: Annotated[Path | None, typer.Option(
        "--run", help="Query this replay's embedded store instead of a server.")] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", help="TOML file overriding config/defaults.toml.")] = None,
) -> None:
    """Run a read-only query (readonly=1; writes, DDL and several statements are refused)."""
    from clickhouse_connect.driver.exceptions import Error as DriverError

    from replay.query import QueryRefusedError, check_read_only, run_query, to_csv, to_json
    from replay.run_store import RunStoreError, StoreLocation, open_store

    err = Console(stderr=True)
    try:
        check_read_only(sql)
        settings = load_settings(config)
        database = settings.clickhouse.database
        if run is not None and not clickhouse:
            location = StoreLocation.of_run(run, None, database)
        elif clickhouse:
            location = StoreLocation(clickhouse, None, database)
        else:
            raise RunStoreError("nothing to query: pass --run DIR or --clickhouse DSN "
                                "(or set PITBOSS_CLICKHOUSE__DSN)")
        client = open_store(location)
        try:
            result = run_query(client, sql)
        finally:
            client.close()
    except QueryRefusedError as exc:
        err.print(f"[red]refused:[/red] {exc}")
        raise typer.Exit(2) from exc
    except (ConfigError, RunStoreError, DriverError, ValueError) as exc:
        err.print(f"[red]query failed:[/red] {exc}")
        raise typer.Exit(1) from exc
    if fmt == "csv":
        sys.stdout.write(to_csv(result))
    elif fmt == "json":
        sys.stdout.write(to_json(result) + "\n")
    else:
        table = Table(*result.columns)
        for row in result.rows:
            table.add_row(*(str(v) for v in row))
        Console().print(table)
        err.print(f"{len(result.rows):,} rows")
